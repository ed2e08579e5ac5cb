import Foundation
import GRDB

/// A job in the spool: what `kassa serve` accepted for a device, and what became of it.
public struct SpoolJob: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case print, drawer }
    /// `queued` → `sending` → `done` (the printer confirmed it), `unconfirmed` (sent, not confirmed) or `failed`;
    /// `held` while the printer is not ready (paper out, cover open, offline); `expired` when it waited too long.
    public enum State: String, Sendable, Codable, CaseIterable {
        case queued, held, sending, done, unconfirmed, failed, expired
        public var isFinal: Bool { [.done, .unconfirmed, .failed, .expired].contains(self) }
    }
    /// What the device's owner does with the job when the printer is not ready as its turn comes: `hold` it until the
    /// printer is (Kassa's own API), `fail` it at once (the drop-in endpoints, whose clients show a retry dialog and must
    /// not see the job print later), or send it anyway, `force` (ePOS `force="true"`, for recovery).
    public enum Readiness: String, Sendable, Codable { case hold, fail, force }

    public var id: String
    /// The spool's order: FIFO per device.
    public var seq: Int64
    public var device: String
    public var kind: Kind
    public var state: State
    public var idempotencyKey: String
    /// The bytes of the job (a print's ESC/POS; a drawer's pulse is made by the device's owner).
    public var bytes: Int
    public var attempts: Int
    public var errorCode: String?
    public var errorMessage: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var expiresAt: Date?
    public var finishedAt: Date?
    /// The virtual printer's preview of the printed job (a PNG path).
    public var preview: String?
    /// The till receipt this job prints, when it was made by `/v1/till`.
    public var receipt: String?
    public var whenNotReady: Readiness = .hold
}

/// Why the spool refused something. Nothing was changed.
public enum SpoolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The idempotency key was used for other content; `job` is the job it made.
    case idempotencyConflict(key: String, job: String)
    case notFound(String)
    case database(code: Int32, message: String)

    public var description: String {
        switch self {
        case .idempotencyConflict(let key, let job):
            return "The Idempotency-Key \(key) was used for job \(job) with other content; use a new key for a new job."
        case .notFound(let id): return "Job \(id) was not found."
        case .database(let code, let message):
            return "The spool database refused the change (SQLite \(code): \(message)); check HOME/spool.sqlite's disk and permissions."
        }
    }
}

/// The durable spool: `HOME/spool.sqlite` (WAL, `synchronous=FULL`, every write `BEGIN IMMEDIATE`). A job is committed
/// before its submission is answered, so an accepted job survives kill -9 and a power cut. The same idempotency key
/// never makes a second job: its repeat returns the first, and the same key with other content is refused.
///
/// Checkpoints: a commit does not copy the WAL into the database (SQLite's automatic checkpoint would make one
/// submission in a few hundred wait for it); `checkpoint()`, which the service calls every second, does so on a
/// connection of its own without stopping writers. The automatic checkpoint stays as a backstop at 10,000 pages.
public final class SpoolStore: Sendable {
    let writer: DatabasePool
    /// The connection that copies the WAL into the database, beside the writer.
    let checkpointer: DatabaseQueue

