import Foundation
import GRDB
@testable import SessionEngine
import Testing
import TestSupport

@Suite("Input bounds, checked money and integer-only columns")
struct InputLimitsTests {
    func refusal(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as SessionError {
            if case .invalid(let message) = error { return message }
            return "\(error)"
        } catch {
            return "\(error)"
        }
    }

    @Test("checked arithmetic names the field instead of trapping")
    func checked() throws {
        #expect(throws: SessionError.self) { try Checked.add(Int64.max, 1, "x") }
        #expect(throws: SessionError.self) { try Checked.subtract(Int64.min, 1, "x") }
        #expect(throws: SessionError.self) { try Checked.multiply(Int64.max / 2, 3, "x") }
        #expect(throws: SessionError.self) { try Checked.mulDiv(Int64.max, Int64.max, 1, "x") }
        #expect(try Checked.mulDiv(Int64.max, 1000, 1000, "x") == Int64.max)
        #expect(try Checked.mulDiv(-2500, 3, 2, "x") == -3750)
        #expect(try Checked.mulDiv(-5, 1, 2, "x") == -3)
        #expect(roundedDivision(Int64.max, 1) == Int64.max && roundedDivision(Int64.min, 2) == Int64.min / 2)
        #expect(VATRate(basisPoints: 2500).vat(inGross: 900_000_000_000_000_000) == 180_000_000_000_000_000)
        let message = refusal { _ = try Checked.add(Int64.max, 1, "The grand total of sales") }
        #expect(message?.hasPrefix("The grand total of sales is beyond the range") == true)
    }

    @Test("a grand total that would pass Int64 refuses the receipt and changes nothing")
    func grandTotalOverflow() throws {
        let till = try Till()
        _ = try till.engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        try till.engine.store.writer.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TRIGGER terminal_counters_never_decrease")
            try db.execute(sql: "UPDATE terminal_counters SET gt_sales = ?", arguments: [Int64.max - 10])
        }
        let message = refusal { _ = try till.engine.finalizeSale(Till.sale("s1", [("x", "1", 100, 2500)]), user: "anna") }
        #expect(message?.contains("The grand total of sales") == true, "\(message ?? "")")
        #expect(try till.engine.counters().receiptNumber == 0)
    }

    @Test("money columns take only integers: a REAL or a text is refused by the database itself")
    func integerColumns() throws {
        let till = try Till()
        _ = try till.engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        _ = try till.engine.finalizeSale(Till.sale("s1", [("x", "1", 100, 2500)]), user: "anna")
        let session = try #require(try till.engine.currentShift()).id
        for sql in [
            "INSERT INTO session_total (session_id, key, count, amount) VALUES ('\(session)', 'k', 1, 1.5)",
            "UPDATE session_total SET amount = amount + 9223372036854775807 WHERE key = 'receipts'",
            "INSERT INTO cash_movement (id, session_id, type, amount, user_id, created_at) VALUES ('m', '\(session)', 'in', '12 kr', 'anna', 'x')",
            "UPDATE terminal_counters SET gt_sales = gt_sales + 9223372036854775807",
            "UPDATE pos_session SET counted_cash = 1e30",
        ] {
            #expect(throws: (any Error).self, "\(sql)") { try till.engine.store.writer.write { try $0.execute(sql: sql) } }
        }
        // Integers and NULLs still go in.
        try till.engine.store.writer.write { try $0.execute(sql: "UPDATE pos_session SET counted_cash = NULL") }
    }

    @Test("bounds: amounts, quantities, lines, payments, names and ids")
    func bounds() throws {
        let till = try Till()
        _ = try till.engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        func sale(_ edit: (inout SaleRequest) -> Void) -> String? {
            var request = Till.sale(UUID().uuidString, [("x", "1", 100, 2500)])
            edit(&request)
            return refusal { _ = try till.engine.finalizeSale(request, user: "maria") }
        }
        #expect(sale { $0.lines[0].unitPrice = InputLimits.maxAmount } == nil)
        #expect(sale { $0.lines[0].unitPrice = InputLimits.maxAmount + 1 }?.contains("lines[0].unitPrice") == true)
        #expect(sale { $0.lines[0].quantity = MilliQuantity(milli: InputLimits.maxQuantityMilli + 1) }?.contains("lines[0].quantity") == true)
        #expect(sale { $0.lines = Array(repeating: $0.lines[0], count: InputLimits.maxLines + 1) }?.contains("at most 10000 lines") == true)
        #expect(sale { $0.payments = Array(repeating: PaymentRequest(method: "cash", amount: 1), count: 101) }?.contains("at most 100 payments") == true)
        #expect(sale { $0.lines[0].name = String(repeating: "é", count: 201) }?.contains("longer than 200") == true)
        #expect(sale { $0.id = String(repeating: "a", count: 129) }?.contains("longer than 128") == true)
        #expect(sale { $0.lines[0].name = String(repeating: "é", count: 200) } == nil)
        // 10,000 lines of the largest price: the total is beyond the bound, refused by name.
        #expect(sale { $0.lines = Array(repeating: SaleLineRequest(name: "x", unitPrice: InputLimits.maxAmount, vatRate: VATRate(basisPoints: 0)), count: 2) }?
            .contains("the receipt's total") == true)
        #expect(sale { $0.discount = DiscountRequest(amount: 1, percent: Percent(basisPoints: 100), reason: "r") }?.contains("both") == true)
    }

    @Test("the request digest round-trips and names the fields that differ")
    func digest() throws {
        let a = RequestDigest(["lines": [1, 2], "user": "anna", "late": nil as Bool?])
        let b = RequestDigest(["lines": [1, 3], "user": "anna", "late": true])
        #expect(RequestDigest(bytes: a.bytes) == a)
        #expect(a.differences(from: b) == ["late", "lines"])
        #expect(RequestDigest(bytes: [1, 2, 3]) == nil)
        #expect(throws: SessionError.idempotencyConflict(id: "x", fields: ["late", "lines"])) {
            try RequestDigest.check("x", stored: a.bytes, replay: b)
        }
        try RequestDigest.check("x", stored: nil, replay: b)
    }
}
