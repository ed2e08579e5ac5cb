import Foundation
import GRDB

extension SessionEngine {
    func shift(_ id: String, _ db: Database) throws -> ShiftRecord {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM pos_session WHERE id = ?"), arguments: [id]) else {
            throw SessionError.notFound("Shift \(id)")
        }
        let participants = try String.fetchAll(db.cachedStatement(sql: "SELECT user_id FROM session_participant WHERE session_id = ? ORDER BY joined_at, user_id"), arguments: [id])
        return ShiftRecord(
            id: row["id"], terminal: row["terminal_id"], sequence: row["session_seq"], state: row["state"],
            isRescue: row["is_rescue"], businessDate: row["business_date"], openedBy: row["opened_by"],
            openedAt: Self.date(row["opened_at"]) ?? Date(timeIntervalSince1970: 0), openingExpected: row["opening_expected"],
            openingCounted: row["opening_counted"], closedBy: row["closed_by"], closedAt: Self.date(row["closed_at"]),
            expectedCash: row["expected_cash"], countedCash: row["counted_cash"], difference: row["difference"],
            cashLeft: row["cash_left"], differenceApprovedBy: row["difference_approved_by"], forceClosed: row["force_closed"],
            zNumber: row["z_no"], participants: participants, rescueFor: row["rescue_for_session_id"])
    }

    /// Journals a shift's row as it is now, with who did it.
    func journalShift(_ kind: String, _ id: String, user: String, now: Date, _ db: Database) throws {
        guard fiscalModule != nil else { return }
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM pos_session WHERE id = ?"), arguments: [id]) else {
            throw SessionError.notFound("Shift \(id)")
        }
        var body = Self.canonicalColumns(row)
        body["by"] = .string(user)
        try journal(kind, ref: id, body: .object(body), shift: id, now: now, db)
    }

    /// The open rescue shift of this terminal, if any.
    func openRescueID(_ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT id FROM pos_session WHERE terminal_id = ? AND state = 'open' AND is_rescue = 1"),
                            arguments: [terminalID])
    }

    /// The rescue shift for a late fact: the open one is reused; otherwise one is opened by the system, with no float and no
    /// drawer count, naming the shift it rescues. A manager closes it with its own Z (`closeShift(rescue: true)`).
    func rescueShift(for addressed: String?, user: String, now: Date, _ db: Database) throws -> String {
        if let open = try openRescueID(db) {
            try ensureParticipant(open, user, now, db)
            return open
        }
        let settings = try Settings.load(db)
        let rescue = try insertShift(user: user, countedFloat: nil, rescue: true, now: now, settings: settings, db)
        try db.cachedStatement(sql: "UPDATE pos_session SET rescue_for_session_id = ?, opening_expected = 0 WHERE id = ?")
            .execute(arguments: [addressed, rescue.id])
        logger.warning("rescue shift opened for a late fact", metadata: ["session.id": "\(rescue.id)", "rescues": "\(addressed ?? "-")"])
        return rescue.id
    }

    /// The open rescue shift, for dashboards and `kassa terminal show`.
    public func openRescueShift() throws(SessionError) -> ShiftRecord? {
        try store.read { db in try self.openRescueID(db).map { try self.shift($0, db) } }
    }

    /// The open (non-rescue) shift of this terminal.
    func openShiftID(_ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT id FROM pos_session WHERE terminal_id = ? AND state = 'open' AND is_rescue = 0"), arguments: [terminalID])
    }

    /// The active (opening, open or closing) non-rescue shift: at most one, by a unique index.
    func activeShiftID(_ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: """
            SELECT id FROM pos_session WHERE terminal_id = ? AND state IN ('opening', 'open', 'closing') AND is_rescue = 0
            """), arguments: [terminalID])
    }

    /// The active shift (opening, open or closing), if any.
    public func currentShift() throws(SessionError) -> ShiftRecord? {
        try store.read { db in try self.activeShiftID(db).map { try self.shift($0, db) } }
    }

    /// The active shift when it has been open longer than the `warn-open-hours` setting allows (a close forgotten at
    /// the end of a day); nil otherwise, or when the setting is off. Selling goes on: this is a warning, not a block.
    public func shiftOpenTooLong() throws(SessionError) -> LongOpenShift? {
        try store.read { db in
            guard let limit = try Settings.load(db).warnOpenHours, let id = try self.activeShiftID(db) else { return nil }
            let shift = try self.shift(id, db)
            let hours = clock.now().timeIntervalSince(shift.openedAt) / 3600
            return hours > Double(limit) ? LongOpenShift(id: id, openedAt: shift.openedAt, openedBy: shift.openedBy, hours: hours, limit: limit) : nil
        }
    }

    /// The active shift, which must be in `state`; otherwise a clear error naming the state it is in.
    func activeShift(in state: String, _ db: Database) throws -> ShiftRecord {
        guard let id = try activeShiftID(db) else { throw SessionError.noOpenSession }
        let record = try shift(id, db)
        guard record.state == state else {
            throw SessionError.shiftState(id: id, state: record.state, wanted: state)
        }
        return record
    }

    func setState(_ id: String, from: String, to: String, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE pos_session SET state = ? WHERE id = ? AND state = ?").execute(arguments: [to, id, from])
        guard db.changesCount == 1 else { throw SessionError.invalid("Shift \(id) is no longer \(from).") }
    }

    /// Counts the float of a shift that is `opening` (opened under cash control without a count): it becomes `open`.
    public func confirmOpening(commandID: String, user: String, countedFloat: Int64?, count: [DenominationCount]? = nil)
        throws(SessionError) -> ShiftRecord
    {
        let now = clock.now()
        return try journaled { db in
            try self.once(commandID, kind: "session.confirm", request: RequestDigest(["user": user, "float": countedFloat, "count": count]), db) {
                try self.require(.sessionOpen, user: user, db)
                let record = try self.activeShift(in: "opening", db)
                let settings = try Settings.load(db)
                guard let counted = try self.countedTotal(countedFloat, count, settings: settings), counted >= 0 else {
                    throw SessionError.invalid("Give the counted float (--float, or --count by denomination).")
                }
                try db.cachedStatement(sql: "UPDATE pos_session SET state = 'open', opening_counted = ? WHERE id = ? AND state = 'opening'")
                    .execute(arguments: [counted, record.id])
                try self.storeCount(count, session: record.id, phase: "open", db)
                try self.journalShift("shift_confirm", record.id, user: user, now: now, db)
                return try self.shift(record.id, db)
            }
        }
    }

    /// Cancels a shift that is still `opening`: nothing can have happened in it yet. Its number stays used.
    public func cancelOpening(commandID: String, user: String) throws(SessionError) -> ShiftRecord {
        let now = clock.now()
        return try journaled { db in
            try self.once(commandID, kind: "session.cancel", request: RequestDigest(["user": user]), db) {
                try self.require(.sessionOpen, user: user, db)
                let record = try self.activeShift(in: "opening", db)
                try db.cachedStatement(sql: """
                    UPDATE pos_session SET state = 'cancelled', cancelled_by = ?, cancelled_at = ? WHERE id = ? AND state = 'opening'
                    """).execute(arguments: [user, Self.timestamp(now), record.id])
                try self.journalShift("shift_cancel", record.id, user: user, now: now, db)
                return try self.shift(record.id, db)
            }
        }
    }

    /// Starts the close: the shift becomes `closing`, so no more sales, parking or cash movements while the drawer is
    /// counted. `resumeShift` goes back to `open`; `closeShift` finishes.
    public func startClose(commandID: String, user: String) throws(SessionError) -> ShiftRecord {
        let now = clock.now()
        return try journaled { db in
            try self.once(commandID, kind: "session.start_close", request: RequestDigest(["user": user]), db) {
                try self.require(.sessionClose, user: user, db)
                let record = try self.activeShift(in: "open", db)
                if record.openedBy != user && !record.participants.contains(user) { try self.require(.sessionCloseOthers, user: user, db) }
                try self.refuseRunningPayments(record.id, db)
                try self.setState(record.id, from: "open", to: "closing", db)
                try self.journalShift("shift_start_close", record.id, user: user, now: now, db)
                return try self.shift(record.id, db)
            }
        }
    }

    /// Goes back from `closing` to `open` (no Z was written).
    public func resumeShift(commandID: String, user: String) throws(SessionError) -> ShiftRecord {
        let now = clock.now()
        return try journaled { db in
            try self.once(commandID, kind: "session.resume", request: RequestDigest(["user": user]), db) {
                try self.require(.sessionClose, user: user, db)
                let record = try self.activeShift(in: "closing", db)
                try self.setState(record.id, from: "closing", to: "open", db)
                try self.journalShift("shift_resume", record.id, user: user, now: now, db)
                return try self.shift(record.id, db)
            }
        }
    }

    /// Marks a closed shift as posted (its Z handed to accounting). Only the state and who/when change; the trigger
    /// refuses anything else on a closed shift.
    public func postShift(commandID: String, user: String, zNumber: Int64) throws(SessionError) -> ShiftRecord {
        let now = clock.now()
        return try journaled { db in
            try self.once(commandID, kind: "session.post", request: RequestDigest(["user": user, "z": zNumber]), db) {
                try self.require(.reportZ, user: user, db)
                guard let id = try String.fetchOne(db.cachedStatement(sql: "SELECT id FROM pos_session WHERE terminal_id = ? AND z_no = ?"),
                                                   arguments: [self.terminalID, zNumber])
                else { throw SessionError.notFound("Z \(zNumber)") }
                try db.cachedStatement(sql: "UPDATE pos_session SET state = 'posted', posted_by = ?, posted_at = ? WHERE id = ? AND state = 'closed'")
                    .execute(arguments: [user, Self.timestamp(now), id])
                guard db.changesCount == 1 else { throw SessionError.invalid("Shift \(id) with Z \(zNumber) is not closed (or already posted).") }
                try self.journalShift("shift_post", id, user: user, now: now, db)
                return try self.shift(id, db)
            }
        }
    }

    /// Opens a shift with the counted float, as a total or counted by denomination (`count`; both must then agree).
    /// The expected float is what the previous shift left (or the default).
    public func openShift(commandID: String, user: String, countedFloat: Int64?, count: [DenominationCount]? = nil)
        throws(SessionError) -> ShiftRecord
    {
        let now = clock.now()
        // The regime's device (a control unit) is checked before the shift opens, outside the transaction.
        let keep = try checkProfileDevice()
        return try journaled { db in
            try self.once(commandID, kind: "session.open", request: RequestDigest(["user": user, "float": countedFloat, "count": count]), db) {
                try self.require(.sessionOpen, user: user, db)
                let settings = try Settings.load(db)
                let unkept = keep.filter { (settings.regime[$0.key] ?? "").isEmpty }
                if !unkept.isEmpty { try self.keepProfileFacts(FiscalCode(profile: settings.fiscalProfile, code: "", keep: unkept), db) }
                if let limit = settings.maxUnpostedShifts {
                    let waiting = try Row.fetchOne(db.cachedStatement(sql: """
                        SELECT COUNT(*) AS count, MIN(z_no) AS oldest FROM pos_session WHERE terminal_id = ? AND state = 'closed' AND is_rescue = 0
                        """), arguments: [self.terminalID])
                    let count: Int = waiting?["count"] ?? 0
                    if count >= limit { throw SessionError.unpostedShifts(count: count, limit: limit, oldestZ: waiting?["oldest"] ?? 0) }
                }
                let counted = try self.countedTotal(countedFloat, count, settings: settings)
                if let counted, counted < 0 { throw SessionError.invalid("A counted float cannot be negative.") }
                // Under cash control without a count the shift starts as `opening`: no sales until the float is counted.
                let opening = settings.cashControl && counted == nil
                let shift = try self.insertShift(user: user, countedFloat: counted, rescue: false, opening: opening, now: now,
                                                 settings: settings, db)
                try self.storeCount(count, session: shift.id, phase: "open", db)
                return shift
            }
        }
    }

    /// The total of a count by denomination, checked against the currency's denominations and against a given total.
    func countedTotal(_ total: Int64?, _ count: [DenominationCount]?, settings: Settings) throws -> Int64? {
        if let total { try InputLimits.amount(total, field: "The counted cash") }
        try InputLimits.count(count, field: "count")
        guard let count else { return total }
        var sum: Int64 = 0
        var seen = Set<Int64>()
        for item in count {
            guard settings.denominations.contains(item.denomination) else {
                throw SessionError.invalid("\(item.denomination) is not one of this currency's denominations "
                    + "(\(settings.denominations.map(String.init).joined(separator: ", "))); see `kassa settings show`.")
            }
            guard item.quantity >= 0 else { throw SessionError.invalid("A count cannot be negative (\(item.denomination)).") }
            guard seen.insert(item.denomination).inserted else { throw SessionError.invalid("\(item.denomination) is counted twice.") }
            sum = try Checked.add(sum, Checked.multiply(item.denomination, item.quantity, "The count of \(item.denomination)"), "The count")
        }
        try InputLimits.amount(sum, field: "The count by denomination")
        if let total, total != sum {
            throw SessionError.invalid("The count by denomination makes \(sum), but the total given is \(total).")
        }
        return sum
    }

    func storeCount(_ count: [DenominationCount]?, session: String, phase: String, _ db: Database) throws {
        for item in count ?? [] where item.quantity > 0 {
            try db.cachedStatement(sql: "INSERT INTO cash_count (session_id, phase, denomination, quantity) VALUES (?, ?, ?, ?)")
                .execute(arguments: [session, phase, item.denomination, item.quantity])
        }
    }

    /// The drawer as counted by denomination at opening or closing (`phase` is `open` or `close`), largest first.
    public func cashCount(session: String, phase: String) throws(SessionError) -> [DenominationCount] {
        try store.read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT denomination, quantity FROM cash_count WHERE session_id = ? AND phase = ? ORDER BY denomination DESC
                """), arguments: [session, phase]).map { DenominationCount(denomination: $0["denomination"], quantity: $0["quantity"]) }
        }
    }

    func insertShift(user: String, countedFloat: Int64?, rescue: Bool, opening: Bool = false, now: Date, settings: Settings,
                     _ db: Database) throws -> ShiftRecord {
        if !rescue, let open = try self.activeShiftID(db) {
            let openedBy = try String.fetchOne(db.cachedStatement(sql: "SELECT opened_by FROM pos_session WHERE id = ?"), arguments: [open]) ?? "?"
            throw SessionError.sessionAlreadyOpen(id: open, openedBy: openedBy)
        }
        let previousLeft = try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT cash_left FROM pos_session WHERE terminal_id = ? AND state IN ('closed', 'posted') AND is_rescue = 0
            ORDER BY session_seq DESC LIMIT 1
            """), arguments: [terminalID])
        let sequence = try self.next("session_seq", db)
        let id = "\(terminalID)-S\(sequence)"
        do {
            try db.cachedStatement(sql: """
                INSERT INTO pos_session (id, terminal_id, session_seq, state, is_rescue, business_date, opened_by, opened_at,
                  opening_expected, opening_counted)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [id, terminalID, sequence, opening ? "opening" : "open", rescue, settings.businessDate(now), user, Self.timestamp(now),
                                 previousLeft ?? settings.defaultFloat, countedFloat])
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            // Another process opened a shift between our check and our insert: the unique index decided.
            let open = try self.activeShiftID(db) ?? "?"
            throw SessionError.sessionAlreadyOpen(id: open, openedBy: "another user")
        }
        try db.cachedStatement(sql: "INSERT INTO session_participant (session_id, user_id, joined_at) VALUES (?, ?, ?)").execute(arguments: [id, user, Self.timestamp(now)])
        if !rescue { try attachDeferredParked(to: id, db) }
        try journalShift(rescue ? "rescue_shift_open" : "shift_open", id, user: user, now: now, db)
        return try self.shift(id, db)
    }

    /// A second cashier joins the open shift ("continue selling"). Needs `session.continue` for someone else's shift.
    public func continueShift(user: String) throws(SessionError) -> ShiftRecord {
        let now = clock.now()
        return try journaled { db in
            guard let id = try self.openShiftID(db) else { throw SessionError.noOpenSession }
            let current = try self.shift(id, db)
            if current.openedBy != user { try self.require(.sessionContinue, user: user, db) }
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO session_participant (session_id, user_id, joined_at) VALUES (?, ?, ?)").execute(arguments: [id, user, Self.timestamp(now)])
            if db.changesCount > 0 { try self.journalShift("shift_continue", id, user: user, now: now, db) }
            return try self.shift(id, db)
        }
    }

    /// Cash put into (`in`) or taken out of (`out`) the drawer, with a reason.
    public func cashMovement(commandID: String, user: String, type: String, amount: Int64, reason: String?) throws(SessionError)
        -> CashMovementResult
    {
        guard type == "in" || type == "out" || type == "no_sale" else { throw .invalid("A cash movement is in, out or no_sale.") }
        if type != "no_sale" { guard amount > 0 else { throw .invalid("A cash movement needs a positive amount.") } }
        try InputLimits.amount(amount, field: "The amount (--amount)")
        if let reason { try InputLimits.text(reason, field: "The reason", limit: InputLimits.maxReasonLength) }
        let now = clock.now()
        return try journaled { db in
            try self.once(commandID, kind: "cash.\(type)", request: RequestDigest(["user": user, "amount": amount, "reason": reason]), db) {
                try self.require(type == "no_sale" ? .drawerNoSale : .cashMove, user: user, db)
                guard let session = try self.openShiftID(db) else { throw SessionError.noOpenSession }
                return try self.recordMovement(id: commandID, session: session, type: type, amount: type == "no_sale" ? 0 : amount,
                                               reason: reason, user: user, reverses: nil, now: now, db)
            }
        }
    }

    /// A drawer opened outside a sale (`kassa drawer open` on a till): in the open shift it is a `no_sale` movement,
    /// counted on the X and Z reports; with no shift open it is journaled as `drawer_open` (no shift's report covers it).
    /// Needs `drawer.open_no_sale`. Recorded before the drawer opens.
    public func recordDrawerOpening(commandID: String, user: String, reason: String?) throws(SessionError) -> DrawerOpening {
        if let reason { try InputLimits.text(reason, field: "The reason", limit: InputLimits.maxReasonLength) }
        let now = clock.now()
        return try journaled { db in
            try self.once(commandID, kind: "drawer.open", request: RequestDigest(["user": user, "reason": reason]), db) {
                try self.require(.drawerNoSale, user: user, db)
                if let session = try self.openShiftID(db) {
                    let movement = try self.recordMovement(id: commandID, session: session, type: "no_sale", amount: 0, reason: reason, user: user,
                                                           reverses: nil, now: now, db)
                    return DrawerOpening(id: movement.id, session: movement.session, user: user)
                }
                try self.journal("drawer_open", ref: commandID, body: .object([
                    "id": .string(commandID), "by": .string(user), "reason": reason.map(Canonical.string) ?? .null,
                    "at": .string(Self.timestamp(now)),
                ]), now: now, db)
                return DrawerOpening(id: commandID, session: nil, user: user)
            }
        }
    }

    /// Reverses a cash movement of the open shift that was entered by mistake: a new movement of the opposite type and
    /// the same amount that names the original (which stays as it was). One reversal per movement; a drawer opening
    /// without a sale moves no cash, and a closed shift's movements are final with its Z. Needs `cash.move`.
    public func reverseCashMovement(commandID: String, user: String, movement: String, reason: String?) throws(SessionError)
        -> CashMovementResult
    {
        try InputLimits.id(movement, field: "The movement's id")
        if let reason { try InputLimits.text(reason, field: "The reason", limit: InputLimits.maxReasonLength) }
        let now = clock.now()
        return try journaled { db in
            try self.once(commandID, kind: "cash.reverse", request: RequestDigest(["user": user, "movement": movement, "reason": reason]), db) {
                try self.require(.cashMove, user: user, db)
                guard let session = try self.openShiftID(db) else { throw SessionError.noOpenSession }
                guard let original = try Row.fetchOne(db.cachedStatement(sql: """
                    SELECT type, amount, session_id, reverses, (SELECT id FROM cash_movement r WHERE r.reverses = m.id) AS reversed_by
                    FROM cash_movement m WHERE id = ?
                    """), arguments: [movement])
                else { throw SessionError.notFound("Cash movement \(movement)") }
                let type: String = original["type"]
                guard type != "no_sale" else {
                    throw SessionError.invalid("Movement \(movement) opened the drawer without a sale and moved no cash; there is nothing to reverse.")
                }
                if let reversed: String = original["reverses"] {
                    throw SessionError.invalid("Movement \(movement) is itself the reversal of \(reversed); record a new cash movement instead.")
                }
                if let by: String = original["reversed_by"] {
                    throw SessionError.invalid("Movement \(movement) was already reversed by \(by).")
                }
                let shift: String = original["session_id"]
                guard shift == session else {
                    throw SessionError.invalid("Movement \(movement) belongs to shift \(shift), whose Z is final; "
                        + "if cash moved in this shift, record it with cash-in or cash-out.")
                }
                return try self.recordMovement(id: commandID, session: session, type: type == "in" ? "out" : "in", amount: original["amount"],
                                               reason: "reversal of \(movement)" + (reason.map { ": " + $0 } ?? ""), user: user,
                                               reverses: movement, now: now, db)
            }
        }
    }

    /// Writes a cash movement, its running totals (reversals also under `cash_reversals`) and its journal entry, and
    /// reports the cash the drawer should hold after it. A cash-out beyond that is allowed — the drawer may hold more
    /// than recorded, and the count at close decides — but flagged.
    func recordMovement(id: String, session: String, type: String, amount: Int64, reason: String?, user: String, reverses: String?,
                        now: Date, _ db: Database) throws -> CashMovementResult {
        try ensureParticipant(session, user, now, db)
        try db.cachedStatement(sql: """
            INSERT INTO cash_movement (id, session_id, type, amount, reason, user_id, created_at, reverses) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [id, session, type, amount, reason, user, Self.timestamp(now), reverses])
        try addTotal(session, "cash_\(type)", amount: amount, db)
        if reverses != nil { try addTotal(session, "cash_reversals", amount: amount, db) }
        var body: [String: Canonical] = [
            "id": .string(id), "session": .string(session), "type": .string(type), "amount": .int(amount),
            "reason": reason.canonical, "user": .string(user), "created_at": .string(Self.timestamp(now)),
        ]
        if let reverses { body["reverses"] = .string(reverses) }
        try journal(type == "no_sale" ? "no_sale" : "cash_\(type)", ref: id, body: .object(body), shift: session, now: now, db)
        let expected = try expectedCash(session, db)
        let exceeds = type == "out" && expected < 0
        if exceeds {
            logger.warning("cash out beyond the expected drawer", metadata: [
                "session.id": "\(session)", "amount": "\(amount)", "expected.after": "\(expected)", "user": "\(user)",
            ])
        }
        return CashMovementResult(id: id, session: session, type: type, amount: amount, reason: reason, user: user, reverses: reverses,
                                  expectedCashAfter: expected, exceedsExpected: exceeds)
    }

    func ensureParticipant(_ session: String, _ user: String, _ now: Date, _ db: Database) throws {
        let key = session + " " + user
        if knownParticipants.withLock({ $0.contains(key) }) { return }
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO session_participant (session_id, user_id, joined_at) VALUES (?, ?, ?)").execute(arguments: [session, user, Self.timestamp(now)])
        // Only a row that was already there is certainly committed; a new one could still be rolled back with this transaction.
        if db.changesCount == 0 { knownParticipants.withLock { _ = $0.insert(key) } }
    }

    /// Expected cash = counted opening + cash sales − cash refunds − change + cash in − cash out.
    func expectedCash(_ session: String, _ db: Database) throws -> Int64 {
        let record = try shift(session, db)
        func total(_ key: String) throws -> Int64 {
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT amount FROM session_total WHERE session_id = ? AND key = ?"), arguments: [session, key]) ?? 0
        }
        let field = "The expected cash of shift \(session)"
        var expected = record.openingCounted ?? record.openingExpected
        expected = try Checked.add(expected, total("method:cash"), field)
        expected = try Checked.subtract(expected, total("change"), field)
        expected = try Checked.add(expected, total("cash_in"), field)
        return try Checked.subtract(expected, total("cash_out"), field)
    }

    /// Closes the open shift with the counted drawer and writes its Z report (a new Z number). A difference beyond the
    /// limit needs `approvedBy` with `cash.approve_difference`. Closing someone else's shift needs
    /// `session.close_others`; `force` (someone else's shift, e.g. a cashier who went home) needs
    /// `session.force_close_others` and is recorded as such.
    public func closeShift(
        commandID: String, user: String, countedCash: Int64?, cashLeft: Int64?, approvedBy: String? = nil, force: Bool = false,
        rescue: Bool = false, count: [DenominationCount]? = nil
    ) throws(SessionError) -> ShiftReport {
        let now = clock.now()
        if let approvedBy { try InputLimits.id(approvedBy, field: "The approver (--approved-by)") }
        let kind = rescue ? "session.close_rescue" : force ? "session.force_close" : "session.close"
        return try journaled { db in
            try self.once(commandID, kind: kind, request: RequestDigest([
                "user": user, "counted": countedCash, "left": cashLeft, "approvedBy": approvedBy, "count": count,
            ]), db) {
                let session: String
                if rescue {
                    guard let open = try self.openRescueID(db) else { throw SessionError.notFound("An open rescue shift") }
                    session = open
                } else {
                    guard let active = try self.activeShiftID(db) else { throw SessionError.noOpenSession }
                    let state = try self.shift(active, db).state
                    guard state == "open" || state == "closing" else {
                        throw SessionError.shiftState(id: active, state: state, wanted: "open or closing")
                    }
                    session = active
                }
                let record = try self.shift(session, db)
                let settings = try Settings.load(db)
                try self.require(.sessionClose, user: user, db)
                if rescue {
                    // A rescue shift is closed by a manager; it is outside drawer reconciliation (no count, no float).
                    try self.require(.sessionForceClose, user: user, db)
                } else if force {
                    try self.require(.sessionForceClose, user: user, db)
                } else if record.openedBy != user && !record.participants.contains(user) {
                    try self.require(.sessionCloseOthers, user: user, db)
                }
                let expected = try self.expectedCash(session, db)
                let countedCash = try self.countedTotal(countedCash, rescue ? nil : count, settings: settings)
                if settings.cashControl, countedCash == nil, !force, !rescue {
                    throw SessionError.invalid("Cash control is on: count the drawer and give the total (--counted).")
                }
                let counted = rescue ? nil : countedCash
                if let cashLeft { try InputLimits.amount(cashLeft, field: "The float left (--left)") }
                let difference = try counted.map { (value: Int64) throws(SessionError) in try Checked.subtract(value, expected, "The cash difference") }
                if let difference, let limit = settings.maxDifference, difference.magnitude > limit.magnitude {
                    guard let approver = approvedBy else { throw SessionError.differenceNeedsApproval(difference: difference, limit: limit) }
                    try self.require(.cashApproveDifference, user: approver, db)
                }
                if !rescue { try self.handleParkedAtClose(session, now: now, db) }
                let left = rescue ? 0 : cashLeft ?? 0
                if let counted, left > counted { throw SessionError.invalid("The float left (\(left)) exceeds the counted cash (\(counted)).") }
                if !rescue { try self.storeCount(count, session: session, phase: "close", db) }
                let zNumber = try self.next("z_no", db)
                try db.cachedStatement(sql: """
                    UPDATE pos_session SET state = 'closed', closed_by = ?, closed_at = ?, expected_cash = ?, counted_cash = ?,
                      difference = ?, cash_left = ?, difference_approved_by = ?, force_closed = ?, z_no = ?
                    WHERE id = ?
                    """).execute(arguments: [user, Self.timestamp(now), expected, counted, difference, left,
                                     difference.map { $0.magnitude > (settings.maxDifference ?? Int64.max).magnitude } == true ? approvedBy : nil,
                                     force, zNumber, session])
                let report = try self.report(session: session, kind: "Z", now: now, db)
                let range = try Row.fetchOne(db.cachedStatement(sql: """
                    SELECT MIN(receipt_no) AS first, MAX(receipt_no) AS last FROM receipt WHERE session_id = ? AND kind != 'training'
                    """), arguments: [session])
                let previous = try Row.fetchOne(db.cachedStatement(sql: """
                    SELECT grand_total_sales_after, grand_total_returns_after FROM z_report WHERE terminal_id = ? ORDER BY z_no DESC LIMIT 1
                    """), arguments: [self.terminalID])
                try db.cachedStatement(sql: """
                    INSERT INTO z_report (terminal_id, z_no, session_id, first_receipt_no, last_receipt_no,
                      grand_total_sales_before, grand_total_sales_after, grand_total_returns_before, grand_total_returns_after,
                      report_json, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [self.terminalID, zNumber, session, range?["first"] as Int64?, range?["last"] as Int64?,
                                     (previous?["grand_total_sales_after"] as Int64?) ?? 0, report.grandTotalSales,
                                     (previous?["grand_total_returns_after"] as Int64?) ?? 0, report.grandTotalReturns,
                                     String(decoding: try JSONEncoder().encode(report), as: UTF8.self), Self.timestamp(now)])
                var signedReport = report
                if let z = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM z_report WHERE terminal_id = ? AND z_no = ?"),
                                            arguments: [self.terminalID, zNumber]) {
                    try self.journal("z_report", ref: "Z\(zNumber)", body: .object(Self.canonicalColumns(z)), shift: session, now: now, db)
                    signedReport.signatureCounter = self.lastSignedCounter.withLock { $0 }
                    signedReport.signedBy = self.fiscalModule?.serial
                }
                try self.journalShift(rescue ? "rescue_shift_close" : force ? "shift_force_close" : "shift_close", session, user: user, now: now, db)
                self.logger.notice("shift closed", metadata: ["session.id": "\(session)", "z": "\(zNumber)"])
                return signedReport
            }
        }
    }

    /// Shifts of this terminal, newest first, optionally for one user and a date range. Users without
    /// `session.view_others` see only shifts they took part in.
    public func shifts(user: String, onlyUser: String? = nil, from: String? = nil, to: String? = nil) throws(SessionError) -> [ShiftRecord] {
        try store.read { db in
            let mayViewOthers = try self.permissions(user, db).contains(.sessionViewOthers)
            let settings = try Settings.load(db)
            var ids = try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM pos_session WHERE terminal_id = ? ORDER BY session_seq DESC"), arguments: [self.terminalID])
            var result: [ShiftRecord] = []
            for id in ids {
                let record = try self.shift(id, db)
                if !mayViewOthers {
                    guard record.participants.contains(user) || record.openedBy == user else { continue }
                    if let since = settings.historySince, record.businessDate < since { continue }
                }
                if let onlyUser, !(record.participants.contains(onlyUser) || record.openedBy == onlyUser) { continue }
                if let from, record.businessDate < from { continue }
                if let to, record.businessDate > to { continue }
                result.append(record)
            }
            ids.removeAll()
            return result
        }
    }
}
