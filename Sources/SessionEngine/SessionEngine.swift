import Foundation
import GRDB
import Logging
import Synchronization

/// The till's session engine for one physical terminal: shifts, cash, receipts, counters and reports.
///
/// Every operation is one `BEGIN IMMEDIATE` transaction: it either happens whole, with its counters, or not at all.
/// Commands that create fiscal facts carry a client id; replaying one returns the stored result.
public final class SessionEngine: Sendable {
    public let store: SessionStore
    public let terminalID: String
    /// The currency the terminal was created with (ISO 4217); the `currency` setting and the fiscal profile decide the
    /// one in use (`activeCurrency()`).
    public let currency: String
    let clock: any EngineClock
    let logger: Logger
    /// Called at each step of finalizing a receipt; crash tests kill the process here. Nil in normal use.
    let faultPoint: (@Sendable (FinalizeStep) -> Void)?
    /// Signs the journal; nil only for the benchmark's no-journal baseline (the CLI always has one).
    let fiscalModule: (any FiscalModule)?
    /// The fiscal profiles this terminal can run, by name; the `fiscal-profile` setting picks one.
    let profiles: [String: any FiscalProfile]
    /// Settings and permissions as of a `config_rev`; refilled when the revision moved (any process's change bumps it).
    let configCache = Mutex<ConfigSnapshot?>(nil)
    /// "shift user" pairs known to be in `session_participant` (committed rows are never removed).
    let knownParticipants = Mutex<Set<String>>([])
    /// The last signature counter of the running write transaction's entries (the writer runs one at a time), for the
    /// module's anchor after the commit.
    let lastSignedCounter = Mutex<Int64?>(nil)
    /// Control-unit answers of registrations committed as pending, by key, until the receipt that uses them commits.
    let registrationAnswers = Mutex<[String: (payload: String, code: FiscalCode)]>([:])
    /// The place of this engine's fiscal module among the registered ones (RKSV's `K<n>`), once read.
    let moduleNumberCache = Mutex<Int?>(nil)
    /// Set by `kassa serve` (decision 0020): the prints this engine claims are `queued` for the service's spool.
    let printsThroughSpool = Mutex(false)

    /// Opens the engine for the terminal this machine is. A database created on another device is refused:
    /// its counters never continue here. `readOnly` opens another device's history for reading.
    public init(
        store: SessionStore, identity: any TerminalIdentitySource = MachineIdentity(), clock: any EngineClock = SystemClock(),
        currency: String = "SEK", readOnly: Bool = false, logger: Logger = Logger(label: "kassa.session"),
        fiscalModule: (any FiscalModule)? = nil, profiles: [any FiscalProfile] = [],
        faultPoint: (@Sendable (FinalizeStep) -> Void)? = nil, createTerminal: Bool = true, acceptNewFiscalModule: Bool = true
    ) throws(SessionError) {
        self.store = store
        self.profiles = Dictionary(profiles.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.fiscalModule = readOnly ? nil : fiscalModule
        self.faultPoint = faultPoint
        self.clock = PinnableClock(base: clock)
        self.logger = logger
        let machine = try identity.machineIdentity()
        let derived = Self.terminalID(for: machine)
        let now = clock.now()
        let opened = try store.write { db -> (String, String) in
            if let existing = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, machine, currency FROM terminal")) {
                let id: String = existing["id"]
                if existing["machine"] as String != machine, !readOnly {
                    throw SessionError.wrongTerminal(database: id, machine: derived)
                }
                return (id, existing["currency"])
            }
            guard !readOnly, createTerminal else { throw SessionError.noTerminal }
            try db.cachedStatement(sql: "INSERT INTO terminal (id, machine, currency, created_at) VALUES (?, ?, ?, ?)").execute(arguments: [derived, machine, currency.uppercased(), Self.timestamp(now)])
            try db.cachedStatement(sql: "INSERT INTO terminal_counters (terminal_id) VALUES (?)").execute(arguments: [derived])
            for (key, value) in Settings.defaults {
                try db.cachedStatement(sql: "INSERT INTO setting (key, value) VALUES (?, ?)").execute(arguments: [key, value])
            }
            for role in BuiltInRole.allCases {
                for permission in role.permissions {
                    try db.cachedStatement(sql: "INSERT INTO role_permission (role, permission) VALUES (?, ?)").execute(arguments: [role.rawValue, permission.rawValue])
                }
            }
            return (derived, currency.uppercased())
        }
        terminalID = opened.0
        self.currency = opened.1
        try registerFiscalModule(now: now, acceptNew: acceptNewFiscalModule)
    }

