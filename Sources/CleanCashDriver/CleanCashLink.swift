import CleanCashProtocol
import DeviceTransport

/// The CleanCash control unit behind a transport (a serial port, a USB-serial adapter): runs `CleanCashExchange`s
/// over it, one at a time (`CleanCashControlUnit` builds the session engine's `ControlUnit` on it). The protocol
/// decisions are the exchange's; this only moves bytes and keeps time. One owner: a link is used by one task at a time, so a request and its reply never interleave with another's.
public final class CleanCashLink<C: Clock> where C.Duration == Duration {
    public let transport: any Transport
    private let clock: C

    /// `clock` keeps the reply deadlines (injected, so a test can drive time).
    public init(transport: any Transport, clock: C) {
        self.transport = transport
        self.clock = clock
    }

    /// Sends `fields` and returns the unit's reply, a refusal, or what went wrong with the exchange. A transport
    /// failure (the port gone, the cable pulled) is thrown as such.
    public func perform(_ fields: [String], replyTimeout: Duration = .seconds(1), attempts: Int = 3) throws(CleanCashError)
        -> CleanCashExchange.Outcome
    {
        var exchange: CleanCashExchange
        do {
            exchange = try CleanCashExchange(fields, replyTimeout: replyTimeout, attempts: attempts)
        } catch {
            throw .frame(error)
        }
        // Bytes still waiting from an earlier exchange (a late reply) are dropped before the request goes out.
        for _ in 0..<64 {
            guard let stale = try? transport.read(maxCount: 512, timeout: .milliseconds(1)), !stale.isEmpty else { break }
        }
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
                case .finished(let outcome): return outcome
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

    /// `SIQ`, then `IQ`: the unit's status and identity, as at start, at shift open and in `kassa doctor`.
    public func probe() throws(CleanCashError) -> CleanCashProbe {
        let status: CleanCashStatus, severity: Int
        switch try perform(CleanCashRequest.status.fields) {
        case .replied(.status(let main, let level)): (status, severity) = (main, level)
        case .replied(let other): throw .unexpected("a status request was answered with \(other)")
        case .refused(let refusal): throw .refused(refusal)
        case .failed(let error): throw .exchange(error)
        }
        switch try perform(CleanCashRequest.identity.fields) {
        case .replied(.identity(let unitID, let version, let firmware)):
            return CleanCashProbe(status: status, severity: severity, unitID: unitID, protocolVersion: version, firmware: firmware)
        case .replied(let other): throw .unexpected("an identity request was answered with \(other)")
        case .refused(let refusal): throw .refused(refusal)
        case .failed(let error): throw .exchange(error)
        }
    }
}

extension CleanCashLink where C == ContinuousClock {
    public convenience init(transport: any Transport) { self.init(transport: transport, clock: ContinuousClock()) }
}

/// What a probe found.
public struct CleanCashProbe: Equatable, Sendable {
    public var status: CleanCashStatus
    public var severity: Int
    public var unitID: String
    public var protocolVersion: Int
    public var firmware: String

    public init(status: CleanCashStatus, severity: Int = 0, unitID: String, protocolVersion: Int, firmware: String) {
        self.status = status
        self.severity = severity
        self.unitID = unitID
        self.protocolVersion = protocolVersion
        self.firmware = firmware
    }
}

/// Why the control unit could not be used. Outside codes (the unit's NAK, the transport's errno) are kept as values.
public enum CleanCashError: Error, Equatable, CustomStringConvertible {
    /// The port failed; `requestSent` when a whole request had reached the line before (the unit may hold it).
    case transport(TransportError, requestSent: Bool)
    case frame(CleanCashFrameError)
    case exchange(CleanCashExchangeError)
    case refused(CleanCashRefusal)
    case unexpected(String)

    public var code: String {
        switch self {
        case .transport: return "CU_TRANSPORT"
        case .frame(let error): return error.code
        case .exchange(let error): return error.code
        case .refused(let refusal):
            let digits = String(refusal.code)
            return "CU_NAK_" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
        case .unexpected: return "CU_REPLY_INVALID"
        }
    }

    public var description: String {
        switch self {
        case .transport(let error, _): return "The control unit's port failed: \(error)"
        case .frame(let error): return error.description
        case .exchange(let error): return error.description
        case .refused(let refusal):
            switch refusal {
            case .licenceExceeded: return "The control unit refused: its licence is exceeded (NAK 009). Ask the unit's supplier to extend it."
            case .invalidPOSID: return "The control unit refused the register's POS id (NAK 007). Check the organisation number and register id in kassa.toml against the unit's registration."
            case .storageFull: return "The control unit's memory is full (NAK 010): it cannot register receipts. Contact the supplier to have it read out."
            case .notOperational: return "The control unit is not operational (NAK 006). Restart it; if it stays so, replace it and report the outage."
            default: return "The control unit refused the request (NAK \(refusal.code))."
            }
        case .unexpected(let what): return "The control unit's reply is not one Kassa understands: \(what)."
        }
    }
}
