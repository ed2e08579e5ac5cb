import ESCPOS
import Foundation
@testable import KassaRuntime
import Testing
import TestSupport

@Suite("Devices from the CLI: status, drawer, configuration, status check before printing", .serialized)
struct DeviceCommandTests {
    let home = TestSupport.temporaryDirectory()

    @Test("status on the virtual printer, healthy and with simulated problems")
    func status() throws {
        let ok = try KassaProcess.run(["status", "--json"], home: home)
        #expect(ok.status == 0)
        #expect((ok.json?["status"] as? [String: Any])?["paper"] as? String == "ok")
        let bad = try KassaProcess.run(["status", "--device", "virtual:?paper=out"], home: home)
        #expect(bad.status == 22)
        #expect(bad.stdout.contains("paper:   out") && bad.stdout.contains("Not ready: the printer is out of paper"))
        let file = try KassaProcess.run(["status", "--device", "file:\(home.appendingPathComponent("x.bin").path)"], home: home)
        #expect(file.status == 4 && file.stderr.contains("unavailable"))
    }

    @Test("printing stops before sending anything when the serial printer is out of paper")
    func preflightOverSerial() throws {
        let printer = try FakeSerialPrinter()
        printer.setStatus(4, 0x72)
        let refused = try KassaProcess.run(["print", "--demo", "--device", "serial://\(printer.slavePath)?baud=115200"], home: home)
        #expect(refused.status == 22, "\(refused.stderr)")
        #expect(refused.stderr.contains("out of paper") && refused.stderr.contains("Nothing was printed"))
        // Only the four status requests reached the printer.
        #expect(printer.waitForBytes(12) == [0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 3, 0x10, 0x04, 4])
        printer.setStatus(4, 0x12)
        let printed = try KassaProcess.run(["print", "-", "--device", "serial://\(printer.slavePath)?baud=115200"],
                                           stdin: Array("Hej\n".utf8), home: home)
        #expect(printed.status == 0, "\(printed.stderr)")
        // Four more status requests, the job (ESC @, "Hej", LF, feed-and-cut), then the four that confirm it.
        let bytes = printer.waitForBytes(24 + 10 + 12)
        #expect(Array(bytes[12..<24]) == [0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 3, 0x10, 0x04, 4])
        #expect(Array(bytes[24..<34]) == [0x1B, 0x40, 0x48, 0x65, 0x6A, 0x0A, 0x1D, 0x56, 0x42, 0x03])
        #expect(Array(bytes[34...]) == [0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 3, 0x10, 0x04, 4])
    }

    @Test("a printer that never answers status still prints, with a note")
    func unknownStatus() throws {
        let printer = try FakeSerialPrinter(mode: .swallow)
        let result = try KassaProcess.run(["print", "-", "--json", "--device", "serial://\(printer.slavePath)"],
                                          stdin: Array("x\n".utf8), home: home)
        #expect(result.status == 0, "\(result.stderr)")
        #expect((result.json?["notes"] as? [String])?.contains { $0.contains("status not checked") } == true)
    }

