import Foundation
import GRDB
@testable import SessionEngine
import SoftwareFiscalModule
import Testing
import TestSupport

/// A terminal with a manager, a supervisor and two cashiers, on an in-memory database and a manual clock.
struct Till {
    let engine: SessionEngine
    let clock: ManualClock

    init(store: SessionStore? = nil, identity: String = "0123456789abcdef0123456789abcdef",
         module: (any FiscalModule)? = SoftwareFiscalModule.ephemeral()) throws {
        clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000))
        engine = try SessionEngine(store: store ?? SessionStore.inMemory(), identity: FixedIdentity(identity), clock: clock,
                                   fiscalModule: module)
        if try engine.users().isEmpty {
            _ = try engine.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
            _ = try engine.addUser(id: "sven", name: "Sven", role: "supervisor", by: "maria")
            _ = try engine.addUser(id: "anna", name: "Anna", role: "cashier", by: "maria")
            _ = try engine.addUser(id: "olle", name: "Olle", role: "cashier", by: "maria")
        }
    }

    static func sale(_ id: String, _ lines: [(String, String, Int64, Int64)], pay: [(String, Int64)]? = nil, training: Bool = false)
        -> SaleRequest
    {
        SaleRequest(
            id: id,
            lines: lines.map { SaleLineRequest(name: $0.0, quantity: try! MilliQuantity(parsing: $0.1), unitPrice: $0.2, vatRate: VATRate(basisPoints: $0.3)) },
            payments: pay?.map { PaymentRequest(method: $0.0, amount: $0.1) }, training: training)
    }
}

@Suite("Session engine")
struct SessionEngineTests {
    @Test("a file database runs in WAL with synchronous = FULL")
    func durability() throws {
        let directory = TestSupport.temporaryDirectory()
        let store = try SessionStore.open(path: directory.appendingPathComponent("kassa.sqlite").path)
        #expect(try store.synchronousMode() == 2)
        #expect(try store.journalMode() == "wal")
    }

    @Test("timestamps are ISO 8601 UTC with milliseconds and read back exactly", arguments: [
        (1_795_000_000.0, "2026-11-18T11:06:40.000Z"), (1_795_000_000.007, "2026-11-18T11:06:40.007Z"),
        (951_782_399.999, "2000-02-28T23:59:59.999Z"), (-0.5, "1969-12-31T23:59:59.500Z"),
    ])
    func timestamps(seconds: Double, text: String) throws {
        #expect(SessionEngine.timestamp(Date(timeIntervalSince1970: seconds)) == text)
        let back = try #require(SessionEngine.date(text))
        #expect(abs(back.timeIntervalSince1970 - seconds) < 0.0005)
        #expect(SessionEngine.date("2026-11-18T11:06:40Z") == Date(timeIntervalSince1970: 1_795_000_000))
        #expect(SessionEngine.date("2026-11-18 09:46:40.000Z") == nil && SessionEngine.date("garbage") == nil)
    }

