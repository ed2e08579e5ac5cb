import DeviceTransport
import ESCPOS
import Logging

/// Why a printer job or query failed.
public enum ReceiptPrinterError: Error, Equatable, Sendable, CustomStringConvertible {
    case transport(TransportError)
    /// The connection cannot carry answers (a file, a one-way cable) or the printer sent none.
    case statusUnavailable(device: String, reason: String)
    /// The printer answered with bytes that are not status bytes.
    case garbledStatus(device: String, ESCPOSError)
    /// The printer reports a condition that would swallow the job.
    case notReady(device: String, problem: String)
    case encoding(ESCPOSError)
    /// The job was sent, but the printer did not confirm it within the deadline (or reported a problem after it): it
    /// may or may not be on paper. Never reported as printed.
    case unconfirmed(device: String, reason: String)

    public var description: String {
        switch self {
        case .transport(let error): return error.description
        case .statusUnavailable(let device, let reason): return "Status of \(device) is unavailable: \(reason)."
        case .garbledStatus(let device, let error):
            return "\(device) sent garbled status: \(error.description)"
        case .notReady(let device, let problem): return "\(device) is not ready: \(problem)."
        case .encoding(let error): return error.description
        case .unconfirmed(let device, let reason):
            return "The job was sent to \(device) but not confirmed: \(reason). Look at the printer: the receipt may be missing or cut short."
        }
    }
}

/// A receipt printer behind one transport: status queries, jobs with a status check first, drawer pulses.
///
/// One `ReceiptPrinter` owns its transport for as long as it lives; callers never share it, so a status request and
/// its answer cannot interleave with another job.
public final class ReceiptPrinter {
    public let transport: any Transport
    public let profile: PrinterProfile
    public var logger: Logger
    /// How long to wait for each status byte.
    public var statusTimeout: Duration = .milliseconds(800)
    /// Set once the printer has answered a status request on this connection.
    public private(set) var hasAnsweredStatus = false

    public init(transport: any Transport, profile: PrinterProfile, logger: Logger = Logger(label: "kassa.printer")) {
        self.transport = transport
        self.profile = profile
        self.logger = logger
    }

    public func open() throws(ReceiptPrinterError) {
        do { try transport.open() } catch { throw .transport(error) }
    }

    public func close() { transport.close() }

    /// Asks `DLE EOT n` for each query and merges the answers. Stale input is drained first.
    public func status(_ queries: [StatusQuery] = StatusQuery.allCases) throws(ReceiptPrinterError) -> PrinterStatus {
        guard transport.canRead else {
            throw .statusUnavailable(device: transport.name, reason: "this connection cannot carry answers back")
        }
        drainInput()
        var status = PrinterStatus()
        for query in queries {
            do {
                try transport.write(Command.statusRequest(query).bytes, timeout: .seconds(2))
            } catch {
                throw .transport(error)
            }
            let answer: [UInt8]
            do {
                answer = try transport.read(maxCount: 1, timeout: statusTimeout)
            } catch {
                if case .timedOut = error {
                    throw .statusUnavailable(
                        device: transport.name,
                        reason: "the printer did not answer DLE EOT \(query.rawValue) within \(statusTimeout.milliseconds) ms "
                            + "(it may not support status, or it is off)")
                }
                throw .transport(error)
            }
            do {
                try status.apply(answer[0], for: query)
            } catch {
                throw .garbledStatus(device: transport.name, error)
            }
            logger.debug("status", metadata: ["query": "\(query.rawValue)", "byte": "\(answer[0])"])
        }
        hasAnsweredStatus = true
        return status
    }

    /// Reads and drops whatever the printer sent unasked (automatic status blocks, late answers).
    private func drainInput() {
        pendingAnswers = []
        for _ in 0..<16 {
            // Only what is already there: a look without waiting (a drain that waited would cost every status read its wait).
            guard let stale = try? transport.read(maxCount: 256, timeout: .zero), !stale.isEmpty else { return }
            logger.debug("dropped stale input", metadata: ["bytes": "\(stale.count)"])
        }
    }

    /// How far a sent job is known to have got.
    public enum Delivery: String, Sendable, Codable, Equatable {
        /// The printer answered a status request sent after the job's last byte: it has received all of it, and its
        /// status then showed nothing that stops printing.
        case confirmed
        /// Sent over a connection that cannot answer (a file, a one-way cable) or to a printer that never answers status:
        /// nothing can confirm it.
        case sent
    }

    /// After a job: asks `DLE EOT` 1–4 (which the printer can only answer once it has received every byte before the
    /// request) and waits up to `deadline`. `expectAnswer` says the printer answered status before the job: a printer
    /// that did and now does not is `unconfirmed`; one that never did gives `.sent`. A connection lost meanwhile is the
    /// transport's error (`DISCONNECTED`).
    public func confirmDelivery(expectAnswer: Bool, deadline: Duration) throws(ReceiptPrinterError) -> Delivery {
        guard transport.canRead else { return .sent }
        let saved = statusTimeout
        statusTimeout = deadline
        defer { statusTimeout = saved }
        let status: PrinterStatus
        do {
            status = try self.status([.printer, .offlineCause, .errorCause, .rollPaper])
        } catch {
            switch error {
            case .statusUnavailable(_, let reason):
                guard expectAnswer else { return .sent }
                throw .unconfirmed(device: transport.name, reason: "the printer answered status before the job but not after it (\(reason))")
            default: throw error
            }
        }
        if let problem = status.blockingProblem {
            throw .unconfirmed(device: transport.name, reason: "after the job the printer reports \(problem), so it may not have printed all of it")
        }
        if profile.features.processIDResponse { try awaitProcessID(deadline: deadline) }
        return .confirmed
    }

