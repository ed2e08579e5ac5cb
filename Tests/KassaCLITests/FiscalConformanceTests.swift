import Foundation
import KassaRuntime
import RKSV
import SessionEngine
import Testing
import TestSupport

/// Issue 14: what an auditor's tool, a tax inspector or a real control unit checks, through the CLI.
@Suite("Fiscal conformance from the CLI (RKSV and SKVFS 2014:9)", .serialized)
struct FiscalConformanceTests {
    let home = TestSupport.temporaryDirectory()

    func kassa(_ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:]) throws -> KassaProcess.Result {
        try KassaProcess.run(arguments, stdin: stdin, home: home, extraEnvironment: environment)
    }

    @discardableResult
    func ok(_ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:]) throws -> KassaProcess.Result {
        let result = try kassa(arguments, stdin: stdin, environment: environment)
        #expect(result.status == 0, "kassa \(arguments.joined(separator: " ")): \(result.stderr) \(result.stdout)")
        return result
    }

    func file(_ name: String) -> String { home.appendingPathComponent(name).path }

    func previewText(_ result: KassaProcess.Result) throws -> String {
        let range = try #require(result.stdout.range(of: "Preview: "), "\(result.stdout)")
        let path = result.stdout[range.upperBound...].prefix { $0 != "\n" }
        return try String(contentsOfFile: String(path).replacingOccurrences(of: ".png", with: ".txt"), encoding: .utf8)
    }

    static func sale(_ id: String, _ lines: String = #"{"name":"Melange","quantity":1,"unitPrice":420,"vatRate":"10"}"#) -> [UInt8] {
        Array(#"{"id":"\#(id)","lines":[\#(lines)]}"#.utf8)
    }

    static let zero = #"{"name":"Startbeleg","quantity":1,"unitPrice":0,"vatRate":"0"}"#

    /// An Austrian register with its start receipt.
    func austrianTill() throws {
        try ok(["user", "add", "maria", "--role", "manager"])
        for (key, value) in [("fiscal-profile", "at"), ("at-company-id", "U:ATU12345678"), ("cash-control", "off")] {
            try ok(["settings", "set", key, value, "--user", "maria"])
        }
        try ok(["session", "open", "--user", "maria"])
        let refused = try kassa(["sale", "-", "--user", "maria"], stdin: Self.sale("early"))
        #expect(refused.status == 31 && refused.stderr.contains("--fiscal-type start") && !refused.stderr.contains("sale --start"), "\(refused.stderr)")
        try ok(["sale", "-", "--user", "maria", "--fiscal-type", "start", "--no-print"], stdin: Self.sale("start", Self.zero))
    }

    func export(_ name: String) throws -> (dep: [String: Any], container: [String: Any], folder: String) {
        let folder = file(name)
        try ok(["journal", "export", "--to", folder])
        let dep = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/dep-export.json"))) as? [String: Any])
        let container = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: folder + "/cryptographicMaterialContainer.json"))) as? [String: Any])
        return (dep, container, folder)
    }

    @Test("RKSV key ids are <company>-K<n>, a closed system's DEP is one group, a replaced module is K2 in the same group, verify-dep accepts it")
    func keyIDsAndGroups() throws {
        try austrianTill()
        try ok(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("a1"))
        // A deleted module key is refused, not made anew; so is another key in its place.
        let key = file("fiscal-module.key")
        let saved = try Data(contentsOf: URL(fileURLWithPath: key))
        try FileManager.default.removeItem(atPath: key)
        let missing = try kassa(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("a2"))
        #expect(missing.status != 0 && missing.stderr.contains("is missing") && !FileManager.default.fileExists(atPath: key), "\(missing.stderr)")
        let other = TestSupport.temporaryDirectory()
        _ = try KassaProcess.run(["user", "list"], home: other)
        try FileManager.default.copyItem(atPath: other.appendingPathComponent("fiscal-module.key").path, toPath: key)
        let replaced = try kassa(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("a2"))
        #expect(replaced.status != 0 && replaced.stderr.contains("was replaced"), "\(replaced.stderr)")
        try FileManager.default.removeItem(atPath: key)
        try saved.write(to: URL(fileURLWithPath: key))
        #expect(chmod(key, 0o600) == 0)
        try ok(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("a2"))
        // The module is lost for good: a new one is put in service on purpose, and journaled.
        let replacement = try ok(["fiscal", "replace-module", "--reason", "signature card broken", "--user", "maria", "--json"])
        #expect(replacement.json?["new"] as? String != replacement.json?["old"] as? String, "\(replacement.stdout)")
        try ok(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("a3"))

        let (dep, container, folder) = try export("export")
        let groups = try #require(dep["Belege-Gruppe"] as? [[String: Any]])
        #expect(groups.count == 1 && (groups[0]["Belege-kompakt"] as? [String])?.count == 4, "\(groups)")
        let keyIDs = try (groups[0]["Belege-kompakt"] as? [String] ?? []).map { try RKSVReceipt(jws: $0).keyID }
        #expect(keyIDs == ["U:ATU12345678-K1", "U:ATU12345678-K1", "U:ATU12345678-K1", "U:ATU12345678-K2"], "\(keyIDs)")
        let map = try #require(container["certificateOrPublicKeyMap"] as? [String: Any])
        #expect(Set(map.keys) == ["U:ATU12345678-K1", "U:ATU12345678-K2"])
        let verified = try ok(["journal", "verify-dep", folder])
        #expect(verified.stdout.contains("DEP: OK — 4 receipts"), "\(verified.stdout)")
        #expect(try ok(["journal", "verify"]).stdout.contains("OK"))
        // A changed DEP fails, exit 39, naming the receipt.
        var text = try String(contentsOfFile: folder + "/dep-export.json", encoding: .utf8)
        let receipts = try #require(groups[0]["Belege-kompakt"] as? [String])
        text = text.replacingOccurrences(of: receipts[2], with: receipts[1])
        try text.write(toFile: folder + "/dep-export.json", atomically: true, encoding: .utf8)
        let broken = try kassa(["journal", "verify-dep", folder, "--json"])
        #expect(broken.status == 39 && broken.json?["ok"] as? Bool == false && broken.json?["receiptIndex"] as? Int == 3, "\(broken.stdout)")
    }

    @Test("a null receipt has no lines of value: +5 at 20 % with −5 at 10 % is refused")
    func nullReceipt() throws {
        try austrianTill()
        let mixed = #"{"name":"Plus","quantity":1,"unitPrice":500,"vatRate":"20"},{"name":"Minus","quantity":-1,"unitPrice":500,"vatRate":"10"}"#
        let refused = try kassa(["sale", "-", "--user", "maria", "--fiscal-type", "null", "--no-print"], stdin: Self.sale("n1", mixed))
        #expect(refused.status == 31 && refused.stderr.contains("no lines of value"), "\(refused.stderr)")
        let null = try ok(["sale", "-", "--user", "maria", "--fiscal-type", "null"], stdin: Self.sale("n2", Self.zero))
        #expect(try previewText(null).contains("Nullbeleg"))
    }

    @Test("RKSV receipt dates never go back: a sale whose local time is before the last receipt's is refused, nothing recorded")
    func datesNeverGoBack() throws {
        try ok(["user", "add", "maria", "--role", "manager"])
        try ok(["settings", "set", "time-zone", "Pacific/Kiritimati", "--user", "maria"])  // UTC+14
        try austrianTillSettings()
        try ok(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("d1"))
        // The zone moves 25 hours west: the next receipt's local time would be a day before the last one's.
        try ok(["settings", "set", "time-zone", "Pacific/Pago_Pago", "--user", "maria"])
        let refused = try kassa(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("d2"))
        #expect(refused.status == 31 && refused.stderr.contains("never go back") && refused.stderr.contains("nothing was recorded"), "\(refused.stderr)")
        #expect(try ok(["terminal", "show", "--json"]).json.flatMap { ($0["counters"] as? [String: Any])?["receiptNumber"] as? Int } == 2)
        try ok(["settings", "set", "time-zone", "Pacific/Kiritimati", "--user", "maria"])
        try ok(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("d2"))
        let (_, _, folder) = try export("export")
        #expect(try ok(["journal", "verify-dep", folder]).stdout.contains("DEP: OK — 3 receipts"))
    }

    /// The Austrian settings and the start receipt, for a till whose user exists.
    func austrianTillSettings() throws {
        for (key, value) in [("fiscal-profile", "at"), ("at-company-id", "U:ATU12345678"), ("cash-control", "off")] {
            try ok(["settings", "set", key, value, "--user", "maria"])
        }
        try ok(["session", "open", "--user", "maria"])
        try ok(["sale", "-", "--user", "maria", "--fiscal-type", "start", "--no-print"], stdin: Self.sale("start", Self.zero))
    }

    @Test("the AES key is made only before the first receipt; a missing or other key is refused; backup and restore")
    func aesKey() throws {
        try austrianTill()
        let keyPath = file("rksv-aes.key")
        let fingerprint = try #require(try ok(["settings", "show", "--json"]).json?["regime"] as? [String: String])["at-aes-key-sha256"]
        #expect(fingerprint?.count == 64)
        let backup = try ok(["fiscal", "at-key", "backup", "--to", file("aes.backup"), "--json"])
        #expect(backup.json?["fingerprint"] as? String == fingerprint)
        try FileManager.default.removeItem(atPath: keyPath)
        let missing = try kassa(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("k1"))
        #expect(missing.status == 31 && missing.stderr.contains("at-key restore") && !FileManager.default.fileExists(atPath: keyPath), "\(missing.stderr)")
        // Another key in its place is refused; the restore only takes the register's own.
        let wrong = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try wrong.write(toFile: file("wrong.key"), atomically: true, encoding: .utf8)
        let refusedRestore = try kassa(["fiscal", "at-key", "restore", file("wrong.key"), "--user", "maria"])
        #expect(refusedRestore.status == 31 && !FileManager.default.fileExists(atPath: keyPath), "\(refusedRestore.stderr)")
        #expect(PrivateFilesProbe.write(wrong, to: keyPath))
        let other = try kassa(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("k1"))
        #expect(other.status == 31 && other.stderr.contains("is not the register's AES key"), "\(other.stderr)")
        try FileManager.default.removeItem(atPath: keyPath)
        try ok(["fiscal", "at-key", "restore", file("aes.backup"), "--user", "maria"])
        try ok(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("k1"))
        let (_, _, folder) = try export("export")
        #expect(try ok(["journal", "verify-dep", folder]).stdout.contains("DEP: OK — 2 receipts"))
    }

    @Test("the Kassen-ID, the company id and the profile cannot change once RKSV receipts exist; settings show lists every setting")
    func frozenSettings() throws {
        try austrianTill()
        for (key, value) in [("at-cashbox-id", "KASSE2"), ("at-company-id", "U:ATU87654321"), ("fiscal-profile", "none"), ("fiscal-profile", "se")] {
            let refused = try kassa(["settings", "set", key, value, "--user", "maria"])
            #expect(refused.status == 31 && refused.stderr.contains("Nothing was changed"), "\(key): \(refused.stderr)")
        }
        #expect(try kassa(["settings", "set", "at-company-id", "G:ab-cd", "--user", "maria"]).status == 31)
        #expect(try kassa(["settings", "set", "at-aes-key-sha256", "00", "--user", "maria"]).status == 31)
        let shown = try ok(["settings", "show"]).stdout
        for key in ["fiscal-profile", "at-company-id", "at-cashbox-id", "at-aes-key-sha256", "se-org-number", "se-pos-id", "company-name",
                    "parking", "warn-open-hours", "currency", "locale"] {
            #expect(shown.contains(key + " "), "\(key) in settings show:\n\(shown)")
        }
        #expect(shown.contains("U:ATU12345678"))
    }

    @Test("KASSA_SIGNATURE_DEVICE=down: receipts carry the failure marker; a DEP that ends in the outage fails; the Sammelbeleg closes it")
    func signatureDeviceDown() throws {
        try austrianTill()
        let down = ["KASSA_SIGNATURE_DEVICE": "down"]
        // The start receipt is already signed; now the device fails: the shop keeps selling.
        let failed = try ok(["sale", "-", "--user", "maria", "--json"], stdin: Self.sale("d1"), environment: down)
        let code = try #require((failed.json?["receipt"] as? [String: Any])?["fiscalCode"] as? [String: Any])
        #expect(code["signatureFailed"] as? Bool == true, "\(failed.stdout)")
        let printed = try previewText(try ok(["receipt", "copy", "2", "--user", "maria"]))
        #expect(printed.contains("Sicherheitseinrichtung ausgefallen"), "\(printed)")
        var (_, _, folder) = try export("during")
        let open = try kassa(["journal", "verify-dep", folder])
        #expect(open.status == 39 && open.stdout.contains("no signed null receipt"), "\(open.stdout)")
        // The device is back: the next sale is preceded by the signed Sammelbeleg, and the DEP verifies.
        try ok(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("d2"))
        (_, _, folder) = try export("after")
        let verified = try ok(["journal", "verify-dep", folder])
        #expect(verified.stdout.contains("4 receipts") && verified.stdout.contains("1 signed with the failure marker"), "\(verified.stdout)")
        #expect(try ok(["journal", "verify"]).stdout.contains("OK"))
    }
}

