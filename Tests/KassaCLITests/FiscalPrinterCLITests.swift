import Foundation
import Testing
import TestSupport

/// Issue 17: a Datecs fiscal printer configured in kassa.toml, on a serial port (a pty with the simulated printer).
@Suite("Fiscal printer on a serial port, from the CLI", .serialized)
struct FiscalPrinterCLITests {
    let home = TestSupport.temporaryDirectory()

    func kassa(_ arguments: [String]) throws -> KassaProcess.Result { try KassaProcess.run(arguments, home: home) }

    @Test("status and info read the printer; an open fiscal receipt is named and refuses; kassa fiscal x prints an X report; no printer configured is a clear error")
    func statusAndX() throws {
        let missing = try kassa(["fiscal", "x"])
        #expect(missing.status != 0 && missing.stderr.contains("[fiscal.printer]"), "\(missing.stderr)")
        let simulator = try DatecsSimulator()
        defer { simulator.stop() }
        try """
            [fiscal.printer]
            url = "serial://\(simulator.slavePath)?baud=115200"
            """.write(to: home.appendingPathComponent("kassa.toml"), atomically: true, encoding: .utf8)
        let status = try kassa(["fiscal", "status", "--printer", "--json"])
        #expect(status.status == 0 && status.json?["lastDocument"] as? Int == 0 && status.json?["fiscalized"] as? Bool == true, "\(status.stdout) \(status.stderr)")
        let info = try kassa(["fiscal", "info", "--printer"])
        #expect(info.status == 0 && info.stdout.contains("Datecs") && info.stdout.contains("receipt open:  no"), "\(info.stdout)")
        let x = try kassa(["fiscal", "x", "--json"])
        #expect(x.status == 0 && x.json?["reportNumber"] as? Int == 1, "\(x.stdout) \(x.stderr)")
        #expect(simulator.received.contains(69) && simulator.memory.zNumber == 0, "an X zeroes nothing")
        let healthy = try #require(try kassa(["doctor", "--json"]).json?["checks"] as? [[String: Any]])
        #expect(healthy.contains { $0["name"] as? String == "fiscal printer" && $0["result"] as? String == "pass" }, "\(healthy)")
        // A fiscal receipt left open on the device (a power cut mid-receipt): status names it and exits non-zero.
        simulator.setOpenReceipt("DT000001-0001-0000009")
        let open = try kassa(["fiscal", "status", "--printer"])
        #expect(open.status != 0 && open.stdout.contains("receipt open:  yes") && open.stderr.contains("a fiscal receipt is open"), "\(open.stdout) \(open.stderr)")
        let doctor = try #require(try kassa(["doctor", "--json"]).json?["checks"] as? [[String: Any]])
        #expect(doctor.contains { $0["name"] as? String == "fiscal printer" && $0["result"] as? String == "fail" }, "\(doctor)")
        // Unplugged: doctor names the port's failure.
        simulator.stop()
        let gone = try #require(try kassa(["doctor", "--json"]).json?["checks"] as? [[String: Any]])
        #expect(gone.contains { $0["name"] as? String == "fiscal printer" && $0["result"] as? String == "fail" }, "\(gone)")
    }
}
