import Foundation
import GRDB

/// What a command that registers with a device was, kept with its pending registration so that a command interrupted
/// after the device answered (a crash, a power cut) can be completed exactly as it was asked (decision 0018).
public struct PendingCommand: Sendable, Equatable, Codable {
    /// `sale`, `refund`, `park`, `copy` or `proforma`.
    public var kind: String
    public var user: String
    public var sale: SaleRequest?
    public var refund: RefundRequest?
    /// `park`: the parked receipt; `proforma`: the parked receipt and the command id; `copy`: the receipt number.
    public var parked: String?
    public var commandID: String?
    public var number: Int64?
    public var payments: [PaymentRequest]?
    public var training: Bool?
}

/// The engine's clock, pinned to a command's original time while an interrupted command is completed.
struct PinnableClock: EngineClock {
    let base: any EngineClock
    func now() -> Date { SessionEngine.pinnedNow ?? base.now() }
}

/// A pending registration, as `kassa doctor` lists it.
public struct PendingRegistration: Sendable, Equatable, Codable {
    public var key: String
    public var profile: String
    public var createdAt: String
    public var sent: Int64
    public var command: String?
}

extension SessionEngine {
    @TaskLocal static var pinnedNow: Date?
    @TaskLocal static var currentCommand: PendingCommand?

    /// Runs a public command with `command` as the one a pending registration would complete.
    func asCommand<T>(_ command: PendingCommand, _ body: () throws(SessionError) -> T) throws(SessionError) -> T {
        do {
            return try Self.$currentCommand.withValue(command) { try body() }
        } catch let error as SessionError {
            throw error
        } catch {
            throw .invalid("\(error)")
        }
    }

    /// The code of a receipt under `profile`: inside the transaction for a profile that signs itself, or from the answer
    /// of a registration committed earlier (throws `registrationNeeded` when it has not been sent, `registrationConflict`
    /// when another request is pending under the same key). A consumed answer's row is deleted with the receipt's commit.
    func profileCode(_ profile: any FiscalProfile, _ receipt: ProfileReceipt, previous: FiscalCode?, settings: Settings,
                     _ db: Database) throws -> FiscalCode {
        guard let registration = try profile.registration(for: receipt, settings: settings) else {
            return try profile.code(for: receipt, previous: previous, module: fiscalModule, settings: settings)
        }
        guard let payload = try String.fetchOne(db.cachedStatement(sql: "SELECT payload FROM pending_registration WHERE key = ?"),
                                                arguments: [registration.key])
        else { throw SessionError.registrationNeeded(registration) }
        guard payload == registration.payload else { throw SessionError.registrationConflict(registration) }
        // The answer this process got is held in memory: storing it would cost a third fsync per receipt, and a crash
        // before the receipt commits only means the same request is sent again, which the unit answers the same way.
        guard let answer = registrationAnswers.withLock({ $0[registration.key] }), answer.payload == registration.payload else {
            throw SessionError.registrationNeeded(registration)
        }
        let code = answer.code
        _ = registrationAnswers.withLock { $0.removeValue(forKey: registration.key) }
        try db.cachedStatement(sql: "DELETE FROM pending_registration WHERE key = ?").execute(arguments: [registration.key])
        return code
    }

