import Foundation
import GRDB

/// The engine's SQLite database: WAL, `synchronous = FULL`, foreign keys, append-only fiscal tables, and every write in
/// a `BEGIN IMMEDIATE` transaction so two processes never deadlock on a lock upgrade.
public struct SessionStore: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database file and migrates it.
    public static func open(path: String) throws(SessionError) -> SessionStore {
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                // 1 KiB pages for a new database (an existing one keeps its size): every durable commit writes each page it
                // touched to the WAL, and a receipt touches about seven; smaller pages halve the bytes each fsync waits for
                // (Docs/decisions/0008-durable-finalization.md).
                try db.execute(sql: "PRAGMA page_size = 1024")
                try db.execute(sql: "PRAGMA foreign_keys = ON")
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets the WAL writer to NORMAL after prepareDatabase: make it FULL, so a power cut loses nothing
            // that was acknowledged.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            let store = SessionStore(writer: pool)
            try store.migrate()
            return store
        } catch let error as SessionError {
            if case .database(let code, let message) = error { throw .databaseUnavailable(path: path, code: code, message: message) }
            throw error
        } catch let error as DatabaseError {
            throw .databaseUnavailable(path: path, code: error.resultCode.rawValue, message: error.message ?? "\(error)")
        } catch {
            throw .invalid("Cannot open the database \(path): \(error)")
        }
    }

    /// An in-memory database for tests.
    public static func inMemory() throws(SessionError) -> SessionStore {
        do {
            var configuration = Configuration()
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA foreign_keys = ON") }
            let store = SessionStore(writer: try DatabaseQueue(configuration: configuration))
            try store.migrate()
            return store
        } catch let error as SessionError {
            throw error
        } catch {
            throw .invalid("Cannot create an in-memory database: \(error)")
        }
    }

    func migrate() throws(SessionError) {
        do {
            try Schema.migrator.migrate(writer)
        } catch let error as DatabaseError {
            throw .database(code: error.resultCode.rawValue, message: error.message ?? "\(error)")
        } catch {
            throw .invalid("Migrating the database failed: \(error)")
        }
    }

    /// One `BEGIN IMMEDIATE` transaction; a thrown `SessionError` rolls it back and is passed on unchanged.
    func write<T>(_ body: (Database) throws -> T) throws(SessionError) -> T {
        do {
            return try transaction(body)
        } catch {
            throw Self.sessionError(error)
        }
    }

    /// The transaction of `write`, with the error as thrown (for callers that handle one of their own first).
    func transaction<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.writeWithoutTransaction { db in
                // Prepared once per connection: GRDB's inTransaction builds and prepares BEGIN and COMMIT on every call,
                // which was a tenth of a receipt's CPU time (Docs/PERFORMANCE.md).
                try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
                do {
                    let result = try body(db)
                    try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
                    return result
                } catch {
                    if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK TRANSACTION") }
                    throw error
                }
        }
    }

    /// A `SessionError` as it is; SQLite's codes kept as values; anything else as `invalid`.
    static func sessionError(_ error: any Error) -> SessionError {
        switch error {
        case let error as SessionError: return error
        case let error as DatabaseError: return .database(code: error.resultCode.rawValue, message: error.message ?? "\(error)")
        default: return .invalid("\(error)")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(SessionError) -> T {
        do {
            return try writer.read(body)
        } catch let error as SessionError {
            throw error
        } catch let error as DatabaseError {
            throw .database(code: error.resultCode.rawValue, message: error.message ?? "\(error)")
        } catch {
            throw .invalid("\(error)")
        }
    }

    /// `PRAGMA synchronous` as the writer sees it (2 = FULL).
    public func synchronousMode() throws(SessionError) -> Int {
        do {
            return try writer.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
        } catch {
            throw .invalid("\(error)")
        }
    }

    public func journalMode() throws(SessionError) -> String {
        try read { try String.fetchOne($0, sql: "PRAGMA journal_mode") ?? "" }
    }
}
