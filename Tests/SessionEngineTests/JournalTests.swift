import ChildProcess
import Foundation
import GRDB
@testable import SessionEngine
import SoftwareFiscalModule
import Testing

/// A fiscal module that fails on demand (a card pulled out, a dead signature device).
final class FailingModule: FiscalModule, @unchecked Sendable {
    let inner = SoftwareFiscalModule.ephemeral()
    let lock = NSLock()
    var failing = false
    var serial: String { inner.serial }
    var algorithm: String { inner.algorithm }
    var publicKey: [UInt8] { inner.publicKey }
    func sign(_ message: [UInt8]) throws(FiscalModuleError) -> (signature: [UInt8], counter: Int64) {
        if lock.withLock({ failing }) { throw FiscalModuleError(code: 42, message: "signature card not answering") }
        return try inner.sign(message)
    }
    func signRaw(_ data: [UInt8]) throws(FiscalModuleError) -> [UInt8] {
        if lock.withLock({ failing }) { throw FiscalModuleError(code: 42, message: "signature card not answering") }
        return try inner.signRaw(data)
    }
    func signatureCount() -> Int64 { inner.signatureCount() }
    func resume(afterCounter counter: Int64) { inner.resume(afterCounter: counter) }
}

@Suite("Fiscal journal")
struct JournalTests {
    /// A day with one of each fact: shift open, sales (cash, card, training), refund, copy, cash in/out, no-sale, X, Z.
    static func day() throws -> Till {
        let till = try Till()
        let engine = till.engine
        _ = try engine.openShift(commandID: "open", user: "anna", countedFloat: 1000)
        _ = try engine.finalizeSale(Till.sale("s1", [("Kaffe", "2", 3500, 1200), ("Tidning", "1", 4900, 600)]), user: "anna")
        _ = try engine.finalizeSale(Till.sale("s2", [("Bulle", "1", 2900, 1200)], pay: [("card", 2900)]), user: "anna")
        // Text that needs escaping: quotes, backslash, controls, non-ASCII (the Python verifier re-checks the canonical form).
        _ = try engine.finalizeSale(Till.sale("s3", [("\"Kafé\" ☕ \\ del\u{7F} nel\u{85} ls\u{2028} ps\u{2029} ö", "0.5", 4000, 1200)]), user: "anna")
        _ = try engine.finalizeSale(Till.sale("t1", [("Kaffe", "1", 3500, 1200)], training: true), user: "anna")
        _ = try engine.refund(RefundRequest(id: "r1", receiptNumber: 1, lines: [RefundRequest.Line(line: 2, quantity: MilliQuantity(milli: 1000))]),
                              user: "sven")
        _ = try engine.copy(number: 1, user: "anna")
        _ = try engine.cashMovement(commandID: "in", user: "anna", type: "in", amount: 500, reason: "växel")
        _ = try engine.cashMovement(commandID: "out", user: "anna", type: "out", amount: 200, reason: "blommor")
        _ = try engine.cashMovement(commandID: "ns", user: "sven", type: "no_sale", amount: 0, reason: nil)
        _ = try engine.xReport(user: "anna")
        _ = try engine.closeShift(commandID: "close", user: "anna", countedCash: 1000 + 11900 + 2000 - 4900 + 500 - 200, cashLeft: 1000)
        return till
    }

    func kinds(_ engine: SessionEngine) throws -> [String] {
        try engine.store.writer.read { try String.fetchAll($0, sql: "SELECT kind FROM journal ORDER BY seq") }
    }

    /// Runs SQL as an attacker with file access would: the append-only triggers are dropped first.
    func tamper(_ engine: SessionEngine, _ sql: String) throws {
        try engine.store.writer.writeWithoutTransaction { db in
            try db.execute(sql: """
                DROP TRIGGER IF EXISTS journal_no_update; DROP TRIGGER IF EXISTS journal_no_delete;
                DROP TRIGGER IF EXISTS receipt_no_update; DROP TRIGGER IF EXISTS receipt_line_no_update;
                DROP TRIGGER IF EXISTS receipt_integers_update; DROP TRIGGER IF EXISTS receipt_line_integers_update;
                """)
            try db.execute(sql: sql)
        }
    }

