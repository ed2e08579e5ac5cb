import GRDB
import GRDBSQLite

/// Runs a prepared statement with its values bound through SQLite's C API.
///
/// On a receipt's path GRDB's argument conversion (`StatementArguments` → `DatabaseValue` → nested temporary bindings) cost
/// more than SQLite's own work for the statement (measured with perf: Docs/PERFORMANCE.md), so the journal's hot
/// statements bind directly. Errors come back as GRDB's `DatabaseError` with SQLite's extended code, like any other.
/// Only for statements inside the engine's own transactions; the statement comes from `cachedStatement` and is left reset.
struct RawBinder {
    fileprivate let handle: OpaquePointer
    fileprivate var index: Int32 = 1

    /// SQLite copies the value (`SQLITE_TRANSIENT`).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    mutating func int(_ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
        index += 1
    }

    mutating func text(_ value: String) {
        var value = value
        value.withUTF8 { bytes in
            if let base = bytes.baseAddress, !bytes.isEmpty {
                _ = UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    sqlite3_bind_text(handle, index, $0, Int32(bytes.count), Self.transient)
                }
            } else {
                // An empty buffer may have no address, which SQLite would bind as NULL.
                _ = sqlite3_bind_text(handle, index, "", 0, Self.transient)
            }
        }
        index += 1
    }

    mutating func null() {
        sqlite3_bind_null(handle, index)
        index += 1
    }

    mutating func blob(_ value: [UInt8]) {
        value.withUnsafeBytes { bytes in
            if bytes.isEmpty {
                _ = sqlite3_bind_zeroblob(handle, index, 0)
            } else {
                _ = sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
            }
        }
        index += 1
    }
}

extension Statement {
    /// Binds with `bind`, steps once per row (`row` sees each; nil for a statement that returns none) and resets. An error
    /// `row` throws stops the statement and is rethrown.
    func runRaw(_ db: Database, bind: (inout RawBinder) -> Void, row: ((OpaquePointer) throws -> Void)? = nil) throws {
        let handle = sqliteStatement
        sqlite3_reset(handle)
        var binder = RawBinder(handle: handle)
        bind(&binder)
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_ROW {
                do {
                    try row?(handle)
                } catch {
                    sqlite3_reset(handle)
                    throw error
                }
                continue
            }
            if code == SQLITE_DONE { break }
            let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
            sqlite3_reset(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
        }
        sqlite3_reset(handle)
    }
}

/// The current row of a `runRaw` statement, read by column index. A value of another storage class than asked for throws
/// (as GRDB's decoding does), never traps: `journal verify` names such a row as changed.
struct RawRow {
    let handle: OpaquePointer

    struct WrongType: Error, CustomStringConvertible {
        var column: String
        var expected: String
        var found: Int32
        var description: String {
            let names: [Int32: String] = [SQLITE_INTEGER: "an integer", SQLITE_FLOAT: "a real number", SQLITE_TEXT: "text", SQLITE_BLOB: "a blob", SQLITE_NULL: "NULL"]
            return "column \(column) holds \(names[found] ?? "type \(found)"), not \(expected)"
        }
    }

    private func check(_ column: Int32, _ type: Int32, _ expected: String) throws {
        let found = sqlite3_column_type(handle, column)
        guard found == type else {
            throw WrongType(column: sqlite3_column_name(handle, column).map { String(cString: $0) } ?? "\(column)", expected: expected, found: found)
        }
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int(_ column: Int32) throws -> Int64 {
        try check(column, SQLITE_INTEGER, "an integer")
        return sqlite3_column_int64(handle, column)
    }

    func optionalInt(_ column: Int32) throws -> Int64? { isNull(column) ? nil : try int(column) }

    func bool(_ column: Int32) throws -> Bool { try int(column) != 0 }

    func text(_ column: Int32) throws -> String {
        try check(column, SQLITE_TEXT, "text")
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
    }

    func optionalText(_ column: Int32) throws -> String? { isNull(column) ? nil : try text(column) }

    /// Bytes of a blob (or of text, as GRDB's `Data` decoding reads it); any other storage class throws.
    func blob(_ column: Int32) throws -> [UInt8] {
        if sqlite3_column_type(handle, column) != SQLITE_TEXT { try check(column, SQLITE_BLOB, "a blob") }
        return optionalBlob(column) ?? []
    }

    func optionalBlob(_ column: Int32) -> [UInt8]? {
        guard !isNull(column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: bytes, count: count))
    }
}
