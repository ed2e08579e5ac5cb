import Foundation
import Testing
import TestSupport

/// Issue 17: a CleanCash control unit configured in kassa.toml, on a serial port (a pty with the simulated unit on its
/// other side), driven through the CLI as an integrator and a cashier would.
@Suite("Control unit on a serial port, from the CLI", .serialized)
struct ControlUnitCLITests {
    let home = TestSupport.temporaryDirectory()

    func kassa(_ arguments: [String], stdin: [UInt8]? = nil) throws -> KassaProcess.Result {
        try KassaProcess.run(arguments, stdin: stdin, home: home)
    }

    @discardableResult
    func ok(_ arguments: [String], stdin: [UInt8]? = nil) throws -> KassaProcess.Result {
        let result = try kassa(arguments, stdin: stdin)
        #expect(result.status == 0, "kassa \(arguments.joined(separator: " ")): \(result.stderr) \(result.stdout)")
        return result
    }

    func configure(_ simulator: CleanCashSimulator) throws {
        try """
            [fiscal.control-unit]
            url = "serial://\(simulator.slavePath)?baud=9600"
            timeout-ms = 300
            """.write(to: home.appendingPathComponent("kassa.toml"), atomically: true, encoding: .utf8)
    }

    static func sale(_ id: String, quantity: Int = 2) -> [UInt8] {
        Array(#"{"id":"\#(id)","lines":[{"name":"Kaffe","quantity":\#(quantity),"unitPrice":3500,"vatRate":"12"}]}"#.utf8)
    }

    func previewText(_ result: KassaProcess.Result) throws -> String {
        let range = try #require(result.stdout.range(of: "Preview: "), "\(result.stdout)")
        let path = result.stdout[range.upperBound...].prefix { $0 != "\n" }
        return try String(contentsOfFile: String(path).replacingOccurrences(of: ".png", with: ".txt"), encoding: .utf8)
    }

    @Test("info, status, binding at the shift, the unit id on the receipt, a power loss completed at the next start, another unit refused, doctor")
    func endToEnd() throws {
        let memory = home.appendingPathComponent("unit-memory.json").path
        var simulator = try CleanCashSimulator(unitID: "CC0000004711", memoryPath: memory)
        defer { simulator.stop() }
        try configure(simulator)
        try ok(["user", "add", "maria", "--role", "manager"])
        for (key, value) in [("fiscal-profile", "se"), ("se-org-number", "5561234567"), ("se-pos-id", "KASSA1"), ("cash-control", "off")] {
            try ok(["settings", "set", key, value, "--user", "maria"])
        }
        let info = try ok(["fiscal", "info", "--json"]).json
        #expect(info?["unitID"] as? String == "CC0000004711" && info?["simulated"] as? Bool == false && info?["protocolVersion"] as? Int == 2)
        #expect(info?["boundUnit"] as? String == "", "not bound before the first shift")
        try ok(["session", "open", "--user", "maria"])
        let status = try ok(["fiscal", "status"]).stdout
        #expect(status.contains("CC0000004711") && status.contains("bound to this unit") && status.contains("pending:  none"), "\(status)")

        let receipt = try previewText(try ok(["sale", "-", "--user", "maria"], stdin: Self.sale("s1")))
        #expect(receipt.contains("Kontrollenhet: CC0000004711") && receipt.contains("Kontrollkod:"), "\(receipt)")
        #expect(simulator.memory.registrations.map(\.receiptID) == ["1"])

        // Power lost after the unit stored the second receipt: the sale fails, nothing recorded, the registration pending.
        simulator.setFault(.powerLossAfterRegistration)
        let lost = try kassa(["sale", "-", "--user", "maria", "--json"], stdin: Self.sale("s2"))
        #expect(lost.status == 38 && lost.stdout.contains("CONTROL_UNIT"), "\(lost.stdout) \(lost.stderr)")
        let doctor = try kassa(["doctor", "--json"])
        #expect(doctor.stdout.contains("RECEIPT_NORMAL:2") && doctor.stdout.contains("does not answer"), "\(doctor.stdout)")
        simulator.powerOn()
        // The next command completes the interrupted sale first (the unit answers its serial from memory), then sells.
        try ok(["sale", "-", "--user", "maria"], stdin: Self.sale("s3", quantity: 3))
        #expect(simulator.memory.registrations.map(\.receiptID) == ["1", "2", "3"] && simulator.memory.conflicts.isEmpty,
                "\(simulator.memory)")
        #expect(simulator.memory.registrations[1].repeats == 1, "receipt 2 answered again from the unit's memory, not registered twice")
        let shown = try ok(["receipt", "show", "2", "--json"]).json
        #expect(shown?["total"] as? Int == 7000, "the interrupted sale s2 (2 × 35,00) is receipt 2: \(String(describing: shown))")
        #expect(try ok(["receipt", "show", "3", "--json"]).json?["total"] as? Int == 10500)

        // Another unit on the port: refused by name, at status and at a sale; nothing registered in it.
        simulator.stop()
        simulator = try CleanCashSimulator(unitID: "CC0000009999")
        try configure(simulator)
        let other = try kassa(["fiscal", "status"])
        #expect(other.status == 38 && other.stdout.contains("NOT this unit"), "\(other.stdout) \(other.stderr)")
        let refused = try kassa(["sale", "-", "--user", "maria", "--json"], stdin: Self.sale("s4"))
        #expect(refused.status == 38 && refused.stdout.contains("CONTROL_UNIT_MISMATCH") && refused.stdout.contains("CC0000004711")
                && refused.stdout.contains("CC0000009999"), "\(refused.stdout)")
        #expect(simulator.memory.registrations.isEmpty)
        let doctorOther = try kassa(["doctor"])
        #expect(doctorOther.stdout.contains("bound to CC0000004711"), "\(doctorOther.stdout)")
    }

    @Test("kassa.toml's [fiscal.control-unit] is strict: a url that is not a serial port, an unknown key, a missing url")
    func strictConfig() throws {
        for (text, words) in [("[fiscal.control-unit]\nurl = \"tcp://10.0.0.1\"\n", "serial port"),
                              ("[fiscal.control-unit]\nurl = \"serial:///dev/ttyUSB0\"\nbaud = 9600\n", "unknown key 'baud'"),
                              ("[fiscal.control-unit]\ntimeout-ms = 500\n", "has no url"),
                              ("[fiscal.control-unit]\nurl = \"serial:///dev/ttyUSB0?baud=1234\"\n", "baud")] {
            try text.write(to: home.appendingPathComponent("kassa.toml"), atomically: true, encoding: .utf8)
            let result = try kassa(["fiscal", "info"])
            #expect(result.status != 0 && result.stderr.contains(words), "\(text): \(result.stderr)")
        }
    }
}
