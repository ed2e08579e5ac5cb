import CleanCashProtocol
import Testing

@Suite("Control-unit exchange: one request, its reply, retries with the same frame")
struct CleanCashExchangeTests {
    static let sir = try! CleanCashFraming.encode(["SIR", "0", "0"])

    @Test("a reply split at every byte completes the exchange once")
    func reply() throws {
        for split in 0...Self.sir.count {
            var exchange = try CleanCashExchange(["SIQ"])
            #expect(exchange.start() == [.send(Array("#!#00E#SIQ#2F\r".utf8)), .armTimer(.seconds(1))])
            let actions = exchange.received(Array(Self.sir[..<split])) + exchange.received(Array(Self.sir[split...]))
            #expect(actions == [.finished(.replied(.status(.ok, severity: 0)))], "split at \(split)")
            #expect(exchange.received(Self.sir).isEmpty && exchange.timedOut().isEmpty, "nothing after the end")
        }
    }

    @Test("timeouts, a damaged reply and NAK 001 re-send the very same frame; the attempts are bounded")
    func retries() throws {
        var exchange = try CleanCashExchange(["SIQ"], attempts: 3)
        let first = exchange.start()
        var damaged = Self.sir
        damaged[damaged.count - 2] ^= 0x01
        let second = exchange.received(damaged)
        let third = exchange.received(try CleanCashFraming.encode(["NAK", "001"]))
        #expect(first == second && second == third && exchange.sent == 3)
        #expect(exchange.timedOut() == [.finished(.failed(.noReply(attempts: 3)))])
        var silent = try CleanCashExchange(["IQ"], replyTimeout: .milliseconds(300), attempts: 2)
        #expect(silent.start() == [.send(silent.frame), .armTimer(.milliseconds(300))])
        #expect(silent.timedOut() == [.send(silent.frame), .armTimer(.milliseconds(300))])
        #expect(silent.timedOut() == [.finished(.failed(.noReply(attempts: 2)))])
    }

    @Test("a refusal ends it with its code; a reply Kassa does not understand ends it with CU_REPLY_INVALID")
    func endings() throws {
        var refused = try CleanCashExchange(["SIQ"])
        _ = refused.start()
        #expect(refused.received(try CleanCashFraming.encode(["NAK", "009"])) == [.finished(.refused(.licenceExceeded))])
        var odd = try CleanCashExchange(["SIQ"])
        _ = odd.start()
        let actions = odd.received(try CleanCashFraming.encode(["SIR", "9", "0"]))
        guard case .finished(.failed(let error)) = actions.first else { Issue.record("\(actions)"); return }
        #expect(error.code == "CU_REPLY_INVALID")
    }

    @Test("noise before the reply is skipped; a late half of an earlier reply does not join the next attempt's")
    func noise() throws {
        var exchange = try CleanCashExchange(["SIQ"])
        _ = exchange.start()
        #expect(exchange.received([0x00, 0x7F] + Array("#!#00".utf8)).isEmpty)
        _ = exchange.timedOut()  // re-sent: the half frame is forgotten
        #expect(exchange.received(Self.sir) == [.finished(.replied(.status(.ok, severity: 0)))])
        // Noise that looks like the start of a frame, right before the reply: the reply still answers, no re-send.
        var fooled = try CleanCashExchange(["SIQ"])
        _ = fooled.start()
        #expect(fooled.received(Array("#!".utf8) + Self.sir) == [.finished(.replied(.status(.ok, severity: 0)))])
        #expect(fooled.sent == 1)
    }
}