    @Test("drawer open sends the 5-byte pulse with the configured pin and times, and reads the signal back")
    func drawer() throws {
        let printer = try FakeSerialPrinter()
        printer.setStatus(1, 0x16)
        try Data("""
            # the till in the shop
            [devices.till]
            url = "serial://\(printer.slavePath)?baud=38400"
            profile = "TM-T20III"
            default = true

            [devices.till.drawer]
            pin = 5
            on = 60
            off = 240
            open-when = "high"
            """.utf8).write(to: home.appendingPathComponent("kassa.toml"))
        let result = try KassaProcess.run(["drawer", "open", "--json"], home: home)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.json?["pin"] as? Int == 5 && result.json?["drawerOpen"] as? Bool == true)
        let bytes = printer.waitForBytes(8)
        #expect(Array(bytes.prefix(5)) == [0x1B, 0x70, 0x01, 30, 120])
        let state = try KassaProcess.run(["drawer", "status", "--device", "till"], home: home)
        #expect(state.status == 0 && state.stdout.contains("open"))
        let unknown = try KassaProcess.run(["status", "--device", "back-office"], home: home)
        #expect(unknown.status == 64 && unknown.stderr.contains("Configured: till"))
    }

    @Test("a broken configuration file names the line and what is wrong", arguments: [
        ("[devices.a]\nurl = tcp://x\n", ":2: a value is a \"string\""),
        ("[printers.a]\n", ":1: unknown table [printers.a]"),
        ("[devices.a]\nurl = \"virtual:\"\ncolour = \"red\"\n", ":3: unknown key 'colour'"),
        ("[devices.a]\nurl = \"virtual:\"\n[devices.a.drawer]\npin = 3\n", ":4: the drawer pin is 2 or 5"),
        ("[devices.a]\nprofile = \"generic-58mm\"\n", "device 'a' has no url"),
        ("[devices.a]\nurl = \"virtual:\"\nprofle = \"generic-58mm\"\n", ":3: unknown key 'profle' in [devices.a]; did you mean 'profile'?"),
        ("[devices.a]\nurl = \"virtual:\"\nurl = \"tcp://x\"\n", ":3: 'url' is given twice in [devices.a]"),
        ("[devices.a]\nurl = \"virtual:\u{0}\"\n", "the control character U+0000"),
    ])
    func brokenConfig(text: String, expected: String) throws {
        try Data(text.utf8).write(to: home.appendingPathComponent("kassa.toml"))
        let result = try KassaProcess.run(["status"], home: home)
        #expect(result.status == 6)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
    }
    @Test("drawer times are reported as sent (off never shorter than on); a wrong pin and --json argument errors are exit 64")
    func drawerArguments() throws {
        let pulse = try KassaProcess.run(["drawer", "open", "--off", "2", "--on", "510", "--json"], home: home)
        #expect(pulse.status == 0 && pulse.json?["onMilliseconds"] as? Int == 510 && pulse.json?["offMilliseconds"] as? Int == 510, "\(pulse.stdout)")
        #expect((pulse.json?["note"] as? String)?.contains("off time was 2 ms") == true)
        let pin = try KassaProcess.run(["drawer", "open", "--pin", "3"], home: home)
        #expect(pin.status == 64 && pin.stderr.contains("--pin is 2 or 5"), "\(pin.stderr)")
        for arguments in [["print", "--demo", "--copies", "0", "--json"], ["drawer", "open", "--pin", "3", "--json"], ["--json", "print", "--nonsense"]] {
            let result = try KassaProcess.run(arguments, home: home)
            let error = result.json?["error"] as? [String: Any]
            #expect(result.status == 64 && error?["code"] as? String == "INVALID_ARGUMENTS" && result.json?["ok"] as? Bool == false,
                    "\(arguments): \(result.stdout)")
        }
    }
}

@Suite("Configuration parser")
struct ConfigTests {
    @Test func parses() throws {
        let config = try KassaConfig.parse("""
            [devices.front]   # main till
            url = "tcp://10.0.0.5:9100"
            profile = "TM-T20III"

            [devices.back]
            url = "serial:///dev/ttyUSB0?baud=9600"
            default = true
            [devices.back.drawer]
            open-when = "low"
            """, path: "kassa.toml")
        #expect(config.devices.count == 2)
        #expect(config.devices["front"]?.profile == "TM-T20III")
        #expect(config.defaultDevice?.name == "back")
        #expect(config.devices["back"]?.drawer.openWhenHigh == false)
        #expect(config.devices["front"]?.drawer == KassaConfig.Drawer())
    }

    @Test func comments() {
        #expect(KassaConfig.stripComment(#"url = "tcp://a#b" # comment"#) == #"url = "tcp://a#b" "#)
    }

}
