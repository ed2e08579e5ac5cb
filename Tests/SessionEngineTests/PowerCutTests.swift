import Foundation
import GRDB
import PowerCutVFS
@testable import SessionEngine
import SoftwareFiscalModule
import Testing
import TestSupport

/// The reference's edge case 27: power cuts. The database is opened through the power-cut VFS, which keeps what a
/// disk would hold after a cut at any write call — what was synced, plus any subset of what was not — and takes such
/// snapshots at random write calls while a till sells and closes shifts. Every snapshot must open intact, with numbers
/// gap-free, every receipt and Z that was acknowledged before the cut present as it was acknowledged, at most the one
/// in flight beyond them, and a journal that verifies.
@Suite("Power cuts", .serialized)
struct PowerCutTests {
    struct Acknowledged {
        var id: String
        var number: Int64
        var total: Int64
        /// The VFS's write calls when the call returned: a cut before a later write finds this fact on disk.
        var writes: Int64
    }

    static let identity = FixedIdentity("0123456789abcdef0123456789abcdef")

    /// Sells `receipts` receipts, closing and reopening the shift every 40, and returns what was acknowledged and when.
    /// `weakened` sets `synchronous = NORMAL` on the writer, the control that shows the VFS really loses unsynced commits.
    func workload(folder: String, receipts: Int, plan: [Int64], seed: UInt32, weakened: Bool = false) throws
        -> (receipts: [Acknowledged], zs: [Acknowledged], writes: Int64)
    {
        let store = try SessionStore.open(path: "file:\(folder)/kassa.sqlite?vfs=powercut")
        if weakened { try store.writer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = NORMAL") } }
        let engine = try SessionEngine(store: store, identity: Self.identity,
                                       fiscalModule: SoftwareFiscalModule.load(path: folder + "/fiscal-module.key"))
        _ = try engine.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
        _ = try engine.addUser(id: "anna", name: "Anna", role: "cashier", by: "maria")
        try engine.setSetting("cash-control", "off", by: "maria")
        _ = try engine.openShift(commandID: "open-0", user: "anna", countedFloat: 0)
        plan.withUnsafeBufferPointer { powercut_plan(folder, $0.baseAddress, Int32(plan.count), seed) }
        var acknowledged: [Acknowledged] = []
        var zs: [Acknowledged] = []
        for index in 0..<receipts {
            if index > 0, index % 40 == 0 {
                let report = try engine.closeShift(commandID: "close-\(index)", user: "anna", countedCash: nil, cashLeft: 0)
                zs.append(Acknowledged(id: report.session, number: report.zNumber ?? -1, total: report.sales.amount, writes: powercut_writes()))
                _ = try engine.openShift(commandID: "open-\(index)", user: "anna", countedFloat: 0)
            }
            let lines = (0...(index % 3)).map { line in
                SaleLineRequest(name: "Item \(line)", unitPrice: Int64(100 + (index * 37 + line * 11) % 900), vatRate: VATRate(basisPoints: 1200))
            }
            let receipt = try engine.finalizeSale(SaleRequest(id: "r-\(index)", lines: lines, payments: nil), user: "anna")
            acknowledged.append(Acknowledged(id: receipt.id, number: receipt.number, total: receipt.total, writes: powercut_writes()))
        }
        return (acknowledged, zs, powercut_writes())
    }

    @Test("control: with synchronous = NORMAL the same cuts lose acknowledged receipts, so the cuts above would see a missing sync")
    func weakenedDurabilityIsCaught() throws {
        #expect(powercut_register() == 0)
        defer { powercut_reset() }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kassa-powercut-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // Cuts every 150 write calls through a day of 130 receipts.
        let plan = (1...30).map { Int64($0 * 150) }
        let run = try workload(folder: root, receipts: 130, plan: plan, seed: 99, weakened: true)
        var lost = 0
        for (index, cut) in plan.enumerated() where index < powercut_snapshots() {
            let snapshot = root + "/snapshot-\(index)"
            let acknowledged = run.receipts.filter { $0.writes < cut }
            var present = 0
            if FileManager.default.fileExists(atPath: snapshot + "/kassa.sqlite") {
                let restored = root + "/restored-\(index)"
                try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: true)
                for name in ["kassa.sqlite", "kassa.sqlite-wal"] where FileManager.default.fileExists(atPath: snapshot + "/" + name) {
                    try FileManager.default.copyItem(atPath: snapshot + "/" + name, toPath: restored + "/" + name)
                }
                present = try SessionStore.open(path: restored + "/kassa.sqlite").read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM receipt") ?? 0 }
            }
            if present < acknowledged.count { lost += 1 }
        }
        #expect(lost > 0, "no cut lost an acknowledged receipt without the commit's fsync: the VFS would not catch a missing sync")
    }