    @Test("every fiscal fact is journaled in its transaction, and the whole day verifies")
    func dayVerifies() throws {
        let engine = try Self.day().engine
        let kinds = try kinds(engine)
        for kind in ["fiscal_module_registered", "user", "shift_open", "receipt", "training", "refund", "copy", "cash_in", "cash_out",
                     "no_sale", "x_report", "z_report", "shift_close"] {
            #expect(kinds.contains(kind), "\(kind) is journaled")
        }
        let result = try engine.verifyJournal()
        #expect(result.ok, "\(String(describing: result.problem))")
        #expect(result.receiptsChecked == 5 && result.zReportsChecked == 1 && result.entries == Int64(kinds.count))
        // The journal's rows are append-only too.
        #expect(throws: (any Error).self) { try engine.store.writer.write { try $0.execute(sql: "UPDATE journal SET body = '{}'") } }
        #expect(throws: (any Error).self) { try engine.store.writer.write { try $0.execute(sql: "DELETE FROM journal") } }
    }

    @Test("a receipt's directly written body is the generic canonical encoding of the same facts")
    func receiptBodyEncodings() throws {
        let facts = ReceiptFacts(
            id: "r-1", kind: "refund", number: 12, zPeriod: 3, session: "T-1-S2", cashier: "anna", createdAt: "2026-11-23T06:00:00.000Z",
            businessDate: "2026-11-23", currency: "SEK", total: -4950, vatTotal: -530, discountTotal: 0, change: 0, grandTotalSales: 100,
            grandTotalReturns: 4950, refundOf: "s-1", originSession: nil,
            lines: [.init(line: 1, name: "\"Kafé\" \\ \n\u{1}☕", quantityMilli: -1500, unitPrice: 3300, listPrice: 3500, priceOverrideReason: "bent",
                          discount: 0, discountReason: nil, amount: -4950, vatRateBP: 1200, vat: -530, refundOfLine: 2)],
            payments: [(method: "cash", amount: -4950), (method: "card", amount: 0)], fiscalCode: "_R1-AT0_\"x\"")
        #expect(facts.canonicalBytes() == genericReceiptBody(facts).bytes)
        #expect(String(decoding: facts.canonicalBytes(), as: UTF8.self).contains(#""name":"\"Kafé\" \\ \n\u0001☕""#))
    }

    @Test("a changed receipt row is named as modified at the entry that signed it")
    func modifiedReceipt() throws {
        let engine = try Self.day().engine
        try tamper(engine, "UPDATE receipt SET total = total - 100 WHERE id = 's2'")
        let seq = try engine.store.writer.read { try Int64.fetchOne($0, sql: "SELECT seq FROM journal WHERE ref = 's2'") }
        let problem = try #require(try engine.verifyJournal().problem)
        #expect(problem.kind == .modified && problem.seq == seq)

        // A value of the wrong type (SQLite lets text into an INTEGER column) is named too, never a crash.
        let typed = try Self.day().engine
        try tamper(typed, "UPDATE receipt SET total = 'abc' WHERE id = 's1'")
        let unreadable = try #require(try typed.verifyJournal().problem)
        let first = try typed.store.writer.read { try Int64.fetchOne($0, sql: "SELECT seq FROM journal WHERE ref = 's1'") }
        #expect(unreadable.kind == .modified && unreadable.seq == first, "\(unreadable.detail)")
    }

