import Foundation
import GRDB

/// A receipt kept open while the customer waits, a table eats, or another sale goes first.
public struct ParkedReceipt: Sendable, Equatable, Codable {
    public var id: String
    public var label: String?
    public var state: String
    public var visibility: String
    public var owner: String
    public var ownerRole: String
    public var session: String?
    public var originSession: String?
    public var version: Int
    public var lines: [SaleLineRequest]
    public var discount: DiscountRequest?
    public var receiptNumber: Int64?
    /// Who has it open for editing (`park open`), and until when; nil when nobody does or the lease ran out.
    public var leaseHolder: String?
    public var leaseUntil: Date?
}

extension SessionEngine {
    struct ParkedContent: Codable {
        var lines: [SaleLineRequest]
        var discount: DiscountRequest?
    }

    func parked(_ id: String, _ db: Database) throws -> ParkedReceipt {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM parked_receipt WHERE id = ? AND terminal_id = ?"), arguments: [id, terminalID]) else {
            throw SessionError.notFound("Parked receipt \(id)")
        }
        let content = try JSONDecoder().decode(ParkedContent.self, from: Data((row["content_json"] as String).utf8))
        let number: Int64? = try (row["receipt_id"] as String?).flatMap {
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT receipt_no FROM receipt WHERE id = ?"), arguments: [$0])
        }
        return ParkedReceipt(
            id: id, label: row["label"], state: row["state"], visibility: row["visibility"], owner: row["owner"],
            ownerRole: row["owner_role"], session: row["session_id"], originSession: row["origin_session_id"],
            version: row["version"], lines: content.lines, discount: content.discount, receiptNumber: number,
            leaseHolder: row["lease_holder"], leaseUntil: Self.date(row["lease_until"]))
    }

    /// Refuses a change by anyone but the holder of an unexpired lease. An expired lease is no lease: anyone with the
    /// rights may go on (and take the receipt over).
    func checkLease(_ parked: ParkedReceipt, user: String, now: Date) throws {
        if let holder = parked.leaseHolder, holder != user, let until = parked.leaseUntil, until > now {
            throw SessionError.parkedLeased(id: parked.id, holder: holder, until: until)
        }
    }

    /// Leases the parked receipt to `holder` for `parked-lease-seconds` from `now`, or ends the lease (nil).
    func setLease(_ id: String, to holder: String?, now: Date, _ db: Database) throws {
        let until = try holder.map { _ in Self.timestamp(now.addingTimeInterval(TimeInterval(try Settings.load(db).parkedLeaseSeconds))) }
        try db.cachedStatement(sql: "UPDATE parked_receipt SET lease_holder = ?, lease_until = ? WHERE id = ?").execute(arguments: [holder, until, id])
    }

    /// The holder's edit keeps the lease alive; anyone else's (after it ran out) leaves none.
    func renewLease(_ parked: ParkedReceipt, user: String, now: Date, _ db: Database) throws {
        guard let holder = parked.leaseHolder else { return }
        let valid = holder == user && (parked.leaseUntil.map { $0 > now } ?? false)
        try setLease(parked.id, to: valid ? user : nil, now: now, db)
    }

    /// Opens a parked receipt for editing: `user` holds it for `parked-lease-seconds` (renewed by each of their edits),
    /// during which another user's edit, payment, finalization or void is refused. The same user opening it again renews
    /// the lease; after it runs out anyone with the rights may open it.
    public func openParked(id: String, user: String) throws(SessionError) -> ParkedReceipt {
        let now = clock.now()
        return try store.write { db in
            let parked = try self.parked(id, db)
            try self.checkAccess(parked, user: user, edit: true, db)
            guard parked.state == "parked" || parked.state == "paying" else { throw SessionError.invalid("Parked receipt \(id) is \(parked.state).") }
            try self.checkLease(parked, user: user, now: now)
            try self.setLease(id, to: user, now: now, db)
            return try self.parked(id, db)
        }
    }

    /// Gives up the lease (`park release`): only its holder can, and a lease that ran out needs no release.
    public func releaseParked(id: String, user: String) throws(SessionError) -> ParkedReceipt {
        let now = clock.now()
        return try store.write { db in
            let parked = try self.parked(id, db)
            try self.checkAccess(parked, user: user, edit: false, db)
            try self.checkLease(parked, user: user, now: now)
            try self.setLease(id, to: nil, now: now, db)
            return try self.parked(id, db)
        }
    }

    func role(of user: String, _ db: Database) throws -> String {
        guard let role = try String.fetchOne(db.cachedStatement(sql: "SELECT role FROM user WHERE id = ?"), arguments: [user]) else {
            throw SessionError.unknownUser(user)
        }
        return role
    }

    /// Whether `user` may see the parked receipt; `edit` also needs `receipt.take_over` for someone else's.
    func checkAccess(_ parked: ParkedReceipt, user: String, edit: Bool, _ db: Database) throws {
        let permissions = try self.permissions(user, db)
        if parked.owner == user { return }
        let visible: Bool
        switch parked.visibility {
        case "all": visible = true
        case "role": visible = try role(of: user, db) == parked.ownerRole
        default: visible = false
        }
        guard visible || permissions.contains(.parkedViewAll) else { throw SessionError.notFound("Parked receipt \(parked.id)") }
        if edit, !permissions.contains(.parkedTakeOver) { throw SessionError.permissionDenied(user: user, permission: .parkedTakeOver) }
    }

    /// The preset names for this store: the store's own list replaces the default list.
    public func parkedNamePresets() throws(SessionError) -> [String] {
        try store.read { db in try self.presets(db) }
    }

    func presets(_ db: Database) throws -> [String] {
        let store = try Settings.load(db).store
        let own = try String.fetchAll(db.cachedStatement(sql: "SELECT name FROM parked_name_preset WHERE scope = ? ORDER BY sort"), arguments: [store])
        return own.isEmpty ? try String.fetchAll(db.cachedStatement(sql: "SELECT name FROM parked_name_preset WHERE scope = 'default' ORDER BY sort")) : own
    }

    /// Replaces the preset names of `scope` (`default`, or a store id whose list then overrides the default).
    public func setParkedNamePresets(_ names: [String], scope: String, by user: String) throws(SessionError) {
        try InputLimits.id(scope, field: "The scope")
        for (index, name) in names.enumerated() { try InputLimits.text(name, field: "Preset \(index + 1)", limit: InputLimits.maxNameLength) }
        try journaled { db in
            try self.require(.manageSettings, user: user, db)
            try db.cachedStatement(sql: "DELETE FROM parked_name_preset WHERE scope = ?").execute(arguments: [scope])
            for (index, name) in names.enumerated() where !name.isEmpty {
                try db.cachedStatement(sql: "INSERT INTO parked_name_preset (scope, name, sort) VALUES (?, ?, ?)").execute(arguments: [scope, name, index + 1])
            }
        }
    }

    /// Parks a new receipt. Without a label it takes the first free preset name; a label is unique among open parked receipts.
    public func park(id: String, user: String, lines: [SaleLineRequest], discount: DiscountRequest? = nil, label: String? = nil,
                     visibility: String? = nil) throws(SessionError) -> ParkedReceipt {
        try InputLimits.id(id, field: "The parked receipt's id")
        if let label { try InputLimits.text(label, field: "The name (--name)", limit: InputLimits.maxNameLength) }
        try InputLimits.lines(lines)
        if let discount { try InputLimits.discount(discount, field: "discount") }
        let digest = RequestDigest(["lines": lines, "discount": discount, "label": label, "visibility": visibility, "user": user])
        let now = clock.now()
        return try journaled { db in
            if let existing = try Row.fetchOne(db.cachedStatement(sql: "SELECT request_digest FROM parked_receipt WHERE id = ?"), arguments: [id]) {
                // A replay returns the parked receipt as it is now; other content reusing the id is refused.
                try RequestDigest.check(id, stored: (existing[0] as Data?).map(Array.init), replay: digest)
                return try self.parked(id, db)
            }
            let settings = try Settings.load(db)
            guard settings.parking else { throw SessionError.invalid("Parking is off in the settings.") }
            guard let session = try self.openShiftID(db) else { throw SessionError.noOpenSession }
            let chosenVisibility = visibility ?? settings.parkedVisibility
            guard ["own", "all", "role"].contains(chosenVisibility) else { throw SessionError.invalid("Visibility is own, all or role.") }
            var name = label
            if name == nil {
                let taken = Set(try String.fetchAll(db.cachedStatement(sql: """
                    SELECT label FROM parked_receipt WHERE terminal_id = ? AND state IN ('parked', 'paying') AND label IS NOT NULL
                    """), arguments: [self.terminalID]))
                name = try self.presets(db).first { !taken.contains($0) }
            }
            let content = String(decoding: try JSONEncoder().encode(ParkedContent(lines: lines, discount: discount)), as: UTF8.self)
            do {
                try db.cachedStatement(sql: """
                    INSERT INTO parked_receipt (id, terminal_id, label, state, visibility, owner, owner_role, session_id,
                      origin_session_id, version, content_json, created_at, updated_at, request_digest)
                    VALUES (?, ?, ?, 'parked', ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
                    """).execute(arguments: [id, self.terminalID, name, chosenVisibility, user, try self.role(of: user, db), session, session,
                                     content, Self.timestamp(now), Self.timestamp(now), Data(digest.bytes)])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw SessionError.invalid("The name '\(name ?? "")' is already used by an open parked receipt.")
            }
            return try self.parked(id, db)
        }
    }

    /// Parked receipts this user may see (own, same role, all, or everything with `receipt.view_all_parked`).
    public func parkedReceipts(user: String) throws(SessionError) -> [ParkedReceipt] {
        try store.read { db in
            let ids = try String.fetchAll(db.cachedStatement(sql: """
                SELECT id FROM parked_receipt WHERE terminal_id = ? AND state IN ('parked', 'paying') ORDER BY created_at, rowid
                """), arguments: [self.terminalID])
            return try ids.compactMap { id in
                let parked = try self.parked(id, db)
                do {
                    try self.checkAccess(parked, user: user, edit: false, db)
                    return parked
                } catch SessionError.notFound {
                    return nil
                }
            }
        }
    }

    /// Opens a parked receipt for reading or editing; opening never removes it.
    public func parkedReceipt(id: String, user: String) throws(SessionError) -> ParkedReceipt {
        try store.read { db in
            let parked = try self.parked(id, db)
            try self.checkAccess(parked, user: user, edit: false, db)
            return parked
        }
    }

    /// Replaces the lines of a parked receipt; `expectedVersion` must match, so a stale edit is refused with the current state.
    public func updateParked(id: String, user: String, expectedVersion: Int, lines: [SaleLineRequest], discount: DiscountRequest? = nil)
        throws(SessionError) -> ParkedReceipt
    {
        try InputLimits.lines(lines)
        if let discount { try InputLimits.discount(discount, field: "discount") }
        let now = clock.now()
        return try journaled { db in
            let parked = try self.parked(id, db)
            try self.checkAccess(parked, user: user, edit: true, db)
            guard parked.state == "parked" else { throw SessionError.invalid("Parked receipt \(id) is \(parked.state).") }
            try self.checkLease(parked, user: user, now: now)
            guard parked.version == expectedVersion else { throw SessionError.staleVersion(current: parked.version) }
            try self.renewLease(parked, user: user, now: now, db)
            let content = String(decoding: try JSONEncoder().encode(ParkedContent(lines: lines, discount: discount)), as: UTF8.self)
            try db.cachedStatement(sql: "UPDATE parked_receipt SET content_json = ?, version = version + 1, updated_at = ? WHERE id = ?").execute(arguments: [content, Self.timestamp(now), id])
            // Lines removed or reduced before the sale is finished are "other reductions" of the X and Z reports: counted
            // in the active shift and journaled with what was taken away.
            let reduced = try Self.reductions(from: parked.lines, to: lines)
            if !reduced.isEmpty {
                let session = try self.activeShiftID(db)
                let amount = try Checked.sum(reduced.map(\.amount), "the reductions")
                if let session { try self.addTotals(session, [("reductions", Int64(reduced.count), amount)], db) }
                try self.journal("parked_reduction", ref: id, body: .object([
                    "parked": .string(id), "version": .int(Int64(parked.version + 1)), "by": .string(user),
                    "session": session.map(Canonical.string) ?? .null, "count": .int(Int64(reduced.count)), "amount": .int(amount),
                    "lines": .array(reduced.map { .object(["name": .string($0.name), "quantity_milli": .int($0.quantityMilli), "amount": .int($0.amount)]) }),
                ]), shift: session, now: now, db)
            }
            return try self.parked(id, db)
        }
    }

    /// The gross of parked lines (quantity × price, before discounts), checked.
    static func grossOf(_ lines: [SaleLineRequest]) throws -> Int64 {
        var amount: Int64 = 0
        for line in lines {
            let gross = try Checked.mulDiv(line.quantity.milli, line.priceOverride?.price ?? line.unitPrice, 1000, "a parked line")
            amount = try Checked.add(amount, gross, "the parked receipt's amount")
        }
        return amount
    }

    /// What an edit took away: per article (name, price, VAT rate), the quantity the new lines have less than the old.
    static func reductions(from old: [SaleLineRequest], to new: [SaleLineRequest]) throws -> [(name: String, quantityMilli: Int64, amount: Int64)] {
        struct Article: Hashable { var name: String; var price: Int64; var rate: Int64 }
        func quantities(_ lines: [SaleLineRequest]) throws -> [Article: Int64] {
            var result: [Article: Int64] = [:]
            for line in lines where line.quantity.milli > 0 {
                let article = Article(name: line.name, price: line.priceOverride?.price ?? line.unitPrice, rate: line.vatRate.basisPoints)
                result[article] = try Checked.add(result[article] ?? 0, line.quantity.milli, "a parked quantity")
            }
            return result
        }
        let before = try quantities(old)
        let after = try quantities(new)
        var reduced: [(name: String, quantityMilli: Int64, amount: Int64)] = []
        for (article, quantity) in before.sorted(by: { ($0.key.name, $0.key.price) < ($1.key.name, $1.key.price) }) {
            let less = quantity - (after[article] ?? 0)
            guard less > 0 else { continue }
            reduced.append((article.name, less, try Checked.mulDiv(less, article.price, 1000, "a reduction")))
        }
        return reduced
    }

    /// Marks a payment as running (a card terminal is busy): the shift cannot close until it ends.
    public func startPayment(id: String, user: String) throws(SessionError) -> ParkedReceipt {
        let now = clock.now()
        return try journaled { db in
            let parked = try self.parked(id, db)
            try self.checkAccess(parked, user: user, edit: true, db)
            try self.checkLease(parked, user: user, now: now)
            try self.renewLease(parked, user: user, now: now, db)
            try db.cachedStatement(sql: "UPDATE parked_receipt SET state = 'paying', version = version + 1 WHERE id = ? AND state = 'parked'").execute(arguments: [id])
            return try self.parked(id, db)
        }
    }

    /// Finalizes a parked receipt with its payments; the parked id is the command id, so a replay gives the same receipt.
    public func finalizeParked(id: String, user: String, payments: [PaymentRequest]?, training: Bool = false) throws(SessionError) -> ReceiptRecord {
        try asCommand(PendingCommand(kind: "park", user: user, parked: id, payments: payments, training: training)) { () throws(SessionError) in
            try finalizeParkedOnce(id: id, user: user, payments: payments, training: training)
        }
    }

    func finalizeParkedOnce(id: String, user: String, payments: [PaymentRequest]?, training: Bool) throws(SessionError) -> ReceiptRecord {
        let parked = try parkedReceipt(id: id, user: user)
        let request = SaleRequest(id: id, lines: parked.lines, payments: payments, discount: parked.discount, training: training)
        // A finalized one is a replay: `finalizeSale` answers it from the receipt (the parked id is its command id), and
        // refuses other payments or another user reusing the id.
        guard ["parked", "paying", "finalized"].contains(parked.state) else { throw .invalid("Parked receipt \(id) is \(parked.state).") }
        if parked.owner != user {
            try store.read { db in try self.checkAccess(parked, user: user, edit: true, db) }
        }
        // The receipt and the parked receipt's end commit together: no window in which the sale exists while the parked
        // receipt could still be edited or voided, and a parked receipt that changed meanwhile makes no receipt.
        // The parked receipt is checked again under the write lock: its state, another user's lease, and the version
        // that was priced.
        return try finalizeSale(request, user: user) { db, receipt in
            let current = try self.parked(id, db)
            if current.state == "finalized", current.receiptNumber == receipt.number { return }  // a replay
            guard current.state == "parked" || current.state == "paying" else {
                throw SessionError.invalid("Parked receipt \(id) was \(current.state) meanwhile; nothing was recorded.")
            }
            try self.checkLease(current, user: user, now: self.clock.now())
            guard current.version == parked.version else { throw SessionError.staleVersion(current: current.version) }
            try db.cachedStatement(sql: """
                UPDATE parked_receipt SET state = 'finalized', receipt_id = ?, version = version + 1, lease_holder = NULL, lease_until = NULL
                WHERE id = ?
                """).execute(arguments: [receipt.id, id])
        }
    }

    /// Voids a parked receipt: it was never numbered; the record stays for the audit.
    public func voidParked(id: String, user: String) throws(SessionError) -> ParkedReceipt {
        let now = clock.now()
        return try journaled { db in
            let parked = try self.parked(id, db)
            try self.checkAccess(parked, user: user, edit: true, db)
            guard parked.state == "parked" else { throw SessionError.invalid("Only a parked receipt (not \(parked.state)) can be voided.") }
            try self.checkLease(parked, user: user, now: now)
            try db.cachedStatement(sql: "UPDATE parked_receipt SET state = 'voided', version = version + 1, lease_holder = NULL, lease_until = NULL WHERE id = ?").execute(arguments: [id])
            // An unfinished sale for the X and Z reports (Swedish item 19), in the shift it was voided in.
            // Counted already at a Z while it stayed open (`unfinished_in`): not a second time.
            let counted = try String.fetchOne(db.cachedStatement(sql: "SELECT unfinished_in FROM parked_receipt WHERE id = ?"), arguments: [id]) != nil
            let session = counted ? nil : try self.activeShiftID(db)
            var amount: Int64 = 0
            if let session {
                for line in parked.lines {
                    let gross = try Checked.mulDiv(line.quantity.milli, line.priceOverride?.price ?? line.unitPrice, 1000, "a voided line")
                    amount = try Checked.add(amount, gross, "the voided receipt's amount")
                }
                try self.addTotal(session, "unfinished", amount: amount, db)
            }
            if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM parked_receipt WHERE id = ?"), arguments: [id]) {
                var body = Self.canonicalColumns(row)
                body["by"] = .string(user)
                // What the void added to a shift's running totals ('unfinished'), so that verifiers can recompute them.
                body["unfinished"] = session.map { .object(["session": .string($0), "amount": .int(amount)]) } ?? .null
                try self.journal("void", ref: id, body: .object(body), shift: session, now: now, db)
            }
            return try self.parked(id, db)
        }
    }

    /// At close: a running payment always blocks; parked receipts block (`block`) or move on to the next shift (`defer`).
    func refuseRunningPayments(_ session: String, _ db: Database) throws {
        let paying = try Row.fetchAll(db.cachedStatement(sql: "SELECT label, id FROM parked_receipt WHERE session_id = ? AND state = 'paying'"),
                                      arguments: [session])
        if !paying.isEmpty {
            throw SessionError.paymentInProgress(paying.map { ($0["label"] as String?) ?? $0["id"] })
        }
    }

    func handleParkedAtClose(_ session: String, now: Date, _ db: Database) throws {
        try refuseRunningPayments(session, db)
        let open = try Row.fetchAll(db.cachedStatement(sql: "SELECT label, state, id FROM parked_receipt WHERE session_id = ? AND state = 'parked'"), arguments: [session])
        guard !open.isEmpty else { return }
        if try Settings.load(db).parkedAtClose == "block" {
            throw SessionError.parkedReceiptsBlockClose(open.map { ($0["label"] as String?) ?? $0["id"] })
        }
        // A sale still open at the Z is an unfinished sale of this period (SKVFS 2014:9, X/Z item "ej slutförda köp"):
        // counted here, once (a later void does not count it again), and journaled so verifiers can recompute it.
        for row in open {
            let id: String = row["id"]
            guard try String.fetchOne(db.cachedStatement(sql: "SELECT unfinished_in FROM parked_receipt WHERE id = ?"), arguments: [id]) == nil else {
                continue
            }
            let parked = try self.parked(id, db)
            let amount = try Self.grossOf(parked.lines)
            try addTotal(session, "unfinished", amount: amount, db)
            try db.cachedStatement(sql: "UPDATE parked_receipt SET unfinished_in = ? WHERE id = ?").execute(arguments: [session, id])
            try journal("parked_unfinished", ref: id, body: .object([
                "parked": .string(id), "label": parked.label.map(Canonical.string) ?? .null, "session": .string(session), "amount": .int(amount),
            ]), shift: session, now: now, db)
        }
        try db.cachedStatement(sql: "UPDATE parked_receipt SET session_id = NULL WHERE session_id = ? AND state = 'parked'").execute(arguments: [session])
    }

    /// Parked receipts deferred from a closed shift join the new one.
    func attachDeferredParked(to session: String, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE parked_receipt SET session_id = ? WHERE terminal_id = ? AND session_id IS NULL AND state = 'parked'").execute(arguments: [session, terminalID])
    }
}

