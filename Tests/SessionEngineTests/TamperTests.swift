import Foundation
import GRDB
@testable import SessionEngine
import SoftwareFiscalModule
import Testing
import TestSupport

/// Tampering by someone who holds the file (issue 12, section 2): every number the next signature depends on is
/// recomputed from the signed facts and compared, so none of these goes unnoticed.
@Suite("Journal: recompute and compare")
struct TamperTests {
    /// Runs SQL with every protective trigger dropped, as sqlite3 on a copy of the file could.
    func tamper(_ engine: SessionEngine, _ sql: String) throws {
        try engine.store.writer.writeWithoutTransaction { db in
            let triggers = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name != 'journal_moves_head'")
            for trigger in triggers { try db.execute(sql: "DROP TRIGGER \(trigger)") }
            try db.execute(sql: sql)
        }
    }

    func problem(_ engine: SessionEngine, anchors: [(serial: String, counter: Int64)] = []) throws -> JournalVerification.Problem? {
        try engine.verifyJournal(anchors: anchors).problem
    }

    /// A shift with two sales and a cash movement, left open.
    func openDay() throws -> Till {
        let till = try Till()
        _ = try till.engine.openShift(commandID: "open", user: "anna", countedFloat: 1000)
        _ = try till.engine.finalizeSale(Till.sale("s1", [("Kaffe", "2", 3500, 1200)]), user: "anna")
        _ = try till.engine.finalizeSale(Till.sale("s2", [("Bulle", "1", 2900, 1200)], pay: [("card", 2900)]), user: "anna")
        _ = try till.engine.cashMovement(commandID: "in1", user: "anna", type: "in", amount: 500, reason: "växel")
        return till
    }

    @Test("an honest day verifies")
    func honest() throws {
        let till = try openDay()
        _ = try till.engine.closeShift(commandID: "close", user: "anna", countedCash: 1000 + 7000 + 500, cashLeft: 1000)
        #expect(try problem(till.engine) == nil)
    }

