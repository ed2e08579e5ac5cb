import Foundation
import StrictDecoding
import Testing

private struct Line: Decodable, Equatable {
    var name: String
    var unitPrice: Int64
    var discount: Discount?
    struct Discount: Decodable, Equatable {
        var amount: Int64?
        var reason: String
    }
}

private struct Sale: Decodable, Equatable {
    var id: String
    var lines: [Line]
    var training: Bool?
    var payments: [[String: Int64]]?
    var tags: [String: String]?
}

private func decode(_ text: String) throws(StrictDecodingError) -> Sale {
    try StrictJSONDecoder().decode(Sale.self, from: Data(text.utf8))
}

private func refusal(_ text: String) -> StrictDecodingError? {
    do {
        _ = try decode(text)
        return nil
    } catch {
        return error
    }
}

@Suite("Strict JSON decoding")
struct StrictDecodingTests {
    @Test("a valid input decodes as JSONDecoder would")
    func valid() throws {
        let text = #"{"id":"a","lines":[{"name":"Öl ☕","unitPrice":1250,"discount":{"amount":50,"reason":"x"}}],"training":false}"#
        let sale = try decode(text)
        #expect(sale == Sale(id: "a", lines: [Line(name: "Öl ☕", unitPrice: 1250, discount: .init(amount: 50, reason: "x"))], training: false))
    }

    @Test("an unknown field is named, with the closest known field", arguments: [
        (#"{"id":"a","lines":[],"trainig":true}"#, "trainig", "training", "the top level"),
        (#"{"id":"a","lines":[],"paymnets":[]}"#, "paymnets", "payments", "the top level"),
        (#"{"id":"a","lines":[{"name":"x","unitPrice":1,"discout":{"amount":1,"reason":"r"}}]}"#, "discout", "discount", "lines[0]"),
        (#"{"id":"a","lines":[{"name":"x","unitPrice":1,"discount":{"amout":1,"reason":"r"}}]}"#, "amout", "amount", "lines[0].discount"),
    ])
    func unknownField(text: String, field: String, suggestion: String, path: String) throws {
        let error = try #require(refusal(text))
        #expect(error.kind == .unknownField)
        #expect(error.field == field)
        #expect(error.suggestion == suggestion)
        #expect(error.path == path)
        #expect(error.reason.contains("'\(field)'") && error.reason.contains("Did you mean '\(suggestion)'?"))
    }

    @Test("a misspelt required field is reported as the misspelling, not as a missing field")
    func misspeltRequired() throws {
        let error = try #require(refusal(#"{"id":"a","lines":[{"name":"x","unitPrise":1}]}"#))
        #expect(error.kind == .unknownField)
        #expect(error.suggestion == "unitPrice")
    }

    @Test("a field far from every known one lists the known fields")
    func noSuggestion() throws {
        let error = try #require(refusal(#"{"id":"a","lines":[],"zzzzzzzzzz":1}"#))
        #expect(error.suggestion == nil)
        #expect(error.reason.contains("known fields: id, lines, payments, tags, training"))
    }

    @Test("a dictionary's keys are data, not fields")
    func dictionaries() throws {
        let sale = try decode(#"{"id":"a","lines":[],"tags":{"anything":"goes"},"payments":[{"cash":5}]}"#)
        #expect(sale.tags == ["anything": "goes"])
        #expect(sale.payments == [["cash": 5]])
    }

    @Test("a fraction, a number beyond Int64, a string or null where a whole number belongs", arguments: [
        (#"{"id":"a","lines":[{"name":"x","unitPrice":12.5}]}"#, "fraction 12.5"),
        (#"{"id":"a","lines":[{"name":"x","unitPrice":9223372036854775808}]}"#, "out of range"),
        (#"{"id":"a","lines":[{"name":"x","unitPrice":"12"}]}"#, "found a string"),
        (#"{"id":"a","lines":[{"name":"x","unitPrice":null}]}"#, "is null"),
    ])
    func wholeNumbers(text: String, detail: String) throws {
        let error = try #require(refusal(text))
        #expect(error.kind == .wrongType)
        #expect(error.path == "lines[0].unitPrice")
        #expect(error.reason.contains("lines[0].unitPrice"))
        #expect(error.reason.contains(detail), "\(error.reason)")
        #expect(!error.reason.contains("not valid JSON"))
    }

    @Test("text that is not JSON says so")
    func notJSON() throws {
        let error = try #require(refusal(#"{"id": "a", "lines": [}"#))
        #expect(error.kind == .notJSON)
        #expect(error.reason.hasPrefix("it is not valid JSON"))
    }

    @Test("a missing field is named with its path")
    func missing() throws {
        let error = try #require(refusal(#"{"id":"a","lines":[{"name":"x"}]}"#))
        #expect(error.kind == .missingField)
        #expect(error.reason == "the field 'unitPrice' is missing in lines[0]")
    }

    @Test("deep nesting is refused, not a crash")
    func deep() throws {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: StrictDecodingError.self) { try StrictJSONDecoder().decode([String].self, from: Data(text.utf8)) }
    }
}
