import Foundation

/// Parses JSON text (RFC 8259) into a `JSONValue` tree, strictly: UTF-8 only, no byte order mark, no comments, no
/// trailing commas, no leading zeros, no lone surrogates, no control characters in strings, no `NaN` or infinities, no
/// text after the value, at most `maxDepth` levels, and no object with the same field twice (which value would count
/// is exactly what an attacker would like to choose). A number is `integer` when its value is a whole number within
/// Int64 (`100`, `1.0`, `1e2`, as Foundation's decoder takes them), otherwise `number`.
///
/// Written for `StrictJSONDecoder` instead of probing each value through Foundation's `JSONDecoder`, whose failed
/// probes cost an error with a coding path each: that was more than half of `kassa serve`'s CPU time per print job
/// (Docs/PERFORMANCE.md, decision 0022). Tested against Foundation's parser on valid and broken inputs.
struct JSONParser {
    /// Why the text is not accepted, and where.
    struct Failure: Error, Equatable {
        var message: String
        /// Set for a repeated field: the path of its object, for the error.
        var duplicate: (field: String, path: String)?

        static func == (a: Failure, b: Failure) -> Bool { a.message == b.message }
    }

    static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// The keys and indices down to the value being parsed, for a duplicate field's message.
    private var path: [AnyKey] = []

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    static func parse(_ data: Data) throws(Failure) -> JSONValue {
        let result: Result<JSONValue, Failure> = data.withUnsafeBytes { raw in
            var parser = JSONParser(raw.bindMemory(to: UInt8.self))
            do throws(Failure) {
                parser.skipWhitespace()
                let value = try parser.value()
                parser.skipWhitespace()
                guard parser.index == parser.bytes.count else { throw parser.failure("text after the end of the value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private func failure(_ what: String) -> Failure {
        Failure(message: index < bytes.count ? "\(what) at byte \(index)" : "\(what) at the end of the text")
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func value() throws(Failure) -> JSONValue {
        guard index < bytes.count else { throw failure("a value is missing") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default:
            throw failure("unexpected character \(Self.show(bytes[index]))")
        }
    }

    private static func show(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16, uppercase: true)
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw failure("unexpected end of the text") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw failure("unexpected character \(Self.show(bytes[index]))")
        }
        index += count
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        guard depth <= Self.maxDepth else { throw failure("more than \(Self.maxDepth) nested levels") }
    }

    private mutating func object() throws(Failure) -> JSONValue {
        try enter()
        index += 1
        // Room for a typical object (an item, a payment), so that it is not regrown three times on the way.
        var members = [String: JSONObject.Member](minimumCapacity: 8)
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(JSONObject(members))
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("a field name in quotes was expected") }
            let start = index
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("':' was expected after a field name") }
            index += 1
            skipWhitespace()
            path.append(AnyKey(stringValue: key))
            let member = try value()
            path.removeLast()
            if members.updateValue(JSONObject.Member(value: member, index: members.count), forKey: key) != nil {
                index = start
                throw Failure(message: "the field '\(key)' appears twice in one object at byte \(start)",
                              duplicate: (key, StrictJSONDecoder.path(path)))
            }
            skipWhitespace()
            guard index < bytes.count else { throw failure("'}' was expected") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw failure("',' or '}' was expected") }
            index += 1
            depth -= 1
            return .object(JSONObject(members))
        }
    }

