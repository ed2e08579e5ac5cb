import Foundation
import GRDB

/// Which printed form of a receipt.
public enum PrintedForm: String, Sendable, Codable {
    case original, copy
}

/// What became of printing one form of a receipt (`print_state`, decision 0017).
public enum PrintState: String, Sendable, Codable {
    /// Claimed for `kassa serve`'s spool in the transaction that made the receipt (or the copy): the spool's one job for
    /// it prints it; the service repairs a missing job at start (decision 0020). The right is used.
    case queued
    /// Claimed: bytes may be on their way. A process that stopped here leaves the outcome unknown, so the right stays used.
    case printing
    /// The printer confirmed it (Docs/CLI.md, "Printed means printed").
    case confirmed
    /// Sent where nothing can confirm it (a file, a printer that never answers status).
    case sent
    /// It did not reach the paper (refused before a byte was sent, or unconfirmed): it may be printed again.
    case failed
}

extension SessionEngine {
    /// Claims the right to print `form` inside the caller's transaction: a form never printed, or whose print failed, is
    /// now `printing`; any other state refuses (the copy: `COPY_ALREADY_PRINTED`; the original: `ORIGINAL_ALREADY_PRINTED`).
    func claimPrint(_ form: PrintedForm, receipt id: String, number: Int64, now: Date, _ db: Database) throws {
        let current = try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM print_state WHERE receipt_id = ? AND form = ?"),
                                          arguments: [id, form.rawValue]).flatMap(PrintState.init(rawValue:))
        switch (form, current) {
        case (_, nil), (_, .failed): break
        case (.copy, _): throw SessionError.copyAlreadyPrinted(receiptNumber: number)
        case (.original, .queued):
            throw SessionError.originalAlreadyPrinted(receiptNumber: number, reason: "it is queued for printing by kassa serve "
                + "(GET /v1/jobs); print its copy if it does not come out")
        case (.original, .printing):
            throw SessionError.originalAlreadyPrinted(receiptNumber: number, reason: "its print was interrupted, so it may be on paper; "
                + "print its copy instead (kassa receipt copy \(number))")
        case (.original, _):
            throw SessionError.originalAlreadyPrinted(receiptNumber: number, reason: "it was printed; print its copy instead (kassa receipt copy \(number))")
        }
        try db.cachedStatement(sql: """
            INSERT INTO print_state (receipt_id, form, state, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (receipt_id, form) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
            """).execute(arguments: [id, form.rawValue, claimState.rawValue, Self.timestamp(now)])
    }

    /// The state a claim starts in: `queued` under `kassa serve`, else `printing`.
    var claimState: PrintState { printsThroughSpool.withLock { $0 } ? .queued : .printing }

    /// Under `kassa serve`: every print this engine claims, the original of each receipt it makes included (in the
    /// receipt's own transaction), is `queued` for the service's spool (decision 0020).
    public func queuePrintsForSpool() { printsThroughSpool.withLock { $0 = true } }

    /// A new receipt's original, claimed in its own transaction when the engine prints through the spool.
    func claimOriginalForSpool(receipt id: String, now: Date, _ db: Database) throws {
        guard printsThroughSpool.withLock({ $0 }) else { return }
        try db.cachedStatement(sql: "INSERT INTO print_state (receipt_id, form, state, updated_at) VALUES (?, 'original', 'queued', ?)")
            .execute(arguments: [id, Self.timestamp(now)])
    }

    /// The prints claimed for the spool whose outcome is not recorded yet, oldest first: at its start `kassa serve`
    /// spools each that has no job, and records the outcome of each whose job ended.
    public func queuedPrints() throws(SessionError) -> [(receiptID: String, form: PrintedForm)] {
        try store.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT receipt_id, form FROM print_state WHERE state = 'queued' ORDER BY updated_at, receipt_id"))
                .compactMap { row in PrintedForm(rawValue: row["form"]).map { (receiptID: row["receipt_id"] as String, form: $0) } }
        }
    }

    /// A receipt as its `form` prints: the original with its signature, or its one copy with the copy's code and
    /// signature. For a print made again from the record (the spool's repair at start).
    public func printable(receiptID id: String, form: PrintedForm) throws(SessionError) -> ReceiptRecord {
        try store.read { db in
            var record = try self.receipt(id: id, db)
            switch form {
            case .original:
                let kind = record.kind == "sale" ? "receipt" : record.kind
                if let signed = try self.journalSignature(kind: "original_print", ref: id, db) ?? self.journalSignature(kind: kind, ref: id, db) {
                    (record.signatureCounter, record.signedBy) = (signed.counter, signed.module)
                }
            case .copy:
                if let json = try String.fetchOne(db.cachedStatement(sql: "SELECT fiscal_code_json FROM copy_print WHERE receipt_id = ?"), arguments: [id]),
                   let code = try? JSONDecoder().decode(FiscalCode.self, from: Data(json.utf8)) {
                    record.fiscalCode = code
                }
                record.isCopy = true
                if let signed = try self.journalSignature(kind: "copy", ref: id, db) { (record.signatureCounter, record.signedBy) = (signed.counter, signed.module) }
            }
            return record
        }
    }

    /// The id of this terminal's receipt `number` (sales and refunds; training receipts have their own series).
    func receiptID(number: Int64, _ db: Database) throws -> String {
        guard let id = try String.fetchOne(db.cachedStatement(sql: """
            SELECT id FROM receipt WHERE terminal_id = ? AND receipt_no = ? AND kind != 'training'
            """), arguments: [terminalID, number])
        else { throw SessionError.notFound("Receipt \(number) on this terminal") }
        return id
    }

    /// Before a new receipt's original is printed: claims it. False when it was claimed before (a replay, or another
    /// process): then nothing may print.
    public func beginOriginalPrint(receiptID: String) throws(SessionError) -> Bool {
        let now = clock.now()
        return try store.write { db in
            try db.cachedStatement(sql: """
                INSERT INTO print_state (receipt_id, form, state, updated_at) VALUES (?, 'original', 'printing', ?) ON CONFLICT DO NOTHING
                """).execute(arguments: [receiptID, Self.timestamp(now)])
            return db.changesCount == 1
        }
    }

    /// Records how a claimed (or queued) print ended (`confirmed`, `sent` or `failed`).
    public func endPrint(_ form: PrintedForm, receiptID: String, _ state: PrintState) throws(SessionError) {
        let now = clock.now()
        try store.write { db in
            try db.cachedStatement(sql: """
                UPDATE print_state SET state = ?, updated_at = ? WHERE receipt_id = ? AND form = ? AND state IN ('printing', 'queued')
                """).execute(arguments: [state.rawValue, Self.timestamp(now), receiptID, form.rawValue])
        }
    }

    /// The state of a form's print, nil when it was never tried.
    public func printState(_ form: PrintedForm, receiptID: String) throws(SessionError) -> PrintState? {
        try store.read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM print_state WHERE receipt_id = ? AND form = ?"),
                                arguments: [receiptID, form.rawValue]).flatMap(PrintState.init(rawValue:))
        }
    }

    /// The original of a receipt whose original never reached the paper (its print failed, or it was made without
    /// printing), printed late, once: journaled as `original_print`. Only while the receipt's shift is open (the customer
    /// is still there), and never under a profile whose receipts are printed as the original only when made (Sweden:
    /// decision 0017), where the one copy is the answer.
    public func printOriginal(number: Int64, user: String) throws(SessionError) -> ReceiptRecord {
        let now = clock.now()
        return try journaled { db in
            try self.require(.printCopy, user: user, db)
            let id = try self.receiptID(number: number, db)
            let settings = try Settings.load(db)
            if settings.fiscalProfile == "se" {
                throw SessionError.originalAlreadyPrinted(receiptNumber: number, reason: "under the Swedish profile a receipt prints as "
                    + "the original only when it is made; print its one copy (kassa receipt copy \(number))")
            }
            var record = try self.receipt(id: id, db)
            guard let open = try self.openShiftID(db), open == record.session else {
                throw SessionError.originalAlreadyPrinted(receiptNumber: number, reason: "its shift is closed; print its copy instead "
                    + "(kassa receipt copy \(number))")
            }
            try self.claimPrint(.original, receipt: id, number: number, now: now, db)
            try self.journal("original_print", ref: id, body: .object([
                "receipt": .string(id), "number": .int(number), "session": .string(open), "user": .string(user),
                "created_at": .string(Self.timestamp(now)),
            ]), shift: open, now: now, db)
            record.signatureCounter = self.lastSignedCounter.withLock { $0 }
            record.signedBy = self.fiscalModule?.serial
            return record
        }
    }
}
