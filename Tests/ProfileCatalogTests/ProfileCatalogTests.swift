import ESCPOS
import Foundation
import ProfileCatalog
import Testing
import TestSupport

@Suite("Printer profiles")
struct ProfileCatalogTests {
    @Test("every shipped profile loads, with the generic 58 mm and 80 mm ones")
    func shipped() throws {
        let catalog = TestSupport.catalog
        #expect(catalog.problems.isEmpty)
        #expect(catalog.profiles.count == 52)
        let generic58 = try catalog.profile(named: "generic-58mm")
        let generic80 = try catalog.profile(named: "generic-80mm")
        #expect(generic58.paper.dots == 384 && generic58.columns(font: .a) == 32 && generic58.columns(font: .b) == 42)
        #expect(generic80.paper.dots == 576 && generic80.columns(font: .a) == 48 && generic80.columns(font: .b) == 64)
        for profile in catalog.profiles {
            #expect(!profile.usableCodePages.isEmpty, "\(profile.id) has no usable code page")
            #expect(profile.paper.dots >= 96)
        }
    }

    @Test("profile data matches escpos-printer-db for TM-T20III")
    func tmT20III() throws {
        let profile = try TestSupport.catalog.profile(named: "TM-T20III")
        #expect(profile.paper.dots == 576)
        #expect(profile.codePages["19"] == "CP858" && profile.codePages["18"] == "CP852" && profile.codePages["16"] == "CP1252")
        #expect(profile.features.nativeQR && profile.features.fullCut && profile.features.drawerPulse)
    }

    @Test("every USB vendor:product entry points at a profile that exists")
    func usbMap() throws {
        let catalog = TestSupport.catalog
        #expect(catalog.usbIDs.count >= 10)
        for entry in catalog.usbIDs {
            #expect((try? catalog.profile(named: entry.profile)) != nil, "\(entry.vendor):\(entry.product)")
        }
        #expect(catalog.profile(vendor: 0x04B8, product: 0x0202)?.id == "TM-T88V")
        #expect(catalog.profile(vendor: 0xFFFF, product: 0x0001) == nil)
    }

    @Test("a user's profile file is picked up without rebuilding and wins over a shipped one")
    func userProfiles() throws {
        let directory = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var custom = try TestSupport.catalog.profile(named: "generic-58mm")
        custom.id = "my-shop-printer"
        custom.name = "Shop printer"
        custom.codePages = ["0": "CP437", "40": "ISO_8859-15"]
        try JSONEncoder().encode(custom).write(to: directory.appendingPathComponent("shop.json"))
        var override = custom
        override.id = "generic-80mm"
        override.paper.dots = 512
        try JSONEncoder().encode(override).write(to: directory.appendingPathComponent("override.json"))
        let catalog = try ProfileCatalog.load(hardwareDirectory: TestSupport.hardware, userDirectory: directory)
        #expect(try catalog.profile(named: "my-shop-printer").name == "Shop printer")
        #expect(try catalog.profile(named: "generic-80mm").paper.dots == 512)
        #expect(catalog.entries["my-shop-printer"]?.origin.hasSuffix("shop.json") == true)
    }

    @Test("broken profile files are reported with the reason, and the rest still load")
    func brokenFiles() throws {
        let directory = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("{ not json".utf8).write(to: directory.appendingPathComponent("a.json"))
        try Data([0x7B, 0xFF, 0xFE, 0x7D]).write(to: directory.appendingPathComponent("b.json"))
        var bad = try TestSupport.catalog.profile(named: "generic-58mm")
        bad.id = "bad-pages"
        bad.codePages = ["0": "CP9999"]
        try JSONEncoder().encode(bad).write(to: directory.appendingPathComponent("c.json"))
        let catalog = try ProfileCatalog.load(hardwareDirectory: TestSupport.hardware, userDirectory: directory)
        #expect(catalog.problems.count == 3)
        let messages = catalog.problems.map(\.description)
        #expect(messages.contains { $0.contains("a.json") && $0.contains("not valid JSON") })
        #expect(messages.contains { $0.contains("b.json") && $0.contains("not UTF-8") })
        #expect(messages.contains { $0.contains("CP9999") })
        #expect(catalog.profiles.count == 52)
    }

    @Test("an unknown profile name suggests close matches")
    func unknown() {
        #expect {
            try TestSupport.catalog.profile(named: "TM-T20")
        } throws: { error in
            "\(error)".contains("TM-T20II")
        }
    }

    @Test("a missing Hardware folder is a clear error")
    func missingFolder() {
        #expect(throws: ProfileCatalogError.directoryMissing("/nonexistent/profiles")) {
            try ProfileCatalog.load(hardwareDirectory: URL(fileURLWithPath: "/nonexistent"), userDirectory: nil)
        }
    }
}
