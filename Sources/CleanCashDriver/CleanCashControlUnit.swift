import CleanCashProtocol
import DeviceTransport
import FiscalProfiles
import Foundation
import Logging
import Synchronization

/// A CleanCash control unit on a serial port (or a USB-serial adapter), as the session engine's `ControlUnit`.
///
/// - **One owner.** Every call holds the unit's lock for its whole exchange, so a request and its reply never interleave
///   with another's, in this process; another process is kept off the port by the transport's lock.
/// - **The port** is opened on first use and again after it failed (a cable pulled, an adapter re-plugged); after
///   each (re)open the unit is probed (`SIQ`, `IQ`), which chooses protocol 1 or 2 and learns the unit's id.
/// - **Registrations.** Protocol 2: one `RR` under the engine's serial; a lost reply re-sends the same frame (same
///   serial), which the unit answers from memory. Protocol 1 (`ST`, `RH`, `SQ`) has no serial: its `SQ` is never
///   re-sent by the driver, so a lost answer leaves the registration pending rather than risk a second one (decision 0028).
public final class CleanCashControlUnit<C: Clock>: ControlUnit, @unchecked Sendable where C.Duration == Duration {
    public let connection: String
    private let makeTransport: @Sendable () throws(TransportError) -> any Transport
    private let clock: C
    private let replyTimeout: Duration
    private let attempts: Int
    private let logger = Logger(label: "kassa.control-unit")
    private struct State {
        var link: CleanCashLink<C>?
        var probe: CleanCashProbe?
        var storage: CleanCashStorage?
    }
    private let state = Mutex(State())

    /// `makeTransport` opens the port (`SerialTransport` for `serial://` URLs); `connection` is how it is shown.
    public init(connection: String, clock: C, replyTimeout: Duration = .seconds(1), attempts: Int = 3,
                makeTransport: @escaping @Sendable () throws(TransportError) -> any Transport) {
        self.connection = connection
        self.clock = clock
        self.replyTimeout = replyTimeout
        self.attempts = attempts
        self.makeTransport = makeTransport
    }

    deinit {
        state.withLock { $0.link?.transport.close() }
    }

    /// Closes the port (it is opened again on the next call).
    public func close() {
        state.withLock { state in
            state.link?.transport.close()
            state.link = nil
            state.probe = nil
        }
    }

    public func status() throws(ControlUnitError) -> ControlUnitStatus {
        try state.withLock { (state: inout State) throws(ControlUnitError) -> ControlUnitStatus in
            let link = try self.link(&state)
            let probe: CleanCashProbe
            do throws(CleanCashError) {
                probe = try link.probe()
            } catch {
                self.dropOnTransportFailure(error, &state)
                throw Self.unitError(error, indefinite: false)
            }
            state.probe = probe
            return self.status(probe, storage: state.storage)
        }
    }

    /// The unit's id from the last probe on the open line (probing when the line was (re)opened since).
    public func currentUnitID() throws(ControlUnitError) -> String {
        try state.withLock { (state: inout State) throws(ControlUnitError) -> String in
            let link = try self.link(&state)
            if let probe = state.probe { return probe.unitID }
            do throws(CleanCashError) {
                let probe = try link.probe()
                state.probe = probe
                return probe.unitID
            } catch {
                self.dropOnTransportFailure(error, &state)
                throw Self.unitError(error, indefinite: false)
            }
        }
    }

    public func register(_ receipt: ControlUnitReceipt, serial: Int64) throws(ControlUnitError) -> ControlUnitReply {
        let wire: CleanCashReceipt
        do {
            wire = try Self.wireReceipt(receipt)
        } catch {
            throw ControlUnitError(code: -4, identifier: error.code, message: error.description)
        }
        guard serial > 0 else { throw ControlUnitError(code: -4, identifier: "CU_RECEIPT_INVALID", message: "a registration needs a serial above 0") }
        return try state.withLock { (state: inout State) throws(ControlUnitError) -> ControlUnitReply in
            let link = try self.link(&state)
            do throws(CleanCashError) {
                if state.probe == nil { state.probe = try link.probe() }
            } catch {
                self.dropOnTransportFailure(error, &state)
                throw Self.unitError(error, indefinite: false)
            }
            guard let probe = state.probe else { throw .noAnswer }
            do throws(CleanCashError) {
                let reply = try probe.protocolVersion >= 2
                    ? self.registerV2(link, wire, serial: UInt64(serial))
                    : self.registerV1(link, wire, unitID: probe.unitID)
                state.storage = reply.storage
                if reply.storage != .ok {
                    logger.warning("control unit storage", metadata: ["unit": "\(reply.unitID)", "storage": "\(reply.storage)"])
                }
                return ControlUnitReply(controlCode: reply.code, unitID: reply.unitID, storage: Self.name(reply.storage))
            } catch {
                self.dropOnTransportFailure(error, &state)
                throw Self.unitError(error, indefinite: true)
            }
        }
    }

