import Foundation

/// A parsed JSON document. Foundation's parser reads the text (depth limit, UTF-8, escapes); this tree keeps what the
/// strict decoder needs to see: every key an object has, and whether a number was a whole number.
indirect enum JSONValue: Sendable, Decodable {
    case null
    case bool(Bool)
    /// A number that is a whole number within Int64.
    case integer(Int64)
    /// Any other number (a fraction, or a whole number beyond Int64), as written in the text when that is known.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        if var items = try? decoder.unkeyedContainer() {
            var values: [JSONValue] = []
            while !items.isAtEnd { values.append(try items.decode(JSONValue.self)) }
            self = .array(values)
            return
        }
        if let members = try? decoder.container(keyedBy: AnyKey.self) {
            var object: [String: JSONValue] = [:]
            for key in members.allKeys { object[key.stringValue] = try members.decode(JSONValue.self, forKey: key) }
            self = .object(object)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(String.self) {
            self = .string(value)
        } else if let value = try? single.decode(Int64.self) {
            self = .integer(value)
        } else {
            self = .number(try single.decode(Double.self))
        }
    }

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
