import Foundation
import GRDB
import Logging

/// The till's session engine for one physical terminal: shifts, cash, receipts, counters and reports.
///
/// Every operation is one `BEGIN IMMEDIATE` transaction: it either happens whole, with its counters, or not at all.
/// Commands that create fiscal facts carry a client id; replaying one returns the stored result.
public final class SessionEngine: Sendable {
    public let store: SessionStore
    public let terminalID: String
    let clock: any EngineClock
    let logger: Logger
    /// Called at each step of finalizing a receipt; crash tests kill the process here. Nil in normal use.
    let faultPoint: (@Sendable (FinalizeStep) -> Void)?

    /// Opens the engine for the terminal this machine is. A database created on another device is refused:
    /// its counters never continue here. `readOnly` opens another device's history for reading.
    public init(
        store: SessionStore, identity: any TerminalIdentitySource = MachineIdentity(), clock: any EngineClock = SystemClock(),
        currency: String = "SEK", readOnly: Bool = false, logger: Logger = Logger(label: "kassa.session"),
        faultPoint: (@Sendable (FinalizeStep) -> Void)? = nil
    ) throws(SessionError) {
        self.store = store
        self.faultPoint = faultPoint
        self.clock = clock
        self.logger = logger
        let machine = try identity.machineIdentity()
        let derived = Self.terminalID(for: machine)
        let now = clock.now()
        terminalID = try store.write { db -> String in
            if let existing = try Row.fetchOne(db, sql: "SELECT id, machine FROM terminal") {
                let id: String = existing["id"]
                if existing["machine"] as String != machine, !readOnly {
                    throw SessionError.wrongTerminal(database: id, machine: derived)
                }
                return id
            }
            guard !readOnly else { throw SessionError.notFound("A terminal in this database") }
            try db.execute(sql: "INSERT INTO terminal (id, machine, currency, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [derived, machine, currency.uppercased(), Self.timestamp(now)])
            for key in ["receipt_no", "training_no", "z_no", "session_seq", "gt_sales", "gt_returns"] {
                try db.execute(sql: "INSERT INTO terminal_counter (terminal_id, key, value) VALUES (?, ?, 0)", arguments: [derived, key])
            }
            for (key, value) in Settings.defaults {
                try db.execute(sql: "INSERT INTO setting (key, value) VALUES (?, ?)", arguments: [key, value])
            }
            for role in BuiltInRole.allCases {
                for permission in role.permissions {
                    try db.execute(sql: "INSERT INTO role_permission (role, permission) VALUES (?, ?)",
                                   arguments: [role.rawValue, permission.rawValue])
                }
            }
            return derived
        }
    }

    /// `T-` and the first 12 hex digits of the machine identity.
    public static func terminalID(for machine: String) -> String {
        let hexDigits = machine.lowercased().filter { $0.isHexDigit }
        let body = hexDigits.count >= 12 ? String(hexDigits.prefix(12)) : String(machine.prefix(12))
        return "T-" + body
    }

    /// ISO 8601 with milliseconds, UTC. (A formatter per call: ISO8601DateFormatter is not Sendable.)
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func date(_ text: String?) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return text.flatMap { formatter.date(from: $0) }
    }

    public var currency: String {
        (try? store.read { try String.fetchOne($0, sql: "SELECT currency FROM terminal") }) ?? "SEK"
    }

    // MARK: Users and permissions

    public struct User: Sendable, Equatable, Codable {
        public var id: String
        public var name: String
        public var role: String
    }

    /// Adds a user. The first user may be added by anyone (bootstrap) and should be a manager.
    public func addUser(id: String, name: String, role: String, by actor: String?) throws(SessionError) -> User {
        guard !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw .invalid("A user id uses letters, digits, '-', '_' and '.'.")
        }
        let now = clock.now()
        return try store.write { db in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM user") ?? 0
            if count > 0 {
                guard let actor else { throw SessionError.invalid("Say who adds the user (--user).") }
                try self.require(.manageUsers, user: actor, db)
            }
            let roleExists = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM role_permission WHERE role = ?)", arguments: [role]) ?? false
            guard roleExists else {
                throw SessionError.invalid("Unknown role '\(role)'. Roles: \(BuiltInRole.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM user WHERE id = ?", arguments: [id]) == nil else {
                throw SessionError.invalid("A user '\(id)' exists already.")
            }
            try db.execute(sql: "INSERT INTO user (id, name, role, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [id, name, role, Self.timestamp(now)])
            return User(id: id, name: name, role: role)
        }
    }