    private func registerV2(_ link: CleanCashLink<C>, _ receipt: CleanCashReceipt, serial: UInt64) throws(CleanCashError)
        -> (code: String?, unitID: String, storage: CleanCashStorage)
    {
        switch try link.perform(CleanCashRequest.register(serial: serial, receipt).fields, replyTimeout: replyTimeout, attempts: attempts) {
        case .replied(.registered(let code, let unitID, let storage)): return (code, unitID, storage)
        case .replied(let other): throw .unexpected("a registration was answered with \(other)")
        case .refused(let refusal): throw .refused(refusal)
        case .failed(let error): throw .exchange(error)
        }
    }

    private func registerV1(_ link: CleanCashLink<C>, _ receipt: CleanCashReceipt, unitID: String) throws(CleanCashError)
        -> (code: String?, unitID: String, storage: CleanCashStorage)
    {
        for (request, tries) in [(CleanCashRequest.startReceipt, attempts), (.receiptHeader(receipt), attempts)] {
            switch try link.perform(request.fields, replyTimeout: replyTimeout, attempts: tries) {
            case .replied(.acknowledged): continue
            case .replied(let other): throw .unexpected("\(request.fields[0]) was answered with \(other)")
            case .refused(let refusal): throw .refused(refusal)
            case .failed(let error): throw .exchange(error)
            }
        }
        switch try link.perform(CleanCashRequest.signatureRequest.fields, replyTimeout: replyTimeout, attempts: 1) {
        case .replied(.signature(let code)): return (code, unitID, .ok)
        case .replied(let other): throw .unexpected("SQ was answered with \(other)")
        case .refused(let refusal): throw .refused(refusal)
        case .failed(let error): throw .exchange(error)
        }
    }

    /// The open link, opening the port (and forgetting the last probe) when it is not open.
    private func link(_ state: inout State) throws(ControlUnitError) -> CleanCashLink<C> {
        if let link = state.link { return link }
        do {
            let transport = try makeTransport()
            try transport.open()
            let link = CleanCashLink(transport: transport, clock: clock)
            state.link = link
            state.probe = nil
            return link
        } catch {
            throw ControlUnitError(code: -3, identifier: "CU_TRANSPORT", message: "The control unit's port \(connection) cannot be opened: \(error)")
        }
    }

    private func dropOnTransportFailure(_ error: CleanCashError, _ state: inout State) {
        guard case .transport = error else { return }
        state.link?.transport.close()
        state.link = nil
        state.probe = nil
    }

    private func status(_ probe: CleanCashProbe, storage: CleanCashStorage?) -> ControlUnitStatus {
        let names: [CleanCashStatus: String] = [.ok: "ok", .warning: "warning", .protocolError: "protocol-error",
                                                .nonFatalError: "non-fatal-error", .fatalError: "fatal-error", .busy: "busy"]
        return ControlUnitStatus(state: names[probe.status] ?? "unknown", severity: probe.severity, unitID: probe.unitID,
                                 protocolVersion: probe.protocolVersion, firmware: probe.firmware, storage: storage.map(Self.name),
                                 connection: connection)
    }

    static func name(_ storage: CleanCashStorage) -> String {
        switch storage {
        case .ok: return "ok"
        case .high: return "high"
        case .full: return "full"
        }
    }

    /// The engine's receipt in the unit's format, every field checked.
    static func wireReceipt(_ receipt: ControlUnitReceipt) throws(CleanCashReceiptError) -> CleanCashReceipt {
        let kind: CleanCashReceipt.Kind
        switch receipt.kind {
        case .normal: kind = .normal
        case .copy: kind = .copy
        case .training: kind = .training
        case .proForma: kind = .proForma
        }
        return try CleanCashReceipt(dateTime: receipt.dateTime, receiptID: receipt.receiptID, posID: receipt.posID,
                                    organisationNumber: receipt.organisationNumber, total: receipt.total,
                                    negativeTotal: receipt.negativeTotal, kind: kind, vat: receipt.vat)
    }

    /// The port's error for the engine. A failure after a registration's request may have reached the unit is
    /// indefinite (code −1 or −2: it may hold it); a refusal, or a failure before anything was sent, is definite.
    static func unitError(_ error: CleanCashError, indefinite: Bool) -> ControlUnitError {
        let code: Int32
        switch error {
        case .refused(let refusal): code = Int32(refusal.code)
        case .exchange(.requestDamaged): code = 1
        case .transport(_, let sent): code = sent && indefinite ? -1 : -3
        case .frame: code = -4
        case .exchange(.unexpectedReply), .unexpected: code = -2
        case .exchange(.noReply), .exchange(.damagedReply): code = -1
        }
        return ControlUnitError(code: code, identifier: error.code, message: error.description)
    }
}

extension CleanCashControlUnit where C == ContinuousClock {
    /// A unit at a `serial://` device URL (`serial:///dev/ttyUSB0?baud=9600`, 8N1 unless the URL says otherwise).
    public convenience init(url: String, replyTimeout: Duration = .seconds(1), attempts: Int = 3) throws(TransportError) {
        guard case .serial(let path, let parameters) = try DeviceURL(parsing: url) else {
            throw .invalidURL(url, reason: "a control unit is on a serial port: serial:///dev/ttyUSB0?baud=9600")
        }
        let settings = try SerialSettings(parameters: parameters, url: url)
        self.init(connection: url, clock: ContinuousClock(), replyTimeout: replyTimeout, attempts: attempts) {
            SerialTransport(path: path, settings: settings)
        }
    }
}
