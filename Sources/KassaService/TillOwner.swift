import Crypto
import Foundation
import KassaRuntime
import Logging
import PrintSpool
import SessionEngine

/// The one owner of the terminal's session engine inside `kassa serve` (decision 0020). Engine calls are blocking
/// SQLite transactions: they run one at a time on the owner's own queue, never on the cooperative thread pool.
///
/// Prints go through the spool exactly once: the engine claims each print as `queued` in the transaction that makes
/// the receipt (or the copy); the owner then spools the one job for it under a key made from the receipt and the form
/// (`kassa-receipt:<id>:<form>`), so a retry or a repair finds that job instead of making another. At start, every
/// queued print without a job gets one, and every job that ended has its outcome recorded on the receipt.
public actor TillOwner {
    let environment: KassaEnvironment
    let spool: SpoolStore
    let bus: EventBus
    let logger: Logger
    let owners: [String: DeviceOwner]
    let defaultOwner: DeviceOwner?
    let drawerMaxAge: TimeInterval
    let jobMaxAge: TimeInterval
    private let queue = DispatchQueue(label: "kassa.till")
    private var opened: SessionEngine?

    init(environment: KassaEnvironment, spool: SpoolStore, bus: EventBus, owners: [String: DeviceOwner], defaultOwner: DeviceOwner?,
         jobMaxAge: TimeInterval, drawerMaxAge: TimeInterval, logger: Logger) {
        self.environment = environment
        self.spool = spool
        self.bus = bus
        self.owners = owners
        self.defaultOwner = defaultOwner
        self.jobMaxAge = jobMaxAge
        self.drawerMaxAge = drawerMaxAge
        self.logger = logger
    }

    /// The key of the one spool job that prints `form` of a receipt.
    static func printKey(receipt: String, form: PrintedForm) -> String { "kassa-receipt:\(receipt):\(form.rawValue)" }

    /// The receipt and form a job prints, from its key; nil for other jobs.
    static func printed(byKey key: String) -> (receipt: String, form: PrintedForm)? {
        let parts = key.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "kassa-receipt", let form = PrintedForm(rawValue: String(parts[2])) else { return nil }
        return (String(parts[1]), form)
    }

    /// Runs `body` with the engine on the till's queue; the engine is opened on first use (a service that only prints
    /// never creates a terminal).
    func run<T: Sendable>(_ body: @escaping @Sendable (SessionEngine) throws(RuntimeError) -> T) async throws(APIError) -> T {
        let engine = try await engine()
        let result: Result<T, RuntimeError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(RuntimeError) {
                    continuation.resume(returning: .success(try body(engine)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw Self.apiError(error)
        }
    }

    private func engine() async throws(APIError) -> SessionEngine {
        if let opened { return opened }
        let environment = self.environment, logger = self.logger
        let result: Result<SessionEngine, RuntimeError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(RuntimeError) {
                    let engine = try environment.sessionEngine(database: nil)
                    engine.queuePrintsForSpool()
                    // At start, registrations left pending by an interrupted command are completed, in the order of
                    // their serials (the unit answers the same serial from memory); one that cannot be yet stays, and
                    // the next command that registers completes it first.
                    if (try? engine.pendingRegistrations().isEmpty) == false {
                        do {
                            let done = try engine.resolvePendingRegistrations()
                            logger.notice("pending control-unit registrations completed", metadata: ["keys": "\(done)"])
                        } catch {
                            logger.warning("pending control-unit registrations could not be completed yet", metadata: ["error": "\(error)"])
                        }
                    }
                    continuation.resume(returning: .success(engine))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        switch result {
        case .success(let engine):
            opened = engine
            return engine
        case .failure(let error):
            throw Self.apiError(error)
        }
    }

    /// A session or runtime refusal as the API answers it: the CLI's code, and an HTTP status by its kind.
    static func apiError(_ error: RuntimeError) -> APIError {
        let status: HTTPStatusKind
        switch error.exitCode {
        case 3: status = .badRequest
        case 30: status = .forbidden
        case 31: status = .unprocessable
        case 32, 33, 34, 35, 40: status = .conflict
        case 36: status = .notFound
        case 37, 38: status = .unavailable
        default: status = .internalError
        }
        return APIError(status.status, error.code, error.description)
    }

    // MARK: Printing through the spool

    /// What the spool did with a fact's print (or why it did not).
    public struct Printing: Sendable, Encodable {
        public var job: JobView?
        public var error: String?
    }

    /// Spools the one job that prints `form` of `record`, whose print the engine claimed as queued; the job already
    /// there is returned when one exists (a replay, a repair).
    func spoolPrint(_ record: ReceiptRecord, form: PrintedForm, settings: Settings?, device: DeviceOwner? = nil) async -> Printing {
        guard let owner = device ?? defaultOwner else { return Printing(error: "No printer is configured.") }
        let key = Self.printKey(receipt: record.id, form: form)
        do {
            if let existing = try spool.job(idempotencyKey: key) { return Printing(job: JobView(existing)) }
        } catch {
            return Printing(error: error.description)
        }
        let profile = await owner.profile
        let bytes: [UInt8]
        do {
            bytes = try environment.layout(environment.receiptDocument(record, settings: settings), profile: profile, baseDirectory: nil).bytes
        } catch {
            await recordFailure(record.id, form: form)
            return Printing(error: "\(error) The receipt is saved; print its copy (POST /v1/till/receipts/\(record.number)/copy).")
        }
        return await submit(owner: owner, kind: .print, key: key, payload: bytes, maxAge: jobMaxAge, receipt: record.id)
    }

    /// A cash receipt's drawer kick: its own job after the print, dropped when it waited too long.
    func spoolDrawer(for record: ReceiptRecord, device: DeviceOwner? = nil) async -> Printing? {
        guard record.payments.contains(where: \.isCash), record.kind != "training", let owner = device ?? defaultOwner,
              await owner.profile.features.drawerPulse
        else { return nil }
        return await submit(owner: owner, kind: .drawer, key: "kassa-drawer:\(record.id)", payload: [], maxAge: drawerMaxAge, receipt: nil)
    }

    /// Spools a report's print (X or Z): keyed by the request, so a retried request never prints it twice.
    func spoolReport(_ report: ShiftReport, key: String, settings: Settings?, device: DeviceOwner? = nil) async -> Printing {
        guard let owner = device ?? defaultOwner else { return Printing(error: "No printer is configured.") }
        do {
            if let existing = try spool.job(idempotencyKey: key) { return Printing(job: JobView(existing)) }
        } catch {
            return Printing(error: error.description)
        }
        let profile = await owner.profile
        do {
            let bytes = try environment.layout(environment.reportDocument(report, settings: settings), profile: profile, baseDirectory: nil).bytes
            return await submit(owner: owner, kind: .print, key: key, payload: bytes, maxAge: jobMaxAge, receipt: nil)
        } catch {
            return Printing(error: "\(error)")
        }
    }

    private func submit(owner: DeviceOwner, kind: SpoolJob.Kind, key: String, payload: [UInt8], maxAge: TimeInterval, receipt: String?) async
        -> Printing
    {
        let now = Date()
        var hasher = SHA256()
        hasher.update(data: Array(key.utf8))
        do {
            let (job, created) = try spool.submit(device: owner.name, kind: kind, idempotencyKey: key, digest: Array(hasher.finalize()),
                                                  payload: payload, expiresAt: now.addingTimeInterval(maxAge), receipt: receipt, now: now)
            if created { await bus.publish("job.state", JobView(job)) }
            await owner.poke()
            return Printing(job: JobView(job))
        } catch {
            if let receipt, let printed = Self.printed(byKey: key) { await recordFailure(receipt, form: printed.form) }
            return Printing(error: "\(error.description) The receipt is saved; print its copy when the spool works again.")
        }
    }

    private func recordFailure(_ receipt: String, form: PrintedForm) async {
        _ = try? await run { engine throws(RuntimeError) in try session { () throws(SessionError) in try engine.endPrint(form, receiptID: receipt, .failed) } }
    }

    /// A job ended: a receipt's print records its outcome (done: confirmed; unconfirmed: sent, the right stays used;
    /// failed or expired: failed, so its copy may be printed).
    func jobEnded(_ job: SpoolJob) async {
        guard let printed = Self.printed(byKey: job.idempotencyKey), job.state.isFinal else { return }
        let state: PrintState = switch job.state {
        case .done: .confirmed
        case .unconfirmed: .sent
        default: .failed
        }
        do {
            try await run { engine throws(RuntimeError) in
                try session { () throws(SessionError) in try engine.endPrint(printed.form, receiptID: printed.receipt, state) }
            }
        } catch {
            logger.error("recording a receipt's print failed", metadata: ["job": "\(job.id)", "error": "\(error.message)"])
        }
    }

    /// At start: a receipt committed whose job never reached the spool (the process died between the two) gets its one
    /// job now; a job that ended while its outcome was not recorded has it recorded. Without a terminal database there
    /// is nothing to repair (and none is created). Returns the jobs spooled.
    public func repair() async -> [JobView] {
        guard FileManager.default.fileExists(atPath: environment.databasePath(nil)) else { return [] }
        let queued: [(receiptID: String, form: PrintedForm)]
        do {
            queued = try await run { engine throws(RuntimeError) in try session { () throws(SessionError) in try engine.queuedPrints() } }
        } catch {
            logger.error("the print repair could not read the terminal", metadata: ["error": "\(error.message)"])
            return []
        }
        var spooled: [JobView] = []
        for item in queued {
            let key = Self.printKey(receipt: item.receiptID, form: item.form)
            if let job = try? spool.job(idempotencyKey: key) {
                if job.state.isFinal { await jobEnded(job) }
                continue
            }
            guard let (record, settings) = try? await run({ engine throws(RuntimeError) in
                try session { () throws(SessionError) in (try engine.printable(receiptID: item.receiptID, form: item.form), try? engine.settings()) }
            }) else { continue }
            let printing = await spoolPrint(record, form: item.form, settings: settings)
            if let job = printing.job {
                logger.notice("a committed receipt had no print job: spooled", metadata: ["receipt": "\(record.number)", "job": "\(job.id)"])
                spooled.append(job)
            }
        }
        return spooled
    }
}

/// The HTTP status kinds of session refusals.
enum HTTPStatusKind {
    case badRequest, forbidden, unprocessable, conflict, notFound, unavailable, internalError
}
