import ChildProcess
import Foundation
import SessionEngine
import SoftwareFiscalModule
import Testing
import TestSupport

@Suite("Session engine from the CLI", .serialized)
struct SessionCLITests {
    let home = TestSupport.temporaryDirectory()

    func kassa(_ arguments: [String], stdin: [UInt8]? = nil, machine: String? = nil) throws -> KassaProcess.Result {
        var environment: [String: String] = [:]
        if let machine {
            let file = home.appendingPathComponent("machine-\(machine)")
            try Data(machine.utf8).write(to: file)
            environment["KASSA_MACHINE_ID_FILE"] = file.path
        }
        return try KassaProcess.run(arguments, stdin: stdin, home: home, extraEnvironment: environment)
    }

    func setUp(machine: String = "1111aaaa2222bbbb") throws {
        #expect(try kassa(["user", "add", "maria", "--role", "manager"], machine: machine).status == 0)
        #expect(try kassa(["user", "add", "anna", "--user", "maria"], machine: machine).status == 0)
        #expect(try kassa(["session", "open", "--user", "anna", "--float", "0"], machine: machine).status == 0)
    }

    func sale(_ id: String, _ price: Int) -> [UInt8] {
        Array(#"{"id":"\#(id)","lines":[{"name":"Kaffe","quantity":1,"unitPrice":\#(price),"vatRate":"12"}]}"#.utf8)
    }

    @Test("a clock behind the latest recorded fact: every command warns on stderr, the sale is still made and numbered, --json stays clean")
    func clockBehind() throws {
        // The day so far was recorded with the clock two days ahead (or, as a till sees it, the clock has since gone back).
        let machine = "3333cccc4444dddd"
        let ahead = ManualClock(Date().addingTimeInterval(2 * 86_400))
        let engine = try SessionEngine(store: SessionStore.open(path: home.appendingPathComponent("kassa.sqlite").path),
                                       identity: FixedIdentity(machine), clock: ahead,
                                       fiscalModule: SoftwareFiscalModule.load(path: home.appendingPathComponent("fiscal-module.key").path))
        _ = try engine.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
        _ = try engine.addUser(id: "anna", name: "Anna", role: "cashier", by: "maria")
        _ = try engine.openShift(commandID: "open", user: "anna", countedFloat: 0)
        let file = home.appendingPathComponent("sale.json")
        try Data(sale("late-clock", 350)).write(to: file)
        let sold = try kassa(["sale", file.path, "--user", "anna", "--no-print", "--json"], machine: machine)
        #expect(sold.status == 0, "\(sold.stderr)")
        #expect((sold.json?["receipt"] as? [String: Any])?["number"] as? Int == 1)
        #expect(sold.stderr.contains("warning: this terminal's clock") && sold.stderr.contains("s behind the last recorded fact")
                && sold.stderr.contains("timedatectl"), "\(sold.stderr)")
        let shown = try kassa(["terminal", "show", "--json"], machine: machine)
        #expect(shown.status == 0 && shown.json != nil && shown.stderr.contains("behind the last recorded fact"))
        let verified = try kassa(["journal", "verify", "--json"], machine: machine)
        #expect(verified.status == 0 && verified.json?["problem"] == nil && (verified.json?["receiptsChecked"] as? Int) == 1, "\(verified.stdout)")
        // With the clock right for the database (the engine's own), nothing is said.
        ahead.advance(60)
        #expect(try engine.clockBehind() == nil)
    }