    public static func open(path: String) throws(SpoolError) -> SpoolStore {
        do {
            var configuration = Configuration()
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
            }
            configuration.busyMode = .timeout(5)
            let pool = try DatabasePool(path: path, configuration: configuration)
            try migrator.migrate(pool)
            var side = Configuration()
            side.busyMode = .timeout(5)
            return SpoolStore(writer: pool, checkpointer: try DatabaseQueue(path: path, configuration: side))
        } catch {
            throw Self.error(error)
        }
    }

    init(writer: DatabasePool, checkpointer: DatabaseQueue) {
        self.writer = writer
        self.checkpointer = checkpointer
    }

    /// Deletes the jobs that ended before `cutoff` (done, unconfirmed, failed or expired); a job not finished is never
    /// touched. Returns how many were deleted. Their idempotency keys are forgotten with them.
    @discardableResult
    public func prune(finishedBefore cutoff: Date) throws(SpoolError) -> Int {
        do {
            return try writer.write { db in
                try db.execute(sql: """
                    DELETE FROM job WHERE state IN ('done', 'unconfirmed', 'failed', 'expired') AND finished_at IS NOT NULL
                      AND finished_at < ?
                    """, arguments: [cutoff.timeIntervalSince1970])
                return db.changesCount
            }
        } catch {
            throw Self.error(error)
        }
    }

    /// Copies what the WAL holds into the database (a passive checkpoint: it never waits for, nor blocks, a writer).
    /// Returns the WAL's frames and how many of them are in the database now.
    @discardableResult
    public func checkpoint() throws(SpoolError) -> (log: Int, copied: Int) {
        do {
            return try checkpointer.writeWithoutTransaction { db in
                guard let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") else { return (0, 0) }
                return (row[1] as Int? ?? 0, row[2] as Int? ?? 0)
            }
        } catch {
            throw Self.error(error)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-spool") { db in
            try db.execute(sql: """
                CREATE TABLE job (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, device TEXT NOT NULL,
                  kind TEXT NOT NULL CHECK (kind IN ('print', 'drawer')),
                  state TEXT NOT NULL CHECK (state IN ('queued', 'held', 'sending', 'done', 'unconfirmed', 'failed', 'expired')),
                  idempotency_key TEXT NOT NULL UNIQUE, request_digest BLOB NOT NULL, payload BLOB NOT NULL, bytes INTEGER NOT NULL,
                  attempts INTEGER NOT NULL DEFAULT 0, error_code TEXT, error_message TEXT, created_at REAL NOT NULL,
                  updated_at REAL NOT NULL, expires_at REAL, finished_at REAL, preview TEXT, receipt TEXT);
                CREATE INDEX job_pending ON job(device, seq) WHERE state IN ('queued', 'held', 'sending');
                CREATE INDEX job_receipt ON job(receipt) WHERE receipt IS NOT NULL;
                """)
        }
        migrator.registerMigration("v2-finished-index") { db in
            // Pruning finds the jobs that ended long ago without reading the others.
            try db.execute(sql: "CREATE INDEX job_finished ON job(finished_at) WHERE finished_at IS NOT NULL")
        }
        migrator.registerMigration("v3-when-not-ready") { db in
            // Jobs of the drop-in endpoints fail instead of waiting for a printer that is not ready (decision 0024).
            try db.execute(sql: """
                ALTER TABLE job ADD COLUMN when_not_ready TEXT NOT NULL DEFAULT 'hold' CHECK (when_not_ready IN ('hold', 'fail', 'force'))
                """)
        }
        return migrator
    }

    static func error(_ error: any Error) -> SpoolError {
        if let error = error as? SpoolError { return error }
        if let error = error as? DatabaseError { return .database(code: error.resultCode.rawValue, message: error.message ?? "\(error)") }
        return .database(code: -1, message: "\(error)")
    }

    static let columns = "id, seq, device, kind, state, idempotency_key, bytes, attempts, error_code, error_message, created_at, updated_at, expires_at, finished_at, preview, receipt, when_not_ready"

    static func job(_ row: Row) -> SpoolJob {
        SpoolJob(
            id: row["id"], seq: row["seq"], device: row["device"], kind: SpoolJob.Kind(rawValue: row["kind"]) ?? .print,
            state: SpoolJob.State(rawValue: row["state"]) ?? .failed, idempotencyKey: row["idempotency_key"], bytes: row["bytes"],
            attempts: row["attempts"], errorCode: row["error_code"], errorMessage: row["error_message"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]), updatedAt: Date(timeIntervalSince1970: row["updated_at"]),
            expiresAt: (row["expires_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            finishedAt: (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:)), preview: row["preview"], receipt: row["receipt"],
            whenNotReady: SpoolJob.Readiness(rawValue: row["when_not_ready"]) ?? .hold)
    }

    /// Accepts a job, durably, or returns the one its key made before (`created` false). The same key with another
    /// digest is `idempotencyConflict`.
    public func submit(device: String, kind: SpoolJob.Kind, idempotencyKey: String, digest: [UInt8], payload: [UInt8],
                       expiresAt: Date?, receipt: String? = nil, whenNotReady: SpoolJob.Readiness = .hold,
                       now: Date) throws(SpoolError) -> (job: SpoolJob, created: Bool) {
        do {
            return try writer.write { db in
                try Self.insert(db, device: device, kind: kind, idempotencyKey: idempotencyKey, digest: digest, payload: payload,
                                expiresAt: expiresAt, receipt: receipt, whenNotReady: whenNotReady, now: now)
            }
        } catch {
            throw Self.error(error)
        }
    }

    /// `submit` for a request handler: the commit (and its fsync) runs on the database's writer queue while the calling
    /// task is suspended, so a waiting submission never blocks one of the few threads that run the service's tasks.
    public func accept(device: String, kind: SpoolJob.Kind, idempotencyKey: String, digest: [UInt8], payload: [UInt8],
                       expiresAt: Date?, receipt: String? = nil, whenNotReady: SpoolJob.Readiness = .hold,
                       now: Date) async throws(SpoolError) -> (job: SpoolJob, created: Bool) {
        do {
            return try await writer.write { db in
                try Self.insert(db, device: device, kind: kind, idempotencyKey: idempotencyKey, digest: digest, payload: payload,
                                expiresAt: expiresAt, receipt: receipt, whenNotReady: whenNotReady, now: now)
            }
        } catch {
            throw Self.error(error)
        }
    }

    /// How `acceptOnce` treats an earlier job made under the same key.
    public struct Reuse: Sendable, Equatable {
        /// A job that ended this long ago or less is answered again; older ones are not (nil: however long ago).
        public var finishedWithin: TimeInterval?
        public init(finishedWithin: TimeInterval?) { self.finishedWithin = finishedWithin }
    }

    /// For clients whose retries carry no key of ours (decision 0024): the latest job made under `key` is returned
    /// (`created` false) while it is pending, or when it ended within the reuse window without failing; a job that
    /// failed or expired is forgotten, so a retry after an error prints. Otherwise a new job is accepted, stored under
    /// `key#n`. Lookup and insert are one transaction: two identical requests at once make one job. The same key with
    /// other content, while its job counts, is `idempotencyConflict`.
    public func acceptOnce(device: String, kind: SpoolJob.Kind, key: String, reuse: Reuse, digest: [UInt8], payload: [UInt8],
                           expiresAt: Date?, whenNotReady: SpoolJob.Readiness, now: Date) async throws(SpoolError) -> (job: SpoolJob, created: Bool) {
        do {
            return try await writer.write { db in
                let latest = try Row.fetchOne(db.cachedStatement(sql: """
                    SELECT \(Self.columns), request_digest FROM job WHERE idempotency_key > ? AND idempotency_key < ? ORDER BY seq DESC LIMIT 1
                    """), arguments: [key + "#", key + "$"])
                var next = 1
                if let row = latest {
                    let job = Self.job(row)
                    let stored: String = row["idempotency_key"]
                    next = (Int(stored.split(separator: "#").last ?? "") ?? 0) + 1
                    let counts: Bool
                    switch job.state {
                    case .queued, .held, .sending: counts = true
                    case .done, .unconfirmed:
                        counts = reuse.finishedWithin.map { window in (job.finishedAt ?? job.updatedAt) >= now.addingTimeInterval(-window) } ?? true
                    case .failed, .expired: counts = false
                    }
                    if counts {
                        guard [UInt8](row["request_digest"] as Data) == digest else { throw SpoolError.idempotencyConflict(key: key, job: job.id) }
                        return (job, false)
                    }
                }
                return try Self.insert(db, device: device, kind: kind, idempotencyKey: "\(key)#\(next)", digest: digest, payload: payload,
                                       expiresAt: expiresAt, receipt: nil, whenNotReady: whenNotReady, now: now)
            }
        } catch {
            throw Self.error(error)
        }
    }

    static func insert(_ db: Database, device: String, kind: SpoolJob.Kind, idempotencyKey: String, digest: [UInt8], payload: [UInt8],
                       expiresAt: Date?, receipt: String?, whenNotReady: SpoolJob.Readiness = .hold, now: Date) throws -> (job: SpoolJob, created: Bool) {
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.columns), request_digest FROM job WHERE idempotency_key = ?"),
                                      arguments: [idempotencyKey]) {
            let job = Self.job(row)
            guard [UInt8](row["request_digest"] as Data) == digest else {
                throw SpoolError.idempotencyConflict(key: idempotencyKey, job: job.id)
            }
            return (job, false)
        }
        let id = "job-" + UUID().uuidString.lowercased().prefix(13).replacingOccurrences(of: "-", with: "")
        try db.cachedStatement(sql: """
            INSERT INTO job (id, device, kind, state, idempotency_key, request_digest, payload, bytes, created_at, updated_at,
              expires_at, receipt, when_not_ready)
            VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [id, device, kind.rawValue, idempotencyKey, Data(digest), Data(payload), payload.count,
                             now.timeIntervalSince1970, now.timeIntervalSince1970, expiresAt?.timeIntervalSince1970, receipt, whenNotReady.rawValue])
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.columns) FROM job WHERE id = ?"), arguments: [id]) else {
            throw SpoolError.notFound(id)
        }
        return (Self.job(row), true)
    }

    public func job(_ id: String) throws(SpoolError) -> SpoolJob {
        do {
            guard let job = try writer.read({ db in
                try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.columns) FROM job WHERE id = ?"), arguments: [id]).map(Self.job)
            }) else { throw SpoolError.notFound(id) }
            return job
        } catch {
            throw Self.error(error)
        }
    }

    public func payload(_ id: String) throws(SpoolError) -> [UInt8] {
        do {
            guard let data = try writer.read({ db in try Data.fetchOne(db.cachedStatement(sql: "SELECT payload FROM job WHERE id = ?"), arguments: [id]) }) else {
                throw SpoolError.notFound(id)
            }
            return [UInt8](data)
        } catch {
            throw Self.error(error)
        }
    }

    /// The device's first `limit` jobs not finished, in order.
    public func pending(device: String, limit: Int) throws(SpoolError) -> [SpoolJob] {
        do {
            return try writer.read { db in
                try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT \(Self.columns) FROM job WHERE device = ? AND state IN ('queued', 'held', 'sending') ORDER BY seq LIMIT ?
                    """), arguments: [device, max(1, limit)]).map(Self.job)
            }
        } catch {
            throw Self.error(error)
        }
    }

    /// A job's next state, for `update(_:now:)`.
    public struct Change: Sendable, Equatable {
        public var id: String
        public var state: SpoolJob.State
        public var errorCode: String?
        public var errorMessage: String?
        public var preview: String?

        public init(id: String, state: SpoolJob.State, errorCode: String? = nil, errorMessage: String? = nil, preview: String? = nil) {
            self.id = id
            self.state = state
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.preview = preview
        }
    }

    /// Several jobs' changes in one transaction (one fsync for a whole confirmed run of jobs). Jobs already final are
    /// left as they are; the jobs come back as they are after it, in the order given.
    @discardableResult
    public func update(_ changes: [Change], now: Date) throws(SpoolError) -> [SpoolJob] {
        guard !changes.isEmpty else { return [] }
        do {
            return try writer.write { db in
                var jobs: [SpoolJob] = []
                for change in changes {
                    try Self.apply(db, id: change.id, state: change.state, attempt: false, errorCode: change.errorCode,
                                   errorMessage: change.errorMessage, preview: change.preview, now: now)
                    guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.columns) FROM job WHERE id = ?"), arguments: [change.id]) else {
                        throw SpoolError.notFound(change.id)
                    }
                    jobs.append(Self.job(row))
                }
                return jobs
            }
        } catch {
            throw Self.error(error)
        }
    }

    static func apply(_ db: Database, id: String, state: SpoolJob.State, attempt: Bool, errorCode: String?, errorMessage: String?,
                      preview: String?, now: Date) throws {
        try db.cachedStatement(sql: """
            UPDATE job SET state = ?, attempts = attempts + ?, error_code = ?, error_message = ?, preview = coalesce(?, preview),
              updated_at = ?, finished_at = CASE WHEN ? THEN ? ELSE NULL END
            WHERE id = ? AND state NOT IN ('done', 'unconfirmed', 'failed', 'expired')
            """).execute(arguments: [state.rawValue, attempt ? 1 : 0, errorCode, errorMessage, preview, now.timeIntervalSince1970,
                             state.isFinal, now.timeIntervalSince1970, id])
    }

    /// The device's jobs still `queued` (not yet held or sending), in order.
    public func queued(device: String) throws(SpoolError) -> [SpoolJob] {
        do {
            return try writer.read { db in
                try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Self.columns) FROM job WHERE device = ? AND state = 'queued' ORDER BY seq"),
                                 arguments: [device]).map(Self.job)
            }
        } catch {
            throw Self.error(error)
        }
    }

    /// Moves a job to `state`; `attempt` counts a sending attempt. A job already final is left as it is.
    @discardableResult
    public func update(_ id: String, state: SpoolJob.State, attempt: Bool = false, errorCode: String? = nil, errorMessage: String? = nil,
                       preview: String? = nil, now: Date) throws(SpoolError) -> SpoolJob {
        do {
            return try writer.write { db in
                try Self.apply(db, id: id, state: state, attempt: attempt, errorCode: errorCode, errorMessage: errorMessage, preview: preview, now: now)
                guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.columns) FROM job WHERE id = ?"), arguments: [id]) else {
                    throw SpoolError.notFound(id)
                }
                return Self.job(row)
            }
        } catch {
            throw Self.error(error)
        }
    }

    /// The most recent jobs (all devices, or one), newest first.
    public func recent(device: String? = nil, limit: Int = 50) throws(SpoolError) -> [SpoolJob] {
        do {
            return try writer.read { db in
                try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Self.columns) FROM job WHERE ?1 IS NULL OR device = ?1 ORDER BY seq DESC LIMIT ?2"),
                                 arguments: [device, limit]).map(Self.job)
            }
        } catch {
            throw Self.error(error)
        }
    }

    /// The job an idempotency key made, if any.
    public func job(idempotencyKey key: String) throws(SpoolError) -> SpoolJob? {
        do {
            return try writer.read { db in
                try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.columns) FROM job WHERE idempotency_key = ?"), arguments: [key]).map(Self.job)
            }
        } catch {
            throw Self.error(error)
        }
    }

    /// The latest job stored under `key#n` by `acceptOnce`, if any.
    public func latest(keyPrefix key: String) throws(SpoolError) -> SpoolJob? {
        do {
            return try writer.read { db in
                try Row.fetchOne(db.cachedStatement(sql: """
                    SELECT \(Self.columns) FROM job WHERE idempotency_key > ? AND idempotency_key < ? ORDER BY seq DESC LIMIT 1
                    """), arguments: [key + "#", key + "$"]).map(Self.job)
            }
        } catch {
            throw Self.error(error)
        }
    }

    /// The job that prints a till receipt, if one was spooled.
    public func job(forReceipt receipt: String) throws(SpoolError) -> SpoolJob? {
        do {
            return try writer.read { db in
                try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.columns) FROM job WHERE receipt = ? ORDER BY seq LIMIT 1"), arguments: [receipt]).map(Self.job)
            }
        } catch {
            throw Self.error(error)
        }
    }
}
