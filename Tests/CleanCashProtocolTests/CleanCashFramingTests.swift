import CleanCashProtocol
import Testing

@Suite("CleanCash framing: golden frames, every split, noise, damage")
struct CleanCashFramingTests {
    static let siq: [UInt8] = Array("#!#00E#SIQ#2F\r".utf8)

    @Test("SIQ is #!#00E#SIQ#2F CR (the reference's example), and decodes back")
    func golden() throws {
        #expect(try CleanCashFraming.encode(["SIQ"]) == Self.siq)
        #expect(try CleanCashFraming.decode(Self.siq) == ["SIQ"])
        let identity = try CleanCashFraming.encode(["IR", "CC1234567890ABCD", "2", "1.0.7"])
        #expect(String(decoding: identity.prefix(7), as: UTF8.self) == "#!#026#")
        #expect(try CleanCashFraming.decode(identity) == ["IR", "CC1234567890ABCD", "2", "1.0.7"])
        // The shortest frames (a one- and two-letter type) and empty fields (an unused value between separators).
        #expect(try CleanCashFraming.decode(try CleanCashFraming.encode(["X"])) == ["X"])
        #expect(try CleanCashFraming.encode(["IQ"]).count == 13)
        #expect(try CleanCashFraming.decode(try CleanCashFraming.encode(["RR", "", "7"])) == ["RR", "", "7"])
    }

    @Test("a stream split at every byte gives the same frames; noise before, between and inside is skipped or reported")
    func everySplit() throws {
        let second = try CleanCashFraming.encode(["SIR", "0", "0"])
        let stream: [UInt8] = [0x00, 0xFF] + Array("garbage#".utf8) + Self.siq + Array("#!x".utf8) + second
        for split in 0...stream.count {
            var decoder = CleanCashFrameDecoder()
            let events = decoder.feed(stream[..<split]) + decoder.feed(stream[split...])
            #expect(events == [.frame(["SIQ"]), .frame(["SIR", "0", "0"])], "split at \(split)")
            #expect(decoder.skipped == 13, "split at \(split)")
        }
        // One byte at a time.
        var decoder = CleanCashFrameDecoder()
        let events = stream.flatMap { decoder.feed([$0]) }
        #expect(events == [.frame(["SIQ"]), .frame(["SIR", "0", "0"])])
    }

    @Test("damage: a wrong checksum, a wrong length, lower-case hex, a cut frame; the next good frame is still found")
    func damage() throws {
        var badChecksum = Self.siq
        badChecksum[11] = UInt8(ascii: "3")
        #expect(throws: CleanCashFrameError.checksumMismatch(sent: 0x3F, computed: 0x2F)) { try CleanCashFraming.decode(badChecksum) }
        let badLength = Array("#!#00F#SIQ#2E\r".utf8)
        #expect(throws: CleanCashFrameError.lengthMismatch(declared: 15, actual: 14)) { try CleanCashFraming.decode(badLength) }
        let lower = Array("#!#00e#SIQ#0F\r".utf8)
        #expect(throws: CleanCashFrameError.malformed("the length is not three hex digits")) { try CleanCashFraming.decode(lower) }
        var decoder = CleanCashFrameDecoder()
        let events = decoder.feed(badChecksum + Array("#!#00E#SI".utf8) + Self.siq)
        #expect(events.count == 3)
        #expect(events.first == .damaged(.checksumMismatch(sent: 0x3F, computed: 0x2F)))
        #expect(events.last == .frame(["SIQ"]))
        // A start with no end for longer than any frame can be: reported, and the stream goes on.
        var flooded = CleanCashFrameDecoder()
        let flood = flooded.feed(Array("#!#".utf8) + [UInt8](repeating: 0x41, count: 5000) + Self.siq)
        #expect(flood.first == .damaged(.tooLong(5017)) && flood.last == .frame(["SIQ"]), "\(flood)")
    }

    @Test("fields the protocol cannot carry are refused before anything is sent")
    func refusedFields() {
        #expect(throws: CleanCashFrameError.invalidField(index: 1)) { try CleanCashFraming.encode(["RR", "a#b"]) }
        #expect(throws: CleanCashFrameError.invalidField(index: 1)) { try CleanCashFraming.encode(["RR", "Kaffe\r"]) }
        #expect(throws: CleanCashFrameError.invalidField(index: 1)) { try CleanCashFraming.encode(["RR", "Käse"]) }
        #expect(throws: CleanCashFrameError.malformed("a message needs its type as the first field")) { try CleanCashFraming.encode([]) }
        #expect(throws: CleanCashFrameError.tooLong(4107)) { try CleanCashFraming.encode(["RR", String(repeating: "1", count: 4093)]) }
    }
}