    /// The process ID last asked for; four ASCII digits go out per request.
    private var processID = 0
    /// Bytes read while waiting for one process ID that may belong to the next (pipelined jobs).
    private var pendingAnswers: [UInt8] = []

    /// A job followed by its process-ID request, to be written in one go, and the answer that confirms it.
    public struct TrackedJob: Sendable, Equatable {
        public var bytes: [UInt8]
        public var answer: [UInt8]
        /// How long the printer may take to print it (from when the job before it was confirmed).
        public var deadline: Duration
    }

    /// `bytes` with a fresh process-ID request behind it. Several tracked jobs may be written back to back and their
    /// answers awaited in order (`awaitProcessID(_:)`): the printer answers each once it has printed what came before.
    public func tracked(_ bytes: [UInt8], deadline: Duration) -> TrackedJob {
        processID = (processID + 1) % 10_000
        var digits: [UInt8] = []
        var rest = processID
        for _ in 0..<4 {
            digits.insert(0x30 + UInt8(rest % 10), at: 0)
            rest /= 10
        }
        return TrackedJob(bytes: bytes + [0x1D, 0x28, 0x48, 0x06, 0x00, 0x30, 0x30] + digits, answer: [0x37, 0x22] + digits + [0x00],
                          deadline: deadline)
    }

    /// Epson's process-ID request (`GS ( H 6 0 48 48 d1 d2 d3 d4`): the printer answers `0x37 0x22 d1 d2 d3 d4 0x00` only
    /// once it has processed — printed — everything before it. Other bytes meanwhile (automatic status) are skipped.
    func awaitProcessID(deadline: Duration) throws(ReceiptPrinterError) {
        let job = tracked([], deadline: deadline)
        do {
            try transport.write(job.bytes, timeout: .seconds(2))
        } catch {
            throw .transport(error)
        }
        try awaitProcessID(job)
    }

    /// Waits for `job`'s process-ID answer (written before, maybe with other jobs behind it). Bytes after the answer are
    /// kept for the next job's wait.
    public func awaitProcessID(_ job: TrackedJob) throws(ReceiptPrinterError) {
        let expected = job.answer
        var received = pendingAnswers
        pendingAnswers = []
        let clock = ContinuousClock()
        let end = clock.now + job.deadline
        while true {
            if received.count >= expected.count,
               let at = (0...(received.count - expected.count)).first(where: { received[$0..<($0 + expected.count)].elementsEqual(expected) }) {
                pendingAnswers = Array(received[(at + expected.count)...])
                hasAnsweredStatus = true
                return
            }
            if received.count > 4096 { received.removeFirst(received.count - 64) }
            guard clock.now < end else { break }
            do {
                received += try transport.read(maxCount: 256, timeout: end - clock.now)
            } catch {
                if case .timedOut = error { break }
                throw .transport(error)
            }
        }
        pendingAnswers = received.suffix(64)
        throw .unconfirmed(device: transport.name, reason: "the printer received the job but did not report it printed "
            + "(no answer to the process-ID request GS ( H within \(job.deadline.milliseconds) ms)")
    }

    public enum Preflight: Sendable, Equatable {
        case ready(PrinterStatus)
        /// The status could not be read; the job may still print. The reason is for a warning.
        case unknown(String)
    }

    /// Checks that the printer can take a job: throws `.notReady` on paper out, cover open, offline or errors.
    public func preflight() throws(ReceiptPrinterError) -> Preflight {
        guard transport.canRead else { return try portPreflight(fallback: "\(transport.name) cannot report status") }
        let status: PrinterStatus
        do {
            status = try self.status([.printer, .offlineCause, .errorCause, .rollPaper])
        } catch {
            switch error {
            case .statusUnavailable(_, let reason): return try portPreflight(fallback: reason)
            default: throw error
            }
        }
        if let problem = status.blockingProblem { throw .notReady(device: transport.name, problem: problem) }
        return .ready(status)
    }

    /// Where the printer does not answer `DLE EOT`, the usblp driver's port status still tells paper out and offline.
    private func portPreflight(fallback: String) throws(ReceiptPrinterError) -> Preflight {
        guard let reporter = transport as? any PortStatusReporting else { return .unknown(fallback) }
        let port: PortStatus?
        do {
            port = try reporter.portStatus()
        } catch {
            throw .transport(error)
        }
        guard let port else { return .unknown(fallback) }
        var status = PrinterStatus()
        status.online = port.selected && !port.error
        status.paper = port.paperOut ? .out : .ok
        if let problem = status.blockingProblem { throw .notReady(device: transport.name, problem: problem) }
        return .ready(status)
    }

    /// Sends a job; a slow printer gets about a millisecond per byte on top of five seconds.
    public func send(_ bytes: [UInt8]) throws(ReceiptPrinterError) {
        do {
            try transport.write(bytes, timeout: .milliseconds(5000 + bytes.count))
        } catch {
            throw .transport(error)
        }
    }

    /// `ESC p` on the given pin.
    public func pulseDrawer(pin: DrawerPin, onMilliseconds: Int, offMilliseconds: Int) throws(ReceiptPrinterError) {
        let command: Command
        do {
            command = try ESCPOSWriter.drawerPulseCommand(profile: profile, pin: pin, on: onMilliseconds, off: offMilliseconds)
        } catch {
            throw .encoding(error)
        }
        try send(command.bytes)
    }
}
