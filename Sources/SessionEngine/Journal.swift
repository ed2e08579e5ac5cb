@preconcurrency import Crypto
import Foundation
import GRDB

/// The terminal's fiscal journal: every fiscal fact, appended in the transaction that records it, chained by SHA-256 and
/// signed by the fiscal module (Docs/journal-format.md).
///
/// An entry's *signed data* is
///
///     KASSA-JOURNAL-1 \n terminal \n time \n kind \n ref \n module serial \n previous hash (hex) \n body [\n state] \n counter
///
/// where `body` is the fact's canonical encoding, `state` the state the fact moves the terminal to (`JournalState`; entries
/// journaled since migration v16 carry it) and `counter` the module's signature counter. The entry's hash is
/// SHA-256 of the signed data; the next entry names it as its previous hash. The first entry's previous hash is
/// SHA-256 of `KASSA-JOURNAL-1 \n terminal`.
public enum Journal {
    public static let format = "KASSA-JOURNAL-1"

    public static func genesis(terminal: String) -> [UInt8] {
        Array(SHA256.hash(data: Array("\(format)\n\(terminal)".utf8)))
    }

    /// The bytes the module signs, without the trailing `\n counter` the module appends.
    public static func message(terminal: String, time: String, kind: String, ref: String, module: String, previous: [UInt8],
                               body: [UInt8], state: String? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 300)
        writeMessage(terminal: terminal, time: time, kind: kind, ref: ref, module: module, previous: previous, state: state, to: &out) {
            $0.append(contentsOf: body)
        }
        return out
    }

    /// Appends the message to `out`, `body` writing the body in place: the one definition of the message's layout
    /// (a line each for the format, terminal, time, kind, ref and module, the previous hash in hex, then the body, then
    /// the state on a line of its own when the entry has one).
    static func writeMessage(terminal: String, time: String, kind: String, ref: String, module: String, previous: [UInt8],
                             state: String?, to out: inout [UInt8], body: (inout [UInt8]) -> Void) {
        // A line at a time, not a loop over an array of the fields: the verifier writes a million messages.
        func line(_ field: String) {
            var field = field
            field.withUTF8 { out.append(contentsOf: $0) }
            out.append(0x0A)
        }
        line(format)
        line(terminal)
        line(time)
        line(kind)
        line(ref)
        line(module)
        writeHex(previous, to: &out)
        out.append(0x0A)
        body(&out)
        if var state {
            out.append(0x0A)
            state.withUTF8 { out.append(contentsOf: $0) }
        }
    }

    /// The message with the module's counter: what is signed and hashed.
    public static func signedData(message: [UInt8], counter: Int64) -> [UInt8] {
        message + Array("\n\(counter)".utf8)
    }

    /// SHA-256 of `signedData(message:counter:)`, without building it: the message is hashed where it lies.
    public static func signedDigest(message: [UInt8], counter: Int64) -> SHA256Digest {
        var hasher = SHA256()
        message.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        var tail: [UInt8] = [0x0A]
        tail.reserveCapacity(21)
        Canonical.writeInt(counter, to: &tail)
        tail.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize()
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    public static func hex(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        writeHex(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `kind` journals a receipt row (`receipt`, `training`, `refund`): the body is the receipt, cross-checked
    /// against the receipt tables. A switch, not a set: the verifier asks this several times per entry.
    @inline(__always)
    static func isReceiptKind(_ kind: String) -> Bool {
        switch kind {
        case "receipt", "training", "refund": true
        default: false
        }
    }

    /// Appends `bytes` as lower-case hex.
    static func writeHex(_ bytes: [UInt8], to out: inout [UInt8]) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { digits in
            for byte in bytes {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0xF)])
            }
        }
    }
    /// An entry of this kind may be unsigned: the module failed, so it could not sign its own failure.
    public static let moduleFailureKind = "fiscal_module_failure"
}

/// One journal entry as stored and exported.
public struct JournalEntry: Sendable, Equatable, Codable {
    public var seq: Int64
    public var terminal: String
    public var time: String
    public var kind: String
    public var ref: String
    public var module: String
    public var counter: Int64
    public var previousHash: [UInt8]
    public var hash: [UInt8]
    public var signature: [UInt8]
    public var body: String
    /// The state the fact moved the terminal to (`JournalState`), signed with it; nil for entries journaled before
    /// migration v16.
    public var state: String?

    /// The columns `init(row:)` reads, in its order.
    static let columns = "seq, terminal_id, created_at, kind, ref, module_serial, signature_counter, prev_hash, hash, signature, body, state"