    @Test("a receipt's entry stores its body by reference; entries that store it (older databases) verify the same way")
    func receiptBodyByReference() throws {
        let engine = try Self.day().engine
        let bodies = try engine.store.writer.read { try Row.fetchAll($0, sql: "SELECT kind, body FROM journal ORDER BY seq") }
        for row in bodies {
            let kind: String = row["kind"], body: String = row["body"]
            #expect(Journal.isReceiptKind(kind) == body.isEmpty, "\(kind): \(body.prefix(40))")
        }
        // A database journaled before decision 0011 stores each receipt's body: the same bytes as the rebuilt receipt.
        try engine.store.writer.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TRIGGER journal_no_update")
            let rows = try Row.fetchAll(db, sql: "SELECT \(JournalEntry.columns) FROM journal ORDER BY seq")
            let entries = try rows.map(JournalEntry.init(row:))
            let (facts, _) = try JournalCheck.readFacts(entries, db: db)
            for (entry, receipt) in zip(entries, facts) where entry.bodyByReference {
                try db.execute(sql: "UPDATE journal SET body = ? WHERE seq = ?",
                               arguments: [String(decoding: try #require(receipt).canonicalBytes(), as: UTF8.self), entry.seq])
            }
        }
        let stored = try engine.verifyJournal()
        #expect(stored.ok && stored.receiptsChecked == 5, "\(String(describing: stored.problem))")
        // There a stored body and the receipt's rows must agree.
        try tamper(engine, "UPDATE receipt_line SET name = 'Te' WHERE receipt_id = 's2'")
        let seq = try engine.store.writer.read { try Int64.fetchOne($0, sql: "SELECT seq FROM journal WHERE ref = 's2'") }
        let problem = try #require(try engine.verifyJournal().problem)
        #expect(problem.kind == .modified && problem.seq == seq && problem.detail.contains("differs from what entry"), "\(problem.detail)")
    }

    @Test("a changed line or payment of a receipt is modified at its entry; a deleted receipt is missing")
    func modifiedReceiptRows() throws {
        for (sql, ref) in [("UPDATE receipt_line SET amount = amount + 1 WHERE receipt_id = 's1' AND line_no = 2", "s1"),
                           ("UPDATE payment SET method = 'card' WHERE receipt_id = 's3'", "s3")] {
            let engine = try Self.day().engine
            try tamper(engine, "DROP TRIGGER IF EXISTS payment_no_update; " + sql)
            let seq = try engine.store.writer.read { try Int64.fetchOne($0, sql: "SELECT seq FROM journal WHERE ref = ?", arguments: [ref]) }
            let problem = try #require(try engine.verifyJournal().problem)
            #expect(problem.kind == .modified && problem.seq == seq && problem.detail.contains("no longer give the entry's hash"), "\(problem.detail)")
        }
        let engine = try Self.day().engine
        try tamper(engine, "DROP TRIGGER IF EXISTS receipt_no_delete; PRAGMA foreign_keys = OFF; DELETE FROM receipt WHERE id = 't1'")
        let seq = try engine.store.writer.read { try Int64.fetchOne($0, sql: "SELECT seq FROM journal WHERE ref = 't1'") }
        let problem = try #require(try engine.verifyJournal().problem)
        #expect(problem.kind == .missing && problem.seq == seq, "\(problem.detail)")
    }

    @Test("a changed journal body is modified; a re-hashed one has a bad signature")
    func modifiedEntry() throws {
        let engine = try Self.day().engine
        try tamper(engine, "UPDATE journal SET body = replace(body, '\"amount\":500', '\"amount\":50') WHERE kind = 'cash_in'")
        let seq = try engine.store.writer.read { try Int64.fetchOne($0, sql: "SELECT seq FROM journal WHERE kind = 'cash_in'") }
        let first = try #require(try engine.verifyJournal().problem)
        #expect(first.kind == .modified && first.seq == seq)

        // An attacker who also recomputes the entry's hash (and the next entry's link) still cannot sign.
        let rehashed = try Self.day().engine
        try rehashed.store.writer.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TRIGGER journal_no_update")
            let row = try #require(try Row.fetchOne(db, sql: "SELECT \(JournalEntry.columns) FROM journal WHERE kind = 'cash_out'"))
            var entry = try JournalEntry(row: row)
            entry.body = entry.body.replacingOccurrences(of: "\"amount\":200", with: "\"amount\":2")
            let hash = Journal.sha256(entry.signedData(body: Array(entry.body.utf8)))
            try db.execute(sql: "UPDATE journal SET body = ?, hash = ? WHERE seq = ?", arguments: [entry.body, Data(hash), entry.seq])
            try db.execute(sql: "UPDATE journal SET prev_hash = ? WHERE seq = ?", arguments: [Data(hash), entry.seq + 1])
        }
        let problem = try #require(try rehashed.verifyJournal().problem)
        let cashOut = try rehashed.store.writer.read { try Int64.fetchOne($0, sql: "SELECT seq FROM journal WHERE kind = 'cash_out'") }
        #expect(problem.kind == .badSignature && problem.seq == cashOut)
    }

    @Test("a removed entry is missing, in the middle and at the end")
    func missingEntries() throws {
        let middle = try Self.day().engine
        try tamper(middle, "DELETE FROM journal WHERE seq = 5")
        let problem = try #require(try middle.verifyJournal().problem)
        #expect(problem.kind == .missing && problem.seq == 6)

        let end = try Self.day().engine
        let last = try end.store.writer.read { try Int64.fetchOne($0, sql: "SELECT MAX(seq) FROM journal") } ?? 0
        try tamper(end, "DELETE FROM journal WHERE seq = \(last)")
        let tail = try #require(try end.verifyJournal().problem)
        #expect(tail.kind == .missing && tail.seq == last)

        // Removing an entry and renumbering the rest leaves a link to nothing.
        let renumbered = try Self.day().engine
        try tamper(renumbered, "DELETE FROM journal WHERE seq = 5; UPDATE journal SET seq = seq - 1 WHERE seq > 5")
        let broken = try #require(try renumbered.verifyJournal().problem)
        #expect(broken.kind == .missing && broken.seq == 5)
    }

    @Test("batches of any size give the same verdict; an entry whose row cannot be read is modified, at any batch boundary")
    func batchesAndUnreadableRows() throws {
        let whole = try Self.day().engine
        let expected = try whole.verifyJournal()
        #expect(expected.ok && expected.entries > 10)
        for size in [1, 2, 3, 7, Int(expected.entries), Int(expected.entries) + 1] {
            #expect(try whole.verifyJournal(batchSize: size) == expected, "batch size \(size)")
        }
        // Progress after each batch: rising, out of the number the terminal recorded, ending at all of them.
        var seen: [(Int64, Int64)] = []
        _ = try whole.verifyJournal(batchSize: 4) { seen.append(($0, $1)) }
        #expect(seen.count == Int((expected.entries + 3) / 4), "\(seen)")
        #expect(seen.allSatisfy { $0.1 == expected.entries } && seen.map(\.0) == seen.map(\.0).sorted() && seen.last?.0 == expected.entries)
        // A value of the wrong storage class in the entry's own row: read as an entry it cannot be; nothing traps.
        for (column, value) in [("signature_counter", "'three'"), ("hash", "42"), ("body", "x'00ff'"), ("module_serial", "x'41'")] {
            for size in [1, 4, 4096] {
                let engine = try Self.day().engine
                try tamper(engine, "PRAGMA ignore_check_constraints = ON; UPDATE journal SET \(column) = \(value) WHERE seq = 9")
                let problem = try #require(try engine.verifyJournal(batchSize: size).problem, "\(column), batch size \(size)")
                #expect(problem.kind == .modified && problem.seq == 9 && problem.detail.contains("cannot be read as an entry"),
                        "\(column), batch size \(size): \(problem.detail)")
            }
        }
    }

