import DatecsProtocol
import Testing

@Suite("Datecs X protocol: frames, the stream decoder, status bits")
struct DatecsFramingTests {
    @Test("host frames match the reference's worked examples byte for byte (status 74, report 69 with X)")
    func golden() throws {
        #expect(try DatecsFraming.encodeRequest(sequence: 0x20, command: 74, data: [])
                == [0x01, 0x30, 0x30, 0x32, 0x3A, 0x20, 0x30, 0x30, 0x34, 0x3A, 0x05, 0x30, 0x31, 0x3B, 0x3F, 0x03])
        #expect(try DatecsFraming.encodeRequest(sequence: 0x20, command: 69, data: Array("X".utf8))
                == [0x01, 0x30, 0x30, 0x32, 0x3B, 0x20, 0x30, 0x30, 0x34, 0x35, 0x58, 0x05, 0x30, 0x32, 0x31, 0x33, 0x03])
    }

    @Test("a reply decodes back with its data fields and status; every byte split gives the same reply")
    func replies() throws {
        var status = DatecsStatus.clear
        status.set(2, 3, true)  // fiscal receipt open
        let frame = try DatecsFraming.encodeReply(sequence: 0x2A, command: 48, data: DatecsFraming.data(["0", "17"]), status: status)
        let reply = try DatecsFraming.decodeReply(frame)
        #expect(reply.sequence == 0x2A && reply.command == 48 && reply.fields == ["0", "17"] && reply.status.fiscalReceiptOpen)
        #expect(!reply.status.paperEnd && reply.status.errors.isEmpty)
        for cut in 0...frame.count {
            var decoder = DatecsFrameDecoder()
            let events = decoder.feed(frame[..<cut]) + decoder.feed(frame[cut...])
            #expect(events == [.reply(reply)], "cut at \(cut)")
        }
    }

    @Test("NAK and SYN bytes, noise, a damaged frame: reported or skipped, and the good frame behind them still found")
    func stream() throws {
        let good = try DatecsFraming.encodeReply(sequence: 0x21, command: 74, data: [], status: .clear)
        var damaged = good
        damaged[damaged.count - 2] ^= 0x01
        var decoder = DatecsFrameDecoder()
        let events = decoder.feed([0x16, 0x16, 0x41, 0x15] + damaged + [0x00] + good)
        #expect(events.prefix(3) == [.syn, .syn, .nak])
        #expect(events.contains { if case .damaged(.checksumMismatch) = $0 { return true } else { return false } })
        #expect(events.last == .reply(try DatecsFraming.decodeReply(good)))
    }

    @Test("hostile frames are refused: wrong LEN, lower nibbles out of range, missing separators, control bytes in data")
    func hostile() throws {
        let good = try DatecsFraming.encodeReply(sequence: 0x21, command: 74, data: Array("0".utf8), status: .clear)
        var badLength = good
        badLength[4] += 1
        #expect(throws: DatecsFrameError.self) { try DatecsFraming.decodeReply(badLength) }
        var badNibble = good
        badNibble[7] = 0x41
        #expect(throws: DatecsFrameError.self) { try DatecsFraming.decodeReply(badNibble) }
        #expect(throws: DatecsFrameError.self) { try DatecsFraming.decodeReply(Array(good.dropLast())) }
        #expect(throws: DatecsFrameError.invalidData(index: 1)) { try DatecsFraming.encodeRequest(sequence: 0x20, command: 49, data: [0x41, 0x03]) }
        #expect(throws: DatecsFrameError.invalidSequence(0x1F)) { try DatecsFraming.encodeRequest(sequence: 0x1F, command: 49, data: []) }
        #expect(throws: DatecsFrameError.tooLong(497)) {
            try DatecsFraming.encodeRequest(sequence: 0x20, command: 49, data: [UInt8](repeating: 0x41, count: 497))
        }
        // A decoder fed garbage never traps and finds nothing.
        var decoder = DatecsFrameDecoder()
        var seed: UInt32 = 7
        var garbage: [UInt8] = []
        for _ in 0..<4096 {
            seed = seed &* 1_103_515_245 &+ 12345
            garbage.append(UInt8(truncatingIfNeeded: seed >> 16))
        }
        #expect(!decoder.feed(garbage).contains { if case .reply = $0 { return true } else { return false } })
    }

    @Test("status bits: paper, cover, journal, fiscal memory; errors and warnings in words")
    func statusBits() {
        var status = DatecsStatus.clear
        status.set(0, 6, true)
        status.set(2, 0, true)
        status.set(2, 4, true)
        status.set(4, 4, true)
        #expect(status.coverOpen && status.paperEnd && status.journalNearlyFull && status.fiscalMemoryFull)
        #expect(status.errors == ["cover open", "out of paper", "fiscal memory full"])
        #expect(status.warnings == ["electronic journal nearly full"])
    }
}

