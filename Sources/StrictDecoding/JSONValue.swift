import Foundation

/// A parsed JSON document (`JSONParser` reads the text: depth limit, UTF-8, escapes, duplicate fields); this tree keeps what the
/// strict decoder needs to see: every key an object has, and whether a number was a whole number.
indirect enum JSONValue {
    case null
    case bool(Bool)
    /// A number that is a whole number within Int64.
    case integer(Int64)
    /// Any other number (a fraction, or a whole number beyond Int64), as written in the text when that is known.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "true or false"
        case .integer: return "a whole number"
        case .number(let value): return "the number \(value)"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}

/// Any key, by name or index.
struct AnyKey: CodingKey, Hashable {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }
    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}
