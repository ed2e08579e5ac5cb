import Foundation
import KassaRuntime
import Testing
import TestSupport

@Suite("kassa doctor", .serialized)
struct DoctorTests {
    let home = TestSupport.temporaryDirectory()

    func checks(_ result: KassaProcess.Result) -> [[String: Any]] {
        (result.json?["checks"] as? [[String: Any]]) ?? []
    }

    @Test("missing udev rules fail with the fix; installed rules pass")
    func udevRules() throws {
        let rules = home.appendingPathComponent("rules.d")
        let missing = try KassaProcess.run(["doctor", "--json", "--rules-dir", rules.path], home: home)
        #expect(missing.status == 8)
        let rule = try #require(checks(missing).first { $0["name"] as? String == "udev rules" })
        #expect(rule["result"] as? String == "fail" && rule["fix"] as? String == "sudo kassa udev install")
        _ = try KassaProcess.run(["udev", "install", "--dest", rules.path, "--no-group", "--no-reload"], home: home)
        let installed = try KassaProcess.run(["doctor", "--json", "--rules-dir", rules.path], home: home)
        #expect(checks(installed).first { $0["name"] as? String == "udev rules" }?["result"] as? String == "pass")
    }

    @Test("an installed rules file with MODE=\"0666\" is flagged as world-writable; running as root is not a PASS")
    func worldWritableAndRoot() throws {
        let rules = home.appendingPathComponent("rules.d")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        try Data(#"SUBSYSTEM=="usb", ATTR{idVendor}=="04b8", MODE="0666", GROUP="kassa"\n"#.utf8)
            .write(to: rules.appendingPathComponent("60-kassa.rules"))
        let result = try KassaProcess.run(["doctor", "--json", "--rules-dir", rules.path], home: home)
        let rule = try #require(checks(result).first { $0["name"] as? String == "udev rules" })
        #expect(rule["result"] as? String == "fail" && (rule["detail"] as? String ?? rule["message"] as? String ?? "").contains("world-writable"), "\(rule)")
        if getuid() == 0 {
            let groups = try #require(checks(result).first { $0["name"] as? String == "groups" })
            #expect(groups["result"] as? String == "warn", "\(groups)")
        }
    }

    @Test("a built-in UART without access is fixed by the dialout group, a USB device by the rules and a replug")
    func accessFixes() {
        #expect(KassaEnvironment.accessFix(.serialPort).contains("dialout") && !KassaEnvironment.accessFix(.serialPort).contains("replug"))
        #expect(KassaEnvironment.accessFix(.usbSerial).contains("udev install") && KassaEnvironment.accessFix(.usbPrinter).contains("replug"))
    }

    @Test("configured devices are opened and asked for status and paper; drawer settings are checked")
    func devices() throws {
        let rules = home.appendingPathComponent("rules.d")
        _ = try KassaProcess.run(["udev", "install", "--dest", rules.path, "--no-group", "--no-reload"], home: home)
        try Data("""
            [devices.good]
            url = "virtual:?paper=near-end"
            [devices.empty]
            url = "virtual:?paper=out"
            [devices.empty.drawer]
            on = 200
            off = 100
            """.utf8).write(to: home.appendingPathComponent("kassa.toml"))
        let result = try KassaProcess.run(["doctor", "--rules-dir", rules.path], home: home)
        #expect(result.status == 8)
        #expect(result.stdout.contains("FAIL  device 'empty': virtual:?paper=out opens, but the printer is out of paper"))
        #expect(result.stdout.contains("WARN  device 'good': virtual:?paper=near-end is ready; the paper is nearly out"))
        #expect(result.stdout.contains("WARN  device 'empty' drawer: off time 100 ms is shorter than on time"))
        #expect(result.stdout.contains("PASS  libusb"))
    }

    @Test("--test-page prints the profile, national characters and a QR code")
    func testPage() throws {
        let rules = home.appendingPathComponent("rules.d")
        let result = try KassaProcess.run(["doctor", "--json", "--test-page", "--rules-dir", rules.path], home: home)
        let page = try #require(result.json?["testPage"] as? [String: Any])
        let text = try #require(page["text"] as? String)
        #expect(text.contains("Polski: ąćęłńóśźż") && text.contains("Euro: 12,50 €") && text.contains("[QR"))
        #expect((page["warnings"] as? [String])?.isEmpty == true)
    }
}
