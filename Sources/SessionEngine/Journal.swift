@preconcurrency import Crypto
import Foundation
import GRDB

/// The terminal's fiscal journal: every fiscal fact, appended in the transaction that records it, chained by SHA-256 and
/// signed by the fiscal module (Docs/journal-format.md).
///
/// An entry's *signed data* is
///
///     KASSA-JOURNAL-1 \n terminal \n time \n kind \n ref \n module serial \n previous hash (hex) \n body \n counter
///
/// where `body` is the fact's canonical encoding and `counter` the module's signature counter. The entry's hash is
/// SHA-256 of the signed data; the next entry names it as its previous hash. The first entry's previous hash is
/// SHA-256 of `KASSA-JOURNAL-1 \n terminal`.
public enum Journal {
    public static let format = "KASSA-JOURNAL-1"

    public static func genesis(terminal: String) -> [UInt8] {
        Array(SHA256.hash(data: Array("\(format)\n\(terminal)".utf8)))
    }

    /// The bytes the module signs, without the trailing `\n counter` the module appends.
    public static func message(terminal: String, time: String, kind: String, ref: String, module: String, previous: [UInt8],
                               body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 200)
        for field in [format, terminal, time, kind, ref, module] {
            out.append(contentsOf: field.utf8)
            out.append(0x0A)
        }
        out.append(contentsOf: hex(previous).utf8)
        out.append(0x0A)
        out.append(contentsOf: body)
        return out
    }

    /// The message with the module's counter: what is signed and hashed.
    public static func signedData(message: [UInt8], counter: Int64) -> [UInt8] {
        message + Array("\n\(counter)".utf8)
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: bytes.count * 2)
        for (index, byte) in bytes.enumerated() {
            out[2 * index] = digits[Int(byte >> 4)]
            out[2 * index + 1] = digits[Int(byte & 0xF)]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Kinds that journal a receipt row (the body is the receipt, cross-checked against the receipt tables).
    static let receiptKinds: Set<String> = ["receipt", "training", "refund"]
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

    init(row: Row) {
        seq = row["seq"]
        terminal = row["terminal_id"]
        time = row["created_at"]
        kind = row["kind"]
        ref = row["ref"]
        module = row["module_serial"]
        counter = row["signature_counter"]
        previousHash = [UInt8](row["prev_hash"] as Data)
        hash = [UInt8](row["hash"] as Data)
        signature = [UInt8]((row["signature"] as Data?) ?? Data())
        body = row["body"]
    }

    var message: [UInt8] {
        Journal.message(terminal: terminal, time: time, kind: kind, ref: ref, module: module, previous: previousHash, body: Array(body.utf8))
    }
}

