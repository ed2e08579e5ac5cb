import Foundation
import StrictDecoding

/// Odoo's JSON-RPC as its POS sends it to an IoT box (`/hw_proxy/…`; service-protocols.md §1.2): a body
/// `{"id", "jsonrpc", "method", "params"}` (Community's `rpc()`) or `{"params"}` (`iot_base`), answered
/// `{"jsonrpc": "2.0", "id": <the request's id or null>, "result": …}` or with `error` instead of `result`.
/// Decoded strictly: unknown keys are refused (Docs/compat.md), and so are wrong types.
public enum OdooRPC {
    /// The request id, echoed in the answer.
    public enum ID: Sendable, Equatable, Decodable {
        case number(Int64)
        case text(String)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self) {
                self = .number(number)
            } else {
                self = .text(try container.decode(String.self))
            }
        }

        var json: String {
            switch self {
            case .number(let value): return String(value)
            case .text(let value): return OdooRPC.quoted(value)
            }
        }
    }

    struct Envelope<Params: Decodable>: Decodable {
        var id: ID?
        var jsonrpc: String?
        var method: String?
        var params: Params?
    }

    /// `handshake`, `status_json`: no parameters (`{}`).
    public struct NoParams: Decodable, Sendable {
        enum Keys: CodingKey {}
        public init() {}
        public init(from decoder: any Decoder) throws {
            _ = try decoder.container(keyedBy: Keys.self)
        }
    }

    /// `default_printer_action`'s `data`.
    public struct PrinterAction: Decodable, Sendable, Equatable {
        public var action: String
        /// The receipt as a base64 JPEG (no `data:` prefix), 512 px wide.
        public var receipt: String?
        /// Sent by Enterprise's device path; Kassa keys de-duplication on it when given.
        public var action_unique_id: String?
    }

    public struct PrinterActionParams: Decodable, Sendable {
        public var data: PrinterAction
    }

    /// A decoded request: its id and parameters.
    public struct Request<Params: Sendable>: Sendable {
        public var id: ID?
        public var params: Params
    }

    /// Decodes a body; `params` may be absent only when the route takes none.
    public static func decode<Params: Decodable & Sendable>(_ type: Params.Type, _ body: [UInt8]) throws(CompatError) -> Request<Params> {
        let envelope: Envelope<Params>
        do {
            envelope = try StrictJSONDecoder().decode(Envelope<Params>.self, from: Data(body))
        } catch {
            if error.kind == .notJSON { throw CompatError("INVALID_JSON", "The body is not JSON: \(error.description).") }
            let kind = error.kind == .unknownField ? "UNKNOWN_FIELD" : "INVALID_REQUEST"
            throw CompatError(kind, "The JSON-RPC request is not valid: \(error.description)" + (error.path.isEmpty ? "" : " (at \(error.path))"))
        }
        if let version = envelope.jsonrpc, version != "2.0" { throw CompatError("INVALID_REQUEST", "jsonrpc is \"2.0\", not \(version).") }
        if let params = envelope.params { return Request(id: envelope.id, params: params) }
        if let none = NoParams() as? Params { return Request(id: envelope.id, params: none) }
        throw CompatError("INVALID_REQUEST", "The JSON-RPC request has no params.")
    }

    /// The request's id when the body is a JSON object with one, even if the rest of it is refused (the error answer
    /// still names the call it answers).
    public static func requestID(_ body: [UInt8]) -> ID? {
        struct OnlyID: Decodable { var id: ID? }
        return (try? JSONDecoder().decode(OnlyID.self, from: Data(body)))?.id ?? nil
    }

    /// `{"jsonrpc":"2.0","id":…,"result":<resultJSON>}`.
    public static func result(id: ID?, _ resultJSON: String) -> String {
        "{\"jsonrpc\":\"2.0\",\"id\":\(id?.json ?? "null"),\"result\":\(resultJSON)}"
    }

    /// An error as Odoo's client reads it (`RPCError`): `code` 200, a message, and `data.name` carrying Kassa's code.
    public static func error(id: ID?, _ failure: CompatError) -> String {
        "{\"jsonrpc\":\"2.0\",\"id\":\(id?.json ?? "null"),\"error\":{\"code\":200,\"message\":\"Kassa: \(escaped(failure.code))\","
            + "\"data\":{\"name\":\"kassa.\(escaped(failure.code))\",\"message\":\(quoted(failure.message)),\"arguments\":[\(quoted(failure.message))],"
            + "\"context\":{},\"debug\":\"\"}}}"
    }

    /// The drivers' status for `status_json`: `printer` (Odoo 13+) and `escpos` (Odoo ≤ 12), `connected` only when
    /// the printer's last status is ready; `messages` says why not.
    public static func statusResult(connected: Bool, message: String) -> String {
        let state = connected ? "connected" : "disconnected"
        let text = connected ? "" : message
        return "{\"printer\":{\"status\":\"\(state)\",\"messages\":\(quoted(text))},"
            + "\"escpos\":{\"status\":\"\(state)\",\"messages\":[\(connected ? "" : quoted(text))]}}"
    }

    static func escaped(_ text: String) -> String {
        let quoted = quoted(text)
        return String(quoted.dropFirst().dropLast())
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
