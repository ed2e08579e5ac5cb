import Foundation
import KassaRuntime
import ReceiptLayout
import RKSV
import SessionEngine
import Testing
import TestSupport
import VirtualPrinter

@Suite("Fiscal profiles and the journal from the CLI", .serialized)
struct FiscalCLITests {
    let home = TestSupport.temporaryDirectory()

    func kassa(_ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:]) throws -> KassaProcess.Result {
        try KassaProcess.run(arguments, stdin: stdin, home: home, extraEnvironment: environment)
    }

    func ok(_ arguments: [String], stdin: [UInt8]? = nil) throws -> KassaProcess.Result {
        let result = try kassa(arguments, stdin: stdin)
        #expect(result.status == 0, "kassa \(arguments.joined(separator: " ")): \(result.stderr)")
        return result
    }

    func previewText(_ result: KassaProcess.Result) throws -> String {
        let range = try #require(result.stdout.range(of: "Preview: "), "\(result.stdout)")
        let path = result.stdout[range.upperBound...].prefix { $0 != "\n" }
        return try String(contentsOfFile: String(path).replacingOccurrences(of: ".png", with: ".txt"), encoding: .utf8)
    }

    static let coffee = Array(#"{"id":"ID","lines":[{"name":"Kaffe","quantity":2,"unitPrice":3500,"vatRate":"12"},{"name":"Klippning","quantity":1,"unitPrice":25000,"vatRate":"25","service":true}]}"#.utf8)
    static func sale(_ id: String) -> [UInt8] { Array(String(decoding: coffee, as: UTF8.self).replacingOccurrences(of: "\"ID\"", with: "\"\(id)\"").utf8) }

    @Test("Sweden: control code on the receipt, a unit that does not answer refuses the sale, KOPIA, ÖVNING, EJ KVITTO, the 22 report items")
    func sweden() throws {
        _ = try ok(["user", "add", "maria", "--role", "manager"])
        for (key, value) in [("fiscal-profile", "se"), ("se-org-number", "5561234567"), ("se-pos-id", "KASSA1"), ("company-name", "Kaffebaren AB"),
                             ("shop-address", "Storgatan 1;123 45 Stad"), ("cash-control", "off")] {
            _ = try ok(["settings", "set", key, value, "--user", "maria"])
        }
        _ = try ok(["session", "open", "--user", "maria"])
        let down = try kassa(["sale", "-", "--user", "maria", "--json"], stdin: Self.sale("s1"), environment: ["KASSA_CONTROL_UNIT": "down"])
        #expect(down.status == 38 && down.stdout.contains("nothing was recorded") && down.stdout.contains("same --id"), "\(down.stdout)")
        #expect(try ok(["terminal", "show", "--json"]).json?["counters"].flatMap { ($0 as? [String: Any])?["receiptNumber"] as? Int } == 0)

        let receipt = try previewText(try ok(["sale", "-", "--user", "maria"], stdin: Self.sale("s1")))
        for item in ["K a f f e b a r e n", "Org.nr 556123-4567", "Storgatan 1", "Kassabeteckning", "KASSA1", "Kvittonr", "Kontrollenhet: SIMULATOR-0001",
                     "Kontrollkod:", "Moms", "Kontant"] {
            #expect(receipt.contains(item), "\(item) on the receipt:\n\(receipt)")
        }
        let copy = try previewText(try ok(["receipt", "copy", "1", "--user", "maria"]))
        #expect(copy.contains("K O P I A"), "\(copy)")
        var training = String(decoding: Self.sale("t1"), as: UTF8.self)
        training.removeLast()
        let practice = try previewText(try ok(["sale", "-", "--user", "maria"], stdin: Array((training + #","training":true}"#).utf8)))
        #expect(practice.contains("Ö V N I N G") && practice.contains("Övningskvitto"), "\(practice)")
        _ = try ok(["park", "new", "-", "--id", "bord-4", "--name", "Bord 4", "--user", "maria"], stdin: Self.sale("p1"))
        let bill = try previewText(try ok(["park", "proforma", "bord-4", "--user", "maria"]))
        #expect(bill.contains("E J   K V I T T O") && bill.contains("ATT BETALA") && !bill.contains("Kvittonr"), "\(bill)")
        // The bill is registered in the control unit (its id printed; a pro-forma bill takes no control code, decision
        // 0028), numbered in its own series, and counted.
        #expect(bill.contains("Proformanr") && bill.contains("P1") && bill.contains("Kontrollenhet: SIMULATOR-0001") && !bill.contains("Kontrollkod:")
                && bill.contains("320,00"), "\(bill)")
        let again = try ok(["park", "proforma", "bord-4", "--user", "maria", "--json", "--id", "bill-2"])
        #expect((again.json?["proForma"] as? [String: Any])?["number"] as? Int == 2, "\(again.stdout)")
        #expect((try ok(["park", "proforma", "bord-4", "--user", "maria", "--json", "--id", "bill-2"]).json?["proForma"] as? [String: Any])?["number"] as? Int == 2)
        _ = try ok(["park", "void", "bord-4", "--user", "maria"])
        let report = try previewText(try ok(["report", "x", "--user", "maria"]))
        for item in ["K a f f e b a r e n", "Org.nr 556123-4567", "Framställd", "X - D A G R A P P O R T", "Kassabeteckning KASSA1", "Total försäljning", "Varugrupper",
                     "Moms", "Växelkassa", "Antal sålda varor", "Antal sålda tjänster", "Antal kassakvitton", "Lådöppningar utan köp", "Kopior (1)",
                     "Övningskvitton (1)", "Proformakvitton (2)", "Kontant", "Returer", "Rabatter", "Prisändringar", "Ej slutförda köp (1)", "Grand total försäljning",
                     "Grand total retur", "Grand total netto"] {
            #expect(report.contains(item), "\(item) on the X report:\n\(report)")
        }
        let verify = try ok(["journal", "verify", "--json"])
        #expect(verify.json?["ok"] as? Bool == true || verify.json?["problem"] == nil, "\(verify.stdout)")
    }

    @Test("a pro-forma bill whose printer is unreachable is kept, counted and journaled; the warning says how to print another")
    func proFormaPrintFailure() throws {
        _ = try ok(["user", "add", "maria", "--role", "manager"])
        _ = try ok(["settings", "set", "cash-control", "off", "--user", "maria"])
        _ = try ok(["session", "open", "--user", "maria"])
        _ = try ok(["park", "new", "-", "--id", "bord-2", "--name", "Bord 2", "--user", "maria"], stdin: Self.sale("p1"))
        let failed = try ok(["park", "proforma", "bord-2", "--user", "maria", "--json", "--id", "bill-1", "--device", "tcp://127.0.0.1:1"])
        let bill = try #require(failed.json?["proForma"] as? [String: Any], "\(failed.stdout)")
        #expect(bill["number"] as? Int == 1 && failed.json?["printed"] == nil)
        let warning = try #require(failed.json?["printError"] as? String)
        #expect(warning.contains("P1 is recorded") && warning.contains("kassa park proforma bord-2"), "\(warning)")
        // Printing again on a working printer is bill P2; the first stays counted and journaled.
        let second = try ok(["park", "proforma", "bord-2", "--user", "maria", "--json", "--id", "bill-2"])
        #expect((second.json?["proForma"] as? [String: Any])?["number"] as? Int == 2 && second.json?["printed"] != nil)
        let x = try ok(["report", "x", "--user", "maria", "--json"])
        #expect(((x.json?["report"] as? [String: Any])?["proForma"] as? [String: Any])?["count"] as? Int == 2, "\(x.stdout)")
        #expect(try ok(["journal", "verify", "--json"]).json?["problem"] == nil)
    }

    @Test("journal verify shows its progress on a terminal's stderr, and never in --json output or through a pipe")
    func verifyProgress() throws {
        _ = try ok(["user", "add", "maria", "--role", "manager"])
        _ = try ok(["settings", "set", "cash-control", "off", "--user", "maria"])
        _ = try ok(["session", "open", "--user", "maria"])
        _ = try ok(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("s1"))
        let piped = try ok(["journal", "verify", "--json"])
        let entries = try #require(piped.json?["entries"] as? Int)
        #expect(!piped.stderr.contains("Checked"), "\(piped.stderr)")
        #expect(!(try ok(["journal", "verify"])).stderr.contains("Checked"))
        // `script` (util-linux, Debian's essential bsdutils) gives the command a terminal for stdin, stdout and stderr.
        var environment = ProcessInfo.processInfo.environment
        environment["KASSA_HARDWARE"] = TestSupport.hardware.path
        let command = "'\(KassaProcess.binary.path)' journal verify --home '\(home.path)'"
        let onTerminal = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"], environment: environment)
        #expect(onTerminal.status == 0, "\(onTerminal.stdout)")
        #expect(onTerminal.stdout.contains("\rChecked \(entries) of \(entries) entries (100 %)") && onTerminal.stdout.contains("OK — \(entries) entries"),
                "\(onTerminal.stdout)")
    }

    @Test("the KOPIA, ÖVNING and EJ KVITTO markings print at least twice the height of the total, measured on the virtual printer")
    func markingSizes() throws {
        let environment = try KassaEnvironment(home: KassaHome(explicit: home.path), hardware: TestSupport.hardware)
        let json = #"{"id":"r","kind":"training","terminal":"T-1","number":1,"zPeriod":1,"session":"S","cashier":"anna","createdAt":0,"businessDate":"2026-11-23","currency":"SEK","lines":[],"payments":[],"total":100,"vatTotal":0,"discountTotal":0,"change":0,"vatLines":[],"grandTotalSales":0,"grandTotalReturns":0,"isCopy":true}"#
        let receipt = try JSONDecoder().decode(ReceiptRecord.self, from: Data(json.utf8))
        let proForma = try JSONDecoder().decode(ProFormaRecord.self, from: Data(#"""
            {"id":"p","terminal":"T-1","number":1,"parked":"bord-4","version":1,"session":"S","user":"anna","createdAt":0,"currency":"SEK",
             "lines":[],"vatLines":[],"total":100,"vatTotal":0,"discountTotal":0}
            """#.utf8))
        // Laid out as the printer gets it, and printed on the virtual printer of a 58 mm and an 80 mm profile.
        for profileName in ["TM-T20III", "POS-5890"] {
            let profile = try #require(try? environment.profile(named: profileName), "\(profileName)")
            for (document, marking, total) in [(environment.receiptDocument(receipt), ["KOPIA", "ÖVNING"], "TOTALT"),
                                               (environment.proFormaDocument(proForma), ["EJ KVITTO"], "ATT BETALA")] {
                let bytes = try environment.layout(document, profile: profile, baseDirectory: nil).bytes
                var printer = VirtualPrinter(profile: profile, fonts: nil, storesDots: false)
                printer.receive(bytes)
                printer.finish()
                let lines = printer.textLineHeights()
                let totalHeight = try #require(lines.first { $0.text.hasPrefix(total) }?.heightDots, "\(lines.map(\.text))")
                for word in marking {
                    let height = try #require(lines.first { $0.text == word }?.heightDots, "\(word) in \(lines.map(\.text))")
                    #expect(height >= 2 * totalHeight, "\(profileName): \(word) is \(height) dots, the total \(totalHeight)")
                }
                // Nothing in the marking wrapped: the word is whole on one line.
                #expect(marking.allSatisfy { word in lines.contains { $0.text == word } })
            }
        }
    }

    @Test("Austria: start receipt first, the RKSV QR code on each receipt, a DEP export that verifies; journal verify and export")
    func austria() throws {
        _ = try ok(["user", "add", "maria", "--role", "manager"])
        for (key, value) in [("fiscal-profile", "at"), ("at-company-id", "U:ATU12345678"), ("cash-control", "off")] {
            _ = try ok(["settings", "set", key, value, "--user", "maria"])
        }
        _ = try ok(["session", "open", "--user", "maria"])
        let euro = Array(#"{"id":"a1","lines":[{"name":"Melange","quantity":1,"unitPrice":420,"vatRate":"10"},{"name":"Torte","quantity":1,"unitPrice":480,"vatRate":"20"}]}"#.utf8)
        let refused = try kassa(["sale", "-", "--user", "maria"], stdin: euro)
        #expect(refused.status == 31 && refused.stderr.contains("start receipt"), "\(refused.stderr)")
        let zero = Array(#"{"id":"start","lines":[{"name":"Startbeleg","quantity":1,"unitPrice":0,"vatRate":"0"}]}"#.utf8)
        _ = try ok(["sale", "-", "--user", "maria", "--fiscal-type", "start", "--no-print"], stdin: zero)
        let sold = try ok(["sale", "-", "--user", "maria", "--json"], stdin: euro)
        let code = try #require((sold.json?["receipt"] as? [String: Any])?["fiscalCode"] as? [String: Any])
        #expect((code["qr"] as? String)?.hasPrefix("_R1-AT0_T-") == true)
        #expect((code["qr"] as? String)?.contains("_4,80_4,20_0,00_0,00_0,00_") == true)

        let folder = home.appendingPathComponent("export").path
        let export = try ok(["journal", "export", "--to", folder, "--json"])
        #expect((export.json?["rksv"] as? [String: Any])?["receipts"] as? Int == 2)
        let dep = try Data(contentsOf: URL(fileURLWithPath: folder + "/dep-export.json"))
        let container = try Data(contentsOf: URL(fileURLWithPath: folder + "/cryptographicMaterialContainer.json"))
        let result = RKSVVerifier.verify(dep: dep, container: container)
        #expect(result.problem == nil && result.receipts == 2, "\(String(describing: result.problem))")
        let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/cryptographicMaterialContainer.json")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let keyAttributes = try FileManager.default.attributesOfItem(atPath: home.appendingPathComponent("rksv-aes.key").path)
        #expect((keyAttributes[.posixPermissions] as? Int) == 0o600)

        let verified = try ok(["journal", "verify"])
        #expect(verified.stdout.contains("OK") && verified.stdout.contains("2 receipts"))
        // Someone edits a receipt in the database: verify names it and exits 39.
        let database = home.appendingPathComponent("kassa.sqlite").path
        let python = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            c.executescript("DROP TRIGGER receipt_no_update; UPDATE receipt SET total = 1 WHERE id = 'a1';")
            c.commit()
            """, database])
        #expect(python.status == 0, "\(python.stderr)")
        let tampered = try kassa(["journal", "verify", "--json"])
        #expect(tampered.status == 39)
        let problem = try #require(tampered.json?["problem"] as? [String: Any])
        #expect(problem["kind"] as? String == "modified" && (problem["detail"] as? String)?.contains("receipt 2") == true, "\(tampered.stdout)")
    }
}