    @Test("a shift open longer than warn-open-hours: every command warns on stderr and goes on; max-unposted-shifts refuses a new shift with what to do")
    func forgottenClose() throws {
        let machine = "7777aaaa8888bbbb"
        let yesterday = ManualClock(Date().addingTimeInterval(-30 * 3600))
        let engine = try SessionEngine(store: SessionStore.open(path: home.appendingPathComponent("kassa.sqlite").path),
                                       identity: FixedIdentity(machine), clock: yesterday,
                                       fiscalModule: SoftwareFiscalModule.load(path: home.appendingPathComponent("fiscal-module.key").path))
        _ = try engine.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
        _ = try engine.addUser(id: "anna", name: "Anna", role: "cashier", by: "maria")
        try engine.setSetting("cash-control", "off", by: "maria")
        _ = try engine.openShift(commandID: "open", user: "anna", countedFloat: 0)
        let file = home.appendingPathComponent("sale.json")
        try Data(sale("next-morning", 350)).write(to: file)
        let sold = try kassa(["sale", file.path, "--user", "anna", "--no-print", "--json"], machine: machine)
        #expect(sold.status == 0 && sold.json != nil, "\(sold.stderr)")
        #expect(sold.stderr.contains("has been open for 30 hours (warn-open-hours is 24)") && !sold.stderr.contains("clock"), "\(sold.stderr)")
        #expect(try kassa(["settings", "set", "max-unposted-shifts", "1", "--user", "maria"], machine: machine).status == 0)
        #expect(try kassa(["session", "close", "--user", "anna", "--no-print"], machine: machine).status == 0)
        let refused = try kassa(["session", "open", "--user", "anna", "--json"], machine: machine)
        #expect(refused.status == 32)
        let error = try #require(refused.json?["error"] as? [String: Any])
        #expect(error["code"] as? String == "UNPOSTED_SHIFTS" && (error["message"] as? String ?? "").contains("kassa session post --z 1"))
        #expect(try kassa(["session", "post", "--z", "1", "--user", "maria"], machine: machine).status == 0)
        let opened = try kassa(["session", "open", "--user", "anna"], machine: machine)
        #expect(opened.status == 0 && !opened.stderr.contains("warning"), "\(opened.stderr)")
    }

    @Test("park open leases a parked receipt: another user's update is refused with PARKED_LEASED until release")
    func parkLease() throws {
        try setUp()
        let m = "1111aaaa2222bbbb"
        #expect(try kassa(["user", "add", "sven", "--role", "supervisor", "--user", "maria"], machine: m).status == 0)
        let file = home.appendingPathComponent("t4.json")
        try Data(sale("t4", 350)).write(to: file)
        #expect(try kassa(["park", "new", file.path, "--name", "Bord 4", "--visibility", "all", "--user", "anna"], machine: m).status == 0)
        let opened = try kassa(["park", "open", "t4", "--user", "anna", "--json"], machine: m)
        #expect(opened.status == 0 && opened.json?["leaseHolder"] as? String == "anna", "\(opened.stderr)")
        let refused = try kassa(["park", "update", "t4", file.path, "--version", "1", "--user", "sven", "--json"], machine: m)
        #expect(refused.status == 34)
        let error = try #require(refused.json?["error"] as? [String: Any])
        #expect(error["code"] as? String == "PARKED_LEASED" && (error["message"] as? String ?? "").contains("kassa park release t4"))
        #expect(try kassa(["park", "release", "t4", "--user", "anna"], machine: m).status == 0)
        let updated = try kassa(["park", "update", "t4", file.path, "--version", "1", "--user", "sven", "--json"], machine: m)
        #expect(updated.status == 0 && updated.json?["version"] as? Int == 2, "\(updated.stderr)")
    }