extension SessionEngine {
    /// Appends a fact to the journal inside the caller's transaction. Without a fiscal module (benchmark baseline only)
    /// nothing is journaled.
    func journal(_ kind: String, ref: String, body: Canonical, now: Date, _ db: Database) throws {
        guard let module = fiscalModule else { return }
        guard let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT journal_seq, journal_head FROM terminal_counters WHERE terminal_id = ?"),
                                          arguments: [terminalID])
        else { throw SessionError.notFound("The counters of terminal \(terminalID)") }
        let seq: Int64 = head[0] + 1
        let previous = (head[1] as Data?).map { [UInt8]($0) } ?? Journal.genesis(terminal: terminalID)
        let time = Self.timestamp(now)
        let message = Journal.message(terminal: terminalID, time: time, kind: kind, ref: ref, module: module.serial, previous: previous,
                                      body: body.bytes)
        let signed: (signature: [UInt8], counter: Int64)
        do {
            signed = try module.sign(message)
        } catch {
            // The transaction rolls back with this error; `journaled` then records the failure in one of its own.
            lastSigningFailure.withLock { $0 = JournalSigningFailure(kind: kind, ref: ref, error: error) }
            throw SessionError.fiscalModuleFailed(serial: module.serial, code: error.code, message: error.message)
        }
        try insertEntry(seq: seq, time: time, kind: kind, ref: ref, module: module.serial, counter: signed.counter, previous: previous,
                        message: message, signature: signed.signature, body: body, db)
    }

    private func insertEntry(seq: Int64, time: String, kind: String, ref: String, module: String, counter: Int64, previous: [UInt8],
                             message: [UInt8], signature: [UInt8], body: Canonical, _ db: Database) throws {
        let hash = Array(SHA256.hash(data: Journal.signedData(message: message, counter: counter)))
        try db.cachedStatement(sql: """
            INSERT INTO journal (seq, terminal_id, created_at, kind, ref, module_serial, signature_counter, prev_hash, hash, signature, body)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [seq, terminalID, time, kind, ref, module, counter, Data(previous), Data(hash), Data(signature),
                                     String(decoding: body.bytes, as: UTF8.self)])
        try db.cachedStatement(sql: "UPDATE terminal_counters SET journal_seq = ?, journal_head = ? WHERE terminal_id = ?")
            .execute(arguments: [seq, Data(hash), terminalID])
    }

    /// A write transaction whose facts are journaled. When the fiscal module fails, the transaction is rolled back (the
    /// fact is not recorded) and the failure is journaled, unsigned, in a transaction of its own.
    func journaled<T>(_ body: (Database) throws -> T) throws(SessionError) -> T {
        do {
            return try store.write(body)
        } catch {
            if case .fiscalModuleFailed = error, let failure = lastSigningFailure.withLock({ value in defer { value = nil }; return value }) {
                recordModuleFailure(failure)
            }
            throw error
        }
    }

    private func recordModuleFailure(_ failure: JournalSigningFailure) {
        guard let module = fiscalModule else { return }
        let now = clock.now()
        let body: Canonical = .object(["fact": .string(failure.kind), "ref": .string(failure.ref), "code": .int(Int64(failure.error.code)),
                                       "message": .string(failure.error.message)])
        do {
            try store.write { db in
                guard let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT journal_seq, journal_head FROM terminal_counters WHERE terminal_id = ?"),
                                                  arguments: [terminalID])
                else { return }
                let seq: Int64 = head[0] + 1
                let previous = (head[1] as Data?).map { [UInt8]($0) } ?? Journal.genesis(terminal: terminalID)
                let time = Self.timestamp(now)
                let message = Journal.message(terminal: terminalID, time: time, kind: Journal.moduleFailureKind, ref: failure.ref,
                                              module: module.serial, previous: previous, body: body.bytes)
                try insertEntry(seq: seq, time: time, kind: Journal.moduleFailureKind, ref: failure.ref, module: module.serial, counter: 0,
                                previous: previous, message: message, signature: [], body: body, db)
            }
            logger.error("fiscal module failed", metadata: ["module": "\(module.serial)", "code": "\(failure.error.code)", "fact": "\(failure.kind)"])
        } catch {
            logger.critical("fiscal module failed and the failure could not be journaled", metadata: ["error": "\(error)"])
        }
    }

    /// Registers the module (its public key goes into the database, so the journal can be verified without the module)
    /// and lets it continue its signature counter.
    func registerFiscalModule(now: Date) throws(SessionError) {
        guard let module = fiscalModule else { return }
        try journaled { db in
            if let known = try Row.fetchOne(db.cachedStatement(sql: "SELECT public_key FROM fiscal_module WHERE serial = ?"), arguments: [module.serial]) {
                guard [UInt8](known["public_key"] as Data) == module.publicKey else {
                    throw SessionError.invalid("The fiscal module \(module.serial) now has a different key than the one registered in this "
                        + "database; restore the module's key file (a new key needs a new module serial).")
                }
            } else {
                try db.cachedStatement(sql: "INSERT INTO fiscal_module (serial, algorithm, public_key, registered_at) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [module.serial, module.algorithm, Data(module.publicKey), Self.timestamp(now)])
                try self.journal("fiscal_module_registered", ref: module.serial, body: .object([
                    "serial": .string(module.serial), "algorithm": .string(module.algorithm),
                    "public_key": .string(Data(module.publicKey).base64EncodedString()),
                ]), now: now, db)
            }
        }
        let last = try store.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(signature_counter) FROM journal WHERE module_serial = ?"), arguments: [module.serial]) ?? 0
        }
        module.resume(afterCounter: last)
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

    /// The canonical body of a receipt, from the values stored in its rows (so `journal verify` can rebuild it).
    static func receiptBody(_ receipt: Row, lines: [Row], payments: [Row]) -> Canonical {
        .object([
            "id": .string(receipt["id"]), "kind": .string(receipt["kind"]), "number": .int(receipt["receipt_no"]),
            "z_period": .int(receipt["z_period"]), "session": .string(receipt["session_id"]), "cashier": .string(receipt["cashier"]),
            "created_at": .string(receipt["created_at"]), "business_date": .string(receipt["business_date"]),
            "currency": .string(receipt["currency"]), "total": .int(receipt["total"]), "vat_total": .int(receipt["vat_total"]),
            "discount_total": .int(receipt["discount_total"]), "change": .int(receipt["change_given"]),
            "grand_total_sales": .int(receipt["grand_total_sales"]), "grand_total_returns": .int(receipt["grand_total_returns"]),
            "refund_of": (receipt["refund_of"] as String?).canonical, "origin_session": (receipt["origin_session_id"] as String?).canonical,
            "lines": .array(lines.map { line in
                .object([
                    "line": .int(line["line_no"]), "name": .string(line["name"]), "quantity_milli": .int(line["quantity_milli"]),
                    "unit_price": .int(line["unit_price"]), "list_price": .int(line["list_price"]),
                    "price_override_reason": (line["price_override_reason"] as String?).canonical, "discount": .int(line["discount"]),
                    "discount_reason": (line["discount_reason"] as String?).canonical, "amount": .int(line["amount"]),
                    "vat_rate_bp": .int(line["vat_rate_bp"]), "vat": .int(line["vat_amount"]),
                    "refund_of_line": (line["refund_of_line"] as Int64?).canonical,
                ])
            }),
            "payments": .array(payments.map { .object(["method": .string($0["method"]), "amount": .int($0["amount"])]) }),
        ])
    }

    /// Journals a receipt just inserted, reading its rows back so the body is exactly what `journal verify` rebuilds.
    func journalReceipt(id: String, kind: String, now: Date, _ db: Database) throws {
        guard fiscalModule != nil else { return }
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM receipt WHERE id = ?"), arguments: [id]) else {
            throw SessionError.notFound("Receipt \(id)")
        }
        let lines = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM receipt_line WHERE receipt_id = ? ORDER BY line_no"), arguments: [id])
        let payments = try Row.fetchAll(db.cachedStatement(sql: "SELECT method, amount FROM payment WHERE receipt_id = ? ORDER BY seq"), arguments: [id])
        try journal(kind == "sale" ? "receipt" : kind, ref: id, body: Self.receiptBody(row, lines: lines, payments: payments), now: now, db)
    }
}

/// A module that failed while a fact was being journaled (rolls the transaction back; see `journaled`).
struct JournalSigningFailure: Error, Sendable {
    var kind: String
    var ref: String
    var error: FiscalModuleError
}