    @Test("a power cut at any of 40 random write calls: the database opens intact, gap-free, with every acknowledged receipt and Z, and verifies",
          arguments: [UInt32(7), 1_234])
    func powerCuts(seed: UInt32) throws {
        #expect(powercut_register() == 0)
        defer { powercut_reset() }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kassa-powercut-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A first run counts the write calls the workload makes; the second, identical, takes the snapshots.
        try FileManager.default.createDirectory(atPath: root + "/count", withIntermediateDirectories: true)
        let total = try workload(folder: root + "/count", receipts: 130, plan: [], seed: seed).writes
        #expect(total > 1_000)
        var generator = SeededGenerator(seed: UInt64(seed))
        let plan = (0..<40).map { _ in Int64.random(in: 1...total, using: &generator) }.sorted()
        let folder = root + "/run"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let run = try workload(folder: folder, receipts: 130, plan: plan, seed: seed)
        #expect(powercut_snapshots() >= 35, "only \(powercut_snapshots()) of 40 planned cuts happened (\(run.writes) writes, planned up to \(total))")
        var checked = 0
        for (index, cut) in plan.enumerated() {
            let snapshot = folder + "/snapshot-\(index)"
            guard FileManager.default.fileExists(atPath: snapshot + "/kassa.sqlite") else {
                // Nothing synced yet can only mean nothing was acknowledged yet.
                #expect(run.receipts.allSatisfy { $0.writes >= cut }, "cut \(index) at write \(cut) left no database")
                continue
            }
            let restored = root + "/restored-\(index)"
            try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: true)
            for name in ["kassa.sqlite", "kassa.sqlite-wal"] where FileManager.default.fileExists(atPath: snapshot + "/" + name) {
                try FileManager.default.copyItem(atPath: snapshot + "/" + name, toPath: restored + "/" + name)
            }
            let store = try SessionStore.open(path: restored + "/kassa.sqlite")
            let integrity = try store.writer.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
            #expect(integrity == ["ok"], "cut \(index) at write \(cut): \(integrity)")
            let engine = try SessionEngine(store: store, identity: Self.identity, readOnly: true)
            let counter = try engine.counters().receiptNumber
            let before = run.receipts.filter { $0.writes < cut }
            try store.read { db in
                let numbers = try Int64.fetchAll(db, sql: "SELECT receipt_no FROM receipt ORDER BY receipt_no")
                #expect(numbers == Array(0..<Int64(numbers.count)).map { $0 + 1 } && Int64(numbers.count) == counter,
                        "cut \(index) at write \(cut): numbers \(numbers.prefix(3))… counter \(counter)")
                // Every acknowledged receipt is there as acknowledged; beyond them, at most the one in flight.
                for receipt in before {
                    let row = try Row.fetchOne(db, sql: "SELECT receipt_no, total FROM receipt WHERE id = ?", arguments: [receipt.id])
                    #expect(row?["receipt_no"] == receipt.number && row?["total"] == receipt.total,
                            "cut \(index) at write \(cut): acknowledged receipt \(receipt.number) is \(String(describing: row))")
                }
                #expect(counter <= Int64(before.count) + 1, "cut \(index) at write \(cut): \(counter) receipts, \(before.count) acknowledged")
                for z in run.zs where z.writes < cut {
                    let row = try Row.fetchOne(db, sql: "SELECT session_id FROM z_report WHERE z_no = ?", arguments: [z.number])
                    #expect(row?["session_id"] == z.id, "cut \(index) at write \(cut): acknowledged Z \(z.number) missing")
                }
            }
            let verdict = try engine.verifyJournal()
            #expect(verdict.ok, "cut \(index) at write \(cut): \(String(describing: verdict.problem))")
            checked += 1
        }
        #expect(checked >= 35)
    }
}
