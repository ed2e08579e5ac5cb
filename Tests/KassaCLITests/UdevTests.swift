import Foundation
@testable import KassaRuntime
import Testing
import TestSupport

@Suite("udev rules")
struct UdevTests {
    var shipped: String {
        get throws { try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("udev/60-kassa.rules"), encoding: .utf8) }
    }

    @Test("the shipped rules parse, are never world-writable and cover every printer in usb-ids.json")
    func shippedRules() throws {
        let rules = try UdevRules(text: try shipped, source: "60-kassa.rules")
        #expect(rules.rules.count > 20)
        for entry in TestSupport.catalog.usbIDs {
            #expect(rules.usbIDs.contains("\(entry.vendor):\(entry.product)"), "\(entry.vendor):\(entry.product) has no rule")
        }
        let modes = rules.rules.flatMap(\.assignments).filter { $0.key == "MODE" }.map(\.value)
        #expect(!modes.isEmpty && modes.allSatisfy { $0 == "0660" })
        #expect(rules.rules.flatMap(\.assignments).contains { $0.key == "SYMLINK" && $0.value.hasPrefix("kassa/printer-") })
        #expect(!(try shipped).contains("0666"))
    }

    @Test("bad rules are refused with the line and the reason", arguments: [
        (#"SUBSYSTEM=="usb", MODE="0666""#, "gives every user access"),
        (#"SUBSYSTEM=="usb", MODE=0660"#, "double quotes"),
        (#"SUBSYSTEM=="usb", COLOUR="red""#, "unknown key COLOUR"),
        (#"ACTION=="remove", GOTO="nowhere""#, "has no LABEL"),
        (#"SUBSYSTEM~"usb""#, "expected KEY"),
    ])
    func badRules(text: String, reason: String) {
        #expect {
            try UdevRules(text: "# test\n" + text, source: "test.rules")
        } throws: { error in
            "\(error)".contains("test.rules:2") && "\(error)".contains(reason)
        }
    }

    @Test("udev check and udev install from the CLI")
    func cli() throws {
        let home = TestSupport.temporaryDirectory()
        let check = try KassaProcess.run(["udev", "check", "--json"], home: home)
        #expect(check.status == 0)
        #expect((check.json?["usbIDs"] as? [String])?.contains("04b8:0202") == true)
        let dest = home.appendingPathComponent("rules.d")
        let install = try KassaProcess.run(["udev", "install", "--dest", dest.path, "--no-group", "--no-reload"], home: home)
        #expect(install.status == 0, "\(install.stderr)")
        let installed = try String(contentsOf: dest.appendingPathComponent("60-kassa.rules"), encoding: .utf8)
        #expect(installed == (try shipped))
        let attributes = try FileManager.default.attributesOfItem(atPath: dest.appendingPathComponent("60-kassa.rules").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
        let denied = try KassaProcess.run(["udev", "install", "--dest", "/proc/kassa-cannot-write", "--no-group", "--no-reload"], home: home)
        #expect(denied.status == 5 && denied.stderr.contains("sudo"))
    }
}
