import Foundation
import StrictDecoding
import Testing
import TestSupport

/// Any JSON value, decoded the same way through any decoder: the oracle's (Foundation's JSONDecoder) and ours.
private indirect enum Value: Decodable, Equatable {
    case null, bool(Bool), integer(Int64), number(Double), string(String), array([Value]), object([String: Value])

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let text = try? single.decode(String.self) {
            self = .string(text)
        } else if let whole = try? single.decode(Int64.self) {
            self = .integer(whole)
        } else if let flag = try? single.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? single.decode(Double.self) {
            self = .number(number)
        } else if let members = try? decoder.container(keyedBy: Key.self) {
            var object: [String: Value] = [:]
            for key in members.allKeys { object[key.stringValue] = try members.decode(Value.self, forKey: key) }
            self = .object(object)
        } else {
            var items = try decoder.unkeyedContainer()
            var values: [Value] = []
            while !items.isAtEnd { values.append(try items.decode(Value.self)) }
            self = .array(values)
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The same value: equal, or the same number where one side took a whole number as a Double (Foundation reads
    /// `-9223372036854775808.0` as a Double; the parser, as the whole number it is).
    func same(_ other: Value) -> Bool {
        switch (self, other) {
        case (.integer(let whole), .number(let number)), (.number(let number), .integer(let whole)): return Double(whole) == number
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.same($1) }
        case (.object(let a), .object(let b)): return a.keys.sorted() == b.keys.sorted() && a.allSatisfy { b[$0.key].map($0.value.same) ?? false }
        default: return self == other
        }
    }
}

private func ours(_ bytes: [UInt8]) -> Result<Value, StrictDecodingError> {
    do {
        return .success(try StrictJSONDecoder().decode(Value.self, from: Data(bytes)))
    } catch {
        return .failure(error)
    }
}

private func foundation(_ bytes: [UInt8]) -> Value? { try? JSONDecoder().decode(Value.self, from: Data(bytes)) }

/// Random JSON text, with escapes, non-ASCII text, surrogate pairs, every number form and nesting.
private struct Generator {
    var random: SeededGenerator

    mutating func pick<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &random)] }

    mutating func space() -> String { pick(["", "", " ", "\n", "\t ", "\r\n"]) }

    mutating func string() -> String {
        var text = "\""
        for _ in 0..<Int.random(in: 0...8, using: &random) {
            text += pick(["a", "Z", "ö", "☕", "😀", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83d\\ude00", "\\u0000", "\\t", " ", "é", "\\b"])
        }
        return text + "\""
    }

    mutating func number() -> String {
        pick(["0", "-0", "7", "-42", "1250", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "1.5", "-0.25",
              "1.0", "1e2", "2E-3", "6.02e23", "123456789012345678901234", "0.1", "1e-7", "-1.25E+2", "922372093685477580.0",
              "-9223372036854775808.0", "1500e-2", "12e17", "1.5e1", "92233720368547758070e-1"])
    }

    mutating func value(depth: Int) -> String {
        let kind = depth > 4 ? Int.random(in: 0...3, using: &random) : Int.random(in: 0...5, using: &random)
        switch kind {
        case 0: return string()
        case 1: return number()
        case 2: return pick(["true", "false"])
        case 3: return "null"
        case 4:
            let count = Int.random(in: 0...4, using: &random)
            return "[" + (0..<count).map { _ in space() + value(depth: depth + 1) + space() }.joined(separator: ",") + "]"
        default:
            let count = Int.random(in: 0...4, using: &random)
            return "{" + (0..<count).map { index in space() + "\"k\(index)\"" + space() + ":" + space() + value(depth: depth + 1) }
                .joined(separator: ",") + space() + "}"
        }
    }
}

@Suite("The strict JSON parser")
struct JSONParserTests {
    @Test("valid JSON parses as Foundation's parser reads it (2,000 random documents, seed 11)")
    func agreesOnValid() throws {
        var generator = Generator(random: SeededGenerator(seed: 11))
        for _ in 0..<2000 {
            let text = generator.space() + generator.value(depth: 0) + generator.space()
            let expected = try #require(foundation(Array(text.utf8)), "Foundation refuses \(text)")
            #expect(try ours(Array(text.utf8)).get().same(expected), "\(text)")
        }
    }

    @Test("broken JSON is refused with where", arguments: [
        #"{"a":1,}"#, "[1,]", "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", #""a"#, #""\x""#, #""\u12""#, #""\ud800""#,
        #""\ud800\u0041""#, #""\udc00""#, "NaN", "Infinity", "-Infinity", #"{"a" 1}"#, "{a:1}", "tru", "nul", "[1 2]", #"{"a":1}x"#,
        "1e400", "-1e400", "// c\n1", "[1]]", "{", "[", "", "   ", #"{"a":1"#, "'a'", #"["a",]"#,
    ])
    func refusesBroken(text: String) throws {
        guard case .failure(let error) = ours(Array(text.utf8)) else {
            Issue.record("accepted \(text)")
            return
        }
        #expect(error.kind == .notJSON && error.reason.contains(" at "), "\(text): \(error.reason)")
    }

    @Test("bytes that are not JSON text: control characters in strings, invalid UTF-8, a byte order mark")
    func refusesBytes() throws {
        for bytes: [UInt8] in [[0x22, 0x01, 0x22], [0x22, 0x0A, 0x22], [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
                                [0xEF, 0xBB, 0xBF, 0x31], [0x5B, 0x00, 0x5D]] {
            guard case .failure(let error) = ours(bytes) else {
                Issue.record("accepted \(bytes)")
                continue
            }
            #expect(error.kind == .notJSON, "\(bytes): \(error.reason)")
        }
    }

    @Test("a field given twice is refused, with its path, not resolved silently")
    func duplicateField() throws {
        for (text, path) in [(#"{"id":"a","id":"b"}"#, "the top level"), (#"{"lines":[{"x":1},{"name":"a","name":"b"}]}"#, "lines[1]")] {
            guard case .failure(let error) = ours(Array(text.utf8)) else {
                Issue.record("accepted \(text)")
                continue
            }
            #expect(error.kind == .invalidValue && error.path == path && error.field != nil && error.reason.contains("appears twice"), "\(error)")
        }
    }

    @Test("mutated documents never crash it, and it accepts only what Foundation accepts (5,000 mutations, seed 12)")
    func mutations() throws {
        var generator = Generator(random: SeededGenerator(seed: 12))
        let alphabet = Array(#"{}[]:,"\\/ -+.eE0123456789abcfnrtu"#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9, 0xFF]
        for _ in 0..<5000 {
            var bytes = Array(generator.value(depth: 0).utf8)
            for _ in 0..<Int.random(in: 1...3, using: &generator.random) {
                let position = Int.random(in: 0...bytes.count, using: &generator.random)
                switch Int.random(in: 0...2, using: &generator.random) {
                case 0 where position < bytes.count: bytes.remove(at: position)
                case 1 where position < bytes.count: bytes[position] = generator.pick(alphabet)
                default: bytes.insert(generator.pick(alphabet), at: position)
                }
            }
            let mine = ours(bytes)
            if case .success(let value) = mine {
                #expect(foundation(bytes).map(value.same) == true, "\(String(decoding: bytes, as: UTF8.self)): \(value)")
            }
        }
    }
}
