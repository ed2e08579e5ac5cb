import Foundation

/// What the journal needs from the terminal's fiscal module: a serial, a public key, and a signature per entry.
///
/// Hardware modules (a signature card, a TSE-like device) implement this next; `SoftwareFiscalModule` is the default.
/// The engine calls `sign` inside the transaction that records the fact, so a module that fails leaves nothing half
/// written: the fact is refused, and the failure itself is journaled unsigned (`fiscal_module_failure`).
public protocol FiscalModule: Sendable {
    /// The module's serial number, printed in exports and stored with every entry it signs.
    var serial: String { get }
    /// The signature algorithm; `ES256` (ECDSA P-256 with SHA-256, raw r‖s) is the only one the verifiers accept.
    var algorithm: String { get }
    /// The public key as X9.63 (uncompressed point, 65 bytes for P-256).
    var publicKey: [UInt8] { get }
    /// Counts a signature and signs `message ‖ "\n" ‖ counter` (the counter in decimal) with ES256, as a signature card
    /// or TSE puts its own counter into what it signs. Returns the raw r‖s signature (64 bytes) and that counter.
    func sign(_ message: [UInt8]) throws(FiscalModuleError) -> (signature: [UInt8], counter: Int64)
    /// Signatures made so far (the module's own counter).
    func signatureCount() -> Int64
    /// Called once at start with the last counter the journal recorded, so a module that keeps no counter of its own
    /// (the software module) continues the series instead of starting over.
    func resume(afterCounter counter: Int64)
}

/// A fiscal module that could not sign, with the code it gave.
public struct FiscalModuleError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "fiscal module error \(code): \(message)" }
}