    @Test("the database belongs to the device that created it; another device is refused, but may read")
    func terminalIdentity() throws {
        let directory = TestSupport.temporaryDirectory()
        let path = directory.appendingPathComponent("kassa.sqlite").path
        let first = try Till(store: SessionStore.open(path: path), identity: "aaaaaaaaaaaa1111")
        #expect(first.engine.terminalID == "T-aaaaaaaaaaaa")
        _ = try first.engine.openShift(commandID: "o1", user: "anna", countedFloat: 0)
        _ = try first.engine.finalizeSale(Till.sale("s1", [("Kaffe", "1", 350, 1200)]), user: "anna")
        #expect(throws: SessionError.wrongTerminal(database: "T-aaaaaaaaaaaa", machine: "T-bbbbbbbbbbbb")) {
            try SessionEngine(store: SessionStore.open(path: path), identity: FixedIdentity("bbbbbbbbbbbb2222"))
        }
        let reader = try SessionEngine(store: SessionStore.open(path: path), identity: FixedIdentity("bbbbbbbbbbbb2222"), readOnly: true)
        #expect(try reader.receipt(number: 1).lines.first?.name == "Kaffe")
        // A new device starts its own series in its own database.
        let other = try Till(store: SessionStore.open(path: directory.appendingPathComponent("other.sqlite").path), identity: "bbbbbbbbbbbb2222")
        #expect(try other.engine.counters().receiptNumber == 0)
    }

    @Test("a day: float, sales in cash and card with change, cash in and out, a second cashier, X, close with a Z")
    func day() throws {
        let till = try Till()
        let engine = till.engine
        let shift = try engine.openShift(commandID: "open-1", user: "anna", countedFloat: 50_000)
        #expect(shift.openingExpected == 0 && shift.openingCounted == 50_000)
        let first = try engine.finalizeSale(Till.sale("s1", [("Kaffe", "2", 3500, 1200), ("Bulle", "1", 2900, 1200)],
                                                       pay: [("cash", 20_000)]), user: "anna")
        #expect(first.number == 1 && first.total == 9900 && first.change == 10_100 && first.zPeriod == 1)
        #expect(first.vatLines == [ReceiptRecord.VATLine(rate: VATRate(basisPoints: 1200), gross: 9900, vat: 1061)])
        _ = try engine.continueShift(user: "olle")
        let second = try engine.finalizeSale(Till.sale("s2", [("Ost", "0.456", 29_900, 1200), ("Vin", "1", 12_900, 2500)],
                                                        pay: [("card", 26_534)]), user: "olle")
        #expect(second.number == 2 && second.total == 13_634 + 12_900)
        #expect(second.grandTotalSales == 9900 + 26_534)
        _ = try engine.cashMovement(commandID: "in-1", user: "anna", type: "in", amount: 10_000, reason: "change from bank")
        _ = try engine.cashMovement(commandID: "out-1", user: "anna", type: "out", amount: 5_000, reason: "flowers")
        let x = try engine.xReport(user: "anna")
        #expect(x.kind == "X" && x.zNumber == nil)
        #expect(x.sales == ShiftReport.Amount(count: 2, amount: 36_434))
        #expect(x.expectedCash == 50_000 + 20_000 - 10_100 + 10_000 - 5_000)
        #expect(x.payments.map(\.name) == ["card", "cash"])
        #expect(Set(x.cashiers.map(\.name)) == ["anna", "olle"])
        #expect(x.firstReceipt == 1 && x.lastReceipt == 2 && x.receiptCount == 2)
        #expect(x.vat.map(\.rate.basisPoints) == [1200, 2500])
        // X resets nothing.
        #expect(try engine.xReport(user: "anna") .sales == x.sales)
        let z = try engine.closeShift(commandID: "close-1", user: "anna", countedCash: 64_900, cashLeft: 50_000)
        #expect(z.kind == "Z" && z.zNumber == 1 && z.difference == 0 && z.cashLeft == 50_000)
        // The next shift expects the float that was left.
        let next = try engine.openShift(commandID: "open-2", user: "olle", countedFloat: 49_500)
        #expect(next.openingExpected == 50_000 && next.openingCounted == 49_500)
        let third = try engine.finalizeSale(Till.sale("s3", [("Kaffe", "1", 3500, 1200)]), user: "olle")
        #expect(third.number == 3 && third.zPeriod == 2)
        let z2 = try engine.closeShift(commandID: "close-2", user: "olle", countedCash: 53_000, cashLeft: 0)
        #expect(z2.zNumber == 2 && z2.grandTotalSales == 36_434 + 3500)
        // A shift with no sales still takes exactly one Z number.
        _ = try engine.openShift(commandID: "open-3", user: "olle", countedFloat: 0)
        #expect(try engine.closeShift(commandID: "close-3", user: "olle", countedCash: 0, cashLeft: 0).zNumber == 3)
    }

    @Test("replaying a command returns the stored result and makes nothing twice")
    func replay() throws {
        let engine = try Till().engine
        _ = try engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        let sale = Till.sale("sale-uuid", [("Kaffe", "1", 350, 1200)])
        let once = try engine.finalizeSale(sale, user: "anna")
        let again = try engine.finalizeSale(sale, user: "anna")
        // The same receipt, marked as a replay (nothing prints or opens the drawer for it again).
        var replayed = once
        replayed.replayed = true
        #expect(again == replayed && once.replayed == nil)
        #expect(try engine.counters().receiptNumber == 1)
        _ = try engine.cashMovement(commandID: "c", user: "anna", type: "in", amount: 100, reason: nil)
        _ = try engine.cashMovement(commandID: "c", user: "anna", type: "in", amount: 100, reason: nil)
        #expect(try engine.xReport(user: "anna").cashIn == ShiftReport.Amount(count: 1, amount: 100))
        // Double close: the same command returns the same Z; a new one finds no open shift.
        let z = try engine.closeShift(commandID: "close", user: "anna", countedCash: 450, cashLeft: 0)
        #expect(try engine.closeShift(commandID: "close", user: "anna", countedCash: 450, cashLeft: 0) == z)
        #expect(throws: SessionError.noOpenSession) {
            try engine.closeShift(commandID: "close-again", user: "anna", countedCash: 450, cashLeft: 0)
        }
        #expect(try engine.counters().zNumber == 1)
    }

    @Test("one active shift per terminal; a sale for a closed shift is refused with the current shift's id")
    func shiftRules() throws {
        let engine = try Till().engine
        let first = try engine.openShift(commandID: "o1", user: "anna", countedFloat: 0)
        #expect(throws: SessionError.sessionAlreadyOpen(id: first.id, openedBy: "anna")) {
            try engine.openShift(commandID: "o2", user: "olle", countedFloat: 0)
        }
        _ = try engine.closeShift(commandID: "c1", user: "anna", countedCash: 0, cashLeft: 0)
        let second = try engine.openShift(commandID: "o3", user: "olle", countedFloat: 0)
        var late = Till.sale("late", [("Kaffe", "1", 350, 1200)])
        late.session = first.id
        #expect(throws: SessionError.sessionClosed(id: first.id, current: second.id)) {
            try engine.finalizeSale(late, user: "anna")
        }
        #expect(try engine.counters().receiptNumber == 0)
    }

    @Test("a force close while another cashier sells: later sales to that shift are refused, nothing added to its Z")
    func forceClose() throws {
        let engine = try Till().engine
        let shift = try engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        _ = try engine.finalizeSale(Till.sale("a1", [("Kaffe", "1", 350, 1200)]), user: "anna")
        #expect(throws: SessionError.permissionDenied(user: "olle", permission: .sessionForceClose)) {
            try engine.closeShift(commandID: "f0", user: "olle", countedCash: nil, cashLeft: nil, force: true)
        }
        let z = try engine.closeShift(commandID: "f1", user: "maria", countedCash: 350, cashLeft: 0, force: true)
        #expect(z.forceClosed && z.closedBy == "maria" && z.sales.amount == 350)
        var stale = Till.sale("a2", [("Bulle", "1", 290, 1200)])
        stale.session = shift.id
        #expect(throws: SessionError.sessionClosed(id: shift.id, current: nil)) { try engine.finalizeSale(stale, user: "anna") }
        #expect(try engine.zReport(number: 1, user: "maria").sales.amount == 350)
    }

    @Test("a late fact for a closed shift lands in one visible rescue shift that a manager closes with its own Z")
    func rescueShift() throws {
        let engine = try Till().engine
        let first = try engine.openShift(commandID: "o1", user: "anna", countedFloat: 0)
        _ = try engine.finalizeSale(Till.sale("s1", [("Kaffe", "1", 350, 1200)]), user: "anna")
        let z1 = try engine.closeShift(commandID: "c1", user: "anna", countedCash: 350, cashLeft: 0)
        // The fiscal printer already printed these two while Kassa was unreachable; no shift is open now.
        var late = Till.sale("late-1", [("Bulle", "1", 290, 1200)])
        late.session = first.id
        late.late = true
        let one = try engine.finalizeSale(late, user: "anna")
        var second = Till.sale("late-2", [("Kaffe", "2", 350, 1200)])
        second.session = first.id
        second.late = true
        let two = try engine.finalizeSale(second, user: "olle")
        let rescue = try #require(try engine.openRescueShift())
        #expect(one.session == rescue.id && two.session == rescue.id && rescue.isRescue && rescue.rescueFor == first.id)
        #expect(one.number == 2 && two.number == 3 && one.originSession == first.id)
        #expect(try engine.receipt(number: 2).originSession == first.id)
        // The closed Z is untouched, and a normal shift can open beside the rescue shift.
        #expect(try engine.zReport(number: z1.zNumber!, user: "maria").sales.amount == 350)
        let next = try engine.openShift(commandID: "o2", user: "anna", countedFloat: 0)
        #expect(next.openingExpected == 0)
        #expect(try engine.currentShift()?.id == next.id)
        #expect(try engine.finalizeSale(Till.sale("s2", [("Kaffe", "1", 350, 1200)]), user: "anna").session == next.id)
        // Only a manager closes it; no drawer count; its Z holds exactly the late receipts.
        #expect(throws: SessionError.permissionDenied(user: "anna", permission: .sessionForceClose)) {
            try engine.closeShift(commandID: "r0", user: "anna", countedCash: nil, cashLeft: nil, rescue: true)
        }
        let rescueZ = try engine.closeShift(commandID: "r1", user: "maria", countedCash: 999, cashLeft: 999, rescue: true)
        #expect(rescueZ.session == rescue.id && rescueZ.sales.amount == 990 && rescueZ.countedCash == nil && rescueZ.zNumber == 2)
        #expect(rescueZ.isRescue && rescueZ.firstReceipt == 2 && rescueZ.lastReceipt == 3)
        #expect(try engine.openRescueShift() == nil)
        #expect(try engine.currentShift()?.id == next.id)
        #expect(throws: SessionError.notFound("An open rescue shift")) {
            try engine.closeShift(commandID: "r2", user: "maria", countedCash: nil, cashLeft: nil, rescue: true)
        }
        // Without `late`, a sale for a closed shift is still refused.
        var refused = Till.sale("late-3", [("Kaffe", "1", 350, 1200)])
        refused.session = first.id
        #expect(throws: SessionError.sessionClosed(id: first.id, current: next.id)) { try engine.finalizeSale(refused, user: "anna") }
    }

    @Test("the drawer counted by denomination at opening and closing: checked, totalled and kept")
    func countByDenomination() throws {
        let engine = try Till().engine
        #expect(throws: SessionError.self) {  // 300 is not a Swedish note or coin
            try engine.openShift(commandID: "o0", user: "anna", countedFloat: nil, count: [DenominationCount(denomination: 300, quantity: 1)])
        }
        #expect(throws: SessionError.invalid("The count by denomination makes 20500, but the total given is 20000.")) {
            try engine.openShift(commandID: "o1", user: "anna", countedFloat: 20000,
                                 count: [DenominationCount(denomination: 10000, quantity: 2), DenominationCount(denomination: 500, quantity: 1)])
        }
        let shift = try engine.openShift(commandID: "o2", user: "anna", countedFloat: nil,
                                         count: [DenominationCount(denomination: 10000, quantity: 2), DenominationCount(denomination: 100, quantity: 5)])
        #expect(shift.openingCounted == 20500)
        _ = try engine.finalizeSale(Till.sale("s", [("Kaffe", "1", 3500, 1200)]), user: "anna")
        let z = try engine.closeShift(commandID: "c", user: "anna", countedCash: nil, cashLeft: 20000,
                                      count: [DenominationCount(denomination: 20000, quantity: 1), DenominationCount(denomination: 2000, quantity: 2)])
        #expect(z.countedCash == 24000 && z.difference == 0)
        #expect(z.openingCount.map(\.quantity) == [2, 5])
        #expect(z.closingCount == [DenominationCount(denomination: 20000, quantity: 1), DenominationCount(denomination: 2000, quantity: 2)])
        #expect(try engine.cashCount(session: shift.id, phase: "open") == [DenominationCount(denomination: 10000, quantity: 2),
                                                                        DenominationCount(denomination: 100, quantity: 5)])
        #expect(try engine.cashCount(session: shift.id, phase: "close").map(\.denomination) == [20000, 2000])
    }

    @Test("shift states: opening until the float is counted, closing stops sales, resume, cancel, post")
    func shiftStates() throws {
        let engine = try Till().engine
        let opening = try engine.openShift(commandID: "o1", user: "anna", countedFloat: nil)
        #expect(opening.state == "opening")
        #expect(throws: SessionError.shiftState(id: opening.id, state: "opening", wanted: "open")) {
            try engine.finalizeSale(Till.sale("s0", [("Kaffe", "1", 350, 1200)]), user: "anna")
        }
        #expect(throws: SessionError.sessionAlreadyOpen(id: opening.id, openedBy: "anna")) {
            try engine.openShift(commandID: "o2", user: "olle", countedFloat: 100)
        }
        _ = try engine.cancelOpening(commandID: "x1", user: "anna")
        #expect(try engine.currentShift() == nil)
        let second = try engine.openShift(commandID: "o3", user: "anna", countedFloat: nil)
        let open = try engine.confirmOpening(commandID: "k1", user: "anna", countedFloat: 500)
        #expect(open.id == second.id && open.state == "open" && open.openingCounted == 500)
        _ = try engine.finalizeSale(Till.sale("s1", [("Kaffe", "1", 350, 1200)]), user: "anna")
        let closing = try engine.startClose(commandID: "sc1", user: "anna")
        #expect(closing.state == "closing")
        #expect(throws: SessionError.shiftState(id: second.id, state: "closing", wanted: "open")) {
            try engine.finalizeSale(Till.sale("s2", [("Kaffe", "1", 350, 1200)]), user: "olle")
        }
        #expect(try engine.xReport(user: "anna").sales.amount == 350)  // an X report while counting
        _ = try engine.resumeShift(commandID: "r1", user: "anna")
        _ = try engine.finalizeSale(Till.sale("s3", [("Bulle", "1", 290, 1200)]), user: "anna")
        _ = try engine.startClose(commandID: "sc2", user: "anna")
        let z = try engine.closeShift(commandID: "c1", user: "anna", countedCash: 1140, cashLeft: 500)
        #expect(z.sales.amount == 640 && z.difference == 0)
        #expect(throws: SessionError.permissionDenied(user: "anna", permission: .reportZ)) {
            try engine.postShift(commandID: "p0", user: "anna", zNumber: z.zNumber!)
        }
        #expect(try engine.postShift(commandID: "p1", user: "maria", zNumber: z.zNumber!).state == "posted")
        #expect(throws: SessionError.self) { try engine.postShift(commandID: "p2", user: "maria", zNumber: z.zNumber!) }
        // The next shift expects the float a posted shift left.
        #expect(try engine.openShift(commandID: "o4", user: "anna", countedFloat: 500).openingExpected == 500)
        // A closed or posted shift cannot be changed, even by hand.
        #expect(throws: (any Error).self) {
            try engine.store.writer.write { try $0.execute(sql: "UPDATE pos_session SET counted_cash = 0 WHERE id = ?", arguments: [second.id]) }
        }
    }

    @Test("cached settings and permissions follow a change made by another process at once")
    func configCacheFollowsOtherProcess() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kassa-cache-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try Till(store: SessionStore.open(path: folder + "/kassa.sqlite")).engine
        let second = try Till(store: SessionStore.open(path: folder + "/kassa.sqlite")).engine
        _ = try first.openShift(commandID: "o", user: "anna", countedFloat: 0)
        var training = Till.sale("t1", [("Kaffe", "1", 350, 1200)], training: true)
        #expect(try first.finalizeSale(training, user: "anna").kind == "training")
        // Another process (the second engine's connection) takes training mode from cashiers: the first engine sees it.
        try second.store.writer.write { try $0.execute(sql: "DELETE FROM role_permission WHERE role = 'cashier' AND permission = 'receipt.training'") }
        training.id = "t2"
        #expect(throws: SessionError.permissionDenied(user: "anna", permission: .training)) { try first.finalizeSale(training, user: "anna") }
        try second.store.writer.write { try $0.execute(sql: "INSERT INTO role_permission (role, permission) VALUES ('cashier', 'receipt.training')") }
        #expect(try first.finalizeSale(training, user: "anna").kind == "training")
        // A settings change by the other engine applies to the next sale here: VAT per receipt instead of per line.
        _ = try first.finalizeSale(Till.sale("s1", [("A", "1", 103, 2500), ("B", "1", 103, 2500)]), user: "anna")
        try second.setSetting("vat-rounding", "receipt", by: "maria")
        let perReceipt = try first.finalizeSale(Till.sale("s2", [("A", "1", 103, 2500), ("B", "1", 103, 2500)]), user: "anna")
        #expect(perReceipt.vatTotal == VATRate(basisPoints: 2500).vat(inGross: 206) && perReceipt.vatTotal == 41)
    }

    @Test("migrating a v5 database to the lean v6 tables keeps receipts, lines, payments, totals and counters, and the rules")
    func migrationToLeanReceipts() throws {
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue, upTo: "v5-shift-states")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO terminal (id, machine, currency, created_at) VALUES ('T-1', 'm', 'SEK', '2026-01-01T00:00:00.000Z');
                INSERT INTO terminal_counter (terminal_id, key, value) VALUES ('T-1', 'receipt_no', 1), ('T-1', 'training_no', 0),
                  ('T-1', 'z_no', 0), ('T-1', 'session_seq', 1), ('T-1', 'gt_sales', 700), ('T-1', 'gt_returns', 0);
                INSERT INTO pos_session (id, terminal_id, session_seq, state, business_date, opened_by, opened_at, opening_expected)
                  VALUES ('T-1-S1', 'T-1', 1, 'open', '2026-01-01', 'anna', '2026-01-01T08:00:00.000Z', 0);
                INSERT INTO receipt (id, terminal_id, session_id, kind, receipt_no, z_period, cashier, created_at, business_date, total,
                  vat_total, discount_total, change_given, grand_total_sales, grand_total_returns, currency)
                  VALUES ('r1', 'T-1', 'T-1-S1', 'sale', 1, 1, 'anna', '2026-01-01T09:00:00.000Z', '2026-01-01', 700, 75, 0, 0, 700, 0, 'SEK');
                INSERT INTO receipt_line (receipt_id, line_no, name, quantity_milli, unit_price, list_price, discount, amount, vat_rate_bp,
                  vat_amount) VALUES ('r1', 1, 'Kaffe', 2000, 350, 350, 0, 700, 1200, 75);
                INSERT INTO payment (receipt_id, seq, method, amount) VALUES ('r1', 1, 'cash', 700);
                INSERT INTO session_total (session_id, key, count, amount) VALUES ('T-1-S1', 'sales', 1, 700);
                """)
        }
        try Schema.migrator.migrate(queue)
        try queue.read { db in
            let counters = try #require(try Row.fetchOne(db, sql: "SELECT * FROM terminal_counters WHERE terminal_id = 'T-1'"))
            #expect(counters["receipt_no"] as Int64 == 1 && counters["session_seq"] as Int64 == 1 && counters["gt_sales"] as Int64 == 700)
            #expect(counters["config_rev"] as Int64 == 0)
            #expect(try Int.fetchOne(db, sql: "SELECT total FROM receipt WHERE id = 'r1'") == 700)
            #expect(try Int.fetchOne(db, sql: "SELECT amount FROM receipt_line WHERE receipt_id = 'r1' AND line_no = 1") == 700)
            #expect(try Int.fetchOne(db, sql: "SELECT amount FROM payment WHERE receipt_id = 'r1'") == 700)
            #expect(try Int.fetchOne(db, sql: "SELECT amount FROM session_total WHERE session_id = 'T-1-S1' AND key = 'sales'") == 700)
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
            #expect(try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE name = 'receipt'")?.contains("WITHOUT ROWID") == true)
        }
        for sql in ["UPDATE receipt SET total = 1", "DELETE FROM receipt_line", "DELETE FROM payment", "UPDATE terminal_counters SET gt_sales = 0",
                    "DELETE FROM terminal_counters"] {
            #expect(throws: (any Error).self, "\(sql)") { try queue.write { try $0.execute(sql: sql) } }
        }
        // A settings change moves the configuration revision that the engine's cache is keyed by.
        try queue.write { try $0.execute(sql: "INSERT INTO setting (key, value) VALUES ('parking', 'off')") }
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT config_rev FROM terminal_counters") } == 1)
    }

    @Test("migrating to the pro-forma counter: each terminal continues after its own bills, and the counter never goes back")
    func migrationToProFormaCounter() throws {
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue, upTo: "v10-journal-head-trigger")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO terminal (id, machine, currency, created_at) VALUES ('T-old', 'a', 'SEK', '2026-01-01T00:00:00.000Z'),
                  ('T-new', 'b', 'SEK', '2026-06-01T00:00:00.000Z');
                INSERT INTO terminal_counters (terminal_id) VALUES ('T-old'), ('T-new');
                INSERT INTO processed_command (id, kind, result_json, created_at) VALUES
                  ('p1', 'proforma', '{"id":"p1","terminal":"T-old","number":1}', '2026-01-02T10:00:00.000Z'),
                  ('p2', 'proforma', '{"id":"p2","terminal":"T-old","number":2}', '2026-01-02T11:00:00.000Z'),
                  ('p3', 'proforma', '{"id":"p3","terminal":"T-new","number":3}', '2026-06-02T10:00:00.000Z'),
                  ('s1', 'sale', '{"id":"s1","terminal":"T-new"}', '2026-06-02T10:05:00.000Z');
                """)
        }
        try Schema.migrator.migrate(queue)
        let counters = try queue.read { try Dictionary(uniqueKeysWithValues: Row.fetchAll($0, sql: "SELECT terminal_id, proforma_no FROM terminal_counters")
            .map { ($0[0] as String, $0[1] as Int64) }) }
        #expect(counters == ["T-old": 2, "T-new": 1])
        #expect(throws: (any Error).self) { try queue.write { try $0.execute(sql: "UPDATE terminal_counters SET proforma_no = 0 WHERE terminal_id = 'T-old'") } }
    }

    @Test("migrating a v4 database with closed shifts to the v5 state machine keeps every row and the rules")
    func migrationToShiftStates() throws {
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue, upTo: "v4-cash-counts")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO terminal (id, machine, currency, created_at) VALUES ('T-1', 'm', 'SEK', '2026-01-01T00:00:00.000Z');
                INSERT INTO pos_session (id, terminal_id, session_seq, state, business_date, opened_by, opened_at, opening_expected,
                  closed_at, z_no, counted_cash) VALUES ('T-1-S1', 'T-1', 1, 'open', '2026-01-01', 'anna', '2026-01-01T08:00:00.000Z', 0,
                  NULL, NULL, NULL);
                INSERT INTO session_total (session_id, key, count, amount) VALUES ('T-1-S1', 'sales', 1, 350);
                UPDATE pos_session SET state = 'closed', closed_at = '2026-01-01T18:00:00.000Z', z_no = 1, counted_cash = 350 WHERE id = 'T-1-S1';
                """)
        }
        try Schema.migrator.migrate(queue)
        try queue.read { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT state, z_no, counted_cash FROM pos_session WHERE id = 'T-1-S1'"))
            #expect(row["state"] as String == "closed" && row["z_no"] as Int64 == 1 && row["counted_cash"] as Int64 == 350)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM session_total WHERE session_id = 'T-1-S1'") == 1)
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
        }
        #expect(throws: (any Error).self) {
            try queue.write { try $0.execute(sql: "UPDATE pos_session SET counted_cash = 0 WHERE id = 'T-1-S1'") }
        }
        #expect(throws: (any Error).self) { try queue.write { try $0.execute(sql: "DELETE FROM pos_session") } }
    }

    @Test("a cash difference over the limit needs a manager's approval")
    func difference() throws {
        let engine = try Till().engine
        _ = try engine.openShift(commandID: "o", user: "anna", countedFloat: 10_000)
        #expect(throws: SessionError.differenceNeedsApproval(difference: -2_000, limit: 500)) {
            try engine.closeShift(commandID: "c", user: "anna", countedCash: 8_000, cashLeft: 0)
        }
        #expect(throws: SessionError.permissionDenied(user: "olle", permission: .cashApproveDifference)) {
            try engine.closeShift(commandID: "c2", user: "anna", countedCash: 8_000, cashLeft: 0, approvedBy: "olle")
        }
        let z = try engine.closeShift(commandID: "c3", user: "anna", countedCash: 8_000, cashLeft: 0, approvedBy: "maria")
        #expect(z.difference == -2_000 && z.differenceApprovedBy == "maria")
    }

    @Test("a cash-out beyond the expected drawer is allowed but flagged; a mistaken movement is reversed by a new row, once, in its own shift")
    func cashOutBeyondExpectedAndReversal() throws {
        let till = try Till()
        let engine = till.engine
        _ = try engine.openShift(commandID: "o", user: "anna", countedFloat: 1_000)
        let cashIn = try engine.cashMovement(commandID: "in1", user: "anna", type: "in", amount: 500, reason: "change from the bank")
        #expect(cashIn.expectedCashAfter == 1_500 && cashIn.exceedsExpected == false)
        // More out than the drawer should hold: recorded (the count decides), expected goes negative, flagged.
        let out = try engine.cashMovement(commandID: "out1", user: "anna", type: "out", amount: 2_000, reason: nil)
        #expect(out.expectedCashAfter == -500 && out.exceedsExpected == true)
        // The mistake is reversed: a new movement of the opposite type that names it; the original row stays.
        let reversal = try engine.reverseCashMovement(commandID: "rev1", user: "anna", movement: "out1", reason: "typed 2000 for 200")
        #expect(reversal.type == "in" && reversal.amount == 2_000 && reversal.reverses == "out1" && reversal.expectedCashAfter == 1_500)
        #expect(reversal.reason == "reversal of out1: typed 2000 for 200")
        // Replayed, it returns the same result and reverses nothing twice.
        #expect(try engine.reverseCashMovement(commandID: "rev1", user: "anna", movement: "out1", reason: "typed 2000 for 200") == reversal)
        // The same id with other content is refused, naming what differs.
        #expect(throws: SessionError.idempotencyConflict(id: "rev1", fields: ["reason"])) {
            try engine.reverseCashMovement(commandID: "rev1", user: "anna", movement: "out1", reason: nil)
        }
        #expect(throws: SessionError.invalid("Movement out1 was already reversed by rev1.")) {
            try engine.reverseCashMovement(commandID: "rev2", user: "anna", movement: "out1", reason: nil)
        }
        #expect(throws: SessionError.invalid("Movement rev1 is itself the reversal of out1; record a new cash movement instead.")) {
            try engine.reverseCashMovement(commandID: "rev3", user: "anna", movement: "rev1", reason: nil)
        }
        _ = try engine.cashMovement(commandID: "drawer", user: "sven", type: "no_sale", amount: 0, reason: nil)
        #expect(throws: SessionError.invalid("Movement drawer opened the drawer without a sale and moved no cash; there is nothing to reverse.")) {
            try engine.reverseCashMovement(commandID: "rev4", user: "anna", movement: "drawer", reason: nil)
        }
        #expect(throws: SessionError.notFound("Cash movement nope")) {
            try engine.reverseCashMovement(commandID: "rev5", user: "anna", movement: "nope", reason: nil)
        }
        // The database keeps both rows as they were written; the original cannot be edited away instead.
        try engine.store.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, type, amount, reverses FROM cash_movement WHERE id IN ('out1', 'rev1') ORDER BY id")
            #expect(rows.map { "\($0["id"] as String) \($0["type"] as String) \($0["amount"] as Int64) \(($0["reverses"] as String?) ?? "-")" }
                    == ["out1 out 2000 -", "rev1 in 2000 out1"])
        }
        #expect(throws: DatabaseError.self) {
            try engine.store.writer.write { try $0.execute(sql: "UPDATE cash_movement SET amount = 200 WHERE id = 'out1'") }
        }
        // The X report shows the ledger as it happened, the reversal counted, and the right expected cash.
        let x = try engine.xReport(user: "sven")
        #expect(x.cashIn == .init(count: 2, amount: 2_500) && x.cashOut == .init(count: 1, amount: 2_000))
        #expect(x.cashReversals == .init(count: 1, amount: 2_000) && x.expectedCash == 1_500)
        // A closed shift's movements are final with its Z.
        _ = try engine.closeShift(commandID: "c", user: "anna", countedCash: 1_500, cashLeft: 1_500)
        _ = try engine.openShift(commandID: "o2", user: "anna", countedFloat: 1_500)
        #expect(throws: SessionError.invalid("Movement in1 belongs to shift \(x.session), whose Z is final; if cash moved in this shift, record it with cash-in or cash-out.")) {
            try engine.reverseCashMovement(commandID: "rev6", user: "anna", movement: "in1", reason: nil)
        }
        #expect(try engine.xReport(user: "sven").cashReversals == nil)
        #expect(try engine.verifyJournal().ok)
    }

    @Test("a shift open too long is warned about, selling goes on; too many closed shifts waiting to be posted block a new one")
    func forgottenCloseAndUnpostedShifts() throws {
        let till = try Till()
        let engine = till.engine
        _ = try engine.openShift(commandID: "o1", user: "anna", countedFloat: 0)
        till.clock.advance(23 * 3600)
        #expect(try engine.shiftOpenTooLong() == nil)
        till.clock.advance(2 * 3600)
        let long = try #require(try engine.shiftOpenTooLong())
        #expect(long.openedBy == "anna" && long.limit == 24 && (25...25.01).contains(long.hours))
        _ = try engine.finalizeSale(Till.sale("s1", [("Kaffe", "1", 350, 1200)]), user: "anna")
        try engine.setSetting("warn-open-hours", "48", by: "maria")
        #expect(try engine.shiftOpenTooLong() == nil)
        try engine.setSetting("warn-open-hours", "off", by: "maria")
        till.clock.advance(100 * 3600)
        #expect(try engine.shiftOpenTooLong() == nil)
        #expect(throws: SessionError.invalid("warn-open-hours is a number of hours from 1 to 720, or off.")) {
            try engine.setSetting("warn-open-hours", "0", by: "maria")
        }
        #expect(throws: SessionError.invalid("max-unposted-shifts is a whole number of at least 1, or unlimited.")) {
            try engine.setSetting("max-unposted-shifts", "-1", by: "maria")
        }
        // At most two closed shifts may wait for posting.
        try engine.setSetting("max-unposted-shifts", "2", by: "maria")
        _ = try engine.closeShift(commandID: "c1", user: "anna", countedCash: 350, cashLeft: 0)
        _ = try engine.openShift(commandID: "o2", user: "anna", countedFloat: 0)
        _ = try engine.closeShift(commandID: "c2", user: "anna", countedCash: 0, cashLeft: 0)
        #expect(throws: SessionError.unpostedShifts(count: 2, limit: 2, oldestZ: 1)) {
            try engine.openShift(commandID: "o3", user: "anna", countedFloat: 0)
        }
        #expect(try engine.currentShift() == nil)
        _ = try engine.postShift(commandID: "p1", user: "maria", zNumber: 1)
        let third = try engine.openShift(commandID: "o3", user: "anna", countedFloat: 0)
        #expect(third.state == "open" && third.sequence == 3)
        try engine.setSetting("max-unposted-shifts", "unlimited", by: "maria")
        #expect(try engine.settings().maxUnpostedShifts == nil)
    }

    @Test("refunds reference the original and never return more than was sold")
    func refunds() throws {
        let engine = try Till().engine
        _ = try engine.openShift(commandID: "o", user: "sven", countedFloat: 0)
        let sale = try engine.finalizeSale(Till.sale("s", [("Kaffe", "3", 350, 1200), ("Vin", "1", 12_900, 2500)]), user: "sven")
        #expect(throws: SessionError.permissionDenied(user: "anna", permission: .refund)) {
            try engine.refund(RefundRequest(id: "r0", receiptNumber: sale.number, lines: [.init(line: 1, quantity: MilliQuantity(milli: 1000))]), user: "anna")
        }
        let refund = try engine.refund(RefundRequest(id: "r1", receiptNumber: sale.number, lines: [.init(line: 1, quantity: MilliQuantity(milli: 2000))]), user: "sven")
        #expect(refund.kind == "refund" && refund.total == -700 && refund.refundOf == sale.number && refund.number == 2)
        #expect(refund.grandTotalReturns == 700)
        #expect(throws: SessionError.refundExceedsSale(line: 1, sold: 3000, alreadyReturned: 2000, requested: 2000)) {
            try engine.refund(RefundRequest(id: "r2", receiptNumber: sale.number, lines: [.init(line: 1, quantity: MilliQuantity(milli: 2000))]), user: "sven")
        }
        let x = try engine.xReport(user: "sven")
        #expect(x.returns.amount == 700 && x.expectedCash == sale.total - 700)
    }

    @Test("training receipts have their own series and stay out of the grand totals")
    func training() throws {
        let engine = try Till().engine
        _ = try engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        let real = try engine.finalizeSale(Till.sale("s1", [("Kaffe", "1", 350, 1200)]), user: "anna")
        let practice = try engine.finalizeSale(Till.sale("t1", [("Kaffe", "1", 350, 1200)], training: true), user: "anna")
        let real2 = try engine.finalizeSale(Till.sale("s2", [("Kaffe", "1", 350, 1200)]), user: "anna")
        #expect(real.number == 1 && practice.number == 1 && practice.kind == "training" && real2.number == 2)
        #expect(try engine.counters().grandTotalSales == 700)
        #expect(try engine.xReport(user: "anna").training == ShiftReport.Amount(count: 1, amount: 350))
    }

    @Test("one copy per receipt, counted in the report")
    func copies() throws {
        let engine = try Till().engine
        _ = try engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        _ = try engine.finalizeSale(Till.sale("s1", [("Kaffe", "1", 350, 1200)]), user: "anna")
        let copy = try engine.copy(number: 1, user: "anna")
        #expect(copy.isCopy && copy.number == 1)
        #expect(throws: SessionError.copyAlreadyPrinted(receiptNumber: 1)) { try engine.copy(number: 1, user: "anna") }
        #expect(try engine.xReport(user: "anna").copies == ShiftReport.Amount(count: 1, amount: 350))
    }

    @Test("fiscal rows are append-only: UPDATE and DELETE are refused by the database")
    func appendOnly() throws {
        let engine = try Till().engine
        _ = try engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        _ = try engine.finalizeSale(Till.sale("s1", [("Kaffe", "1", 350, 1200)]), user: "anna")
        for sql in ["UPDATE receipt SET total = 1", "DELETE FROM receipt", "UPDATE receipt_line SET amount = 0", "DELETE FROM payment",
                    "UPDATE terminal_counters SET receipt_no = 0"] {
            #expect(throws: (any Error).self, "\(sql)") {
                try engine.store.writer.write { try $0.execute(sql: sql) }
            }
        }
        _ = try engine.closeShift(commandID: "c", user: "anna", countedCash: 350, cashLeft: 0)
        #expect(throws: (any Error).self) {
            try engine.store.writer.write { try $0.execute(sql: "UPDATE pos_session SET counted_cash = 0") }
        }
    }

    @Test("discounts, price overrides and negative lines need their permissions; VAT rounding per line or per receipt")
    func linesAndVAT() throws {
        let engine = try Till().engine
        _ = try engine.openShift(commandID: "o", user: "sven", countedFloat: 0)
        var discounted = Till.sale("d", [("Kaffe", "2", 3500, 1200)])
        discounted.lines[0].discount = DiscountRequest(percent: Percent(basisPoints: 1000), reason: "staff")
        let receipt = try engine.finalizeSale(discounted, user: "sven")
        #expect(receipt.lines[0].discount == 700 && receipt.total == 6300 && receipt.discountTotal == 700)
        var override = Till.sale("p", [("Kaffe", "1", 3500, 1200)])
        override.lines[0].priceOverride = .init(price: 3000, reason: "damaged cup")
        #expect(throws: SessionError.permissionDenied(user: "anna", permission: .priceOverride)) { try engine.finalizeSale(override, user: "anna") }
        #expect(try engine.finalizeSale(override, user: "sven").total == 3000)
        // Three lines of 1.01 at 25%: per line 0.20 each = 0.60; per receipt 3.03 → 0.61.
        let lines = Till.sale("v1", [("A", "1", 101, 2500), ("B", "1", 101, 2500), ("C", "1", 101, 2500)])
        #expect(try engine.finalizeSale(lines, user: "sven").vatTotal == 60)
        try engine.setSetting("vat-rounding", "receipt", by: "maria")
        var again = lines
        again.id = "v2"
        #expect(try engine.finalizeSale(again, user: "sven").vatTotal == 61)
    }

    @Test("the business date is fixed when the shift opens, across midnight and a DST change")
    func businessDate() throws {
        let till = try Till()
        try till.engine.setSetting("time-zone", "Europe/Stockholm", by: "maria")
        // 2026-10-24 23:30 in Stockholm (CEST, UTC+2) is 21:30 UTC; DST ends the next night.
        till.clock.set(ISO8601DateFormatter().date(from: "2026-10-24T21:30:00Z")!)
        let shift = try till.engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        #expect(shift.businessDate == "2026-10-24")
        till.clock.set(ISO8601DateFormatter().date(from: "2026-10-25T02:30:00Z")!)  // 03:30 CET, after the change
        let sale = try till.engine.finalizeSale(Till.sale("s", [("Kaffe", "1", 350, 1200)]), user: "anna")
        #expect(sale.businessDate == "2026-10-24")
        _ = try till.engine.closeShift(commandID: "c", user: "anna", countedCash: 350, cashLeft: 0)
        let next = try till.engine.openShift(commandID: "o2", user: "anna", countedFloat: 0)
        #expect(next.businessDate == "2026-10-25")
    }

    @Test("a clock that goes back: seen by any engine on the database, before and after facts stamped with it; numbers and order follow the counters, and the journal verifies")
    func clockGoingBack() throws {
        let store = try SessionStore.inMemory()
        let till = try Till(store: store)
        #expect(try till.engine.clockBehind() == nil)
        _ = try till.engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        let first = try till.engine.finalizeSale(Till.sale("s1", [("Kaffe", "1", 350, 1200)]), user: "anna")
        // Within the tolerance (an NTP step) it is not called behind.
        till.clock.advance(-Double(SessionEngine.clockTolerance) / 2)
        #expect(try till.engine.clockBehind() == nil)
        // The RTC lost an hour.
        till.clock.advance(-3_600)
        let behind = try #require(try till.engine.clockBehind())
        #expect(behind.lastRecorded == first.createdAt && (3_600...3_601).contains(behind.seconds))
        let second = try till.engine.finalizeSale(Till.sale("s2", [("Bulle", "1", 290, 1200)]), user: "anna")
        #expect(second.number == first.number + 1 && second.createdAt < first.createdAt)
        // The latest recorded time stays the latest, so the clock is still behind after the sale it stamped.
        #expect(try till.engine.clockBehind()?.lastRecorded == first.createdAt)
        // A new engine on the same database (the next CLI command) sees it from the counters row.
        let restarted = try SessionEngine(store: store, identity: FixedIdentity("0123456789abcdef0123456789abcdef"), clock: till.clock,
                                          fiscalModule: SoftwareFiscalModule.ephemeral())
        #expect(try restarted.clockBehind()?.lastRecorded == first.createdAt)
        // Order is by number, never by time: receipt 2 follows receipt 1 in the Z, and the journal verifies.
        let report = try till.engine.closeShift(commandID: "c", user: "anna", countedCash: 640, cashLeft: 0)
        #expect(report.firstReceipt == first.number && report.lastReceipt == second.number && report.receiptCount == 2)
        #expect(try till.engine.receipt(number: 2).id == "s2")
        #expect(try till.engine.verifyJournal().ok)
        // Once the clock is set right again, nothing is behind.
        till.clock.advance(3_700)
        #expect(try till.engine.clockBehind() == nil && restarted.clockBehind() == nil)
    }
}

@Suite("Permissions matrix")
struct PermissionMatrixTests {
    /// role × operation → allowed?
    static let cases: [(role: String, operation: String, allowed: Bool)] = [
        ("cashier", "open", true), ("supervisor", "open", true), ("manager", "open", true),
        ("cashier", "cash-in", true), ("cashier", "refund", false), ("supervisor", "refund", true),
        ("cashier", "force-close", false), ("supervisor", "force-close", false), ("manager", "force-close", true),
        ("cashier", "report-z", false), ("supervisor", "report-z", true),
        ("cashier", "no-sale", false), ("supervisor", "no-sale", true),
        ("cashier", "settings", false), ("manager", "settings", true),
        ("cashier", "add-user", false), ("manager", "add-user", true),
    ]

    @Test(arguments: cases.indices)
    func matrix(index: Int) throws {
        let (role, operation, allowed) = Self.cases[index]
        let till = try Till()
        let engine = till.engine
        _ = try engine.addUser(id: "u", name: "U", role: role, by: "maria")
        _ = try engine.openShift(commandID: "setup-open", user: "maria", countedFloat: 0)
        _ = try engine.finalizeSale(Till.sale("setup-sale", [("Kaffe", "1", 350, 1200)]), user: "maria")
        var before = try engine.counters()
        let attempt: () throws -> Void
        switch operation {
        case "open":
            _ = try engine.closeShift(commandID: "setup-close", user: "maria", countedCash: 350, cashLeft: 0)
            before = try engine.counters()
            attempt = { _ = try engine.openShift(commandID: "x", user: "u", countedFloat: 0) }
        case "cash-in": attempt = { _ = try engine.cashMovement(commandID: "x", user: "u", type: "in", amount: 100, reason: nil) }
        case "no-sale": attempt = { _ = try engine.cashMovement(commandID: "x", user: "u", type: "no_sale", amount: 0, reason: "coins") }
        case "refund": attempt = { _ = try engine.refund(RefundRequest(id: "x", receiptNumber: 1, lines: [.init(line: 1, quantity: MilliQuantity(milli: 1000))]), user: "u") }
        case "force-close": attempt = { _ = try engine.closeShift(commandID: "x", user: "u", countedCash: 350, cashLeft: 0, force: true) }
        case "report-z": attempt = { _ = try engine.closeShift(commandID: "setup-z", user: "maria", countedCash: 350, cashLeft: 0); _ = try engine.zReport(number: 1, user: "u") }
        case "settings": attempt = { try engine.setSetting("default-float", "1000", by: "u") }
        default: attempt = { _ = try engine.addUser(id: "new", name: "New", role: "cashier", by: "u") }
        }
        if allowed {
            #expect(throws: Never.self) { try attempt() }
        } else {
            #expect(throws: SessionError.self) { try attempt() }
            if operation != "report-z" {
                #expect(try engine.counters() == before, "a denied action changes nothing")
            }
        }
    }
}