    @Test("the grand-total counter: found as it is, and never signed: the next fact is refused and nothing is recorded")
    func grandTotalCounter() throws {
        let till = try openDay()
        try tamper(till.engine, "UPDATE terminal_counters SET gt_sales = gt_sales - 1000")
        let found = try #require(try problem(till.engine))
        #expect(found.kind == .modified && found.detail.contains("grand-total counters"), "\(found.detail)")
        let entries = try till.engine.verifyJournal().entries
        for attempt in [{ _ = try till.engine.finalizeSale(Till.sale("s3", [("Kaka", "1", 1000, 1200)]), user: "anna") },
                        { _ = try till.engine.cashMovement(commandID: "in2", user: "anna", type: "in", amount: 100, reason: nil) }] {
            #expect {
                try attempt()
            } throws: { error in
                guard case .stateTampered(let detail) = error as? SessionError else { return false }
                return detail.contains("terminal_counters) stood at 8900/0") && detail.contains("signed 9900/0")
            }
        }
        #expect(try till.engine.verifyJournal().entries == entries)
        #expect(try till.engine.counters().receiptNumber == 2)
    }

    @Test("a running total changed before a signature: the entry that signed it is named")
    func runningTotalSigned() throws {
        for key in ["vat_tax:1200", "goods", "method:card", "cash_in"] {
            let till = try openDay()
            try tamper(till.engine, "UPDATE session_total SET amount = amount + 7, count = count + 1 WHERE key = '\(key)'")
            _ = try till.engine.cashMovement(commandID: "out1", user: "anna", type: "out", amount: 100, reason: "kaffe")
            // Put back afterwards: the rows match again, but the signature of out1 carries the changed totals.
            try tamper(till.engine, "UPDATE session_total SET amount = amount - 7, count = count - 1 WHERE key = '\(key)'")
            let found = try #require(try problem(till.engine), "\(key)")
            #expect(found.detail.contains("signed running totals of shift") && found.detail.contains("cash_out out1"), "\(key): \(found.detail)")
        }
    }

    @Test("the open shift's running totals, and the Z then signed on them")
    func runningTotals() throws {
        let till = try openDay()
        try tamper(till.engine, "UPDATE session_total SET amount = amount - 1000 WHERE key = 'sales'")
        let found = try #require(try problem(till.engine))
        #expect(found.detail.contains("running total 'sales'"), "\(found.detail)")
        _ = try till.engine.closeShift(commandID: "close", user: "anna", countedCash: 1000 + 7000 + 500, cashLeft: 1000)
        let z = try #require(try problem(till.engine))
        #expect(z.detail.contains("signed running totals of shift"), "\(z.detail)")
    }

    @Test("a closed shift's counted cash, and a cash movement's amount")
    func countedCashAndMovement() throws {
        let till = try openDay()
        _ = try till.engine.closeShift(commandID: "close", user: "anna", countedCash: 1000 + 7000 + 500, cashLeft: 1000)
        try tamper(till.engine, "UPDATE pos_session SET counted_cash = counted_cash + 300, difference = difference + 300")
        let counted = try #require(try problem(till.engine))
        #expect(counted.detail.contains("pos_session.counted_cash") || counted.detail.contains("pos_session.difference"), "\(counted.detail)")

        let other = try openDay()
        try tamper(other.engine, "UPDATE cash_movement SET amount = 50 WHERE id = 'in1'")
        let moved = try #require(try problem(other.engine))
        #expect(moved.detail.contains("cash movement in1") || moved.detail.contains("cash_in"), "\(moved.detail)")
    }

    @Test("expected cash changed on a closed shift")
    func expectedCash() throws {
        let till = try openDay()
        _ = try till.engine.closeShift(commandID: "close", user: "anna", countedCash: 1000 + 7000 + 500, cashLeft: 1000)
        try tamper(till.engine, "UPDATE pos_session SET expected_cash = expected_cash - 100")
        let found = try #require(try problem(till.engine))
        #expect(found.detail.contains("expected_cash") || found.detail.contains("should have held"), "\(found.detail)")
    }

    @Test("a tail cut cleanly (receipt, entry, counters, head and totals rolled back) is found by the module's anchor")
    func cutTail() throws {
        let folder = TestSupport.temporaryDirectory()
        let keyPath = folder.appendingPathComponent("fiscal-module.key").path
        let module = try SoftwareFiscalModule.load(path: keyPath)
        let till = try Till(store: SessionStore.open(path: folder.appendingPathComponent("kassa.sqlite").path), module: module)
        _ = try till.engine.openShift(commandID: "open", user: "anna", countedFloat: 0)
        _ = try till.engine.finalizeSale(Till.sale("s1", [("Kaffe", "1", 3500, 1200)]), user: "anna")
        _ = try till.engine.finalizeSale(Till.sale("s2", [("Bulle", "1", 2900, 1200)]), user: "anna")
        let anchor = try #require(try SoftwareFiscalModule.readAnchor(SoftwareFiscalModule.anchorPath(forKey: keyPath)))
        #expect(anchor.serial == module.serial)
        #expect(try problem(till.engine, anchors: [anchor]) == nil)
        // Roll the last receipt back everywhere inside the database.
        try tamper(till.engine, """
            DELETE FROM journal WHERE ref = 's2';
            DELETE FROM receipt_line WHERE receipt_id = 's2'; DELETE FROM payment WHERE receipt_id = 's2'; DELETE FROM receipt WHERE id = 's2';
            UPDATE session_total SET count = count - 1, amount = amount - 2900 WHERE key IN ('sales', 'receipts', 'method:cash', 'cashier:anna');
            UPDATE session_total SET count = count - 1, amount = amount - 2900 WHERE key = 'vat_gross:1200';
            UPDATE session_total SET count = count - 1, amount = amount - 311 WHERE key = 'vat_tax:1200';
            UPDATE session_total SET count = count - 1 WHERE key = 'goods';
            UPDATE terminal_counters SET receipt_no = 1, gt_sales = 3500, journal_seq = (SELECT MAX(seq) FROM journal),
              journal_head = (SELECT hash FROM journal ORDER BY seq DESC LIMIT 1);
            """)
        // Inside the database the cut is clean; the anchor outside it is not fooled.
        #expect(try problem(till.engine) == nil)
        let cut = try #require(try problem(till.engine, anchors: [anchor]))
        #expect(cut.kind == .missing && cut.detail.contains("signed up to counter \(anchor.counter)"), "\(cut.detail)")
    }

    @Test("a value of another type, or a counter beyond all rows, is a finding, never a trap (found by the journal fuzz target)")
    func wrongTypes() throws {
        for sql in ["UPDATE session_total SET count = '' WHERE key = 'sales'", "UPDATE terminal_counters SET receipt_no = 140737488355328",
                    "UPDATE terminal_counters SET z_no = -5", "UPDATE fiscal_module SET public_key = 42", "UPDATE z_report SET report_json = x'00ff'",
                    "UPDATE receipt SET total = 1.5 WHERE id = 's1'", "UPDATE cash_movement SET amount = 'x'", "UPDATE terminal_counters SET journal_head = 7"] {
            let till = try openDay()
            _ = try till.engine.closeShift(commandID: "close", user: "anna", countedCash: 1000 + 7000 + 500, cashLeft: 1000)
            try tamper(till.engine, sql)
            let found = try problem(till.engine)
            #expect(found != nil, "\(sql)")
        }
    }

    @Test("the anchor lags after a lost write but never leads; another key's anchor is refused")
    func anchorFile() throws {
        let folder = TestSupport.temporaryDirectory()
        let keyPath = folder.appendingPathComponent("fiscal-module.key").path
        let module = try SoftwareFiscalModule.load(path: keyPath)
        module.committed(counter: 7)
        module.committed(counter: 5)
        #expect(try SoftwareFiscalModule.readAnchor(SoftwareFiscalModule.anchorPath(forKey: keyPath))?.counter == 7)
        let mode = try FileManager.default.attributesOfItem(atPath: SoftwareFiscalModule.anchorPath(forKey: keyPath))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        try FileManager.default.removeItem(atPath: keyPath)
        #expect(throws: FiscalModuleError.self) { try SoftwareFiscalModule.load(path: keyPath) }
    }
}