@Suite("Datecs X protocol: commands and answers")
struct DatecsCommandTests {
    @Test("command data as the protocol lays it out (golden bytes), TAB after every field")
    func golden() throws {
        #expect(try DatecsCommand.sale(name: "Kafe", group: "B", unitPrice: 250, quantityMilli: 2000).data() == Array("Kafe\t2\t2.50\t2.000\t0\t\t0\t".utf8))
        #expect(try DatecsCommand.openReceipt(operator: 1, password: "0000", uniqueSaleNumber: "DT000001-0001-0000001", till: 1).data()
                == Array("1\t0000\tDT000001-0001-0000001\t1\t\t".utf8))
        #expect(try DatecsCommand.payment(mode: 0, amount: 1000).data() == Array("0\t10.00\t1\t".utf8))
        #expect(try DatecsCommand.report(zeroing: true).data() == Array("Z\t".utf8) && DatecsCommand.report(zeroing: true).code == 69)
        #expect(try DatecsCommand.closeReceipt.data().isEmpty && DatecsCommand.cancelReceipt.code == 60)
    }

    @Test("answers: the error code first, numbers and amounts strictly; anything else is FP_REPLY_INVALID")
    func answers() throws {
        let reply = DatecsReply(sequence: 0x20, command: 69, data: DatecsFraming.data(["0", "12", "6.20", "-1.05"]), status: .clear)
        let answer = try DatecsAnswer(reply)
        #expect(try answer.errorCode == 0 && answer.number(0) == 12 && answer.money(1) == 620 && answer.money(2) == -105)
        #expect(throws: DatecsCommandError.self) { try answer.number(1) }
        #expect(throws: DatecsCommandError.self) { try answer.money(5) }
        #expect(throws: DatecsCommandError.self) { try DatecsAnswer(DatecsReply(sequence: 0x20, command: 74, data: Array("OK\t".utf8), status: .clear)) }
        #expect(try DatecsAnswer(DatecsReply(sequence: 0x20, command: 48, data: Array("-111015\t".utf8), status: .clear)).errorCode == -111015)
    }
}

@Suite("Datecs X protocol: one exchange as a state machine")
struct DatecsExchangeTests {
    func reply(_ sequence: UInt8 = 0x25, command: UInt16 = 49, fields: [String] = ["0"]) throws -> [UInt8] {
        try DatecsFraming.encodeReply(sequence: sequence, command: command, data: DatecsFraming.data(fields), status: .clear)
    }

    @Test("a reply split at every byte completes the exchange once")
    func splits() throws {
        let bytes = try reply()
        for cut in 0...bytes.count {
            var exchange = try DatecsExchange(sequence: 0x25, command: 49, data: Array("Kaffe".utf8))
            #expect(exchange.start().count == 2)
            let first = exchange.received(Array(bytes[..<cut]))
            let second = exchange.received(Array(bytes[cut...]))
            let finished = (first + second).filter { if case .finished = $0 { return true } else { return false } }
            #expect(finished.count == 1, "cut at \(cut)")
        }
    }

    @Test("NAK, a damaged reply and a timeout re-send the very same frame (same SEQ); the attempts are bounded")
    func sameSequence() throws {
        var exchange = try DatecsExchange(sequence: 0x25, command: 49, data: [], attempts: 3)
        guard case .send(let first) = exchange.start()[0] else { Issue.record("no send"); return }
        #expect(exchange.received([0x15]) == [.send(first), .armTimer(.milliseconds(500))])
        var damaged = try reply()
        damaged[damaged.count - 3] ^= 0x02
        #expect(exchange.received(damaged) == [.send(first), .armTimer(.milliseconds(500))])
        #expect(exchange.timedOut() == [.finished(.failed(.noReply(attempts: 3)))])
        var refused = try DatecsExchange(sequence: 0x26, command: 49, data: [], attempts: 2)
        _ = refused.start()
        _ = refused.received([0x15])
        #expect(refused.received([0x15]) == [.finished(.failed(.refusedFrame(attempts: 2)))])
    }

    @Test("SYN waits without a re-send, up to the busy limit; a late reply of an earlier SEQ is skipped")
    func busyAndStale() throws {
        var exchange = try DatecsExchange(sequence: 0x25, command: 49, data: [], busyLimit: .seconds(1))
        _ = exchange.start()
        #expect(exchange.received([0x16]) == [.armTimer(.milliseconds(500))])
        #expect(exchange.received(try reply(0x24)) == [], "a late reply to SEQ 24h")
        #expect(exchange.stale == 1 && exchange.sent == 1)
        #expect(exchange.received([0x16]) == [.armTimer(.milliseconds(500))])
        #expect(exchange.received([0x16]) == [.finished(.failed(.busyTooLong))])
        var other = try DatecsExchange(sequence: 0x25, command: 49, data: [])
        _ = other.start()
        #expect(other.received(try reply(command: 53)) == [.finished(.failed(.unexpectedCommand(53)))])
    }
}
