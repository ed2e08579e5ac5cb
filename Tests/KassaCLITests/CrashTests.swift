import ChildProcess
import Foundation
import Testing
import TestSupport

/// Power cuts and killed processes while finalizing: after any crash the numbers are gap-free, nothing acknowledged is
/// lost, and a retry with the same command id never makes a second receipt.
@Suite("Crashes while finalizing", .serialized)
struct CrashTests {
    let home = TestSupport.temporaryDirectory()
    let machine = "5555cccc6666dddd"

    func environment(crashAt: String? = nil) throws -> [String: String] {
        let file = home.appendingPathComponent("machine-id")
        if !FileManager.default.fileExists(atPath: file.path) { try Data(machine.utf8).write(to: file) }
        var environment = ProcessInfo.processInfo.environment
        environment["KASSA_HARDWARE"] = TestSupport.hardware.path
        environment["KASSA_MACHINE_ID_FILE"] = file.path
        environment["KASSA_CRASH_AT"] = crashAt
        return environment
    }

    func kassa(_ arguments: [String], stdin: [UInt8]? = nil, crashAt: String? = nil) throws -> KassaProcess.Result {
        let result = try TestSupport.run(KassaProcess.binary, arguments + ["--home", home.path], stdin: stdin, environment: try environment(crashAt: crashAt))
        return KassaProcess.Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    func saleFile(_ id: String, price: Int) throws -> String {
        let file = home.appendingPathComponent("\(id).json")
        try Data(#"{"id":"\#(id)","lines":[{"name":"Kaffe","quantity":1,"unitPrice":\#(price),"vatRate":"12"}],"payments":[{"method":"cash","amount":\#(price)}]}"#.utf8)
            .write(to: file)
        return file.path
    }

    /// Starts `kassa sale`, its JSON answer on a pipe.
    func startSale(_ id: String, price: Int, crashAt: String? = nil, print: Bool = false) throws -> ChildProcess {
        try ChildProcess(KassaProcess.binary.path,
                         ["sale", try saleFile(id, price: price), "--user", "anna", "--json", "--home", home.path] + (print ? [] : ["--no-print"]),
                         environment: try environment(crashAt: crashAt), stdout: .capture, stderr: .discard)
    }

    /// How a `kassa sale` ended, and the acknowledged receipt (id, number) from the JSON it printed when it succeeded.
    func finish(_ process: ChildProcess) throws -> (ended: ChildProcess.Termination, acknowledged: (String, Int)?) {
        let outcome = try process.communicate(timeout: .seconds(120))
        guard outcome.termination == .exited(0),
              let json = (try? JSONSerialization.jsonObject(with: Data(outcome.stdout))) as? [String: Any],
              let receipt = json["receipt"] as? [String: Any], let id = receipt["id"] as? String, let number = receipt["number"] as? Int
        else { return (outcome.termination, nil) }
        return (outcome.termination, (id, number))
    }

    @Test("killed at each step of finalizing, then in a loop at random moments: gap-free, nothing acknowledged lost, no duplicates")
    func killLoop() throws {
        #expect(try kassa(["user", "add", "maria", "--role", "manager"]).status == 0)
        #expect(try kassa(["user", "add", "anna", "--user", "maria"]).status == 0)
        #expect(try kassa(["session", "open", "--user", "anna", "--float", "0"]).status == 0)
        var acknowledged: [String: Int] = [:]
        var price = 100
        // 1. A kill at every step. Before the commit the receipt must not exist; from the commit on it must, exactly once.
        for step in ["begun", "numbered", "written", "committed", "printed"] {
            price += 1
            let id = "step-\(step)"
            let killed = try finish(try startSale(id, price: price, crashAt: step, print: step == "printed"))
            #expect(killed.acknowledged == nil)
            #expect(killed.ended == .signalled(SIGKILL), "step \(step)")
            let committed = step == "committed" || step == "printed"
            let before = try kassa(["terminal", "show", "--json"]).json?["counters"] as? [String: Any]
            // The POS retries with the same command id: one receipt either way.
            let number = try #require(try finish(try startSale(id, price: price)).acknowledged, "retry after a kill at \(step)").1
            let after = try kassa(["terminal", "show", "--json"]).json?["counters"] as? [String: Any]
            let numberBefore = before?["receiptNumber"] as? Int ?? -1
            #expect(after?["receiptNumber"] as? Int == (committed ? numberBefore : numberBefore + 1), "step \(step)")
            acknowledged[id] = number
        }
        // 2. Kills at random moments, as a power cut would come.
        var generator = SystemRandomNumberGenerator()
        for index in 0..<24 {
            price += 1
            let id = "loop-\(index)"
            let process = try startSale(id, price: price)
            usleep(UInt32.random(in: 0...120_000, using: &generator))
            process.signal(SIGKILL)
            if let (ackID, number) = try finish(process).acknowledged { acknowledged[ackID] = number }
        }
        // 3. The terminal still works, and the history is whole.
        let final = try #require(try finish(try startSale("after", price: 1)).acknowledged)
        acknowledged[final.0] = final.1
        let counters = try #require(try kassa(["terminal", "show", "--json"]).json?["counters"] as? [String: Any])
        let highest = try #require(counters["receiptNumber"] as? Int)
        #expect(highest == final.1)
        var ids: [Int: String] = [:]
        var sum = 0
        for number in 1...highest {
            let shown = try kassa(["receipt", "show", String(number), "--json"])
            #expect(shown.status == 0, "receipt \(number) is missing: a gap")
            ids[number] = shown.json?["id"] as? String
            sum += shown.json?["total"] as? Int ?? 0
        }
        #expect(Set(ids.values).count == highest, "a command made two receipts")
        for (id, number) in acknowledged {
            #expect(ids[number] == id, "acknowledged receipt \(id) (number \(number)) is not in the database")
        }
        #expect(counters["grandTotalSales"] as? Int == sum)
        #expect(acknowledged.count >= 6)
        // The journal survived every kill too: each receipt has its signed entry, the chain is whole.
        let journal = try kassa(["journal", "verify", "--json"])
        #expect(journal.status == 0 && journal.json?["receiptsChecked"] as? Int == highest, "\(journal.stdout)")
    }
}