    @Test("the signed data's digest, hashed in place, is SHA-256 of the signed data itself")
    func signedDigest() {
        let message = Array("KASSA-JOURNAL-1\nT-1\n2026-11-23T10:00:00.000Z\nreceipt\ns1\nSW-1\n00\n{\"a\":1}".utf8)
        for counter: Int64 in [0, 1, 9, 10, 12345, Int64.max, -1, Int64.min] {
            #expect(Array(Journal.signedDigest(message: message, counter: counter)) == Journal.sha256(Journal.signedData(message: message, counter: counter)),
                    "counter \(counter)")
        }
    }

    @Test("two entries swapped are reported as reordered")
    func reordered() throws {
        let engine = try Self.day().engine
        try tamper(engine, "UPDATE journal SET seq = -1 WHERE seq = 6; UPDATE journal SET seq = 6 WHERE seq = 7; UPDATE journal SET seq = 7 WHERE seq = -1")
        let problem = try #require(try engine.verifyJournal().problem)
        #expect(problem.kind == .reordered && problem.seq == 6)
    }

    @Test("a failing fiscal module refuses the fact, records nothing of it, and journals its own failure unsigned")
    func moduleFailure() throws {
        let module = FailingModule()
        let engine = try Till(module: module).engine
        _ = try engine.openShift(commandID: "open", user: "anna", countedFloat: 0)
        module.lock.withLock { module.failing = true }
        #expect(throws: SessionError.fiscalModuleFailed(serial: module.serial, code: 42, message: "signature card not answering")) {
            try engine.finalizeSale(Till.sale("s1", [("Kaffe", "1", 3500, 1200)]), user: "anna")
        }
        #expect(try engine.counters().receiptNumber == 0)
        module.lock.withLock { module.failing = false }
        #expect(try engine.finalizeSale(Till.sale("s1", [("Kaffe", "1", 3500, 1200)]), user: "anna").number == 1)
        #expect(try kinds(engine).contains(Journal.moduleFailureKind))
        let result = try engine.verifyJournal()
        #expect(result.ok && result.moduleFailures == 1, "\(String(describing: result.problem))")
    }

    @Test("the software module's key: made 0600 on first start and reused; a key others may read, or a broken one, is refused")
    func keyFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kassa-key-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/fiscal-module.key"
        let made = try SoftwareFiscalModule.load(path: path)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
        #expect(try SoftwareFiscalModule.load(path: path).serial == made.serial)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect { try SoftwareFiscalModule.load(path: path) } throws: { error in
            (error as? FiscalModuleError)?.message.contains("chmod 600") == true
        }
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect { try SoftwareFiscalModule.load(path: path) } throws: { error in
            (error as? FiscalModuleError)?.message.contains("restore it from the backup") == true
        }
        #expect(throws: FiscalModuleError.self) { try SoftwareFiscalModule.load(path: folder + "/missing-folder/key") }
    }

    @Test("two processes with the same module key sign in turn: counters keep rising, the chain stays whole")
    func twoProcesses() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kassa-two-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try Till(store: SessionStore.open(path: folder + "/kassa.sqlite"), module: SoftwareFiscalModule.load(path: folder + "/key")).engine
        let second = try Till(store: SessionStore.open(path: folder + "/kassa.sqlite"), module: SoftwareFiscalModule.load(path: folder + "/key")).engine
        _ = try first.openShift(commandID: "o", user: "anna", countedFloat: 0)
        for index in 0..<6 {
            _ = try (index % 2 == 0 ? first : second).finalizeSale(Till.sale("s\(index)", [("Kaffe", "1", 350, 1200)]), user: "anna")
        }
        let counters = try first.store.writer.read { try Int64.fetchAll($0, sql: "SELECT signature_counter FROM journal ORDER BY seq") }
        #expect(counters == Array(1...Int64(counters.count)), "\(counters)")
        #expect(try second.verifyJournal().ok)
        let export = try first.exportJournal(to: folder + "/export")
        let verified = try runVerifier(folder + "/export")
        #expect(export.entries > 6 && verified.status == 0, "\(verified.output)")
    }

    @Test("the export verifies with the independent Python verifier, and a tampered export does not")
    func pythonVerifier() throws {
        let engine = try Self.day().engine
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kassa-export-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let export = try engine.exportJournal(to: folder)
        #expect(export.entries == Int64(try kinds(engine).count))
        let good = try runVerifier(folder)
        #expect(good.status == 0 && good.output.hasPrefix("OK \(export.entries) entries"), "\(good.output)")

        var lines = try String(contentsOfFile: export.journal, encoding: .utf8).split(separator: "\n").map(String.init)
        let index = try #require(lines.firstIndex { $0.contains("Kaffe") })
        lines[index] = lines[index].replacingOccurrences(of: "Kaffe", with: "Kafé")
        try (lines.joined(separator: "\n") + "\n").write(toFile: export.journal, atomically: true, encoding: .utf8)
        let bad = try runVerifier(folder)
        #expect(bad.status == 1 && bad.output.contains("FAIL entry \(index): modified"), "\(bad.output)")

        // A receipt's rows changed in the database: the export carries the body rebuilt from them (decision 0011), so the
        // independent verifier finds the entry that signed the receipt modified too, not a clean export.
        let tampered = try Self.day().engine
        try tamper(tampered, "UPDATE receipt_line SET amount = amount + 100 WHERE receipt_id = 's2'")
        let seq = try #require(try tampered.store.writer.read { try Int64.fetchOne($0, sql: "SELECT seq FROM journal WHERE ref = 's2'") })
        let second = folder + "-rows"
        defer { try? FileManager.default.removeItem(atPath: second) }
        _ = try tampered.exportJournal(to: second)
        let rows = try runVerifier(second)
        #expect(rows.status == 1 && rows.output.contains("FAIL entry \(seq): modified"), "\(rows.output)")
    }

    func runVerifier(_ folder: String) throws -> (status: Int32, output: String) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/verify_journal.py").path
        let outcome = try ChildProcess.run("/usr/bin/env", ["python3", script, folder], stderr: .standardOutput, timeout: .seconds(120))
        return (outcome.termination.status, String(decoding: outcome.stdout, as: UTF8.self))
    }
}

