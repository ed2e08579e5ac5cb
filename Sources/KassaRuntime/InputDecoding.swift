import Foundation
import ReceiptLayout

/// Reading user input: UTF-8 validation and JSON documents with errors that point at the bad field.
public enum InputDecoding {
    /// Offset of the first byte that breaks UTF-8, or nil when the data is valid.
    public static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length: Int
            var minimum: UInt32 = 0
            switch lead {
            case 0x00...0x7F: index += 1; continue
            case 0xC2...0xDF: length = 2; minimum = 0x80
            case 0xE0...0xEF: length = 3; minimum = 0x800
            case 0xF0...0xF4: length = 4; minimum = 0x10000
            default: return index
            }
            guard index + length <= bytes.count else { return index }
            var value = UInt32(lead) & (0xFF >> (length + 1))
            for offset in 1..<length {
                let byte = bytes[index + offset]
                guard byte & 0xC0 == 0x80 else { return index }
                value = value << 6 | UInt32(byte & 0x3F)
            }
            guard value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else { return index }
            index += length
        }
        return nil
    }

    public static func text(_ bytes: [UInt8], source: String) throws(RuntimeError) -> String {
        if let offset = firstInvalidUTF8Offset(bytes) { throw .invalidUTF8(source: source, offset: offset) }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func document(_ bytes: [UInt8], source: String) throws(RuntimeError) -> Document {
        _ = try text(bytes, source: source)
        do {
            return try JSONDecoder().decode(Document.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw .invalidDocument(source: source, reason: describe(error))
        } catch {
            throw .invalidDocument(source: source, reason: "\(error)")
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "the top level" : text
    }

    public static func describeDecoding(_ error: DecodingError) -> String { describe(error) }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            let at = context.codingPath.isEmpty ? "" : " in \(path(context.codingPath))"
            return "the field '\(key.stringValue)' is missing\(at)"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) should be \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) is null but should be \(typeName(type))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return "it is not valid JSON (\((context.underlyingError as NSError?)?.localizedDescription ?? context.debugDescription))"
            }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int64.Type, is Int.Type: return "a whole number (money is in minor units, e.g. 1250 for 12.50)"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            return name.hasPrefix("Array") ? "a list" : (name.hasPrefix("Dictionary") ? "an object" : "a \(name)")
        }
    }
}
