import Foundation
import GRDB
@testable import SessionEngine
import Testing

@Suite("Parked receipts")
struct ParkedTests {
    let kaffe = [SaleLineRequest(name: "Kaffe", unitPrice: 350, vatRate: VATRate(basisPoints: 1200))]

    func till() throws -> SessionEngine {
        let engine = try Till().engine
        _ = try engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        _ = try engine.continueShift(user: "olle")
        return engine
    }

    @Test("several parked receipts at once take the preset names; a store override replaces the default list")
    func names() throws {
        let engine = try till()
        let first = try engine.park(id: "p1", user: "anna", lines: kaffe)
        let second = try engine.park(id: "p2", user: "anna", lines: kaffe)
        #expect(first.label == "Sale 1" && second.label == "Sale 2")
        #expect(throws: SessionError.invalid("The name 'Sale 1' is already used by an open parked receipt.")) {
            try engine.park(id: "p3", user: "anna", lines: kaffe, label: "Sale 1")
        }
        try engine.setParkedNamePresets(["Bord 1", "Bord 2"], scope: "store-1", by: "maria")
        #expect(try engine.parkedNamePresets() == ["Bord 1", "Bord 2"])
        #expect(try engine.park(id: "p4", user: "anna", lines: kaffe).label == "Bord 1")
        #expect(try engine.park(id: "p5", user: "anna", lines: kaffe, label: "Terrassen").label == "Terrassen")
    }

    @Test("visibility own, role and all; view-all and take-over permissions")
    func visibility() throws {
        let engine = try till()
        _ = try engine.park(id: "own", user: "anna", lines: kaffe, visibility: "own")
        _ = try engine.park(id: "role", user: "anna", lines: kaffe, visibility: "role")
        _ = try engine.park(id: "all", user: "anna", lines: kaffe, visibility: "all")
        #expect(try engine.parkedReceipts(user: "anna").map(\.id) == ["own", "role", "all"])
        #expect(try engine.parkedReceipts(user: "olle").map(\.id) == ["role", "all"])  // same role (cashier)
        #expect(try engine.parkedReceipts(user: "sven").map(\.id) == ["own", "role", "all"])  // view_all_parked
        #expect(throws: SessionError.notFound("Parked receipt own")) { try engine.parkedReceipt(id: "own", user: "olle") }
        #expect(throws: SessionError.permissionDenied(user: "olle", permission: .parkedTakeOver)) {
            try engine.updateParked(id: "all", user: "olle", expectedVersion: 1, lines: kaffe + kaffe)
        }
        #expect(try engine.updateParked(id: "all", user: "sven", expectedVersion: 1, lines: kaffe + kaffe).version == 2)
    }

    @Test("a stale edit is refused with the current version; opening never removes the receipt")
    func versions() throws {
        let engine = try till()
        _ = try engine.park(id: "p", user: "anna", lines: kaffe)
        _ = try engine.parkedReceipt(id: "p", user: "anna")
        _ = try engine.parkedReceipt(id: "p", user: "anna")
        let updated = try engine.updateParked(id: "p", user: "anna", expectedVersion: 1, lines: kaffe + kaffe)
        #expect(updated.version == 2 && updated.lines.count == 2)
        #expect(throws: SessionError.staleVersion(current: 2)) {
            try engine.updateParked(id: "p", user: "anna", expectedVersion: 1, lines: kaffe)
        }
        #expect(try engine.parkedReceipts(user: "anna").count == 1)
    }

    @Test("two front ends on one parked receipt: the opener's lease blocks others until it runs out; an expired lease can be taken over")
    func leases() throws {
        let till = try Till()
        let engine = till.engine
        _ = try engine.openShift(commandID: "o", user: "anna", countedFloat: 0)
        _ = try engine.park(id: "table-4", user: "anna", lines: kaffe, visibility: "all")
        let opened = try engine.openParked(id: "table-4", user: "anna")
        let until = till.clock.now().addingTimeInterval(120)
        #expect(opened.leaseHolder == "anna" && opened.leaseUntil == until)
        // Sven (supervisor, may take over) is refused every change while Anna holds it; reading is fine.
        let leased = SessionError.parkedLeased(id: "table-4", holder: "anna", until: until)
        #expect(throws: leased) { try engine.openParked(id: "table-4", user: "sven") }
        #expect(throws: leased) { try engine.updateParked(id: "table-4", user: "sven", expectedVersion: 1, lines: kaffe + kaffe) }
        #expect(throws: leased) { try engine.startPayment(id: "table-4", user: "sven") }
        #expect(throws: leased) { try engine.voidParked(id: "table-4", user: "sven") }
        #expect(throws: leased) { try engine.finalizeParked(id: "table-4", user: "sven", payments: nil) }
        #expect(throws: leased) { try engine.releaseParked(id: "table-4", user: "sven") }
        #expect(try engine.parkedReceipt(id: "table-4", user: "sven").version == 1)
        #expect(try engine.counters().receiptNumber == 0)
        // Anna's edit renews the lease from now.
        till.clock.advance(100)
        let edited = try engine.updateParked(id: "table-4", user: "anna", expectedVersion: 1, lines: kaffe + kaffe)
        #expect(edited.version == 2 && edited.leaseUntil == till.clock.now().addingTimeInterval(120))
        till.clock.advance(100)
        #expect(throws: SessionError.parkedLeased(id: "table-4", holder: "anna", until: edited.leaseUntil!)) {
            try engine.updateParked(id: "table-4", user: "sven", expectedVersion: 2, lines: kaffe)
        }
        // Anna's front end crashed: once the lease has run out, Sven takes it over.
        till.clock.advance(21)
        let taken = try engine.openParked(id: "table-4", user: "sven")
        #expect(taken.leaseHolder == "sven" && taken.version == 2)
        #expect(throws: SessionError.parkedLeased(id: "table-4", holder: "sven", until: taken.leaseUntil!)) {
            try engine.updateParked(id: "table-4", user: "anna", expectedVersion: 2, lines: kaffe)
        }
        // Released, anyone with the rights may edit again; finalizing ends the lease with the parked receipt.
        #expect(try engine.releaseParked(id: "table-4", user: "sven").leaseHolder == nil)
        #expect(try engine.updateParked(id: "table-4", user: "anna", expectedVersion: 2, lines: kaffe).version == 3)
        _ = try engine.openParked(id: "table-4", user: "anna")
        let receipt = try engine.finalizeParked(id: "table-4", user: "anna", payments: nil)
        #expect(receipt.number == 1)
        let finalized = try engine.parkedReceipt(id: "table-4", user: "anna")
        #expect(finalized.state == "finalized" && finalized.leaseHolder == nil && finalized.receiptNumber == 1)
        #expect(throws: SessionError.invalid("parked-lease-seconds is 10 to 3600 seconds.")) {
            try engine.setSetting("parked-lease-seconds", "5", by: "maria")
        }
    }

    @Test("the receipt and the parked receipt's end commit together: a failure after the receipt is written leaves neither")
    func finalizingParkedIsAtomic() throws {
        let engine = try till()
        _ = try engine.park(id: "p", user: "anna", lines: kaffe)
        struct Refused: Error {}
        #expect(throws: SessionError.invalid("Refused()")) {
            try engine.finalizeSale(SaleRequest(id: "p", lines: kaffe, payments: nil), user: "anna") { _, _ in throw Refused() }
        }
        #expect(try engine.counters().receiptNumber == 0)
        #expect(try engine.parkedReceipt(id: "p", user: "anna").state == "parked")
        // A parked receipt voided meanwhile makes no receipt.
        _ = try engine.voidParked(id: "p", user: "anna")
        #expect(throws: SessionError.invalid("Parked receipt p is voided.")) { try engine.finalizeParked(id: "p", user: "anna", payments: nil) }
        #expect(try engine.counters().receiptNumber == 0)
    }

    @Test("finalizing a parked receipt numbers it once, even when replayed; voided receipts take no number")
    func finalize() throws {
        let engine = try till()
        _ = try engine.park(id: "v", user: "anna", lines: kaffe)
        _ = try engine.voidParked(id: "v", user: "anna")
        _ = try engine.park(id: "p", user: "anna", lines: kaffe + kaffe)
        let receipt = try engine.finalizeParked(id: "p", user: "anna", payments: [PaymentRequest(method: "cash", amount: 1000)])
        #expect(receipt.number == 1 && receipt.total == 700 && receipt.change == 300)
        #expect(try engine.finalizeParked(id: "p", user: "anna", payments: [PaymentRequest(method: "cash", amount: 1000)]).number == 1)
        // A replay with other payments is not the same request.
        #expect(throws: SessionError.idempotencyConflict(id: "p", fields: ["payments"])) {
            try engine.finalizeParked(id: "p", user: "anna", payments: nil)
        }
        #expect(try engine.counters().receiptNumber == 1)
        #expect(try engine.parkedReceipts(user: "anna").isEmpty)
    }

    @Test("a pro-forma bill is priced as the sale, numbered in its own series, counted, journaled, and no receipt")
    func proForma() throws {
        let engine = try till()
        let lines = [
            SaleLineRequest(name: "Kaffe", quantity: MilliQuantity(milli: 2000), unitPrice: 350, vatRate: VATRate(basisPoints: 1200)),
            SaleLineRequest(name: "Ost", quantity: MilliQuantity(milli: 456), unitPrice: 29900, vatRate: VATRate(basisPoints: 1200)),
        ]
        let discount = DiscountRequest(percent: Percent(basisPoints: 1000), reason: "stamkund")
        _ = try engine.park(id: "bord", user: "anna", lines: lines, discount: discount, visibility: "own")
        let first = try engine.proForma(commandID: "b1", parkedID: "bord", user: "anna")
        #expect(first.number == 1 && first.parked == "bord" && first.version == 1 && first.discountTotal != 0)
        #expect(try engine.proForma(commandID: "b1", parkedID: "bord", user: "anna") == first)  // a replay, not a second bill
        #expect(try engine.proForma(commandID: "b2", parkedID: "bord", user: "anna").number == 2)
        #expect(throws: SessionError.notFound("Parked receipt bord")) { try engine.proForma(commandID: "b3", parkedID: "bord", user: "olle") }
        #expect(try engine.counters().receiptNumber == 0)
        let report = try engine.xReport(user: "anna")
        #expect(report.proForma.count == 2 && report.proForma.amount == 2 * first.total && report.receiptCount == 0)
        // The bill showed what the receipt charges: the same lines, discount and VAT.
        let receipt = try engine.finalizeParked(id: "bord", user: "anna", payments: nil)
        #expect(receipt.total == first.total && receipt.vatLines == first.vatLines && receipt.lines == first.lines)
        #expect(throws: SessionError.invalid("Parked receipt bord is finalized: only an open parked receipt gets a pro-forma bill.")) {
            try engine.proForma(commandID: "b4", parkedID: "bord", user: "anna")
        }
        let kinds = try engine.store.writer.read { try String.fetchAll($0, sql: "SELECT kind FROM journal WHERE kind = 'proforma'") }
        #expect(kinds.count == 2)
        #expect(try engine.verifyJournal().ok)
    }

    @Test("at close: a running payment blocks; parked receipts block or move on to the next shift, per setting")
    func atClose() throws {
        let engine = try till()
        _ = try engine.park(id: "table", user: "anna", lines: kaffe, label: "Bord 4")
        _ = try engine.park(id: "card", user: "anna", lines: kaffe)
        _ = try engine.startPayment(id: "card", user: "anna")
        #expect(throws: SessionError.paymentInProgress(["Sale 1"])) { try engine.closeShift(commandID: "c0", user: "anna", countedCash: 0, cashLeft: 0) }
        _ = try engine.finalizeParked(id: "card", user: "anna", payments: [PaymentRequest(method: "card", amount: 350)])
        try engine.setSetting("parked-at-close", "block", by: "maria")
        #expect(throws: SessionError.parkedReceiptsBlockClose(["Bord 4"])) {
            try engine.closeShift(commandID: "c1", user: "anna", countedCash: 0, cashLeft: 0)
        }
        try engine.setSetting("parked-at-close", "defer", by: "maria")
        let z = try engine.closeShift(commandID: "c2", user: "anna", countedCash: 0, cashLeft: 0)
        let deferred = try engine.parkedReceipt(id: "table", user: "anna")
        #expect(deferred.session == nil && deferred.originSession == z.session)
        let next = try engine.openShift(commandID: "o2", user: "anna", countedFloat: 0)
        #expect(try engine.parkedReceipt(id: "table", user: "anna").session == next.id)
        #expect(try engine.finalizeParked(id: "table", user: "anna", payments: nil).zPeriod == 2)
    }
}