/// A pro-forma bill of a parked receipt (a bill shown before paying, marked EJ KVITTO): priced exactly as the sale will be
/// (discounts, price overrides, VAT rounding), numbered in its own series, counted in the shift's reports, journaled, and
/// registered in the control unit where the regime wants that (Sweden: `RECEIPT_PRO_FORMA`). Not a receipt: it moves
/// no counter of receipts or grand totals.
public struct ProFormaRecord: Sendable, Equatable, Codable {
    /// The client's command id.
    public var id: String
    public var terminal: String
    /// The terminal's pro-forma series: 1, 2, 3 …, never reused.
    public var number: Int64
    public var parked: String
    public var label: String?
    /// The parked receipt's version the bill shows.
    public var version: Int
    public var session: String
    public var user: String
    public var createdAt: Date
    public var currency: String
    public var lines: [ReceiptRecord.Line]
    public var vatLines: [ReceiptRecord.VATLine]
    public var total: Int64
    public var vatTotal: Int64
    public var discountTotal: Int64
    public var fiscalCode: FiscalCode?
}

extension SessionEngine {
    /// Makes the pro-forma bill of a parked receipt the user may see. Replaying `commandID` returns the stored bill.
    public func proForma(commandID: String, parkedID: String, user: String) throws(SessionError) -> ProFormaRecord {
        try asCommand(PendingCommand(kind: "proforma", user: user, parked: parkedID, commandID: commandID)) { () throws(SessionError) in
            try proFormaOnce(commandID: commandID, parkedID: parkedID, user: user)
        }
    }