extension FiscalConformanceTests {
    static let kaffe = #"{"name":"Kaffe","quantity":2,"unitPrice":3500,"vatRate":"12"},{"name":"Klippning","quantity":1,"unitPrice":25000,"vatRate":"25","service":true}"#

    /// A Swedish till with a shift open.
    func swedishTill(_ extra: [(String, String)] = []) throws {
        try ok(["user", "add", "maria", "--role", "manager"])
        for (key, value) in [("fiscal-profile", "se"), ("se-org-number", "5561234567"), ("se-pos-id", "KASSA1"), ("company-name", "Kaffebaren AB"),
                             ("cash-control", "off")] + extra {
            try ok(["settings", "set", key, value, "--user", "maria"])
        }
        try ok(["session", "open", "--user", "maria"])
    }

    func memory() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: file("control-unit-simulator.json")))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func journalKinds() throws -> [String] {
        let folder = file("journal-\(UUID().uuidString)")
        try ok(["journal", "export", "--to", folder])
        let script = TestSupport.repositoryRoot.appendingPathComponent("tools/verify_journal.py").path
        let python = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script, folder])
        #expect(python.status == 0, "\(python.stdout) \(python.stderr)")
        let text = try String(contentsOfFile: folder + "/journal.jsonl", encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["kind"] as? String
        }
    }

    @Test("Sweden: --no-print is refused before anything is recorded; a receipt with several rates prints its VAT total; one time zone")
    func swedishReceipt() throws {
        try swedishTill([("time-zone", "Pacific/Kiritimati")])
        let refused = try kassa(["sale", "-", "--user", "maria", "--no-print"], stdin: Self.sale("s1", Self.kaffe))
        #expect(refused.status == 31 && refused.stderr.contains("--no-print is refused") && refused.stderr.contains("Nothing was recorded"), "\(refused.stderr)")
        #expect(try ok(["terminal", "show", "--json"]).json.flatMap { ($0["counters"] as? [String: Any])?["receiptNumber"] as? Int } == 0)
        try ok(["park", "new", "-", "--id", "bord-1", "--user", "maria"], stdin: Self.sale("p1", Self.kaffe))
        #expect(try kassa(["park", "finalize", "bord-1", "--user", "maria", "--no-print"]).status == 31)
        let receipt = try previewText(try ok(["sale", "-", "--user", "maria"], stdin: Self.sale("s1", Self.kaffe)))
        #expect(receipt.contains("Moms totalt") && receipt.contains("57,50"), "\(receipt)")  // 7,50 at 12 % + 50,00 at 25 %
        // The printed time is the control unit's: both in the time-zone setting's zone (UTC+14), not the host's.
        let entries = try #require(try memory()["entries"] as? [[String: Any]])
        let sent = try #require((entries.last?["receipt"] as? [String: Any])?["dateTime"] as? String)
        let printed = try #require(receipt.split(separator: "\n").first { $0.hasPrefix("Datum") }).filter(\.isNumber)
        #expect(String(printed.prefix(12)) == sent, "printed \(printed), sent \(sent)")
    }

    @Test("Sweden: the organisation number is ten ASCII digits with a valid check digit")
    func organisationNumber() throws {
        try ok(["user", "add", "maria", "--role", "manager"])
        for value in ["５５６１２３４５６７", "٥٥٦١٢٣٤٥٦٧", "5561234568", "556123-4567"] {
            let refused = try kassa(["settings", "set", "se-org-number", value, "--user", "maria"])
            #expect(refused.status == 31, "\(value): \(refused.stderr)")
        }
        try ok(["settings", "set", "se-org-number", "5561234567", "--user", "maria"])
    }

    @Test("Sweden: every drawer opening outside a sale is counted and journaled; unfinished sales at the Z and other reductions are reported")
    func drawerUnfinishedReductions() throws {
        try swedishTill()
        let anonymous = try kassa(["drawer", "open"])
        #expect(anonymous.status == 31 && anonymous.stderr.contains("--user"), "\(anonymous.stderr)")
        try ok(["drawer", "open", "--user", "maria", "--reason", "växel"])
        try ok(["session", "no-sale", "--user", "maria"])
        // A parked sale loses a line and a cup: other reductions (1 line of 250,00 and 1 of 2 × 35,00).
        try ok(["park", "new", "-", "--id", "bord-2", "--user", "maria"], stdin: Self.sale("p2", Self.kaffe))
        try ok(["park", "update", "bord-2", "-", "--user", "maria", "--version", "1"],
               stdin: Array(#"{"id":"u1","lines":[{"name":"Kaffe","quantity":1,"unitPrice":3500,"vatRate":"12"}]}"#.utf8))
        let x = try previewText(try ok(["report", "x", "--user", "maria"]))
        #expect(x.contains("Lådöppningar utan köp") && x.range(of: #"Lådöppningar utan köp\s+2"#, options: .regularExpression) != nil, "\(x)")
        #expect(x.range(of: #"Andra reduceringar \(2\)\s+285,00"#, options: .regularExpression) != nil, "\(x)")
        // Still open at the Z: an unfinished sale of this period, counted once.
        let z = try previewText(try ok(["session", "close", "--user", "maria"]))
        #expect(z.range(of: #"Ej slutförda köp \(1\)\s+35,00"#, options: .regularExpression) != nil, "\(z)")
        try ok(["session", "open", "--user", "maria"])
        try ok(["park", "void", "bord-2", "--user", "maria"])
        let next = try previewText(try ok(["report", "x", "--user", "maria"]))
        #expect(next.contains("Ej slutförda köp (0)"), "\(next)")
        // With no shift open a drawer opening is journaled (no shift's report covers it).
        try ok(["session", "close", "--user", "maria"])
        try ok(["drawer", "open", "--user", "maria"])
        let kinds = try journalKinds()
        #expect(kinds.filter { $0 == "no_sale" }.count == 2 && kinds.contains("drawer_open") && kinds.contains("parked_reduction")
                && kinds.contains("parked_unfinished"), "\(kinds)")
        #expect(try ok(["journal", "verify"]).stdout.contains("OK"))
    }

    @Test("Sweden: an outage is journaled and doctor checks the control unit")
    func outage() throws {
        try swedishTill()
        let down = ["KASSA_CONTROL_UNIT": "down"]
        #expect(try kassa(["sale", "-", "--user", "maria"], stdin: Self.sale("s1", Self.kaffe), environment: down).status == 38)
        let doctor = try kassa(["doctor", "--json"], environment: down)
        let checks = try #require(doctor.json?["checks"] as? [[String: Any]])
        #expect(checks.contains { $0["name"] as? String == "control unit" && $0["result"] as? String == "fail" }, "\(doctor.stdout)")
        let healthy = try #require(try kassa(["doctor", "--json"]).json?["checks"] as? [[String: Any]])
        #expect(healthy.contains { $0["name"] as? String == "control unit" && $0["result"] as? String == "pass" })
        #expect(healthy.contains { $0["name"] as? String == "registrations" && $0["result"] as? String == "warn" }, "pending after the outage")
        // The same command when the unit is back: the same registration is completed, once.
        let sold = try ok(["sale", "-", "--user", "maria", "--json"], stdin: Self.sale("s1", Self.kaffe))
        #expect((sold.json?["receipt"] as? [String: Any])?["number"] as? Int == 1)
        #expect(try journalKinds().contains("control_unit_failure"))
        #expect((try memory()["conflicts"] as? [Any])?.isEmpty == true)
    }

    @Test("Sweden: a crash after the unit answered never leaves two registrations under one receipt number")
    func neverTwoRegistrations() throws {
        try swedishTill()
        let crashed = try kassa(["sale", "-", "--user", "maria"], stdin: Self.sale("s1", Self.kaffe), environment: ["KASSA_CRASH_AT": "registered"])
        #expect(crashed.status != 0)
        // The unit holds receipt 1; the terminal has not recorded it. The next sale, another one, resolves it first.
        #expect((try memory()["entries"] as? [Any])?.count == 1)
        let other = #"{"name":"Bulle","quantity":1,"unitPrice":2500,"vatRate":"12"}"#
        let next = try ok(["sale", "-", "--user", "maria", "--json"], stdin: Self.sale("s2", other))
        #expect((next.json?["receipt"] as? [String: Any])?["number"] as? Int == 2, "\(next.stdout)")
        let first = try ok(["receipt", "show", "1", "--json"])
        #expect(first.stdout.contains("Klippning"), "receipt 1 is the interrupted sale: \(first.stdout)")
        // The client repeats the interrupted command: the same receipt, nothing new.
        let replay = try ok(["sale", "-", "--user", "maria", "--json"], stdin: Self.sale("s1", Self.kaffe))
        #expect((replay.json?["receipt"] as? [String: Any])?["number"] as? Int == 1)
        let memory = try memory()
        #expect((memory["conflicts"] as? [Any])?.isEmpty == true, "\(memory)")
        let keys = (memory["entries"] as? [[String: Any]] ?? []).compactMap { entry in
            (entry["receipt"] as? [String: Any]).flatMap { receipt in (receipt["kind"] as? String).map { $0 + ":" + (receipt["receiptID"] as? String ?? "") } }
        }
        #expect(keys == ["RECEIPT_NORMAL:1", "RECEIPT_NORMAL:2"], "\(keys)")
        #expect(try ok(["journal", "verify"]).stdout.contains("OK"))
    }

    @Test("currency and language: at prints German and EUR, se Swedish and SEK, locale en and nb; headlines name start and null receipts")
    func currencyAndLanguage() throws {
        try austrianTill()
        let start = try previewText(try ok(["receipt", "copy", "1", "--user", "maria"]))
        #expect(start.contains("Startbeleg 1") && start.contains("K O P I E"), "\(start)")
        let sale = try previewText(try ok(["sale", "-", "--user", "maria"], stdin: Self.sale("a1")))
        for word in ["Beleg 2", "SUMME", "€", "USt", "Kassier", "Bar"] { #expect(sale.contains(word), "\(word) in\n\(sale)") }
        for word in ["Kvitto", "TOTALT", "kr", "Moms"] { #expect(!sale.contains(word), "\(word) in\n\(sale)") }
        #expect(try kassa(["settings", "set", "currency", "SEK", "--user", "maria"]).status == 31)
        try ok(["settings", "set", "locale", "en", "--user", "maria"])
        let english = try previewText(try ok(["sale", "-", "--user", "maria"], stdin: Self.sale("a2")))
        #expect(english.contains("Receipt 3") && english.contains("TOTAL") && english.contains("€"), "\(english)")
        try ok(["settings", "set", "locale", "nb", "--user", "maria"])
        let norwegian = try previewText(try ok(["report", "x", "--user", "maria"]))
        #expect(norwegian.contains("X - R A P P O R T") && norwegian.contains("Totalt salg"), "\(norwegian)")
        #expect(try ok(["terminal", "show", "--json"]).json?["currency"] as? String == "EUR")
    }

    @Test("currency on a terminal without a profile: changed between shifts only, used on receipts and exports")
    func currencySetting() throws {
        try ok(["user", "add", "maria", "--role", "manager"])
        try ok(["settings", "set", "cash-control", "off", "--user", "maria"])
        try ok(["settings", "set", "currency", "NOK", "--user", "maria"])
        try ok(["session", "open", "--user", "maria"])
        #expect(try kassa(["settings", "set", "currency", "DKK", "--user", "maria"]).status == 31)
        #expect(try kassa(["settings", "set", "currency", "nok", "--user", "maria"]).status == 31)
        let sold = try ok(["sale", "-", "--user", "maria", "--json"], stdin: Self.sale("n1", Self.kaffe))
        #expect((sold.json?["receipt"] as? [String: Any])?["currency"] as? String == "NOK", "\(sold.stdout)")
        let folder = file("nok-export")
        try ok(["journal", "export", "--to", folder])
        #expect(try String(contentsOfFile: folder + "/journal.jsonl", encoding: .utf8).contains(#"currency\":\"NOK"#), "the receipt's body, as signed")
    }
}

/// Writes a file as an operator would (plain mode 0600), for the tests that put a wrong key in place.
enum PrivateFilesProbe {
    static func write(_ text: String, to path: String) -> Bool {
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
    }
}