    /// How far the clock may lag the last recorded fact before it is called behind (an NTP step of a few hundred
    /// milliseconds is not a fault).
    public static let clockTolerance: TimeInterval = 1

    /// The clock as it reads now, and the last recorded fact it is behind of; nil when the clock is not behind.
    public struct ClockBehind: Sendable, Equatable {
        public var now: Date
        public var lastRecorded: Date
        public var seconds: TimeInterval { lastRecorded.timeIntervalSince(now) }
    }

    /// Whether the clock reads earlier than the latest fact recorded on this terminal (by more than `clockTolerance`).
    /// Facts recorded meanwhile keep their numbers and order — receipts, Zs and journal entries are ordered by counters,
    /// never by time — but their timestamps are wrong until the clock is set. A till without an RTC battery, or a clock
    /// set by hand, is the usual cause.
    public func clockBehind() throws(SessionError) -> ClockBehind? {
        let latest = try store.read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT latest_fact_at FROM terminal_counters WHERE terminal_id = ?"),
                                arguments: [terminalID])
        }
        let now = clock.now()
        guard let last = Self.date(latest), now < last.addingTimeInterval(-Self.clockTolerance) else { return nil }
        return ClockBehind(now: now, lastRecorded: last)
    }

    /// `T-` and the first 12 hex digits of the machine identity.
    public static func terminalID(for machine: String) -> String {
        let hexDigits = machine.lowercased().filter { $0.isHexDigit }
        let body = hexDigits.count >= 12 ? String(hexDigits.prefix(12)) : String(machine.prefix(12))
        return "T-" + body
    }

    /// ISO 8601 with milliseconds, UTC (`2026-11-23T05:07:54.123Z`). Written by hand: Foundation's ISO8601DateFormatter is
    /// not Sendable and building one per call cost a third of a receipt's CPU time (Docs/PERFORMANCE.md). The service's
    /// API and the CLI's `--json` write their timestamps with it too.
    public static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int32(milliseconds - Int64(seconds) * 1000)
        return String(unsafeUninitializedCapacity: 24) { buffer in
            func put(_ value: Int32, _ digits: Int, at offset: Int) {
                var value = value
                for index in stride(from: offset + digits - 1, through: offset, by: -1) {
                    buffer[index] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
                    value /= 10
                }
            }
            put(parts.tm_year + 1900, 4, at: 0)
            buffer[4] = 0x2D
            put(parts.tm_mon + 1, 2, at: 5)
            buffer[7] = 0x2D
            put(parts.tm_mday, 2, at: 8)
            buffer[10] = 0x54
            put(parts.tm_hour, 2, at: 11)
            buffer[13] = 0x3A
            put(parts.tm_min, 2, at: 14)
            buffer[16] = 0x3A
            put(parts.tm_sec, 2, at: 17)
            buffer[19] = 0x2E
            put(millis, 3, at: 20)
            buffer[23] = 0x5A
            return 24
        }
    }

    /// Parses what `timestamp` writes (and the same without milliseconds); nil for anything else.
    static func date(_ text: String?) -> Date? {
        guard let text else { return nil }
        let bytes = Array(text.utf8)
        guard bytes.count == 20 || bytes.count == 24, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ from: Int, _ count: Int) -> Int32? {
            var value: Int32 = 0
            for byte in bytes[from..<(from + count)] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int32(byte - 0x30)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2), bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54
        else { return nil }
        var millis: Int32 = 0
        if bytes.count == 24 {
            guard bytes[19] == 0x2E, let value = number(20, 3) else { return nil }
            millis = value
        }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: TimeInterval(seconds) + TimeInterval(millis) / 1000)
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
        try InputLimits.id(id, field: "The user id")
        try InputLimits.text(name, field: "The name", limit: InputLimits.maxNameLength)
        let now = clock.now()
        return try journaled { db in
            let count = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM user")) ?? 0
            if count > 0 {
                guard let actor else { throw SessionError.invalid("Say who adds the user (--user).") }
                try self.require(.manageUsers, user: actor, db)
            }
            let roleExists = try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM role_permission WHERE role = ?)"), arguments: [role]) ?? false
            guard roleExists else {
                throw SessionError.invalid("Unknown role '\(role)'. Roles: \(BuiltInRole.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            guard try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM user WHERE id = ?"), arguments: [id]) == nil else {
                throw SessionError.invalid("A user '\(id)' exists already.")
            }
            try db.cachedStatement(sql: "INSERT INTO user (id, name, role, created_at) VALUES (?, ?, ?, ?)").execute(arguments: [id, name, role, Self.timestamp(now)])
            try self.journal("user", ref: id, body: .object(["id": .string(id), "name": .string(name), "role": .string(role),
                                                              "by": actor.canonical]), now: now, db)
            return User(id: id, name: name, role: role)
        }
    }

    public func users() throws(SessionError) -> [User] {
        try store.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT id, name, role FROM user ORDER BY id")).map { User(id: $0["id"], name: $0["name"], role: $0["role"]) }
        }
    }

    public func permissions(of user: String) throws(SessionError) -> Set<Permission> {
        try store.read { db in try self.permissions(user, db) }
    }

    func permissions(_ user: String, _ db: Database) throws -> Set<Permission> {
        guard let role = try String.fetchOne(db.cachedStatement(sql: "SELECT role FROM user WHERE id = ?"), arguments: [user]) else {
            throw SessionError.unknownUser(user)
        }
        let names = try String.fetchAll(db.cachedStatement(sql: "SELECT permission FROM role_permission WHERE role = ?"), arguments: [role])
        return Set(names.compactMap(Permission.init(rawValue:)))
    }

    /// A user's permissions at configuration `revision` (read in the same transaction), cached until it changes.
    func permissions(_ user: String, revision: Int64, _ db: Database) throws -> Set<Permission> {
        if let cached = configCache.withLock({ $0?.revision == revision ? $0?.permissions[user] : nil }) { return cached }
        let permissions = try self.permissions(user, db)
        _ = try settings(revision: revision, db)
        configCache.withLock { snapshot in
            if snapshot?.revision == revision { snapshot?.permissions[user] = permissions }
        }
        return permissions
    }

    /// The settings at configuration `revision` (read in the same transaction), cached until it changes.
    func settings(revision: Int64, _ db: Database) throws -> Settings {
        if let cached = configCache.withLock({ $0?.revision == revision ? $0?.settings : nil }) { return cached }
        let settings = try Settings.load(db)
        configCache.withLock { $0 = ConfigSnapshot(revision: revision, settings: settings, permissions: [:]) }
        return settings
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

    /// The currency receipts, bills and reports are made in now (the `currency` setting, else the fiscal profile's, else
    /// the terminal's).
    public func activeCurrency() throws(SessionError) -> String {
        try settings().currency(terminal: currency)
    }

    /// Every setting as stored (defaults for those never set), in the documented order: what `settings show` lists.
    public func allSettings() throws(SessionError) -> [(key: String, value: String)] {
        try store.read { db in
            var values = Dictionary(uniqueKeysWithValues: Settings.defaults)
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM setting") { values[row["key"]] = row["value"] }
            return Settings.keys.map { (key: $0, value: values[$0] ?? "") }
        }
    }

    /// Refuses unless `user` has `permission` (for commands whose effect is outside the database, checked first).
    public func requirePermission(_ permission: Permission, user: String) throws(SessionError) {
        try store.read { db in try self.require(permission, user: user, db) }
    }

    /// Journals that a new fiscal module was put in service in place of a lost one (`kassa fiscal replace-module`).
    public func journalModuleReplacement(old: String?, reason: String, by user: String) throws(SessionError) {
        try InputLimits.text(reason, field: "The reason", limit: 256)
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalid("Say why the module is replaced: --reason TEXT.") }
        _ = try journaled { db in
            try self.require(.manageSettings, user: user, db)
            try self.journal("fiscal_module_replaced", ref: self.fiscalModule?.serial ?? "", body: .object([
                "old": old.map(Canonical.string) ?? .null, "new": .string(self.fiscalModule?.serial ?? ""), "reason": .string(reason), "by": .string(user),
            ]), now: self.clock.now(), db)
        }
    }

    public func setSetting(_ key: String, _ value: String, by user: String) throws(SessionError) {
        try Settings.validate(key, value)
        _ = try journaled { db in
            try self.require(.manageSettings, user: user, db)
            try self.checkRegimeChange(key, value, db)
            try db.cachedStatement(sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").execute(arguments: [key, value])
            try self.journal("setting", ref: key, body: .object(["key": .string(key), "value": .string(value), "by": .string(user)]),
                             now: self.clock.now(), db)
        }
    }

    /// Settings a fiscal regime's records depend on stay as they were once the regime made receipts (decision 0018):
    /// RKSV's Kassen-ID and company id are in every receipt's code and key id, and a profile turned off and on again
    /// leaves receipts without codes in the middle of its chain. A new cash register is a new terminal (database).
    func checkRegimeChange(_ key: String, _ value: String, _ db: Database) throws {
        let current = try Settings.load(db)
        func codes(_ profile: String) throws -> Int {
            try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM receipt_code WHERE profile = ?"), arguments: [profile]) ?? 0
        }
        switch key {
        case "at-cashbox-id", "at-company-id":
            let old = current.regime[key] ?? ""
            let count = try codes("at")
            guard count == 0 || old == value else {
                throw SessionError.invalid("\(key) is in every RKSV receipt this register signed (\(count) so far, under '\(old.isEmpty ? "the Terminal-ID" : old)'): "
                    + "changing it would start another cash register in the middle of this one's DEP. A new cash register is a new terminal: "
                    + "a new database, registered with FinanzOnline, that begins with its own start receipt (Docs/fiscal-at.md). Nothing was changed.")
            }
        case "currency":
            // A shift's totals are in one currency; a regime's amounts are in its own.
            if let open = try openShiftID(db) {
                throw SessionError.invalid("Shift \(open) is open: its totals are in \(current.currency(terminal: currency)). Change the currency "
                    + "between shifts (after the Z report). Nothing was changed.")
            }
            let regime = ["at": "EUR", "se": "SEK"][current.fiscalProfile]
            if let regime, !value.isEmpty, value != regime {
                throw SessionError.invalid("The fiscal profile '\(current.fiscalProfile)' records amounts in \(regime); currency cannot be \(value). "
                    + "Nothing was changed.")
            }
        case "fiscal-profile":
            let regime = ["at": "EUR", "se": "SEK"][value]
            if let regime, !current.currencySetting.isEmpty, current.currencySetting != regime {
                throw SessionError.invalid("The fiscal profile '\(value)' records amounts in \(regime), but currency is set to "
                    + "\(current.currencySetting): set currency to \(regime) (or empty) first. Nothing was changed.")
            }
            if current.fiscalProfile != value, value != "none", let open = try openShiftID(db),
               try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM receipt WHERE session_id = ?"), arguments: [open]) ?? 0 > 0,
               current.currency(terminal: currency) != regime {
                throw SessionError.invalid("Shift \(open) has receipts in \(current.currency(terminal: currency)); the fiscal profile '\(value)' "
                    + "records \(regime ?? ""). Close the shift first. Nothing was changed.")
            }
            let old = current.fiscalProfile
            guard old != value, old != "none" else { return }
            let count = try codes(old)
            guard count == 0 else {
                throw SessionError.invalid("This terminal made \(count) receipts under the fiscal profile '\(old)': it stays on it for the life of "
                    + "its database (receipts without codes would break the regime's chain and records). A terminal for another regime is a "
                    + "new database (Docs/fiscal-at.md, Docs/fiscal-se.md). Nothing was changed.")
            }
        default:
            break
        }
    }

    // MARK: Idempotency

    /// Runs `body` once per command id; a replay returns the stored result.
    /// `request` is what the command asks for (the acting user included): a replay with other content is refused.
    func once<T: Codable>(_ commandID: String, kind: String, request: RequestDigest, _ db: Database, _ body: () throws -> T) throws -> T {
        guard !commandID.isEmpty else { throw SessionError.invalid("Every command needs an id (a UUID made by the client).") }
        try InputLimits.id(commandID, field: "The command id")
        if let stored = try Row.fetchOne(db.cachedStatement(sql: "SELECT kind, result_json, request_digest FROM processed_command WHERE id = ?"), arguments: [commandID]) {
            guard stored["kind"] as String == kind else {
                throw SessionError.invalid("Command id \(commandID) was already used for a \(stored["kind"] as String) command.")
            }
            try RequestDigest.check(commandID, stored: (stored["request_digest"] as Data?).map(Array.init), replay: request)
            return try JSONDecoder().decode(T.self, from: Data((stored["result_json"] as String).utf8))
        }
        if let receiptKind = try String.fetchOne(db.cachedStatement(sql: "SELECT kind FROM receipt WHERE id = ?"), arguments: [commandID]) {
            throw SessionError.invalid("Command id \(commandID) was already used for a \(receiptKind) receipt.")
        }
        let result = try body()
        let encoded = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
        try db.cachedStatement(sql: "INSERT INTO processed_command (id, kind, result_json, created_at, request_digest) VALUES (?, ?, ?, ?, ?)").execute(arguments: [commandID, kind, encoded, Self.timestamp(clock.now()), Data(request.bytes)])
        return result
    }

    /// Idempotency for commands that make a receipt: the receipt's id is the command id, so the receipt table itself records
    /// the command. That keeps the fsync-bound finalization to the receipt's own rows (no JSON copy, one b-tree fewer).
    /// The receipt row keeps the request's digest (`request_digest`): a replay with other content is refused.
    func onceReceipt(_ commandID: String, kinds: Set<String>, request: RequestDigest, _ db: Database, _ body: () throws -> ReceiptRecord) throws -> ReceiptRecord {
        guard !commandID.isEmpty else { throw SessionError.invalid("Every command needs an id (a UUID made by the client).") }
        if let used = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT kind, 1, request_digest FROM receipt WHERE id = :id UNION ALL SELECT kind, 0, NULL FROM processed_command WHERE id = :id
            """), arguments: ["id": commandID]) {
            let kind: String = used[0]
            guard used[1] == 1 else { throw SessionError.invalid("Command id \(commandID) was already used for a \(kind) command.") }
            guard kinds.contains(kind) else { throw SessionError.invalid("Command id \(commandID) was already used for a \(kind) receipt.") }
            try RequestDigest.check(commandID, stored: (used[2] as Data?).map(Array.init), replay: request)
            // A replay answers as the first call did, with the entry's signature counter (a recent entry: found from the end).
            var record = try receipt(id: commandID, db)
            record.replayed = true
            if let signed = try journalSignature(kind: kind == "sale" ? "receipt" : kind, ref: commandID, db) {
                (record.signatureCounter, record.signedBy) = (signed.counter, signed.module)
            }
            return record
        }
        return try body()
    }

    // MARK: Counters

    /// The columns of `terminal_counters`; `counter` and `next` take only these names.
    static let counterColumns: Set<String> = ["receipt_no", "training_no", "z_no", "session_seq", "gt_sales", "gt_returns", "config_rev"]

    func counter(_ key: String, _ db: Database) throws -> Int64 {
        precondition(Self.counterColumns.contains(key), "unknown counter \(key)")
        return try Int64.fetchOne(db.cachedStatement(sql: "SELECT \(key) FROM terminal_counters WHERE terminal_id = ?"), arguments: [terminalID]) ?? 0
    }

    /// All of this terminal's counters in one read.
    func counterValues(_ db: Database) throws -> CounterValues {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT receipt_no, training_no, z_no, session_seq, gt_sales, gt_returns, config_rev FROM terminal_counters WHERE terminal_id = ?
            """), arguments: [terminalID])
        else { throw SessionError.notFound("The counters of terminal \(terminalID)") }
        // `decode` throws on a value of another type (a changed file), where GRDB's subscript would trap.
        return CounterValues(receiptNumber: try row.decode(atIndex: 0), trainingNumber: try row.decode(atIndex: 1),
                             zNumber: try row.decode(atIndex: 2), sessionSequence: try row.decode(atIndex: 3),
                             grandTotalSales: try row.decode(atIndex: 4), grandTotalReturns: try row.decode(atIndex: 5),
                             configRevision: try row.decode(atIndex: 6))
    }

    /// Adds to a counter inside the caller's transaction.
    func bump(_ key: String, by amount: Int64, _ db: Database) throws {
        precondition(Self.counterColumns.contains(key), "unknown counter \(key)")
        try db.cachedStatement(sql: "UPDATE terminal_counters SET \(key) = \(key) + ? WHERE terminal_id = ?").execute(arguments: [amount, terminalID])
    }

    /// Increments and returns the new value, inside the caller's transaction.
    func next(_ key: String, by amount: Int64 = 1, _ db: Database) throws -> Int64 {
        try bump(key, by: amount, db)
        return try counter(key, db)
    }

    /// `(?, ?, …), (?, ?, …)` for a multi-row INSERT.
    static func placeholders(rows: Int, columns: Int) -> String {
        let key = rows << 8 | columns
        if let known = placeholderCache.withLock({ $0[key] }) { return known }
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        let text = Array(repeating: row, count: rows).joined(separator: ", ")
        placeholderCache.withLock { $0[key] = text }
        return text
    }

    private static let placeholderCache = Mutex<[Int: String]>([:])

    /// Several running totals in one upsert (a key may repeat: rows apply in order).
    func addTotals(_ session: String, _ items: [(key: String, count: Int64, amount: Int64)], _ db: Database) throws {
        guard !items.isEmpty else { return }
        var arguments: StatementArguments = []
        for item in items { arguments += [session, item.key, item.count, item.amount] }
        try db.cachedStatement(sql: """
            INSERT INTO session_total (session_id, key, count, amount) VALUES \(Self.placeholders(rows: items.count, columns: 4))
            ON CONFLICT (session_id, key) DO UPDATE SET count = count + excluded.count, amount = amount + excluded.amount
            """).execute(arguments: arguments)
    }

    func addTotal(_ session: String, _ key: String, count: Int64 = 1, amount: Int64, _ db: Database) throws {
        try addTotals(session, [(key, count, amount)], db)
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
    /// The control unit answered a registration that was committed as pending; its answer is not stored yet.
    case registered
}

/// Settings and per-user permissions valid at one `config_rev`.
struct ConfigSnapshot: Sendable {
    var revision: Int64
    var settings: Settings
    var permissions: [String: Set<Permission>]
}

/// One read of `terminal_counters`.
struct CounterValues: Sendable {
    var receiptNumber: Int64
    var trainingNumber: Int64
    var zNumber: Int64
    var sessionSequence: Int64
    var grandTotalSales: Int64
    var grandTotalReturns: Int64
    var configRevision: Int64
}
