import DeviceTransport
import ESCPOS
import Foundation
import KassaRuntime
import Logging
import PrintSpool
import ReceiptPrinter

/// A device's last status as the API reports it.
public struct DeviceStatus: Sendable, Codable, Equatable {
    /// Whether the status could be read at all (a file connection cannot answer).
    public var readable: Bool
    public var online: Bool?
    public var cover: String?
    public var paper: String?
    public var drawer: String?
    public var errors: [String]
    /// What stops printing now (paper out, cover open, offline, an error, unreachable); nil when ready.
    public var problem: String?
    public var ready: Bool
    public var readAt: Date
}

/// A configured device as the API shows it.
public struct DeviceInfo: Sendable, Codable, Equatable {
    public var name: String
    public var url: String
    public var profile: String
    /// `virtual`, `tcp`, `serial`, `usb` or `file`.
    public var connection: String
    public var isDefault: Bool
    public var status: DeviceStatus?
}

/// The one owner of a device (decision 0019): it sends the device's jobs one at a time in spool order, reads its
/// status between them (never during one), holds jobs while the printer is not ready and sends them by itself when it
/// is, and polls the status while idle. Blocking I/O runs on the owner's own serial queue, never on the cooperative
/// thread pool.
public actor DeviceOwner {
    public let name: String
    public let isDefault: Bool
    let environment: KassaEnvironment
    let base: ResolvedDevice
    let spool: SpoolStore
    let bus: EventBus
    let logger: Logger
    let pollInterval: Duration
    private let queue: DispatchQueue
    /// The virtual printer's simulated conditions (`POST /v1/devices/{name}/simulate`).
    private var simulate: [String: String]
    private var status: DeviceStatus?
    private var wakeFlag = false
    private var sleeper: CheckedContinuation<Void, Never>?
    private var sleepGeneration = 0
    private var running: Task<Void, Never>?
    /// Print jobs sent and not yet confirmed, at most (`[serve] pipeline`; decision 0022).
    let pipeline: Int
    /// How long the connection stays open after the last job.
    let linger: Duration
    /// The connection kept open while there is work.
    let link = DeviceLink()
    /// When the last job went over the link.
    private var lastJob: ContinuousClock.Instant = .now
    /// When the printer last proved itself ready on the open link: a status read, or a run of jobs it confirmed.
    private var provenReady: ContinuousClock.Instant?
    /// A run of jobs is on the wire: their answers come on the link, so no status request may go between them.
    private var busy = false
    private var waiters: [String: [(token: UUID, continuation: CheckedContinuation<SpoolJob?, Never>)]] = [:]
    private var stopping = false
    /// Told of every job that reached a final state (the till records a receipt's print outcome).
    private var onEnded: (@Sendable (SpoolJob) async -> Void)?

    func setOnEnded(_ handler: @escaping @Sendable (SpoolJob) async -> Void) { onEnded = handler }

    public init(name: String, device: ResolvedDevice, isDefault: Bool, environment: KassaEnvironment, spool: SpoolStore, bus: EventBus,
                pollInterval: Duration, pipeline: Int = 4, linger: Duration = .seconds(2), logger: Logger) {
        self.pipeline = max(1, pipeline)
        self.linger = linger
        self.name = name
        self.isDefault = isDefault
        self.environment = environment
        base = device
        self.spool = spool
        self.bus = bus
        self.pollInterval = pollInterval
        self.logger = logger
        queue = DispatchQueue(label: "kassa.device.\(name)")
        if case .virtual(let conditions) = device.url { simulate = conditions } else { simulate = [:] }
    }

    var device: ResolvedDevice {
        var device = base
        if case .virtual = base.url { device.url = .virtual(simulate: simulate) }
        return device
    }

    var connection: String {
        switch base.url {
        case .virtual: return "virtual"
        case .tcp: return "tcp"
        case .serial: return "serial"
        case .usb: return "usb"
        case .file: return "file"
        }
    }

    public func info() -> DeviceInfo {
        DeviceInfo(name: name, url: base.url.description, profile: base.profile.id, connection: connection, isDefault: isDefault, status: status)
    }

    /// The device with a status: read now when none was read yet (just after start).
    public func infoWithStatus() async -> DeviceInfo {
        if status == nil { _ = await readStatus() }
        return info()
    }

    public var profile: PrinterProfile { base.profile }
    public var isVirtual: Bool { if case .virtual = base.url { true } else { false } }

    /// Runs `body` on the device's queue.
    private func io<T: Sendable>(_ body: @escaping @Sendable () throws(RuntimeError) -> T) async -> Result<T, RuntimeError> {
        await withCheckedContinuation { continuation in
            queue.async {
                let result: Result<T, RuntimeError>
                do throws(RuntimeError) {
                    result = .success(try body())
                } catch {
                    result = .failure(error)
                }
                continuation.resume(returning: result)
            }
        }
    }

    /// Runs `body` on the device's queue, for work that mixes the spool and the device.
    private func work<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async -> Result<T, any Error> {
        await withCheckedContinuation { continuation in
            queue.async {
                do {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
    }

    // MARK: Status

    /// Reads a fresh status (between jobs: the owner never interleaves it with one). While a run of jobs is on the wire,
    /// their answers are awaited on the same connection, so the status read last (at most moments ago) is returned.
    public func readStatus() async -> DeviceStatus {
        await readStatus(keep: false)
    }

    /// `keep`: read on the kept connection, opening it (before a run of jobs). Otherwise the kept connection is used when
    /// it is open, and a connection of its own is opened and closed when it is not (an idle poll does not hold a network
    /// printer that may take one client at a time).
    private func readStatus(keep: Bool) async -> DeviceStatus {
        if busy, let status { return status }
        let device = self.device
        let environment = self.environment
        let link = self.link
        let isVirtual = self.isVirtual
        let result = await io { () throws(RuntimeError) -> StatusReport in
            if isVirtual || (link.printer == nil && !keep) { return try environment.status(of: device) }
            return try link.use(environment: environment, device: device, retry: true) { printer throws(RuntimeError) in
                try environment.status(printer, device: device)
            }
        }
        let now = Date()
        let fresh: DeviceStatus
        switch result {
        case .success(let report):
            let status = report.status
            fresh = DeviceStatus(
                readable: true, online: status.online, cover: status.coverOpen.map { $0 ? "open" : "closed" }, paper: status.paper?.rawValue,
                drawer: report.drawerOpen.map { $0 ? "open" : "closed" }, errors: (status.errors ?? []).map(\.rawValue),
                problem: report.problem, ready: report.problem == nil, readAt: now)
        case .failure(.statusUnavailable):
            // The connection cannot answer (a file, a printer without status): nothing blocks sending.
            fresh = DeviceStatus(readable: false, errors: [], problem: nil, ready: true, readAt: now)
        case .failure(let error):
            fresh = DeviceStatus(readable: false, online: false, errors: [], problem: "unreachable: \(error.description)", ready: false, readAt: now)
        }
        provenReady = fresh.ready && fresh.readable && !isVirtual ? ContinuousClock.now : nil
        await record(fresh)
        return fresh
    }

    /// Keeps `fresh` as the device's status; a change is an event.
    private func record(_ fresh: DeviceStatus) async {
        let previous = status
        status = fresh
        if fresh.ready != previous?.ready || fresh.problem != previous?.problem || fresh.paper != previous?.paper || fresh.cover != previous?.cover
            || fresh.drawer != previous?.drawer || fresh.online != previous?.online {
            await bus.publish("device.status", info())
        }
    }

    /// The status to decide whether the next jobs may go: the printer proved itself ready on the open connection moments
    /// ago (it answered status, or confirmed it had printed the job before), or a status read now.
    private func readyStatus() async -> DeviceStatus {
        if let status, status.ready, let provenReady, ContinuousClock.now - provenReady < Self.freshness, link.isOpen {
            return status
        }
        return await readStatus(keep: true)
    }

    /// How long a ready status, read or proved by a confirmed job on the open connection, stands for the next job.
    static let freshness: Duration = .milliseconds(500)

    /// Changes the virtual printer's simulated conditions (paper, cover, drawer, offline, error); refused for a real device.
    public func setSimulation(_ conditions: [String: String]) async throws(APIError) -> DeviceStatus {
        guard isVirtual else { throw APIError(.conflict, "NOT_VIRTUAL", "\(name) is a real device; only the virtual printer simulates conditions.") }
        var next = simulate
        for (key, value) in conditions { next[key] = value }
        do {
            _ = try VirtualPrinterTransport(profile: base.profile, fonts: nil, simulate: next)
        } catch {
            throw APIError.badRequest("\(error)", code: "INVALID_SIMULATION")
        }
        simulate = next
        let fresh = await readStatus()
        poke()
        return fresh
    }

    // MARK: Jobs

    /// Starts the owner's loop.
    public func start() {
        guard running == nil else { return }
        running = Task { await self.loop() }
    }

    /// Wakes the loop (a job was queued, a status may have changed).
    public func poke() {
        if let sleeper {
            self.sleeper = nil
            sleeper.resume()
        } else {
            wakeFlag = true
        }
    }

    /// udev saw the device come or go: wake the loop, which reads the status at once (between jobs, as always), so that
    /// held jobs resume as soon as a printer is back, and a printer that left is reported at once. A kept connection to a
    /// device that left fails on its next use and is opened afresh.
    public func hotplug() {
        provenReady = nil
        poke()
    }

    /// Stops after the job being sent (queued jobs stay in the spool).
    public func stop() async {
        stopping = true
        poke()
        await running?.value
    }

    /// Waits for a poke or `interval`, whichever comes first.
    private func nap(_ interval: Duration) async {
        if wakeFlag {
            wakeFlag = false
            return
        }
        sleepGeneration += 1
        let generation = sleepGeneration
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            sleeper = continuation
            Task { [weak self] in
                try? await Task.sleep(for: interval)
                await self?.alarm(generation)
            }
        }
    }

    private func alarm(_ generation: Int) {
        guard generation == sleepGeneration, let sleeper else { return }
        self.sleeper = nil
        sleeper.resume()
    }

    private func loop() async {
        _ = await readStatus()
        while !stopping {
            var worked = false
            do {
                let jobs = try spool.pending(device: name, limit: pipeline)
                if !jobs.isEmpty { worked = try await process(jobs) }
            } catch {
                logger.error("spool read failed", metadata: ["error": "\(error)"])
            }
            if stopping { break }
            if worked { continue }
            // Idle, or the first job is held: wait for a poke or the poll interval, then read the status. The kept
            // connection is closed once no job went over it for `linger`.
            await closeIdleLink()
            await nap(link.isOpen ? min(pollInterval, linger) : pollInterval)
            if stopping { break }
            await closeIdleLink()
            _ = await readStatus()
        }
        let link = self.link
        _ = await io { () throws(RuntimeError) in link.close() }
    }

    private func closeIdleLink() async {
        guard link.isOpen, ContinuousClock.now - lastJob >= linger else { return }
        let link = self.link
        _ = await io { () throws(RuntimeError) in link.close() }
        provenReady = nil
    }

    /// Works on the device's first jobs (up to `pipeline` of them). True when a job reached a final state (the next
    /// ones may follow at once).
    private func process(_ jobs: [SpoolJob]) async throws -> Bool {
        let job = jobs[0]
        let now = Date()
        if job.state == .sending {
            // Only this owner sends, and it finishes each job it starts: a job found `sending` was being sent when the
            // previous process died. Its bytes may be on paper (or the drawer open), so it is never sent again
            // (at most once; decision 0020): it ends `unconfirmed`, and a receipt's copy is the way to print it again.
            let interrupted = try spool.update(job.id, state: .unconfirmed, errorCode: "INTERRUPTED",
                                               errorMessage: "the service stopped while this job was being sent; it may be on paper, so it "
                                                   + "was not sent again: check the printout, and submit it anew (a receipt: print its copy) if it is missing",
                                               now: now)
            await changed(interrupted)
            return true
        }
        if let expires = job.expiresAt, expires < now {
            let expired = try spool.update(job.id, state: .expired, errorCode: "EXPIRED",
                                           errorMessage: job.kind == .drawer ? "the drawer kick waited too long and was dropped: a drawer never opens late"
                                               : "the job waited longer than its maximum age", now: now)
            await changed(expired)
            return true
        }
        // A job is only sent to a printer that is ready; otherwise it waits, held, and is sent by itself later.
        // A drawer kick needs no paper.
        let status = await readyStatus()
        let unreachable = status.problem.map { $0.hasPrefix("unreachable") } ?? false
        let blocking = job.kind == .drawer || job.whenNotReady == .force ? unreachable : !status.ready
        if blocking, job.whenNotReady == .fail {
            // A drop-in endpoint's job: its client is told now and retries; it must never print later (decision 0024).
            let failed = try spool.update(job.id, state: .failed, errorCode: "NOT_READY",
                                          errorMessage: "the printer was not ready: \(status.problem ?? "unknown")", now: Date())
            await changed(failed)
            return true
        }
        if blocking {
            if job.state != .held {
                let held = try spool.update(job.id, state: .held, errorCode: "HELD", errorMessage: status.problem, now: Date())
                await changed(held)
            }
            // The jobs behind it wait for the same reason, and say so: each is held too (and sent in order later). A
            // drawer kick behind paper-out print jobs is held as well, since the order per device is kept.
            for waiting in try spool.queued(device: name) {
                let next = waiting.whenNotReady == .fail
                    ? try spool.update(waiting.id, state: .failed, errorCode: "NOT_READY",
                                       errorMessage: "the printer was not ready: \(status.problem ?? "unknown")", now: Date())
                    : try spool.update(waiting.id, state: .held, errorCode: "HELD", errorMessage: status.problem, now: Date())
                await changed(next)
            }
            return false
        }
        if job.kind == .drawer { return try await kick(job) }
        if isVirtual { return try await printVirtual(job) }
        // A run of print jobs, in order, each marked `sending` durably right before its bytes leave, their confirmations
        // awaited behind them (decision 0022).
        var run: [SpoolJob] = []
        for candidate in jobs {
            guard candidate.kind == .print, candidate.state == .queued || candidate.state == .held,
                  !(candidate.expiresAt.map { $0 < now } ?? false) else { break }
            run.append(candidate)
        }
        return try await printRun(run)
    }

    /// What became of a job written in a run.
    private enum Written: Sendable {
        /// Its process-ID request went out behind it: its confirmation is awaited after the run is written.
        case tracked(SpoolJob, ReceiptPrinter.TrackedJob)
        /// Sent and confirmed (or not) by a status read behind it, or on a connection that cannot answer.
        case delivered(SpoolJob, ReceiptPrinter.Delivery)
    }

    /// Sends `run` on the kept connection: each job marked `sending` (committed) and written; where the printer answers
    /// the process-ID request, the jobs go back to back, each followed by its request, and their answers are awaited in
    /// order; otherwise each is confirmed by a status read behind it. The outcomes are committed together.
    private func printRun(_ run: [SpoolJob]) async throws -> Bool {
        guard !run.isEmpty else { return false }
        busy = true
        defer { busy = false }
        let device = self.device
        let environment = self.environment
        let link = self.link
        let spool = self.spool
        let tracks = base.profile.features.processIDResponse
        var written: [Written] = []
        var failed: [SpoolStore.Change] = []
        sending: for job in run {
            let result = await work { () throws -> Written in
                let payload = try spool.payload(job.id)
                let printer = try link.open(environment: environment, device: device)
                // At most once (decision 0020): `sending` is durable before the first byte leaves.
                let sending = try spool.update(job.id, state: .sending, attempt: true, now: Date())
                do throws(ReceiptPrinterError) {
                    let deadline = KassaEnvironment.confirmDeadline(bytes: payload.count)
                    if tracks, printer.transport.canRead {
                        let tracked = printer.tracked(payload, deadline: deadline)
                        try printer.send(tracked.bytes)
                        return .tracked(sending, tracked)
                    }
                    try printer.send(payload)
                    return .delivered(sending, try printer.confirmDelivery(expectAnswer: printer.hasAnsweredStatus, deadline: deadline))
                } catch {
                    link.close()
                    throw SentFailure(job: sending, error: RuntimeError(error))
                }
            }
            lastJob = .now
            switch result {
            case .success(let outcome):
                written.append(outcome)
                switch outcome {
                case .tracked(let sending, _), .delivered(let sending, _): await changed(sending)
                }
            case .failure(let failure as SentFailure):
                // Sent, maybe in part: never sent again, and not reported as printed.
                await changed(failure.job)
                let message = failure.error.code == "UNCONFIRMED" ? failure.error.description
                    : "the connection failed while the job was sent or confirmed (\(failure.error.description)); it may be on paper in part or whole: "
                        + "check the printout"
                failed.append(SpoolStore.Change(id: failure.job.id, state: .unconfirmed, errorCode: failure.error.code, errorMessage: message))
                break sending
            case .failure(let error):
                // Nothing was sent (the spool or the connection could not be opened): the job stays as it was, and is
                // sent or held on the next pass, after a status read that says why.
                logger.error("job not started", metadata: ["job": "\(job.id)", "error": "\(error)"])
                provenReady = nil
                break sending
            }
        }
        // The answers of the tracked jobs, in order; then every outcome in one commit.
        let outcomes = written
        let alreadyFailed = failed
        let committed = await work { () throws -> [SpoolJob] in
            var changes: [SpoolStore.Change] = []
            var failure: String?
            for item in outcomes {
                switch item {
                case .delivered(let job, let delivery):
                    changes.append(delivery == .confirmed ? SpoolStore.Change(id: job.id, state: .done)
                                   : SpoolStore.Change(id: job.id, state: .unconfirmed, errorCode: "UNCONFIRMED",
                                                       errorMessage: "sent, not confirmed: the printer cannot report that it printed it"))
                case .tracked(let job, let request):
                    if let failure {
                        changes.append(SpoolStore.Change(id: job.id, state: .unconfirmed, errorCode: "UNCONFIRMED",
                                                         errorMessage: "sent behind a job the printer did not confirm (\(failure)); it may be on paper: "
                                                             + "check the printout"))
                        continue
                    }
                    do throws(ReceiptPrinterError) {
                        guard let printer = link.printer else {
                            throw .unconfirmed(device: device.url.description, reason: "the connection was closed before the printer answered")
                        }
                        try printer.awaitProcessID(request)
                        changes.append(SpoolStore.Change(id: job.id, state: .done))
                    } catch {
                        let error = RuntimeError(error)
                        failure = error.description
                        link.close()
                        changes.append(SpoolStore.Change(id: job.id, state: .unconfirmed, errorCode: error.code, errorMessage: error.description))
                    }
                }
            }
            return try spool.update(changes + alreadyFailed, now: Date())
        }
        lastJob = .now
        switch committed {
        case .success(let jobs):
            // Every job confirmed printed: the printer has just shown it is ready.
            provenReady = jobs.allSatisfy({ $0.state == SpoolJob.State.done }) ? ContinuousClock.now : nil
            for job in jobs { await changed(job) }
            return !jobs.isEmpty
        case .failure(let error):
            logger.error("spool update failed", metadata: ["error": "\(error)"])
            provenReady = nil
            return false
        }
    }

    /// A job whose bytes may have left when its connection failed.
    private struct SentFailure: Error {
        var job: SpoolJob
        var error: RuntimeError
    }

    /// The virtual printer: one job at a time through the print service, which writes its preview.
    private func printVirtual(_ job: SpoolJob) async throws -> Bool {
        let payload = try spool.payload(job.id)
        let sending = try spool.update(job.id, state: .sending, attempt: true, now: Date())
        await changed(sending)
        let device = self.device
        let environment = self.environment
        let result = await io { () throws(RuntimeError) -> PrintOutcome in
            try environment.send(payload, copies: 1, device: device, previewPath: nil, warnings: [], checkStatus: false)
        }
        let final: SpoolJob
        switch result {
        case .success(let outcome):
            final = try spool.update(job.id, state: outcome.delivery == "confirmed" ? .done : .unconfirmed,
                                     errorCode: outcome.delivery == "confirmed" ? nil : "UNCONFIRMED",
                                     errorMessage: outcome.delivery == "confirmed" ? nil : outcome.notes.last, preview: outcome.previewPNG, now: Date())
        case .failure(.unconfirmed(_, let reason)):
            final = try spool.update(job.id, state: .unconfirmed, errorCode: "UNCONFIRMED", errorMessage: reason, now: Date())
        case .failure(let error):
            final = try spool.update(job.id, state: .failed, errorCode: error.code, errorMessage: error.description, now: Date())
        }
        await changed(final)
        return true
    }

    /// A drawer kick, on the kept connection (the virtual printer: its own).
    private func kick(_ job: SpoolJob) async throws -> Bool {
        let sending = try spool.update(job.id, state: .sending, attempt: true, now: Date())
        await changed(sending)
        let final: SpoolJob
        // The kick's age is checked again right before the pulse.
        if let expires = job.expiresAt, expires < Date() {
            final = try spool.update(job.id, state: .expired, errorCode: "EXPIRED", errorMessage: "the drawer kick waited too long", now: Date())
        } else {
            busy = true
            defer { busy = false }
            let device = self.device
            let environment = self.environment
            let link = self.link
            let isVirtual = self.isVirtual
            // An empty payload kicks with the device's own settings; `ESC p m t1 t2` (an ePOS `<pulse>`) with its pin and time.
            let pulse = Self.pulse(try spool.payload(job.id))
            let result = await io { () throws(RuntimeError) -> DrawerOutcome in
                if isVirtual { return try environment.openDrawer(device, pin: pulse?.pin, onMilliseconds: pulse?.on, offMilliseconds: pulse?.off) }
                let printer = try link.open(environment: environment, device: device)
                do throws(RuntimeError) {
                    return try environment.openDrawer(on: printer, device, pin: pulse?.pin, onMilliseconds: pulse?.on, offMilliseconds: pulse?.off)
                } catch {
                    link.close()
                    throw error
                }
            }
            lastJob = .now
            switch result {
            case .success: final = try spool.update(job.id, state: .done, now: Date())
            case .failure(let error): final = try spool.update(job.id, state: .failed, errorCode: error.code, errorMessage: error.description, now: Date())
            }
        }
        await changed(final)
        return true
    }

    /// The pin and times of a drawer job's `ESC p m t1 t2` payload; nil for the device's own.
    static func pulse(_ payload: [UInt8]) -> (pin: Int, on: Int, off: Int)? {
        guard payload.count == 5, payload[0] == 0x1B, payload[1] == 0x70, payload[2] <= 1, payload[3] >= 1 else { return nil }
        return (payload[2] == 0 ? 2 : 5, Int(payload[3]) * 2, Int(payload[4]) * 2)
    }

    private func changed(_ job: SpoolJob) async {
        await bus.publish("job.state", JobView(job))
        if job.state.isFinal, let onEnded { await onEnded(job) }
        if job.state.isFinal, let list = waiters.removeValue(forKey: job.id) {
            for waiter in list { waiter.continuation.resume(returning: job) }
        }
    }

    /// Waits until the job is final or `seconds` pass; returns the job as it is then.
    public func wait(for id: String, seconds: Double) async throws(SpoolError) -> SpoolJob {
        let job = try spool.job(id)
        guard !job.state.isFinal, seconds > 0 else { return job }
        let token = UUID()
        let finished: SpoolJob? = await withCheckedContinuation { continuation in
            waiters[id, default: []].append((token, continuation))
            Task { [weak self] in
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                await self?.timeOut(id, token)
            }
        }
        if let finished { return finished }
        return try spool.job(id)
    }

    /// A waiter's time is up: it gets the job as it is.
    private func timeOut(_ id: String, _ token: UUID) {
        guard var list = waiters[id], let index = list.firstIndex(where: { $0.token == token }) else { return }
        let waiter = list.remove(at: index)
        waiters[id] = list.isEmpty ? nil : list
        waiter.continuation.resume(returning: nil)
    }
}

/// A job as the API shows it.
public struct JobView: Sendable, Codable, Equatable {
    public var id: String
    public var device: String
    public var kind: String
    public var state: String
    public var idempotencyKey: String
    public var bytes: Int
    public var attempts: Int
    public var error: ErrorView?
    public var createdAt: Date
    public var updatedAt: Date
    public var expiresAt: Date?
    public var finishedAt: Date?
    public var preview: String?
    public var receipt: String?

    public struct ErrorView: Sendable, Codable, Equatable {
        public var code: String
        public var message: String?
    }

    public init(_ job: SpoolJob) {
        id = job.id
        device = job.device
        kind = job.kind.rawValue
        state = job.state.rawValue
        idempotencyKey = job.idempotencyKey
        bytes = job.bytes
        attempts = job.attempts
        error = job.errorCode.map { ErrorView(code: $0, message: job.errorMessage) }
        createdAt = job.createdAt
        updatedAt = job.updatedAt
        expiresAt = job.expiresAt
        finishedAt = job.finishedAt
        preview = job.preview == nil ? nil : "/v1/jobs/\(job.id)/preview.png"
        receipt = job.receipt
    }
}

/// The connection a device owner keeps open while it has work (decision 0022). Its printer is used only on the owner's
/// serial queue; `isOpen` may be asked from anywhere.
final class DeviceLink: @unchecked Sendable {
    private let lock = NSLock()
    private var current: ReceiptPrinter?

    /// The open connection (on the owner's queue only).
    var printer: ReceiptPrinter? { lock.withLock { current } }
    var isOpen: Bool { lock.withLock { current != nil } }

    /// The open connection, or a new one.
    func open(environment: KassaEnvironment, device: ResolvedDevice) throws(RuntimeError) -> ReceiptPrinter {
        if let printer { return printer }
        let printer = try environment.openPrinter(device)
        lock.withLock { current = printer }
        return printer
    }

    func close() {
        let printer = lock.withLock { () -> ReceiptPrinter? in
            defer { current = nil }
            return current
        }
        printer?.close()
    }

    /// Runs `body` on the connection. When a connection kept from before fails, it is closed, and with `retry` `body`
    /// runs once more on a new one (a printer restarted meanwhile has dropped the old connection; only a request that
    /// can be repeated, a status read, is retried). Any failure closes the connection, so the next use starts afresh.
    func use<T>(environment: KassaEnvironment, device: ResolvedDevice, retry: Bool,
                _ body: (ReceiptPrinter) throws(RuntimeError) -> T) throws(RuntimeError) -> T {
        let reused = isOpen
        do {
            return try body(try open(environment: environment, device: device))
        } catch {
            close()
            guard reused, retry else { throw error }
        }
        do {
            return try body(try open(environment: environment, device: device))
        } catch {
            close()
            throw error
        }
    }
}