/// The oracle for `ReceiptFacts.canonicalBytes`: the same fields through the generic `Canonical` encoder.
func genericReceiptBody(_ receipt: ReceiptFacts) -> Canonical {
    .object([
        "id": .string(receipt.id), "kind": .string(receipt.kind), "number": .int(receipt.number), "z_period": .int(receipt.zPeriod),
        "session": .string(receipt.session), "cashier": .string(receipt.cashier), "created_at": .string(receipt.createdAt),
        "business_date": .string(receipt.businessDate), "currency": .string(receipt.currency), "total": .int(receipt.total),
        "vat_total": .int(receipt.vatTotal), "discount_total": .int(receipt.discountTotal), "change": .int(receipt.change), "fiscal_code": receipt.fiscalCode.canonical,
        "grand_total_sales": .int(receipt.grandTotalSales), "grand_total_returns": .int(receipt.grandTotalReturns),
        "refund_of": receipt.refundOf.canonical, "origin_session": receipt.originSession.canonical,
        "lines": .array(receipt.lines.map { line in
            .object([
                "line": .int(line.line), "name": .string(line.name), "quantity_milli": .int(line.quantityMilli),
                "unit_price": .int(line.unitPrice), "list_price": .int(line.listPrice),
                "price_override_reason": line.priceOverrideReason.canonical, "discount": .int(line.discount),
                "discount_reason": line.discountReason.canonical, "amount": .int(line.amount), "vat_rate_bp": .int(line.vatRateBP),
                "vat": .int(line.vat), "refund_of_line": line.refundOfLine.canonical, "service": .bool(line.service),
            ])
        }),
        "payments": .array(receipt.payments.map { .object(["method": .string($0.method), "amount": .int($0.amount)]) }),
    ])
}