    /// Reads a stored entry selected with `columns`; a value of the wrong type throws (the verifier names it), never traps.
    /// By index: GRDB's lookup by name lower-cases the name on every call.
    init(row: Row) throws {
        seq = try row.decode(atIndex: 0)
        terminal = try row.decode(atIndex: 1)
        time = try row.decode(atIndex: 2)
        kind = try row.decode(atIndex: 3)
        ref = try row.decode(atIndex: 4)
        module = try row.decode(atIndex: 5)
        counter = try row.decode(atIndex: 6)
        previousHash = [UInt8](try row.decode(Data.self, atIndex: 7))
        hash = [UInt8](try row.decode(Data.self, atIndex: 8))
        signature = [UInt8]((try row.decode(Data?.self, atIndex: 9)) ?? Data())
        body = try row.decode(atIndex: 10)
        state = try row.decode(String?.self, atIndex: 11)
    }

    /// The same through SQLite's C API (the verifier reads a million of them), with the same strictness.
    init(_ row: RawRow) throws {
        seq = try row.int(0)
        terminal = try row.text(1)
        time = try row.text(2)
        kind = try row.text(3)
        ref = try row.text(4)
        module = try row.text(5)
        counter = try row.int(6)
        previousHash = try row.blob(7)
        hash = try row.blob(8)
        signature = row.isNull(9) ? [] : try row.blob(9)
        body = try row.text(10)
        state = row.isNull(11) ? nil : try row.text(11)
    }

    /// A receipt's entry stores no body (decision 0011): the receipt's rows are its body, rebuilt by `journal verify`
    /// and written out by `journal export`. Entries journaled before that store it.
    var bodyByReference: Bool { body.isEmpty && Journal.isReceiptKind(kind) }

    /// The signed data for `body`: the message, `\n`, the counter.
    func signedData(body: [UInt8]) -> [UInt8] {
        var data: [UInt8] = []
        writeSignedData(into: &data) { $0.append(contentsOf: body) }
        return data
    }

    /// Writes the signed data into `out` (replacing its content, keeping its capacity): the message
    /// (`Journal.writeMessage`), with `body` writing the body, then `\n` and the counter. The verifier reuses one
    /// buffer per thread for this instead of building the message, the body and their concatenation apart.
    func writeSignedData(into out: inout [UInt8], body: (inout [UInt8]) -> Void) {
        out.removeAll(keepingCapacity: true)
        Journal.writeMessage(terminal: terminal, time: time, kind: kind, ref: ref, module: module, previous: previousHash, state: state,
                             to: &out, body: body)
        out.append(0x0A)
        Canonical.writeInt(counter, to: &out)
    }
}

extension SessionEngine {
    /// Appends a fact to the journal inside the caller's transaction. Without a fiscal module (benchmark baseline only)
    /// nothing is journaled. `shift` is the shift whose running totals the fact changed or belongs to (its totals' digest
    /// goes into the signed state); `grandTotals` what the fact added to the grand totals (receipts only).
    func journal(_ kind: String, ref: String, body: Canonical, shift: String? = nil, now: Date, _ db: Database) throws {
        guard fiscalModule != nil else { return }
        try journal(kind, ref: ref, bodyBytes: body.bytes, shift: shift, now: now, db)
    }

    /// `storeBody: false` is for receipts: their rows are the body, rebuilt byte for byte by `journal verify` and
    /// `journal export` (decision 0011), so the entry stores it by reference.
    func journal(_ kind: String, ref: String, bodyBytes: [UInt8], storeBody: Bool = true, shift: String? = nil,
                 grandTotals: (sales: Int64, returns: Int64) = (0, 0), now: Date, _ db: Database) throws {
        guard let module = fiscalModule else { return }
        try append(kind, ref: ref, body: bodyBytes, storeBody: storeBody, shift: shift, grandTotals: grandTotals, now: now, module: module, db) {
            message throws(FiscalModuleError) in
            try module.sign(message)
        }
    }

    /// An entry up to its signature: sequence number, previous hash, time and the message to sign.
    struct Draft {
        var seq: Int64
        var kind: String
        var ref: String
        var time: String
        var serial: String
        var previous: [UInt8]
        var message: [UInt8]
        /// The body as stored: the canonical body, or empty for a receipt whose rows are the body.
        var storedBody: String
        var state: String
    }