    public func users() throws(SessionError) -> [User] {
        try store.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, role FROM user ORDER BY id").map { User(id: $0["id"], name: $0["name"], role: $0["role"]) }
        }
    }

    public func permissions(of user: String) throws(SessionError) -> Set<Permission> {
        try store.read { db in try self.permissions(user, db) }
    }

    func permissions(_ user: String, _ db: Database) throws -> Set<Permission> {
        guard let role = try String.fetchOne(db, sql: "SELECT role FROM user WHERE id = ?", arguments: [user]) else {
            throw SessionError.unknownUser(user)
        }
        let names = try String.fetchAll(db, sql: "SELECT permission FROM role_permission WHERE role = ?", arguments: [role])
        return Set(names.compactMap(Permission.init(rawValue:)))
    }

    func require(_ permission: Permission, user: String, _ db: Database) throws {
        guard try permissions(user, db).contains(permission) else {
            throw SessionError.permissionDenied(user: user, permission: permission)
        }
    }

    // MARK: Settings

    public func settings() throws(SessionError) -> Settings {
        try store.read { db in try Settings.load(db) }
    }

    public func setSetting(_ key: String, _ value: String, by user: String) throws(SessionError) {
        try Settings.validate(key, value)
        _ = try store.write { db in
            try self.require(.manageSettings, user: user, db)
            try db.execute(sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           arguments: [key, value])
        }
    }

    // MARK: Idempotency

    /// Runs `body` once per command id; a replay returns the stored result.
    func once<T: Codable>(_ commandID: String, kind: String, _ db: Database, _ body: () throws -> T) throws -> T {
        guard !commandID.isEmpty else { throw SessionError.invalid("Every command needs an id (a UUID made by the client).") }
        if let stored = try Row.fetchOne(db, sql: "SELECT kind, result_json FROM processed_command WHERE id = ?", arguments: [commandID]) {
            guard stored["kind"] as String == kind else {
                throw SessionError.invalid("Command id \(commandID) was already used for a \(stored["kind"] as String) command.")
            }
            return try JSONDecoder().decode(T.self, from: Data((stored["result_json"] as String).utf8))
        }
        let result = try body()
        let encoded = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
        try db.execute(sql: "INSERT INTO processed_command (id, kind, result_json, created_at) VALUES (?, ?, ?, ?)",
                       arguments: [commandID, kind, encoded, Self.timestamp(clock.now())])
        return result
    }

    // MARK: Counters

    func counter(_ key: String, _ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM terminal_counter WHERE terminal_id = ? AND key = ?", arguments: [terminalID, key]) ?? 0
    }

    /// Increments and returns the new value, inside the caller's transaction.
    func next(_ key: String, by amount: Int64 = 1, _ db: Database) throws -> Int64 {
        try db.execute(sql: "UPDATE terminal_counter SET value = value + ? WHERE terminal_id = ? AND key = ?",
                       arguments: [amount, terminalID, key])
        return try counter(key, db)
    }

    func addTotal(_ session: String, _ key: String, count: Int64 = 1, amount: Int64, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO session_total (session_id, key, count, amount) VALUES (?, ?, ?, ?)
            ON CONFLICT (session_id, key) DO UPDATE SET count = count + excluded.count, amount = amount + excluded.amount
            """, arguments: [session, key, count, amount])
    }

    public struct Counters: Sendable, Equatable, Codable {
        public var receiptNumber: Int64
        public var trainingNumber: Int64
        public var zNumber: Int64
        public var sessionSequence: Int64
        public var grandTotalSales: Int64
        public var grandTotalReturns: Int64
        public var grandTotalNet: Int64 { grandTotalSales - grandTotalReturns }
    }

    public func counters() throws(SessionError) -> Counters {
        try store.read { db in
            Counters(receiptNumber: try self.counter("receipt_no", db), trainingNumber: try self.counter("training_no", db),
                     zNumber: try self.counter("z_no", db), sessionSequence: try self.counter("session_seq", db),
                     grandTotalSales: try self.counter("gt_sales", db), grandTotalReturns: try self.counter("gt_returns", db))
        }
    }
}

/// The steps of finalizing a receipt, in order, for fault injection (`KASSA_CRASH_AT`, Docs/CLI.md).
public enum FinalizeStep: String, Sendable, CaseIterable {
    /// Inside the `BEGIN IMMEDIATE` transaction, before anything is written.
    case transactionBegun = "begun"
    /// The receipt number and grand totals have been taken (uncommitted).
    case numberTaken = "numbered"
    /// The receipt, lines, payments and running totals are written (uncommitted).
    case written
    /// The transaction has committed: the receipt exists, durably.
    case committed
    /// The receipt has printed (the drawer has not opened yet).
    case printed
}
