import Foundation
import ReceiptLayout
import StrictDecoding

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
        try decode(Document.self, bytes, source: source, what: .document)
    }

    /// Reads a JSON input strictly (StrictDecoding): valid UTF-8, no unknown field, whole numbers where they belong.
    public static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], source: String, what: RuntimeError.InputKind)
        throws(RuntimeError) -> T
    {
        _ = try text(bytes, source: source)
        do {
            return try StrictJSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw .invalidInput(source: source, kind: what, error)
        }
    }
}