    /// Reads the head, the module's last counter, the grand totals and the state the last entry signed (one statement),
    /// checks that the grand totals are where that state and this fact put them, and builds the message to sign.
    private func draft(_ kind: String, ref: String, body: [UInt8], storeBody: Bool, shift: String?, grandTotals delta: (sales: Int64, returns: Int64),
                       now: Date, module: any FiscalModule, _ db: Database) throws -> Draft {
        // Another process may have signed with the same module since this one last did (two processes, one key file),
        // so the module continues after the last counter in the journal, read under the write lock (a hardware module
        // keeps its own counter and ignores this).
        var head: (seq: Int64, hash: [UInt8]?, counter: Int64?, latest: String?, sales: Int64, returns: Int64, state: String?)?
        try db.cachedStatement(sql: """
            SELECT journal_seq, journal_head, (SELECT signature_counter FROM journal WHERE module_serial = ? AND signature_counter > 0
              ORDER BY seq DESC LIMIT 1), latest_fact_at, gt_sales, gt_returns,
              (SELECT state FROM journal j WHERE j.seq = c.journal_seq) FROM terminal_counters c WHERE terminal_id = ?
            """).runRaw(db, bind: { $0.text(module.serial); $0.text(terminalID) }) { handle in
            let row = RawRow(handle: handle)
            head = ((try? row.int(0)) ?? 0, row.optionalBlob(1), try? row.optionalInt(2), try? row.optionalText(3),
                    try row.int(4), try row.int(5), try row.optionalText(6))
        }
        guard let head else { throw SessionError.notFound("The counters of terminal \(terminalID)") }
        // A grand-total counter changed outside Kassa is never carried into a new signature: the last entry signed where
        // the totals stood, and this fact moves them by `delta`.
        if let signed = head.state {
            guard let before = JournalState(text: signed) else {
                throw SessionError.stateTampered("the state journal entry \(head.seq) signed cannot be read")
            }
            let (sales, o1) = before.grandTotalSales.addingReportingOverflow(delta.sales)
            let (returns, o2) = before.grandTotalReturns.addingReportingOverflow(delta.returns)
            guard !o1, !o2, sales == head.sales, returns == head.returns else {
                throw SessionError.stateTampered("the grand totals (terminal_counters) stood at \(head.sales &- delta.sales)/"
                    + "\(head.returns &- delta.returns), but journal entry \(head.seq) signed \(before.grandTotalSales)/\(before.grandTotalReturns)")
            }
        }
        let previous = head.hash ?? Journal.genesis(terminal: terminalID)
        if let last = head.counter { module.resume(afterCounter: last) }
        let time = Self.timestamp(now)
        // The same fixed-width format compares as text. A clock behind the latest fact is warned about; the fact is
        // still recorded, numbered and ordered by the counters (decision 0014).
        if let latest = head.latest, time < latest, let last = Self.date(latest), now < last.addingTimeInterval(-Self.clockTolerance) {
            logger.warning("the clock is behind the latest recorded fact", metadata: ["now": "\(time)", "latest.recorded": "\(latest)", "kind": "\(kind)"])
        }
        let state = JournalState(grandTotalSales: head.sales, grandTotalReturns: head.returns, shift: shift,
                                 totalsDigest: try shift.map { try shiftTotalsDigest($0, db) }).text
        return Draft(seq: head.seq + 1, kind: kind, ref: ref, time: time, serial: module.serial, previous: previous,
                     message: Journal.message(terminal: terminalID, time: time, kind: kind, ref: ref, module: module.serial, previous: previous,
                                              body: body, state: state),
                     storedBody: storeBody ? String(decoding: body, as: UTF8.self) : "", state: state)
    }

    /// The digest of a shift's running totals as they stand (`JournalState.digest`), read in key order.
    func shiftTotalsDigest(_ shift: String, _ db: Database) throws -> String {
        var digest = JournalState.Digest()
        try db.cachedStatement(sql: "SELECT key, count, amount FROM session_total WHERE session_id = ? ORDER BY key")
            .runRaw(db, bind: { $0.text(shift) }) { handle in
                let row = RawRow(handle: handle)
                digest.add(key: try row.text(0), count: try row.int(1), amount: try row.int(2))
            }
        return digest.hex
    }