    /// Commits the registration as pending (with the command that asked for it and the profile's next serial), sends it,
    /// and stores the answer. A unit that does not answer leaves it pending (it may have registered it): the next command
    /// under the same key re-sends exactly the same request under the same serial. A definite refusal (a NAK, or nothing
    /// sent) removes it: the unit holds nothing under it, and its serial is not given again. Either failure is journaled.
    ///
    /// Registrations reach the unit in the order of their serials: one still pending under an earlier serial (its
    /// command interrupted) is completed first, since a unit answers only a repeat of its *last* serial from memory and
    /// would take an older one, sent after a newer, as a new registration.
    func sendRegistration(_ registration: ExternalRegistration) throws(SessionError) {
        guard let profile = profiles[registration.profile] else { throw .invalid("The fiscal profile \(registration.profile) is not available.") }
        let now = clock.now()
        let command = try? Self.currentCommand.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let known = try store.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT serial FROM pending_registration WHERE key = ?"), arguments: [registration.key])
                .map { ($0["serial"] as Int64?) ?? 0 }
        }
        for earlier in try pendingBefore(serial: known ?? Int64.max, except: registration.key) {
            try completeInterrupted(ExternalRegistration(profile: earlier.profile, key: earlier.key, payload: ""))
        }
        let serial: Int64 = try store.write { db in
            let inserted = try db.cachedStatement(sql: """
                INSERT INTO pending_registration (key, profile, payload, command_json, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (key) DO NOTHING
                """)
            try inserted.execute(arguments: [registration.key, registration.profile, registration.payload, command, Self.timestamp(now)])
            if try Int64.fetchOne(db.cachedStatement(sql: "SELECT serial FROM pending_registration WHERE key = ?"), arguments: [registration.key]) == nil {
                // First committed (or pending from before serials existed): the profile's next serial, never given again.
                try db.cachedStatement(sql: """
                    INSERT INTO registration_serial (profile, last) VALUES (?, 1) ON CONFLICT (profile) DO UPDATE SET last = last + 1
                    """).execute(arguments: [registration.profile])
                try db.cachedStatement(sql: """
                    UPDATE pending_registration SET serial = (SELECT last FROM registration_serial WHERE profile = ?) WHERE key = ?
                    """).execute(arguments: [registration.profile, registration.key])
            }
            try db.cachedStatement(sql: "UPDATE pending_registration SET sent = sent + 1 WHERE key = ?").execute(arguments: [registration.key])
            guard let serial = try Int64.fetchOne(db.cachedStatement(sql: "SELECT serial FROM pending_registration WHERE key = ?"),
                                                  arguments: [registration.key]) else {
                throw SessionError.invalid("The registration \(registration.key) has no serial.")
            }
            return serial
        }
        var sending = registration
        sending.serial = serial
        let code: FiscalCode
        do {
            code = try profile.send(sending)
        } catch {
            let definite: Bool
            switch error {
            case .controlUnitFailed(let unitCode, _): definite = unitCode > 0 || unitCode == -3 || unitCode == -4
            case .controlUnitMismatch: definite = true
            default: definite = false
            }
            if definite {
                _ = try? store.write { db in
                    try db.cachedStatement(sql: "DELETE FROM pending_registration WHERE key = ?").execute(arguments: [registration.key])
                }
            }
            journalOutage(registration, error: error, definite: definite)
            throw error
        }
        faultPoint?(.registered)
        registrationAnswers.withLock { $0[registration.key] = (registration.payload, code) }
    }

    /// Registrations pending under a serial lower than `serial` (other than `key`), oldest first.
    func pendingBefore(serial: Int64, except key: String) throws(SessionError) -> [(key: String, profile: String)] {
        try store.read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT key, profile FROM pending_registration WHERE key <> ? AND COALESCE(serial, 0) < ? ORDER BY COALESCE(serial, 0), created_at
                """), arguments: [key, serial]).map { ($0["key"], $0["profile"]) }
        }
    }

    /// Completes every registration still pending (commands interrupted after they were sent), in the order of their
    /// serials, as at start. Each is completed exactly as it was asked; one that cannot be throws `registrationPending`
    /// and stays. Returns the keys completed.
    @discardableResult
    public func resolvePendingRegistrations() throws(SessionError) -> [String] {
        var done: [String] = []
        for pending in try pendingBefore(serial: Int64.max, except: "") {
            try completeInterrupted(ExternalRegistration(profile: pending.profile, key: pending.key, payload: ""))
            done.append(pending.key)
        }
        return done
    }

    /// The profile's device check before a shift opens; a failure is journaled as an outage and refuses the shift.
    func checkProfileDevice() throws(SessionError) -> [String: String] {
        let settings = try store.read { db in try Settings.load(db) }
        guard let profile = profiles[settings.fiscalProfile] else { return [:] }
        do {
            return try profile.checkDevice(settings: settings)
        } catch {
            journalOutage(ExternalRegistration(profile: profile.name, key: "shift-open", payload: ""), error: error, definite: true)
            throw error
        }
    }

    /// Journals that the control unit refused or did not answer (`control_unit_failure`): what was asked, and the outcome.
    func journalOutage(_ registration: ExternalRegistration, error: SessionError, definite: Bool) {
        var code: Int64 = -1
        var message = error.description
        if case .controlUnitFailed(let unitCode, let unitMessage) = error { (code, message) = (Int64(unitCode), unitMessage) }
        if case .controlUnitMismatch = error { code = -5 }
        do {
            _ = try journaledOnce { db in
                try self.journal("control_unit_failure", ref: registration.key, body: .object([
                    "key": .string(registration.key), "profile": .string(registration.profile), "code": .int(code), "message": .string(message),
                    "outcome": .string(registration.key == "shift-open" ? "shift-refused" : definite ? "refused" : "pending"),
                ]), now: self.clock.now(), db)
            }
        } catch {
            logger.error("the control unit failed and the failure could not be journaled", metadata: ["error": "\(error)"])
        }
        logger.error("control unit failed", metadata: ["key": "\(registration.key)", "code": "\(code)", "message": "\(message)"])
    }

    /// Another request is pending under this key: the command that committed it was interrupted after sending. It is
    /// completed first, exactly as it was asked and at its own time, so the number carries the registration the unit
    /// holds; then the current command goes on with the next number.
    func completeInterrupted(_ registration: ExternalRegistration) throws(SessionError) {
        guard let row = try store.read({ db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT command_json, created_at, payload FROM pending_registration WHERE key = ?"),
                             arguments: [registration.key])
        }) else { return }  // resolved meanwhile
        guard let json: String = row["command_json"], let command = try? JSONDecoder().decode(PendingCommand.self, from: Data(json.utf8)),
              let time = Self.date(row["created_at"])
        else {
            throw .registrationPending(key: registration.key, message: "the command that registered it is not known")
        }
        do {
            try Self.$pinnedNow.withValue(time) {
                try Self.$currentCommand.withValue(command) {
                    try self.run(command)
                }
            }
        } catch let error as SessionError {
            throw .registrationPending(key: registration.key, message: "completing the interrupted \(command.kind) failed: \(error.description)")
        } catch {
            throw .registrationPending(key: registration.key, message: "\(error)")
        }
        let left = try store.read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT payload FROM pending_registration WHERE key = ?"), arguments: [registration.key])
        }
        if left != nil {
            throw .registrationPending(key: registration.key, message: "the interrupted \(command.kind) was completed, but its registration was not used")
        }
        logger.warning("an interrupted registration was completed", metadata: ["key": "\(registration.key)", "command": "\(command.kind)"])
    }

    /// Runs a stored command as it was asked.
    private func run(_ command: PendingCommand) throws(SessionError) {
        switch command.kind {
        case "sale":
            guard let sale = command.sale else { break }
            _ = try finalizeSale(sale, user: command.user)
            return
        case "refund":
            guard let refund = command.refund else { break }
            _ = try self.refund(refund, user: command.user)
            return
        case "park":
            guard let parked = command.parked else { break }
            _ = try finalizeParked(id: parked, user: command.user, payments: command.payments, training: command.training ?? false)
            return
        case "copy":
            guard let number = command.number else { break }
            _ = try copy(number: number, user: command.user)
            return
        case "proforma":
            guard let parked = command.parked, let id = command.commandID else { break }
            _ = try proForma(commandID: id, parkedID: parked, user: command.user)
            return
        default:
            break
        }
        throw .invalid("The stored \(command.kind) command is incomplete.")
    }

    /// The registrations committed as pending and not yet used (for `kassa doctor`).
    public func pendingRegistrations() throws(SessionError) -> [PendingRegistration] {
        try store.read { db in
            try Row.fetchAll(db, sql: "SELECT key, profile, created_at, sent, command_json FROM pending_registration ORDER BY created_at").map { row in
                PendingRegistration(key: row["key"], profile: row["profile"], createdAt: row["created_at"], sent: row["sent"],
                                    command: (row["command_json"] as String?).flatMap { try? JSONDecoder().decode(PendingCommand.self, from: Data($0.utf8)) }?.kind)
            }
        }
    }

    /// The last serial given to a registration of `profile` (0 before the first).
    public func lastRegistrationSerial(profile: String) throws(SessionError) -> Int64 {
        try store.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT last FROM registration_serial WHERE profile = ?"), arguments: [profile]) ?? 0
        }
    }
}
