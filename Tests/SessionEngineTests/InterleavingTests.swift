import Foundation
import GRDB
@testable import SessionEngine
import SoftwareFiscalModule
import Synchronization
import Testing
import TestSupport

/// The reference's edge case 24: random interleavings of finalize, refund, park/void, open and close over several
/// connections to one database file. Whatever the order, numbers stay unique and contiguous across Z boundaries, every
/// acknowledged receipt is there with the number it was given, and the grand totals are the sums of what was sold.
@Suite("Interleavings")
struct InterleavingTests {
    /// What the workers were told: acknowledged receipts (number → total of positive and negative line amounts) and Zs.
    struct Acknowledged {
        var receipts: [Int64: (sales: Int64, returns: Int64)] = [:]
        var zNumbers: [Int64] = []
        var rejected: [String: Int] = [:]
    }

    @Test("random finalize, refund, void, open and close over four connections: numbers unique and gap-free across Zs, totals are sums",
          arguments: [UInt64(1), 2, 3])
    func randomInterleavings(seed: UInt64) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kassa-interleave-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/kassa.sqlite"
        let identity = FixedIdentity("0123456789abcdef0123456789abcdef")
        // Four connections (as four processes would have), signing with one module key as the CLI does.
        let engines = try (0..<4).map { _ in
            try SessionEngine(store: SessionStore.open(path: path), identity: identity,
                              fiscalModule: SoftwareFiscalModule.load(path: folder + "/fiscal-module.key"))
        }
        _ = try engines[0].addUser(id: "maria", name: "Maria", role: "manager", by: nil)
        for cashier in ["anna", "olle", "lisa"] { _ = try engines[0].addUser(id: cashier, name: cashier, role: "cashier", by: "maria") }
        try engines[0].setSetting("cash-control", "off", by: "maria")
        _ = try engines[0].openShift(commandID: "open-first", user: "maria", countedFloat: 0)

        let acknowledged = Mutex(Acknowledged())
        let unexpected = Mutex<[String]>([])
        let users = ["anna", "olle", "lisa", "maria"]
        DispatchQueue.concurrentPerform(iterations: engines.count) { worker in
            let engine = engines[worker]
            var random = SeededGenerator(seed: seed &* 1_000 &+ UInt64(worker))
            let user = users[worker]
            for step in 0..<45 {
                let id = "w\(worker)-s\(step)"
                do {
                    switch Int.random(in: 0..<100, using: &random) {
                    case 0..<55:
                        let lines = (0..<Int.random(in: 1...3, using: &random)).map { line in
                            SaleLineRequest(name: "Item \(line)", quantity: MilliQuantity(milli: Int64.random(in: 1...3, using: &random) * 1000),
                                            unitPrice: Int64.random(in: 100...9_900, using: &random), vatRate: VATRate(basisPoints: 1200))
                        }
                        let receipt = try engine.finalizeSale(SaleRequest(id: id, lines: lines, payments: nil), user: user)
                        let sales = receipt.lines.filter { $0.amount > 0 }.reduce(0) { $0 + $1.amount }
                        acknowledged.withLock { $0.receipts[receipt.number] = (sales, 0) }
                    case 55..<68:
                        let known = acknowledged.withLock { state in state.receipts.filter { $0.value.sales > 0 }.map(\.key) }
                        guard let original = known.randomElement(using: &random) else { continue }
                        let refund = try engine.refund(
                            RefundRequest(id: id, receiptNumber: original, lines: [RefundRequest.Line(line: 1, quantity: MilliQuantity(milli: 1000))]),
                            user: "maria")
                        let returns = -refund.lines.reduce(0) { $0 + $1.amount }
                        acknowledged.withLock { $0.receipts[refund.number] = (0, returns) }
                    case 68..<80:
                        let line = SaleLineRequest(name: "Parked", unitPrice: 500, vatRate: VATRate(basisPoints: 1200))
                        _ = try engine.park(id: id, user: user, lines: [line])
                        _ = try engine.voidParked(id: id, user: user)
                    case 80..<86:
                        let report = try engine.closeShift(commandID: id, user: "maria", countedCash: nil, cashLeft: 0, force: true)
                        acknowledged.withLock { $0.zNumbers.append(report.zNumber ?? -1) }
                    default:
                        _ = try engine.openShift(commandID: id, user: user, countedFloat: 0)
                    }
                } catch let error as SessionError {
                    // Refusals a till must expect when others act at the same time; anything else is a failure.
                    switch error {
                    case .noOpenSession, .sessionAlreadyOpen, .refundExceedsSale:
                        acknowledged.withLock { $0.rejected[error.description, default: 0] += 1 }
                    default:
                        unexpected.withLock { $0.append("\(id): \(error)") }
                    }
                } catch {
                    unexpected.withLock { $0.append("\(id): \(error)") }
                }
            }
        }
        #expect(unexpected.withLock { $0 }.isEmpty, "\(unexpected.withLock { $0 })")
        let state = acknowledged.withLock { $0 }
        #expect(state.receipts.count > 40, "too few receipts to mean anything: \(state.receipts.count), rejected \(state.rejected)")
        #expect(state.zNumbers.count >= 1, "no close happened: rejected \(state.rejected)")

