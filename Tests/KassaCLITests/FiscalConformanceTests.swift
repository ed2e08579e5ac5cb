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

/// Writes a file as an operator would (plain mode 0600), for the tests that put a wrong key in place.
enum PrivateFilesProbe {
    static func write(_ text: String, to path: String) -> Bool {
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
    }
}