    @Test("cash out beyond the expected drawer is flagged on stderr; cash-reverse corrects it with a new movement, once")
    func cashReverse() throws {
        try setUp()
        let out = try kassa(["session", "cash-out", "--amount", "2000", "--user", "anna", "--id", "out-1"], machine: "1111aaaa2222bbbb")
        #expect(out.status == 0 && out.stdout.contains("movement out-1") && out.stdout.contains("should now hold -2000"), "\(out.stdout)")
        #expect(out.stderr.contains("warning: this takes out more cash than the drawer should hold") && out.stderr.contains("cash-reverse out-1"))
        let reversed = try kassa(["session", "cash-reverse", "out-1", "--user", "anna", "--reason", "typo", "--json"], machine: "1111aaaa2222bbbb")
        #expect(reversed.status == 0, "\(reversed.stderr)")
        #expect(reversed.json?["reverses"] as? String == "out-1" && reversed.json?["type"] as? String == "in"
                && reversed.json?["expectedCashAfter"] as? Int == 0 && reversed.json?["exceedsExpected"] as? Bool == false)
        let again = try kassa(["session", "cash-reverse", "out-1", "--user", "anna"], machine: "1111aaaa2222bbbb")
        #expect(again.status != 0 && again.stderr.contains("was already reversed"))
        let x = try kassa(["report", "x", "--user", "anna", "--no-print", "--json"], machine: "1111aaaa2222bbbb")
        #expect(((x.json?["report"] as? [String: Any])?["cashReversals"] as? [String: Any])?["amount"] as? Int == 2000 && (x.json?["report"] as? [String: Any])?["expectedCash"] as? Int == 0)
    }

    @Test("receipts finalized by racing processes get consecutive numbers, no duplicate and no gap")
    func racingProcesses() throws {
        try setUp()
        let machineFile = home.appendingPathComponent("machine-1111aaaa2222bbbb").path
        let count = 12
        var processes: [Process] = []
        for index in 0..<count {
            let file = home.appendingPathComponent("sale-\(index).json")
            try Data(sale("race-\(index)", 100 + index)).write(to: file)
            let process = Process()
            process.executableURL = KassaProcess.binary
            process.arguments = ["sale", file.path, "--user", "anna", "--no-print", "--json", "--home", home.path]
            var environment = ProcessInfo.processInfo.environment
            environment["KASSA_HARDWARE"] = TestSupport.hardware.path
            environment["KASSA_MACHINE_ID_FILE"] = machineFile
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            processes.append(process)
        }
        processes.forEach { try? $0.run() }
        processes.forEach { $0.waitUntilExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 })
        let terminal = try kassa(["terminal", "show", "--json"], machine: "1111aaaa2222bbbb")
        let counters = try #require(terminal.json?["counters"] as? [String: Any])
        #expect(counters["receiptNumber"] as? Int == count)
        var numbers: [Int] = []
        for number in 1...count {
            let shown = try kassa(["receipt", "show", String(number), "--json"], machine: "1111aaaa2222bbbb")
            #expect(shown.status == 0)
            numbers.append(shown.json?["number"] as? Int ?? -1)
        }
        #expect(numbers == Array(1...count))
        #expect(counters["grandTotalSales"] as? Int == (0..<count).reduce(0) { $0 + 100 + $1 })
    }

    @Test("a replayed sale prints nothing new and returns the same receipt")
    func replay() throws {
        try setUp()
        let first = try kassa(["sale", "-", "--user", "anna", "--no-print", "--json"], stdin: sale("same-id", 350), machine: "1111aaaa2222bbbb")
        let second = try kassa(["sale", "-", "--user", "anna", "--no-print", "--json"], stdin: sale("same-id", 350), machine: "1111aaaa2222bbbb")
        let a = try #require(first.json?["receipt"] as? [String: Any])
        let b = try #require(second.json?["receipt"] as? [String: Any])
        #expect(a["number"] as? Int == 1 && b["number"] as? Int == 1 && a["id"] as? String == b["id"] as? String)
    }

    @Test("the database refuses another device, which can still read its history")
    func anotherDevice() throws {
        try setUp()
        _ = try kassa(["sale", "-", "--user", "anna", "--no-print"], stdin: sale("s1", 350), machine: "1111aaaa2222bbbb")
        let refused = try kassa(["session", "close", "--user", "anna", "--counted", "350", "--left", "0"], machine: "9999eeee8888ffff")
        #expect(refused.status == 35 && refused.stderr.contains("belongs to terminal T-1111aaaa2222"))
        let readable = try kassa(["receipt", "show", "1"], machine: "9999eeee8888ffff")
        #expect(readable.status == 0 && readable.stdout.contains("Kaffe"))
    }

    @Test("a denied action gets a clear error and changes nothing; a bad sale file names the field")
    func errors() throws {
        try setUp()
        let denied = try kassa(["session", "force-close", "--user", "anna", "--no-print"], machine: "1111aaaa2222bbbb")
        #expect(denied.status == 30 && denied.stderr.contains("anna may not force-close"))
        let bad = try kassa(["sale", "-", "--user", "anna", "--no-print"],
                            stdin: Array(#"{"id":"x","lines":[{"name":"K","quantity":0.5,"unitPrice":100,"vatRate":"12"}]}"#.utf8),
                            machine: "1111aaaa2222bbbb")
        #expect(bad.status == 3 && bad.stderr.contains("lines[0].quantity"), "\(bad.stderr)")
        let terminal = try kassa(["terminal", "show", "--json"], machine: "1111aaaa2222bbbb")
        #expect((terminal.json?["counters"] as? [String: Any])?["receiptNumber"] as? Int == 0)
    }

    @Test("close prints a Z report; a reprint is marked as a copy; a sale prints with the terminal's stamps")
    func printing() throws {
        try setUp()
        let sold = try kassa(["sale", "-", "--user", "anna", "--json"], stdin: sale("p1", 1250), machine: "1111aaaa2222bbbb")
        let text = try #require((sold.json?["printed"] as? [String: Any])?["text"] as? String)
        #expect(text.contains("Kvittonr") && text.contains("Z-period") && text.contains("T-1111aaaa2222") && text.contains("Grand total"))
        #expect(text.contains("Kontant"), "payment methods print in Swedish")
        let closed = try kassa(["session", "close", "--user", "maria", "--count", "1000=1", "200=1", "--left", "0", "--json"],
                               machine: "1111aaaa2222bbbb")
        #expect(closed.status == 0, "\(closed.stderr)")
        let ztext = try #require((closed.json?["printed"] as? [String: Any])?["text"] as? String)
        #expect(ztext.contains("Z - D A G R A P P O R T   1") && ztext.contains("Differens"))
        #expect(ztext.contains("1 × 10,00") && ztext.contains("1 × 2,00") && ztext.contains("-0,50"), "\(ztext)")
        let reprint = try kassa(["report", "z", "--user", "maria", "--json"], machine: "1111aaaa2222bbbb")
        #expect((reprint.json?["report"] as? [String: Any])?["isCopy"] as? Bool == true && (reprint.json?["report"] as? [String: Any])?["zNumber"] as? Int == 1)
        // One record shape: `session close --json` and `report z --json` give the same report, key for key and value for
        // value (only `isCopy` differs: the second is the copy).
        var original = try #require(closed.json?["report"] as? [String: Any])
        var copy = try #require(reprint.json?["report"] as? [String: Any])
        #expect(Set(original.keys) == Set(copy.keys), "\(Set(original.keys).symmetricDifference(Set(copy.keys)))")
        original["isCopy"] = nil
        copy["isCopy"] = nil
        let canonical = { (record: [String: Any]) in
            String(decoding: (try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
        }
        #expect(!canonical(original).isEmpty && canonical(original) == canonical(copy))
        #expect((original["printedAt"] as? String)?.hasSuffix("Z") == true, "ISO 8601 with offset, not a reference-date number")
    }

    @Test("park from the CLI: named, stale edit refused, close blocked while paying, finalized once")
    func parkFromCLI() throws {
        let m = "1111aaaa2222bbbb"
        try setUp()
        let parked = try kassa(["park", "new", "-", "--user", "anna", "--name", "Bord 4", "--json"], stdin: sale("t4", 350), machine: m)
        #expect(parked.status == 0 && parked.json?["label"] as? String == "Bord 4" && parked.json?["version"] as? Int == 1)
        let stale = try kassa(["park", "update", "t4", "-", "--version", "7", "--user", "anna"], stdin: sale("t4", 400), machine: m)
        #expect(stale.status == 34 && stale.stderr.contains("now version 1"))
        let updated = try kassa(["park", "update", "t4", "-", "--version", "1", "--user", "anna", "--json"], stdin: sale("t4", 400), machine: m)
        #expect(updated.status == 0 && updated.json?["version"] as? Int == 2)
        #expect(try kassa(["park", "pay", "t4", "--user", "anna"], machine: m).status == 0)
        let blocked = try kassa(["session", "close", "--user", "anna", "--counted", "0", "--left", "0"], machine: m)
        #expect(blocked.status == 32 && blocked.stderr.contains("Bord 4"))
        let first = try kassa(["park", "finalize", "t4", "--pay", "card=400", "--user", "anna", "--no-print", "--json"], machine: m)
        let again = try kassa(["park", "finalize", "t4", "--pay", "card=400", "--user", "anna", "--no-print", "--json"], machine: m)
        let a = try #require(first.json?["receipt"] as? [String: Any])
        let b = try #require(again.json?["receipt"] as? [String: Any])
        #expect(a["number"] as? Int == 1 && b["number"] as? Int == 1 && a["total"] as? Int == 400)
        let list = try kassa(["park", "list", "--user", "anna", "--json"], machine: m)
        #expect(list.status == 0 && (list.jsonArray?.isEmpty ?? false))
        #expect(try kassa(["session", "close", "--user", "anna", "--counted", "0", "--left", "0"], machine: m).status == 0)
    }

    @Test("a drawer opening without a sale needs its permission, is recorded, and counts on the X report")
    func noSale() throws {
        let m = "1111aaaa2222bbbb"
        try setUp()
        let denied = try kassa(["session", "no-sale", "--user", "anna"], machine: m)
        #expect(denied.status == 30 && denied.stderr.contains("drawer.open_no_sale"))
        let opened = try kassa(["session", "no-sale", "--user", "maria", "--reason", "växel", "--json"], machine: m)
        #expect(opened.status == 0 && (opened.json?["movement"] as? [String: Any])?["type"] as? String == "no_sale")
        let x = try kassa(["report", "x", "--user", "maria", "--json", "--no-print"], machine: m)
        #expect((x.json?["report"] as? [String: Any])?["noSaleOpenings"] as? Int == 1)
    }

    /// Starts `kassa ARGS` in parallel, one process per argument list, and returns their exit codes and stderr.
    func race(_ argumentLists: [[String]], machine: String) throws -> [(Int32, String)] {
        let machineFile = home.appendingPathComponent("machine-\(machine)")
        try Data(machine.utf8).write(to: machineFile)
        var environment = ProcessInfo.processInfo.environment
        environment["KASSA_HARDWARE"] = TestSupport.hardware.path
        environment["KASSA_MACHINE_ID_FILE"] = machineFile.path
        // All started before any is waited for, so they race.
        let processes = try argumentLists.map { arguments in
            try ChildProcess(KassaProcess.binary.path, arguments + ["--home", home.path], environment: environment,
                             stdout: .discard, stderr: .capture)
        }
        return try processes.map { process in
            let outcome = try process.communicate(timeout: .seconds(120))
            return (outcome.termination.status, String(decoding: outcome.stderr, as: UTF8.self))
        }
    }

    @Test("processes racing to open a shift: exactly one wins; racing to close it: exactly one Z")
    func racingOpenAndClose() throws {
        let m = "1111aaaa2222bbbb"
        #expect(try kassa(["user", "add", "maria", "--role", "manager"], machine: m).status == 0)
        for name in ["anna", "olle", "lisa"] { #expect(try kassa(["user", "add", name, "--user", "maria"], machine: m).status == 0) }
        let opens = try race(["anna", "olle", "lisa", "maria"].map { ["session", "open", "--user", $0, "--float", "0"] }, machine: m)
        #expect(opens.filter { $0.0 == 0 }.count == 1)
        #expect(opens.filter { $0.0 == 32 && $0.1.contains("is still open") }.count == 3, "\(opens)")
        let closes = try race((0..<4).map { ["session", "force-close", "--user", "maria", "--counted", "0", "--left", "0", "--no-print", "--id", "close-\($0)"] },
                              machine: m)
        #expect(closes.filter { $0.0 == 0 }.count == 1, "\(closes)")
        #expect(closes.filter { $0.0 == 32 }.count == 3)
        let counters = try #require(try kassa(["terminal", "show", "--json"], machine: m).json?["counters"] as? [String: Any])
        #expect(counters["zNumber"] as? Int == 1 && counters["sessionSequence"] as? Int == 1)
    }

    @Test("a file that is not a database, or a missing folder, gets a clear error and the file is left as it was")
    func badDatabase() throws {
        let bad = home.appendingPathComponent("not-a-database.sqlite")
        let garbage = Data("receipts? no, a shopping list: milk, bread".utf8)
        try garbage.write(to: bad)
        let refused = try kassa(["terminal", "show", "--database", bad.path, "--json"])
        #expect(refused.status == 37)
        let error = try #require(refused.json?["error"] as? [String: Any])
        #expect(error["code"] as? String == "DATABASE_UNAVAILABLE" && (error["message"] as? String ?? "").contains("not an SQLite database"))
        #expect(try Data(contentsOf: bad) == garbage)
        let missing = try kassa(["session", "list", "--user", "anna", "--database", "/nonexistent-kassa-dir/k.sqlite"])
        #expect(missing.status == 37 && missing.stderr.contains("folder is missing"))
    }

    @Test("a shift's states from the CLI: opening, confirm by denomination, start-close stops sales, resume, close, post")
    func shiftStatesFromCLI() throws {
        let m = "1111aaaa2222bbbb"
        #expect(try kassa(["user", "add", "maria", "--role", "manager"], machine: m).status == 0)
        #expect(try kassa(["user", "add", "anna", "--user", "maria"], machine: m).status == 0)
        let opening = try kassa(["session", "open", "--user", "anna", "--json"], machine: m)
        #expect(opening.json?["state"] as? String == "opening")
        let early = try kassa(["sale", "-", "--user", "anna", "--no-print", "--json"], stdin: sale("e1", 350), machine: m)
        #expect(early.status == 32 && (early.json?["error"] as? [String: Any])?["code"] as? String == "SHIFT_STATE")
        let badCount = try kassa(["session", "confirm", "--user", "anna", "--count", "10000x2"], machine: m)
        #expect(badCount.status == 31 && badCount.stderr.contains("DENOMINATION=QUANTITY"))
        let confirmed = try kassa(["session", "confirm", "--user", "anna", "--count", "10000=2", "--json"], machine: m)
        #expect(confirmed.json?["state"] as? String == "open" && confirmed.json?["openingCounted"] as? Int == 20000)
        #expect(try kassa(["sale", "-", "--user", "anna", "--no-print"], stdin: sale("s1", 350), machine: m).status == 0)
        #expect(try kassa(["session", "start-close", "--user", "anna"], machine: m).stdout.contains("is closing"))
        let during = try kassa(["sale", "-", "--user", "anna", "--no-print"], stdin: sale("s2", 350), machine: m)
        #expect(during.status == 32 && during.stderr.contains("session resume"))
        #expect(try kassa(["session", "resume", "--user", "anna"], machine: m).stdout.contains("is open"))
        #expect(try kassa(["session", "close", "--user", "anna", "--counted", "20350", "--left", "20000", "--no-print"], machine: m).status == 0)
        let posted = try kassa(["session", "post", "--z", "1", "--user", "maria", "--json"], machine: m)
        #expect(posted.json?["state"] as? String == "posted")
        #expect(try kassa(["session", "post", "--z", "1", "--user", "maria"], machine: m).status == 31)
    }

    @Test("refund and park from the CLI: a refund of more than was sold and bad --line/--pay are refused; presets are set")
    func refundAndPresetsFromCLI() throws {
        let m = "1111aaaa2222bbbb"
        try setUp(machine: m)
        #expect(try kassa(["user", "add", "sven", "--role", "supervisor", "--user", "maria"], machine: m).status == 0)
        #expect(try kassa(["sale", "-", "--user", "anna", "--no-print"], stdin: sale("s1", 350), machine: m).status == 0)
        let badLine = try kassa(["refund", "--receipt", "1", "--line", "one=1", "--user", "sven", "--no-print"], machine: m)
        #expect(badLine.status == 31 && badLine.stderr.contains("LINE=QUANTITY"))
        let tooMuch = try kassa(["refund", "--receipt", "1", "--line", "1=2", "--user", "sven", "--no-print"], machine: m)
        #expect(tooMuch.status == 31)
        let refunded = try kassa(["refund", "--receipt", "1", "--line", "1=1", "--user", "sven", "--no-print", "--json"], machine: m)
        #expect((refunded.json?["receipt"] as? [String: Any])?["total"] as? Int == -350)
        #expect(try kassa(["park", "presets", "--set", "Bord 1, Bord 2", "--user", "anna"], machine: m).status == 30)
        let presets = try kassa(["park", "presets", "--set", "Bord 1, Bord 2", "--user", "maria", "--json"], machine: m)
        #expect(presets.stdout.contains("Bord 1") && presets.stdout.contains("Bord 2"))
        let parked = try kassa(["park", "new", "-", "--user", "anna", "--json"], stdin: sale("p1", 100), machine: m)
        #expect(parked.json?["label"] as? String == "Bord 1")
        let badPay = try kassa(["park", "finalize", "p1", "--pay", "card", "--user", "anna", "--no-print"], machine: m)
        #expect(badPay.status == 31 && badPay.stderr.contains("METHOD=AMOUNT"))
    }
}
