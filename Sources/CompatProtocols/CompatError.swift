/// A request in another service's protocol that Kassa refuses. `code` is the protocol's own code where it has one
/// (ePOS-Print's `SchemaError`, …) and Kassa's otherwise; Docs/compat.md lists them. Nothing is printed for a refused
/// request.
public struct CompatError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    static func schema(_ message: String) -> CompatError { CompatError("SchemaError", message) }
}
