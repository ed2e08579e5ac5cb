import Foundation
import Testing
import TestSupport

/// The disk fills up mid-day: the sale that does not fit is refused with what to do, nothing earlier is lost, and the
/// same command succeeds once there is space. Needs root to mount a small tmpfs, so it is opt-in:
/// `KASSA_TEST_MOUNT=1 swift test --skip-build --filter DiskFull` (as root).
@Suite("A full disk", .serialized, .enabled(if: ProcessInfo.processInfo.environment["KASSA_TEST_MOUNT"] == "1"))
struct DiskFullTests {
    let home = TestSupport.temporaryDirectory()

    func shell(_ command: String) throws -> Int32 {
        let result = try TestSupport.run(URL(fileURLWithPath: "/bin/sh"), ["-c", command])
        return result.status
    }

    @Test("a sale that does not fit is refused, earlier receipts stay, and the same id succeeds after space is freed")
    func diskFull() throws {
        let mountPoint = home.appendingPathComponent("tiny").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(try shell("mount -t tmpfs -o size=1200k tmpfs \(mountPoint)") == 0)
        defer { _ = try? shell("umount \(mountPoint)") }
        let database = ["--database", mountPoint + "/kassa.sqlite"]
        func kassa(_ arguments: [String], stdin: [UInt8]? = nil) throws -> KassaProcess.Result {
            try KassaProcess.run(arguments + database, stdin: stdin, home: home)
        }
        #expect(try kassa(["user", "add", "maria", "--role", "manager"]).status == 0)
        #expect(try kassa(["session", "open", "--user", "maria", "--float", "0"]).status == 0)
        let name = String(repeating: "Mycket lång varubeskrivning ", count: 7)  // 196 characters: within the 200 a name may have
        func sale(_ id: String) -> [UInt8] {
            let lines = (1...40).map { #"{"name":"\#(name)\#($0)","quantity":1,"unitPrice":100,"vatRate":"25"}"# }.joined(separator: ",")
            return Array(#"{"id":"\#(id)","lines":[\#(lines)]}"#.utf8)
        }
        var sold = 0
        var refused: KassaProcess.Result?
        for index in 1...400 {
            let result = try kassa(["sale", "-", "--user", "maria", "--no-print"], stdin: sale("full-\(index)"))
            if result.status != 0 { refused = result; break }
            sold += 1
        }
        let failure = try #require(refused, "the disk never filled")
        #expect(failure.status == 37 && failure.stderr.contains("disk is full"), "\(failure.stderr)")
        #expect(sold > 0)
        #expect(try shell("mount -o remount,size=4m \(mountPoint)") == 0)
        let counters = try #require(try kassa(["terminal", "show", "--json"]).json?["counters"] as? [String: Any])
        #expect(counters["receiptNumber"] as? Int == sold && counters["grandTotalSales"] as? Int == sold * 4000)
        let retried = try kassa(["sale", "-", "--user", "maria", "--no-print", "--json"], stdin: sale("full-\(sold + 1)"))
        #expect(retried.status == 0 && (retried.json?["receipt"] as? [String: Any])?["number"] as? Int == sold + 1)
    }
}
