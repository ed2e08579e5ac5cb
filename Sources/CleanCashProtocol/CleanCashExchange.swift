/// One request to the control unit and its reply, as a pure state machine: bytes and timer expiries in, bytes to
/// send, a timer to arm and the outcome out. The I/O (a serial port, a pty) stays with the caller.
///
/// - The request's frame is sent and a reply awaited for `replyTimeout`.
/// - Noise is skipped. A damaged reply, a `NAK 001` (the unit saw a damaged request) and a timeout all re-send the
///   **same frame** — never a new one, so a registration is never made twice under different content — up to
///   `attempts` times in all; then the exchange fails with what happened last.
/// - Any other `NAK` ends it with that refusal; a reply that is not one Kassa understands ends it too.
/// - A well-formed reply of another request's type (a late answer to an earlier exchange) is skipped.
public struct CleanCashExchange: Sendable {
    public enum Action: Equatable, Sendable {
        case send([UInt8])
        case armTimer(Duration)
        case finished(Outcome)
    }

    public enum Outcome: Equatable, Sendable {
        case replied(CleanCashReply)
        case refused(CleanCashRefusal)
        case failed(CleanCashExchangeError)
    }

    public let frame: [UInt8]
    public let replyTimeout: Duration
    public let attempts: Int
    public private(set) var sent = 0
    /// Replies skipped because they answer another request (late answers).
    public private(set) var stale = 0
    private let expected: String?
    private var decoder = CleanCashFrameDecoder()
    private var done = false

    public init(_ fields: [String], replyTimeout: Duration = .seconds(1), attempts: Int = 3) throws(CleanCashFrameError) {
        frame = try CleanCashFraming.encode(fields)
        expected = Self.replyType[fields.first ?? ""]
        self.replyTimeout = replyTimeout
        self.attempts = max(1, attempts)
    }

    /// The reply type each request is answered with (besides `NAK`).
    static let replyType = ["SIQ": "SIR", "IQ": "IR", "RR": "RR", "ST": "ACK", "RH": "ACK", "SQ": "SR"]

    /// The first actions: send the frame, arm the timer.
    public mutating func start() -> [Action] {
        guard sent == 0, !done else { return [] }
        return send()
    }

    /// Bytes from the unit.
    public mutating func received(_ bytes: [UInt8]) -> [Action] {
        guard !done else { return [] }
        // A damaged frame followed by a good one in the same bytes (noise that looked like a frame's start) is no
        // reason to ask again: the good one answers.
        var damage: CleanCashFrameError?
        for event in decoder.feed(bytes) {
            switch event {
            case .damaged(let error):
                damage = damage ?? error
            case .frame(let fields):
                if let expected, let type = fields.first, type != expected, type != "NAK", Self.replyType.values.contains(type) {
                    stale += 1
                    continue
                }
                do {
                    let reply = try CleanCashReply(fields: fields)
                    if case .refused(let refusal) = reply {
                        if refusal == .badChecksum { return retry(because: .requestDamaged) }
                        return finish(.refused(refusal))
                    }
                    return finish(.replied(reply))
                } catch {
                    return finish(.failed(.unexpectedReply(error)))
                }
            }
        }
        if let damage { return retry(because: .damagedReply(damage)) }
        return []
    }

    /// The armed timer expired without a reply.
    public mutating func timedOut() -> [Action] {
        guard !done else { return [] }
        return retry(because: .noReply(attempts: sent))
    }

    private mutating func send() -> [Action] {
        sent += 1
        decoder = CleanCashFrameDecoder()  // a late half of an earlier reply must not join the next one
        return [.send(frame), .armTimer(replyTimeout)]
    }

    private mutating func retry(because reason: CleanCashExchangeError) -> [Action] {
        guard sent < attempts else {
            if case .noReply = reason { return finish(.failed(.noReply(attempts: sent))) }
            return finish(.failed(reason))
        }
        return send()
    }

    private mutating func finish(_ outcome: Outcome) -> [Action] {
        done = true
        return [.finished(outcome)]
    }
}

public enum CleanCashExchangeError: Error, Equatable, Sendable, CustomStringConvertible {
    case noReply(attempts: Int)
    case damagedReply(CleanCashFrameError)
    case requestDamaged
    case unexpectedReply(CleanCashReplyError)

    public var code: String {
        switch self {
        case .noReply: return "CU_NO_REPLY"
        case .damagedReply(let error): return error.code
        case .requestDamaged: return "CU_REQUEST_DAMAGED"
        case .unexpectedReply(let error): return error.code
        }
    }

    public var description: String {
        switch self {
        case .noReply(let attempts):
            return "The control unit did not answer (\(attempts) attempts). Check its cable and power, and the port and speed in kassa.toml."
        case .damagedReply(let error): return "\(error) The line to the control unit is unreliable: check the cable."
        case .requestDamaged: return "The control unit kept receiving damaged requests: check the cable and the line speed."
        case .unexpectedReply(let error): return error.description
        }
    }
}