    private mutating func array() throws(Failure) -> JSONValue {
        try enter()
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            path.append(AnyKey(intValue: items.count))
            items.append(try value())
            path.removeLast()
            skipWhitespace()
            guard index < bytes.count else { throw failure("']' was expected") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw failure("',' or ']' was expected") }
            index += 1
            depth -= 1
            return .array(items)
        }
    }

    /// A string at `index` (its opening quote): escapes decoded, UTF-8 checked.
    private mutating func string() throws(Failure) -> String {
        index += 1
        let start = index
        // The usual case: no escape. Scan to the closing quote; then the bytes are the string if they are valid UTF-8.
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                if ascii { return String(decoding: slice, as: UTF8.self) }
                guard let text = String(validating: slice, as: UTF8.self) else {
                    index = start
                    throw failure("a string that is not valid UTF-8")
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("a control character (\(Self.show(byte))) inside a string; write it as an escape") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        guard index < bytes.count else { throw failure("a string is not closed") }
        // With escapes: build the UTF-8 bytes.
        var utf8 = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw failure("a string that is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw failure("a string is not closed") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = UInt32(try hex4())
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A high surrogate must be followed by an escaped low one.
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw failure("a lone surrogate (\\u\(String(scalar, radix: 16, uppercase: true)))")
                        }
                        index += 2
                        let low = UInt32(try hex4())
                        guard (0xDC00...0xDFFF).contains(low) else { throw failure("a lone surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw failure("a lone surrogate (\\u\(String(scalar, radix: 16, uppercase: true)))")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw failure("an invalid \\u escape") }
                    utf8.append(contentsOf: String(Character(unicode)).utf8)
                default:
                    index -= 1
                    throw failure("an unknown escape \\\(Self.show(escape))")
                }
            default:
                if byte < 0x20 { throw failure("a control character (\(Self.show(byte))) inside a string; write it as an escape") }
                utf8.append(byte)
                index += 1
            }
        }
        throw failure("a string is not closed")
    }

    private mutating func hex4() throws(Failure) -> UInt16 {
        guard index + 4 <= bytes.count else { throw failure("a \\u escape needs four hexadecimal digits") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("a \\u escape needs four hexadecimal digits")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    private mutating func number() throws(Failure) -> JSONValue {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
            throw failure("a digit was expected in a number")
        }
        let integerStart = index
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                throw failure("a number with a leading zero")
            }
        } else {
            _ = digits()
        }
        let integerEnd = index
        var whole = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw failure("a digit was expected after the decimal point") }
            whole = false
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw failure("a digit was expected in the exponent") }
            whole = false
        }
        if whole, integerEnd - integerStart <= 18 {
            // At most 18 digits always fits in Int64.
            var value: Int64 = 0
            for position in integerStart..<integerEnd { value = value * 10 + Int64(bytes[position] - UInt8(ascii: "0")) }
            return .integer(negative ? -value : value)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if whole, let value = Int64(text) { return .integer(value) }
        guard let double = Double(text), double.isFinite else {
            index = start
            throw failure("a number too large to represent (\(text.prefix(40)))")
        }
        if double.rounded() == double, let exact = Self.exactInteger(text) { return .integer(exact) }
        return .number(double)
    }

    /// The whole number a decimal text such as `1.0`, `12e3` or `1500e-2` stands for, computed from its digits (never
    /// through a Double, which would round beyond 2^53); nil when it is not whole or beyond Int64.
    static func exactInteger(_ text: String) -> Int64? {
        var mantissa = Substring(text)
        var exponent = 0
        if let e = mantissa.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let value = Int(mantissa[mantissa.index(after: e)...]), abs(value) <= 40 else { return nil }
            exponent = value
            mantissa = mantissa[..<e]
        }
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa = mantissa.dropFirst() }
        var digits = String(mantissa)
        if let point = mantissa.firstIndex(of: ".") {
            exponent -= mantissa.distance(from: point, to: mantissa.endIndex) - 1
            digits = String(mantissa[..<point]) + mantissa[mantissa.index(after: point)...]
        }
        if exponent < 0 {
            guard digits.suffix(-exponent).allSatisfy({ $0 == "0" }) else { return nil }
            digits = String(digits.dropLast(-exponent))
        } else {
            digits += String(repeating: "0", count: exponent)
        }
        digits = String(digits.drop(while: { $0 == "0" }))
        if digits.isEmpty { return 0 }
        guard digits.count <= 19 else { return nil }
        return Int64((negative ? "-" : "") + digits)
    }
}