    /// Stores a signed entry; the head moves with the insert (trigger `journal_moves_head`).
    private func store(_ draft: Draft, signature: [UInt8], counter: Int64, _ db: Database) throws {
        let hash = Array(Journal.signedDigest(message: draft.message, counter: counter))
        try db.cachedStatement(sql: """
            INSERT INTO journal (seq, terminal_id, created_at, kind, ref, module_serial, signature_counter, prev_hash, hash, signature, body, state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).runRaw(db, bind: { values in
            values.int(draft.seq); values.text(terminalID); values.text(draft.time); values.text(draft.kind); values.text(draft.ref)
            values.text(draft.serial); values.int(counter); values.blob(draft.previous); values.blob(hash); values.blob(signature)
            values.text(draft.storedBody); values.text(draft.state)
        })
    }

    /// Appends one entry: draft, signature, insert.
    private func append(_ kind: String, ref: String, body: [UInt8], storeBody: Bool = true, shift: String? = nil,
                        grandTotals: (sales: Int64, returns: Int64) = (0, 0), now: Date, module: any FiscalModule, _ db: Database,
                        sign: ([UInt8]) throws(FiscalModuleError) -> (signature: [UInt8], counter: Int64)) throws {
        let draft = try draft(kind, ref: ref, body: body, storeBody: storeBody, shift: shift, grandTotals: grandTotals, now: now, module: module, db)
        let signed: (signature: [UInt8], counter: Int64)
        do {
            signed = try sign(draft.message)
        } catch {
            // The transaction rolls back with this; `journaled` then records the failure in a transaction of its own.
            throw JournalSigningFailure(kind: kind, ref: ref, serial: module.serial, error: error)
        }
        try store(draft, signature: signed.signature, counter: signed.counter, db)
        if signed.counter > 0 { lastSignedCounter.withLock { $0 = signed.counter } }
    }

    /// A write transaction whose facts are journaled. When the fiscal module fails, the transaction is rolled back (the
    /// fact is not recorded) and the failure is journaled, unsigned, in a transaction of its own.
    func journaled<T>(_ body: (Database) throws -> T) throws(SessionError) -> T {
        // A receipt whose control-unit registration must be sent first: the transaction rolled back, the registration
        // is committed as pending and sent, then the same body runs again (its time captured once) and finds the answer.
        var rounds = 0
        while true {
            do {
                return try journaledOnce(body)
            } catch .registrationNeeded(let registration) where rounds < 4 {
                rounds += 1
                try sendRegistration(registration)
            } catch .registrationConflict(let registration) where rounds < 4 {
                rounds += 1
                try completeInterrupted(registration)
            }
        }
    }

    func journaledOnce<T>(_ body: (Database) throws -> T) throws(SessionError) -> T {
        do {
            guard let module = fiscalModule else { return try store.transaction(body) }
            var signed: Int64?
            let result = try store.transaction { db in
                lastSignedCounter.withLock { $0 = nil }
                let result = try body(db)
                // The last counter this transaction signed, taken while it still holds the write lock: after the commit
                // it is committed, and the anchor outside the database may move to it (never before the commit).
                signed = lastSignedCounter.withLock { $0 }
                return result
            }
            if let signed { module.committed(counter: signed) }
            return result
        } catch let failure as JournalSigningFailure {
            recordModuleFailure(failure)
            throw .fiscalModuleFailed(serial: failure.serial, code: failure.error.code, message: failure.error.message)
        } catch {
            throw SessionStore.sessionError(error)
        }
    }

    private func recordModuleFailure(_ failure: JournalSigningFailure) {
        guard let module = fiscalModule else { return }
        let body: Canonical = .object(["fact": .string(failure.kind), "ref": .string(failure.ref), "code": .int(Int64(failure.error.code)),
                                       "message": .string(failure.error.message)])
        do {
            try store.write { db in
                try append(Journal.moduleFailureKind, ref: failure.ref, body: body.bytes, now: clock.now(), module: module, db) { _ in ([], 0) }
            }
            logger.error("fiscal module failed", metadata: ["module": "\(module.serial)", "code": "\(failure.error.code)", "fact": "\(failure.kind)"])
        } catch {
            logger.critical("fiscal module failed and the failure could not be journaled", metadata: ["error": "\(error)"])
        }
    }

    /// Registers the module: its public key goes into the database (and the journal), so the journal can be verified
    /// without the module.
    /// `acceptNew` false: a module this database does not know is refused when it knows others (the key file was
    /// replaced); the terminal's own command for a replacement passes true.
    func registerFiscalModule(now: Date, acceptNew: Bool = true) throws(SessionError) {
        guard let module = fiscalModule else { return }
        // Start-up reads; only a module new to this database takes a write (and rechecks under the lock).
        func registered(_ db: Database) throws -> Bool {
            guard let known = try Data.fetchOne(db.cachedStatement(sql: "SELECT public_key FROM fiscal_module WHERE serial = ?"),
                                                arguments: [module.serial])
            else { return false }
            guard [UInt8](known) == module.publicKey else {
                throw SessionError.invalid("The fiscal module \(module.serial) now has a different key than the one registered in this "
                    + "database; restore the module's key file (a new key needs a new module serial).")
            }
            return true
        }
        if try store.read(registered) { return }
        if !acceptNew, let known = try store.read({ db in
            try String.fetchOne(db, sql: "SELECT serial FROM fiscal_module ORDER BY rowid DESC LIMIT 1")
        }) {
            throw SessionError.fiscalModuleFailed(serial: module.serial, code: 8, message: "the key file holds module \(module.serial), but this "
                + "terminal's module is \(known): the key file was replaced. Restore \(known)'s key from the backup; if it is lost for good, "
                + "put a new module in service with `kassa fiscal replace-module --reason TEXT --user MANAGER` (it is journaled)")
        }
        try journaled { db in
            guard try !registered(db) else { return }
            try db.cachedStatement(sql: "INSERT INTO fiscal_module (serial, algorithm, public_key, registered_at) VALUES (?, ?, ?, ?)")
                .execute(arguments: [module.serial, module.algorithm, Data(module.publicKey), Self.timestamp(now)])
            try self.journal("fiscal_module_registered", ref: module.serial, body: .object([
                "serial": .string(module.serial), "algorithm": .string(module.algorithm),
                "public_key": .string(Data(module.publicKey).base64EncodedString()),
            ]), now: now, db)
        }
        // The signature counter needs no resuming here: every append hands the module the journal's last counter.
    }

    /// Every column of a row as a canonical object (integers and text as stored; blobs in base64).
    static func canonicalColumns(_ row: Row) -> [String: Canonical] {
        var object: [String: Canonical] = [:]
        for (column, value) in row {
            switch value.storage {
            case .null: object[column] = .null
            case .int64(let number): object[column] = .int(number)
            case .string(let text): object[column] = .string(text)
            case .double(let number): object[column] = .string(String(number))
            case .blob(let data): object[column] = .string(data.base64EncodedString())
            }
        }
        return object
    }
}

/// A receipt as stored: the values of its `receipt`, `receipt_line` and `payment` rows.
struct ReceiptFacts: Sendable {
    struct Line: Sendable {
        var line: Int64
        var name: String
        var quantityMilli: Int64
        var unitPrice: Int64
        var listPrice: Int64
        var priceOverrideReason: String?
        var discount: Int64
        var discountReason: String?
        var amount: Int64
        var vatRateBP: Int64
        var vat: Int64
        var refundOfLine: Int64?
        var service: Bool = false
    }

    var id: String
    var kind: String
    var number: Int64
    var zPeriod: Int64
    var session: String
    var cashier: String
    var createdAt: String
    var businessDate: String
    var currency: String
    var total: Int64
    var vatTotal: Int64
    var discountTotal: Int64
    var change: Int64
    var grandTotalSales: Int64
    var grandTotalReturns: Int64
    var refundOf: String?
    var originSession: String?
    var lines: [Line]
    var payments: [(method: String, amount: Int64)]
    /// The fiscal profile's code (RKSV JWS, Swedish control code), when a profile was on.
    var fiscalCode: String?
    /// The code's place in its profile's chain (`receipt_code.profile`, `seq`), as `journal verify` reads it.
    var codeOrder: (profile: String, seq: Int64)?
}

extension ReceiptFacts.Line {
    /// From a row selected with `ReceiptFacts.lineColumns`.
    init(_ line: RawRow) throws {
        self.init(line: try line.int(1), name: try line.text(2), quantityMilli: try line.int(3), unitPrice: try line.int(4),
                  listPrice: try line.int(5), priceOverrideReason: try line.optionalText(6), discount: try line.int(7),
                  discountReason: try line.optionalText(8), amount: try line.int(9), vatRateBP: try line.int(10), vat: try line.int(11),
                  refundOfLine: try line.optionalInt(12), service: try line.bool(13))
    }
}

extension ReceiptFacts {
    /// The receipt's canonical body (`Canonical`'s rules), written directly with the keys in their sorted order: a receipt's body is
    /// encoded on every finalization, and the generic encoder's dictionaries cost a tenth of a receipt (Docs/PERFORMANCE.md).
    /// A test holds it equal to the generic encoding of the same fields.
    func canonicalBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(384 + 256 * lines.count)
        writeCanonical(to: &out)
        return out
    }

    /// Appends the canonical body to `out`.
    func writeCanonical(to out: inout [UInt8]) {
        /// Punctuation and a key, written as one literal (`,"name":`): one append instead of five.
        func raw(_ literal: StaticString) {
            out.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
        }
        func text(_ value: String?) {
            if let value { Canonical.writeString(value, to: &out) } else { raw("null") }
        }
        func int(_ value: Int64?) {
            if let value { Canonical.writeInt(value, to: &out) } else { raw("null") }
        }
        raw("{\"business_date\":"); text(businessDate)
        raw(",\"cashier\":"); text(cashier)
        raw(",\"change\":"); int(change)
        raw(",\"created_at\":"); text(createdAt)
        raw(",\"currency\":"); text(currency)
        raw(",\"discount_total\":"); int(discountTotal)
        raw(",\"fiscal_code\":"); text(fiscalCode)
        raw(",\"grand_total_returns\":"); int(grandTotalReturns)
        raw(",\"grand_total_sales\":"); int(grandTotalSales)
        raw(",\"id\":"); text(id)
        raw(",\"kind\":"); text(kind)
        raw(",\"lines\":[")
        for (index, line) in lines.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            raw("{\"amount\":"); int(line.amount)
            raw(",\"discount\":"); int(line.discount)
            raw(",\"discount_reason\":"); text(line.discountReason)
            raw(",\"line\":"); int(line.line)
            raw(",\"list_price\":"); int(line.listPrice)
            raw(",\"name\":"); text(line.name)
            raw(",\"price_override_reason\":"); text(line.priceOverrideReason)
            raw(",\"quantity_milli\":"); int(line.quantityMilli)
            raw(",\"refund_of_line\":"); int(line.refundOfLine)
            raw(",\"service\":"); line.service ? raw("true") : raw("false")
            raw(",\"unit_price\":"); int(line.unitPrice)
            raw(",\"vat\":"); int(line.vat)
            raw(",\"vat_rate_bp\":"); int(line.vatRateBP)
            out.append(UInt8(ascii: "}"))
        }
        raw("],\"number\":"); int(number)
        raw(",\"origin_session\":"); text(originSession)
        raw(",\"payments\":[")
        for (index, payment) in payments.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            raw("{\"amount\":"); int(payment.amount)
            raw(",\"method\":"); text(payment.method)
            out.append(UInt8(ascii: "}"))
        }
        raw("],\"refund_of\":"); text(refundOf)
        raw(",\"session\":"); text(session)
        raw(",\"total\":"); int(total)
        raw(",\"vat_total\":"); int(vatTotal)
        raw(",\"z_period\":"); int(zPeriod)
        out.append(UInt8(ascii: "}"))
    }

    static let receiptColumns = "id, kind, receipt_no, z_period, session_id, cashier, created_at, business_date, currency, total, vat_total, discount_total, change_given, grand_total_sales, grand_total_returns, refund_of, origin_session_id"
    /// `receipt_id` first, then the line's columns in `init`'s order.
    static let lineColumns = "receipt_id, line_no, name, quantity_milli, unit_price, list_price, price_override_reason, discount, discount_reason, amount, vat_rate_bp, vat_amount, refund_of_line, service"

    /// From a row selected with `receiptColumns` (lines, payments and code are added by the caller), as `journal verify`
    /// reads it; a value of the wrong type throws, never traps.
    init(_ receipt: RawRow) throws {
        self.init(
            id: try receipt.text(0), kind: try receipt.text(1), number: try receipt.int(2), zPeriod: try receipt.int(3),
            session: try receipt.text(4), cashier: try receipt.text(5), createdAt: try receipt.text(6), businessDate: try receipt.text(7),
            currency: try receipt.text(8), total: try receipt.int(9), vatTotal: try receipt.int(10), discountTotal: try receipt.int(11),
            change: try receipt.int(12), grandTotalSales: try receipt.int(13), grandTotalReturns: try receipt.int(14),
            refundOf: try receipt.optionalText(15), originSession: try receipt.optionalText(16), lines: [], payments: [], fiscalCode: nil)
    }
}

/// A module that failed while a fact was being journaled (rolls the transaction back; see `journaled`).
struct JournalSigningFailure: Error, Sendable {
    var kind: String
    var ref: String
    var serial: String
    var error: FiscalModuleError
}
