import CleanCashProtocol
import Testing

@Suite("CleanCash messages: requests and strictly checked replies")
struct CleanCashMessagesTests {
    static let code = String(repeating: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", count: 2).prefix(59)

    @Test("requests frame as the reference shows")
    func requests() throws {
        #expect(try CleanCashFraming.encode(CleanCashRequest.status.fields) == Array("#!#00E#SIQ#2F\r".utf8))
        #expect(try CleanCashFraming.decode(CleanCashFraming.encode(CleanCashRequest.identity.fields)) == ["IQ"])
    }

    @Test("replies: status, identity, registration, every NAK code")
    func replies() throws {
        #expect(try CleanCashReply(fields: ["SIR", "0", "0"]) == .status(.ok, severity: 0))
        #expect(try CleanCashReply(fields: ["SIR", "5", "1"]) == .status(.busy, severity: 1))
        #expect(try CleanCashReply(fields: ["IR", "CC1234567890", "2", "1.0.7"]) == .identity(unitID: "CC1234567890", protocolVersion: 2, firmware: "1.0.7"))
        #expect(try CleanCashReply(fields: ["RR", String(Self.code), "CC1234567890", "", "1"])
                == .registered(controlCode: String(Self.code), unitID: "CC1234567890", storage: .high))
        for (code, refusal) in [(1, CleanCashRefusal.badChecksum), (2, .unknownType), (3, .invalidData), (4, .invalidSequence),
                                (6, .notOperational), (7, .invalidPOSID), (8, .internalError), (9, .licenceExceeded),
                                (10, .storageFull), (11, .invalidSequenceNumber), (5, .other(5))] {
            let text = String(repeating: "0", count: 3 - String(code).count) + String(code)
            #expect(try CleanCashReply(fields: ["NAK", text]) == .refused(refusal))
            #expect(refusal.code == code)
        }
    }

    @Test("hostile replies are refused: unknown types, missing or extra values, out-of-range numbers, a short control code")
    func hostile() {
        let cases: [[String]] = [
            [], ["XYZ"], ["SIR", "0"], ["SIR", "6", "0"], ["SIR", "-1", "0"], ["SIR", "0", "0", "0"], ["SIR", "٣", "0"],
            ["IR", "id", "3", "fw"], ["IR", "", "2", "fw"], ["RR", "SHORT", "id", "", "0"],
            ["RR", String(Self.code.dropLast()) + "1", "id", "", "0"], ["RR", String(Self.code), "id", "", "3"],
            ["NAK", "1"], ["NAK", "0001"], ["NAK", "abc"],
        ]
        for fields in cases {
            #expect(throws: CleanCashReplyError.self, "\(fields)") { try CleanCashReply(fields: fields) }
        }
    }
}