        try engines[0].store.read { db in
            // Every number from 1 to the counter, exactly once, and exactly the acknowledged ones.
            let numbers = try Int64.fetchAll(db, sql: "SELECT receipt_no FROM receipt WHERE kind != 'training' ORDER BY receipt_no")
            let counter = try Int64.fetchOne(db, sql: "SELECT receipt_no FROM terminal_counters") ?? -1
            #expect(numbers == Array(1...max(counter, 1)).prefix(numbers.count).map { $0 } && Int64(numbers.count) == counter)
            #expect(Set(numbers) == Set(state.receipts.keys))
            // Each receipt's stamped grand totals are the running sums in number order, and end at the counters.
            var sales: Int64 = 0
            var returns: Int64 = 0
            for row in try Row.fetchAll(db, sql: "SELECT receipt_no, grand_total_sales, grand_total_returns FROM receipt WHERE kind != 'training' ORDER BY receipt_no") {
                let number: Int64 = row["receipt_no"]
                sales += state.receipts[number]?.sales ?? 0
                returns += state.receipts[number]?.returns ?? 0
                #expect(row["grand_total_sales"] == sales && row["grand_total_returns"] == returns, "receipt \(number)")
            }
            let totals = try Row.fetchOne(db, sql: "SELECT gt_sales, gt_returns, z_no FROM terminal_counters")!
            #expect(totals["gt_sales"] == sales && totals["gt_returns"] == returns)
            // Zs: numbered 1…n without a gap, each acknowledged one there; their receipt ranges follow on without a gap
            // and their grand totals chain.
            let zs = try Row.fetchAll(db, sql: "SELECT * FROM z_report ORDER BY z_no")
            #expect(zs.map { $0["z_no"] as Int64 } == Array(1...Int64(zs.count)) && totals["z_no"] == Int64(zs.count))
            #expect(Set(state.zNumbers).isSubset(of: Set(zs.map { $0["z_no"] as Int64 })))
            var nextFirst: Int64 = 1
            var before: (Int64, Int64) = (0, 0)
            for z in zs {
                #expect(z["grand_total_sales_before"] == before.0 && z["grand_total_returns_before"] == before.1, "Z \(z["z_no"] as Int64)")
                before = (z["grand_total_sales_after"], z["grand_total_returns_after"])
                if let first = z["first_receipt_no"] as Int64?, let last = z["last_receipt_no"] as Int64? {
                    #expect(first == nextFirst, "Z \(z["z_no"] as Int64) starts at \(first), expected \(nextFirst)")
                    nextFirst = last + 1
                }
            }
            // What no Z covers yet belongs to the open shift, and follows on as well.
            let open = try Int64.fetchAll(db, sql: """
                SELECT r.receipt_no FROM receipt r JOIN pos_session s ON s.id = r.session_id
                WHERE s.z_no IS NULL AND r.kind != 'training' ORDER BY r.receipt_no
                """)
            #expect(open == Array(nextFirst..<(counter + 1)))
        }
        let verdict = try engines[0].verifyJournal()
        #expect(verdict.ok, "\(String(describing: verdict.problem))")
    }
}
