/// One command to the fiscal printer and its reply, as a pure state machine: bytes and timer expiries in, bytes to send,
/// a timer to arm and the outcome out.
///
/// - The frame is sent and a reply awaited for `replyTimeout` (the device answers within 60 ms; 500 ms by default).
/// - `NAK` (the device saw a damaged frame), a damaged reply and a timeout re-send **the same frame with the same SEQ**:
///   a device that sees the SEQ of its last command does not execute it again but repeats its answer. At most
///   `attempts` sends in all.
/// - `SYN` (busy, repeated every 60 ms) re-arms the timer without a re-send, for at most `busyLimit` in all.
/// - A reply with another SEQ (a late answer to an earlier command) is skipped; one with this SEQ but another command
///   ends the exchange as unexpected.
public struct DatecsExchange: Sendable {
    public enum Action: Equatable, Sendable {
        case send([UInt8])
        case armTimer(Duration)
        case finished(Outcome)
    }

    public enum Outcome: Equatable, Sendable {
        case replied(DatecsReply)
        case failed(DatecsExchangeError)
    }

    public let frame: [UInt8]
    public let sequence: UInt8
    public let command: UInt16
    public let replyTimeout: Duration
    public let attempts: Int
    public let busyLimit: Duration
    public private(set) var sent = 0
    public private(set) var busyWaited: Duration = .zero
    public private(set) var stale = 0
    private var decoder = DatecsFrameDecoder()
    private var done = false

    public init(sequence: UInt8, command: UInt16, data: [UInt8], replyTimeout: Duration = .milliseconds(500), attempts: Int = 3,
                busyLimit: Duration = .seconds(60)) throws(DatecsFrameError) {
        frame = try DatecsFraming.encodeRequest(sequence: sequence, command: command, data: data)
        self.sequence = sequence
        self.command = command
        self.replyTimeout = replyTimeout
        self.attempts = max(1, attempts)
        self.busyLimit = busyLimit
    }

    public mutating func start() -> [Action] {
        guard sent == 0, !done else { return [] }
        return send()
    }

    public mutating func received(_ bytes: [UInt8]) -> [Action] {
        guard !done else { return [] }
        var damage: DatecsExchangeError?
        var busy = false
        for event in decoder.feed(bytes) {
            switch event {
            case .reply(let reply):
                guard reply.sequence == sequence else {
                    stale += 1
                    continue
                }
                guard reply.command == command else { return finish(.failed(.unexpectedCommand(reply.command))) }
                return finish(.replied(reply))
            case .nak: damage = .refusedFrame(attempts: sent)
            case .syn: busy = true
            case .damaged(let error): damage = damage ?? .damagedReply(error)
            }
        }
        if let damage { return retry(because: damage) }
        if busy {
            // The device is working on it: wait again, without a re-send, within the busy limit.
            busyWaited += replyTimeout
            guard busyWaited <= busyLimit else { return finish(.failed(.busyTooLong)) }
            return [.armTimer(replyTimeout)]
        }
        return []
    }

    public mutating func timedOut() -> [Action] {
        guard !done else { return [] }
        return retry(because: .noReply(attempts: sent))
    }

    private mutating func send() -> [Action] {
        sent += 1
        decoder = DatecsFrameDecoder()
        return [.send(frame), .armTimer(replyTimeout)]
    }

    private mutating func retry(because reason: DatecsExchangeError) -> [Action] {
        guard sent < attempts else {
            switch reason {
            case .noReply: return finish(.failed(.noReply(attempts: sent)))
            case .refusedFrame: return finish(.failed(.refusedFrame(attempts: sent)))
            default: return finish(.failed(reason))
            }
        }
        return send()
    }

    private mutating func finish(_ outcome: Outcome) -> [Action] {
        done = true
        return [.finished(outcome)]
    }
}

public enum DatecsExchangeError: Error, Equatable, Sendable, CustomStringConvertible {
    case noReply(attempts: Int)
    case damagedReply(DatecsFrameError)
    case refusedFrame(attempts: Int)
    case busyTooLong
    case unexpectedCommand(UInt16)

    public var code: String {
        switch self {
        case .noReply: return "FP_NO_REPLY"
        case .damagedReply(let error): return error.code
        case .refusedFrame: return "FP_NAK"
        case .busyTooLong: return "FP_BUSY"
        case .unexpectedCommand: return "FP_REPLY_INVALID"
        }
    }

    public var description: String {
        switch self {
        case .noReply(let attempts):
            return "The fiscal printer did not answer (\(attempts) attempts). Check its cable and power, and the port and speed in kassa.toml."
        case .damagedReply(let error): return "\(error) The line to the fiscal printer is unreliable: check the cable."
        case .refusedFrame(let attempts): return "The fiscal printer refused the frame as damaged \(attempts) times (NAK): check the cable and the line speed."
        case .busyTooLong: return "The fiscal printer stayed busy (SYN) too long: check it for a paper jam or an open cover."
        case .unexpectedCommand(let command): return "The fiscal printer answered another command (\(command)) under this one's sequence number."
        }
    }
}