    func proFormaOnce(commandID: String, parkedID: String, user: String) throws(SessionError) -> ProFormaRecord {
        let now = clock.now()
        return try journaled { db in
            try self.once(commandID, kind: "proforma", request: RequestDigest(["user": user, "parked": parkedID]), db) {
                let parked = try self.parked(parkedID, db)
                try self.checkAccess(parked, user: user, edit: false, db)
                guard parked.state == "parked" || parked.state == "paying" else {
                    throw SessionError.invalid("Parked receipt \(parkedID) is \(parked.state): only an open parked receipt gets a pro-forma bill.")
                }
                let session = try self.sessionForSale(nil, late: false, user: user, now: now, db)
                let settings = try Settings.load(db)
                // Priced by the same code as the sale, so the bill shows what the receipt will charge.
                let (lines, total, vatLines) = try self.price(SaleRequest(id: commandID, lines: parked.lines, discount: parked.discount), settings: settings)
                // The terminal's own pro-forma counter, moved in this transaction (never reused, never shared).
                guard let number = try Int64.fetchOne(db.cachedStatement(sql: """
                    UPDATE terminal_counters SET proforma_no = proforma_no + 1 WHERE terminal_id = ? RETURNING proforma_no
                    """), arguments: [self.terminalID]) else {
                    throw SessionError.invalid("This terminal has no counters row; open the database with `kassa terminal show` first.")
                }
                var record = ProFormaRecord(
                    id: commandID, terminal: self.terminalID, number: number, parked: parked.id, label: parked.label, version: parked.version, session: session, user: user,
                    createdAt: now, currency: settings.currency(terminal: self.currency), lines: lines, vatLines: vatLines, total: total,
                    vatTotal: vatLines.reduce(0) { $0 + $1.vat }, discountTotal: lines.reduce(0) { $0 + $1.discount }, fiscalCode: nil)
                if let profile = self.profiles[settings.fiscalProfile], profile.registersProForma {
                    record.fiscalCode = try self.profileCode(profile, ProfileReceipt(
                        id: commandID, kind: "proforma", fiscalType: nil, number: number, terminal: self.terminalID, cashier: user,
                        localTime: Self.localTime(now, timeZone: settings.timeZone),
                        grossByRate: Dictionary(vatLines.map { ($0.rate.basisPoints, $0.gross) }, uniquingKeysWith: +),
                        vatByRate: Dictionary(vatLines.map { ($0.rate.basisPoints, $0.vat) }, uniquingKeysWith: +), total: total,
                        negativeTotal: -lines.filter { $0.amount < 0 }.reduce(0) { $0 + $1.amount }, turnoverAfter: 0, isCopy: false),
                        previous: nil, settings: settings, db)
                }
                try self.addTotal(session, "proforma", amount: total, db)
                try self.journal("proforma", ref: commandID, body: .object([
                    "id": .string(commandID), "number": .int(number), "parked": .string(parked.id), "label": parked.label.canonical,
                    "version": .int(Int64(parked.version)), "session": .string(session), "user": .string(user), "total": .int(total),
                    "vat_total": .int(record.vatTotal), "discount_total": .int(record.discountTotal),
                    "created_at": .string(Self.timestamp(now)), "fiscal_code": (record.fiscalCode?.code).canonical,
                ]), shift: session, now: now, db)
                return record
            }
        }
    }
}
