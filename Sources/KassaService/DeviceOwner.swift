import DeviceTransport
import ESCPOS
import Foundation
import KassaRuntime
import Logging
import PrintSpool

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
    private var waiters: [String: [(token: UUID, continuation: CheckedContinuation<SpoolJob?, Never>)]] = [:]
    private var stopping = false
    /// Told of every job that reached a final state (the till records a receipt's print outcome).
    private var onEnded: (@Sendable (SpoolJob) async -> Void)?

    func setOnEnded(_ handler: @escaping @Sendable (SpoolJob) async -> Void) { onEnded = handler }

    public init(name: String, device: ResolvedDevice, isDefault: Bool, environment: KassaEnvironment, spool: SpoolStore, bus: EventBus,
                pollInterval: Duration, logger: Logger) {
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

    // MARK: Status

    /// Reads a fresh status (between jobs: the owner never interleaves it with one).
    public func readStatus() async -> DeviceStatus {
        let device = self.device
        let environment = self.environment
        let result = await io { () throws(RuntimeError) -> StatusReport in try environment.status(of: device) }
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
        if fresh.ready != status?.ready || fresh.problem != status?.problem || fresh.paper != status?.paper || fresh.cover != status?.cover
            || fresh.drawer != status?.drawer || fresh.online != status?.online {
            status = fresh
            await bus.publish("device.status", info())
        } else {
            status = fresh
        }
        return fresh
    }

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
    /// held jobs resume as soon as a printer is back, and a printer that left is reported at once.
    public func hotplug() {
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
                if let job = try spool.next(device: name) {
                    worked = try await process(job)
                }
            } catch {
                logger.error("spool read failed", metadata: ["error": "\(error)"])
            }
            if stopping { break }
            if worked { continue }
            // Idle, or the first job is held: wait for a poke or the poll interval, then read the status.
            await nap(pollInterval)
            if stopping { break }
            _ = await readStatus()
        }
    }

    /// Works on the device's first job. True when the job reached a final state (the next one may follow at once).
    private func process(_ job: SpoolJob) async throws -> Bool {
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
        let status = await readStatus()
        let blocking = job.kind == .drawer ? (status.problem.map { $0.hasPrefix("unreachable") } ?? false) : !status.ready
        if blocking {
            if job.state != .held {
                let held = try spool.update(job.id, state: .held, errorCode: "HELD", errorMessage: status.problem, now: Date())
                await changed(held)
            }
            // The jobs behind it wait for the same reason, and say so: each is held too (and sent in order later). A
            // drawer kick behind paper-out print jobs is held as well, since the order per device is kept.
            for waiting in try spool.queued(device: name) {
                let held = try spool.update(waiting.id, state: .held, errorCode: "HELD", errorMessage: status.problem, now: Date())
                await changed(held)
            }
            return false
        }
        // The payload is read before the job is marked `sending`, so that the window in which a crash leaves a job
        // interrupted (never resent) is as short as the send itself.
        let payload = try spool.payload(job.id)
        let sending = try spool.update(job.id, state: .sending, attempt: true, now: Date())
        await changed(sending)
        let device = self.device
        let environment = self.environment
        let final: SpoolJob
        switch job.kind {
        case .print:
            let result = await io { () throws(RuntimeError) -> PrintOutcome in
                try environment.send(payload, copies: 1, device: device, previewPath: nil, warnings: [], checkStatus: false)
            }
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
        case .drawer:
            // The kick's age is checked again right before the pulse.
            if let expires = job.expiresAt, expires < Date() {
                final = try spool.update(job.id, state: .expired, errorCode: "EXPIRED", errorMessage: "the drawer kick waited too long", now: Date())
            } else {
                let result = await io { () throws(RuntimeError) -> DrawerOutcome in
                    try environment.openDrawer(device, pin: nil, onMilliseconds: nil, offMilliseconds: nil)
                }
                switch result {
                case .success: final = try spool.update(job.id, state: .done, now: Date())
                case .failure(let error): final = try spool.update(job.id, state: .failed, errorCode: error.code, errorMessage: error.description, now: Date())
                }
            }
        }
        await changed(final)
        return true
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
