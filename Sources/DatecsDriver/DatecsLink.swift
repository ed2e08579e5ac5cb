import DatecsProtocol
import DeviceTransport

/// A Datecs "X" fiscal printer behind a transport: runs `DatecsExchange`s over it, one at a time, with a sequence
/// number per command. A command that got no answer keeps its SEQ: sent again (the same command and data), it goes
/// out under the same SEQ, so a device that executed it answers from memory instead of executing it twice.
/// One owner: a link is used by one task at a time.
public final class DatecsLink<C: Clock> where C.Duration == Duration {
    public let transport: any Transport
    private let clock: C
    private var sequence: UInt8
    private var unanswered: (code: UInt16, data: [UInt8], sequence: UInt8)?

    /// `firstSequence` (20h–FFh) is the SEQ of the first command.
    public init(transport: any Transport, clock: C, firstSequence: UInt8 = 0x20) {
        self.transport = transport
        self.clock = clock
        sequence = DatecsFraming.sequenceRange.contains(firstSequence) ? firstSequence : 0x20
    }

    /// The SEQ the next new command will carry (to be kept across processes: the device answers its last SEQ from memory).
    public var nextSequence: UInt8 { sequence }

    /// Sends a command and returns the device's answer (error code 0), or throws why not. A reply under this SEQ to
    /// another command is the device repeating its last answer from memory (its last SEQ was this one, from another
    /// process or program): it did not execute this command, which is sent once more under the next SEQ.
    public func perform(_ command: DatecsCommand, replyTimeout: Duration = .milliseconds(500), attempts: Int = 3) throws(DatecsError) -> DatecsAnswer {
        do {
            return try performOnce(command, replyTimeout: replyTimeout, attempts: attempts)
        } catch .exchange(.unexpectedCommand) {
            unanswered = nil
            return try performOnce(command, replyTimeout: replyTimeout, attempts: attempts)
        }
    }

    private func performOnce(_ command: DatecsCommand, replyTimeout: Duration, attempts: Int) throws(DatecsError) -> DatecsAnswer {
        let data: [UInt8]
        do { data = try command.data() } catch { throw .command(error) }
        let seq: UInt8
        if let unanswered, unanswered.code == command.code, unanswered.data == data {
            seq = unanswered.sequence
        } else {
            seq = sequence
            sequence = sequence == 0xFF ? 0x20 : sequence + 1
        }
        var exchange: DatecsExchange
        do {
            exchange = try DatecsExchange(sequence: seq, command: command.code, data: data, replyTimeout: replyTimeout, attempts: attempts)
        } catch {
            throw .frame(error)
        }
        for _ in 0..<64 {
            guard let stale = try? transport.read(maxCount: 512, timeout: .milliseconds(1)), !stale.isEmpty else { break }
        }
        unanswered = (command.code, data, seq)
        var actions = exchange.start()
        var deadline = clock.now.advanced(by: replyTimeout)
        var written = false
        while true {
            for action in actions {
                switch action {
                case .send(let bytes):
                    do { try transport.write(bytes, timeout: .seconds(1)) } catch { throw .transport(error, requestSent: written) }
                    written = true
                case .armTimer(let duration): deadline = clock.now.advanced(by: duration)
                case .finished(.replied(let reply)):
                    unanswered = nil
                    let answer: DatecsAnswer
                    do { answer = try DatecsAnswer(reply) } catch { throw .command(error) }
                    guard answer.errorCode == 0 else { throw .refused(code: answer.errorCode, status: answer.status) }
                    return answer
                case .finished(.failed(let error)):
                    if case .unexpectedCommand = error { unanswered = nil }
                    throw .exchange(error)
                }
            }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else {
                actions = exchange.timedOut()
                continue
            }
            do throws(TransportError) {
                actions = exchange.received(try transport.read(maxCount: 512, timeout: remaining))
            } catch {
                guard case .timedOut = error else { throw .transport(error, requestSent: written) }
                actions = exchange.timedOut()
            }
        }
    }
}

extension DatecsLink where C == ContinuousClock {
    public convenience init(transport: any Transport, firstSequence: UInt8 = 0x20) {
        self.init(transport: transport, clock: ContinuousClock(), firstSequence: firstSequence)
    }
}

/// Why the fiscal printer could not be used. The device's own error code and status are kept as values.
public enum DatecsError: Error, Equatable, CustomStringConvertible {
    case transport(TransportError, requestSent: Bool)
    case frame(DatecsFrameError)
    case command(DatecsCommandError)
    case exchange(DatecsExchangeError)
    case refused(code: Int, status: DatecsStatus)

    public var code: String {
        switch self {
        case .transport: return "FP_TRANSPORT"
        case .frame(let error): return error.code
        case .command(let error): return error.code
        case .exchange(let error): return error.code
        case .refused: return "FP_REFUSED"
        }
    }

    public var description: String {
        switch self {
        case .transport(let error, _): return "The fiscal printer's port failed: \(error)"
        case .frame(let error): return error.description
        case .command(let error): return error.description
        case .exchange(let error): return error.description
        case .refused(let code, let status):
            let why = status.errors.isEmpty ? "" : " (" + status.errors.joined(separator: ", ") + ")"
            return "The fiscal printer refused the command with error \(code)\(why). Fix the condition it names, then repeat."
        }
    }
}
