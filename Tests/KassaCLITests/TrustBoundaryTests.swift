@testable import SessionEngine
import Foundation
import Testing
import TestSupport

/// Hostile and sloppy input through the real binary (issue 12, section 1 and 3): every case is a clear refusal with its
/// documented exit code, nothing traps, nothing is half-recorded, and the till goes on.
@Suite("Trust boundary from the CLI", .serialized)
struct TrustBoundaryTests {
    let home = TestSupport.temporaryDirectory()

    func kassa(_ arguments: [String], stdin: [UInt8]? = nil, machine: String = "5555eeee6666ffff") throws -> KassaProcess.Result {
        let file = home.appendingPathComponent("machine-\(machine)")
        if !FileManager.default.fileExists(atPath: file.path) { try Data(machine.utf8).write(to: file) }
        return try KassaProcess.run(arguments, stdin: stdin, home: home, extraEnvironment: ["KASSA_MACHINE_ID_FILE": file.path])
    }

    func setUp() throws {
        #expect(try kassa(["user", "add", "maria", "--role", "manager"]).status == 0)
        #expect(try kassa(["user", "add", "anna", "--user", "maria"]).status == 0)
        #expect(try kassa(["session", "open", "--user", "anna", "--float", "0"]).status == 0)
    }

    func sell(_ json: String, _ extra: [String] = [], user: String = "anna") throws -> KassaProcess.Result {
        try kassa(["sale", "-", "--user", user, "--no-print", "--json"] + extra, stdin: Array(json.utf8))
    }

    func error(_ result: KassaProcess.Result) -> (code: String, message: String) {
        let error = result.json?["error"] as? [String: Any]
        return (error?["code"] as? String ?? "", error?["message"] as? String ?? "")
    }

    func receiptNumber() throws -> Int {
        let shown = try kassa(["terminal", "show", "--json"])
        return ((shown.json?["counters"] as? [String: Any])?["receiptNumber"] as? Int) ?? -1
    }

    static let max = "9223372036854775807"

    @Test("money beyond the bounds or beyond Int64 is INVALID naming the field; nothing traps and the shift still closes")
    func overflow() throws {
        try setUp()
        let line = #"{"name":"Guld","quantity":1,"unitPrice":PRICE,"vatRate":"25"}"#
        let cases: [(json: String, field: String)] = [
            (#"{"id":"o1","lines":[\#(line.replacingOccurrences(of: "PRICE", with: Self.max))]}"#, "lines[0].unitPrice"),
            (#"{"id":"o2","lines":[{"name":"x","quantity":"999999.999","unitPrice":999999999999,"vatRate":"25"}]}"#, "lines[0]: quantity × price"),
            (#"{"id":"o3","lines":[\#(line.replacingOccurrences(of: "PRICE", with: "9000000000000000"))]}"#, "lines[0].unitPrice"),
            (#"{"id":"o4","lines":[\#(line.replacingOccurrences(of: "PRICE", with: "100"))],"payments":[{"method":"cash","amount":\#(Self.max)},{"method":"card","amount":\#(Self.max)}]}"#, "payments[0].amount"),
            (#"{"id":"o5","lines":[{"name":"x","quantity":1,"unitPrice":9000000000000000,"vatRate":"25","discount":{"percent":"10","reason":"r"}}]}"#, "lines[0].unitPrice"),
            (#"{"id":"o6","lines":[\#(line.replacingOccurrences(of: "PRICE", with: "100"))],"payments":[{"method":"cash","amount":\#(Self.max)}]}"#, "payments[0].amount"),
            (#"{"id":"o7","lines":[{"name":"x","quantity":9223372036854775807,"unitPrice":1,"vatRate":"25"}]}"#, "lines[0].quantity"),
            (#"{"id":"o8","lines":[{"name":"x","quantity":1,"unitPrice":1,"vatRate":9223372036854775807}]}"#, "lines[0].vatRate"),
        ]
        for (json, field) in cases {
            let result = try sell(json)
            #expect(result.status != 132 && result.status != 134, "trapped: \(json)")
            let (code, message) = error(result)
            #expect([31, 3].contains(result.status), "\(json): \(result.status) \(result.stdout)")
            #expect(code == "INVALID" || code == "INVALID_INPUT", "\(json): \(code)")
            #expect(message.contains(field), "\(json): \(message)")
        }
        for arguments in [["session", "cash-in", "--amount", Self.max], ["session", "cash-out", "--amount", Self.max],
                          ["session", "close", "--counted", Self.max, "--left", "0", "--no-print"]] {
            let result = try kassa(arguments + ["--user", "anna", "--json"])
            #expect(result.status == 31, "\(arguments): \(result.status) \(result.stderr)")
            #expect(error(result).code == "INVALID" && error(result).message.contains("beyond the largest amount"), "\(error(result).message)")
        }
        #expect(try receiptNumber() == 0)
        // The till is intact: an honest sale, an X report, a close, and the journal verifies.
        #expect(try sell(#"{"id":"ok","lines":[\#(line.replacingOccurrences(of: "PRICE", with: "1250"))]}"#).status == 0)
        #expect(try kassa(["report", "x", "--user", "anna", "--no-print"]).status == 0)
        #expect(try kassa(["session", "cash-in", "--amount", "500", "--user", "anna"]).status == 0)
        let closed = try kassa(["session", "close", "--counted", "1750", "--left", "0", "--user", "anna", "--no-print", "--json"])
        #expect(closed.status == 0, "\(closed.stdout) \(closed.stderr)")
        let verified = try kassa(["journal", "verify", "--json"])
        #expect(verified.status == 0 && verified.json?["problem"] == nil, "\(verified.stdout)")
    }

    @Test("control characters (NUL included) in names, ids and reasons are refused; other Unicode round-trips exactly")
    func controlCharacters() throws {
        try setUp()
        let cases: [(String, String)] = [
            (#"{"id":"n1","lines":[{"name":"Kaf\u0000fe","quantity":1,"unitPrice":100,"vatRate":"12"}]}"#, "lines[0].name"),
            (#"{"id":"n2\u0000x","lines":[{"name":"Kaffe","quantity":1,"unitPrice":100,"vatRate":"12"}]}"#, "command id"),
            (#"{"id":"n3","lines":[{"name":"Kaffe","quantity":1,"unitPrice":100,"vatRate":"12","discount":{"amount":1,"reason":"a\u001bb"}}]}"#, "lines[0].discount.reason"),
            (#"{"id":"n4","lines":[{"name":"Kaffe\nTe","quantity":1,"unitPrice":100,"vatRate":"12"}]}"#, "lines[0].name"),
        ]
        for (json, field) in cases {
            let result = try sell(json)
            #expect(result.status == 31, "\(json): \(result.status)")
            #expect(error(result).message.contains(field) && error(result).message.contains("control character U+00"), "\(error(result).message)")
        }
        let reason = try kassa(["session", "cash-in", "--amount", "100", "--reason", "a\u{7}b", "--user", "anna", "--json"])
        #expect(reason.status == 31 && error(reason).message.contains("U+0007"))
        let name = "Kaffe\u{2028}Te ☕ 𝄞 \u{200B}é\u{301}"
        let sold = try sell(#"{"id":"uni","lines":[{"name":"\#(name)","quantity":1,"unitPrice":100,"vatRate":"12"}]}"#)
        #expect(sold.status == 0, "\(sold.stdout)")
        let shown = try kassa(["receipt", "show", "1", "--json"])
        let lines = (shown.json?["lines"] as? [[String: Any]]) ?? []
        #expect((lines.first?["name"] as? String)?.unicodeScalars.elementsEqual(name.unicodeScalars) == true)
        #expect(try kassa(["journal", "verify"]).status == 0)
    }

    @Test("unknown fields are refused, naming the field and the closest known one; nothing is recorded")
    func unknownFields() throws {
        try setUp()
        let cases: [(String, String, String)] = [
            (#"{"id":"u1","trainig":true,"lines":[{"name":"x","quantity":1,"unitPrice":100,"vatRate":"12"}]}"#, "trainig", "training"),
            (#"{"id":"u2","lines":[{"name":"x","quantity":1,"unitPrice":100,"vatRate":"12"}],"paymnets":[{"method":"card","amount":100}]}"#, "paymnets", "payments"),
            (#"{"id":"u3","lines":[{"name":"x","quantity":1,"unitPrice":100,"vatRate":"12","discout":{"amount":10,"reason":"r"}}]}"#, "discout", "discount"),
        ]
        for (json, field, suggestion) in cases {
            let result = try sell(json)
            #expect(result.status == 3, "\(json): \(result.status)")
            let (code, message) = error(result)
            #expect(code == "UNKNOWN_FIELD", "\(message) \(result.stderr)")
            #expect(message.contains("unknown field '\(field)'") && message.contains("Did you mean '\(suggestion)'?"), "\(message)")
            #expect(message.contains("Nothing was recorded") && !message.contains("Nothing was printed") && message.contains("Docs/CLI.md"))
        }
        #expect(try receiptNumber() == 0)
        // The same holds for documents to print and for park.
        let documentFile = home.appendingPathComponent("document.json")
        try Data(#"{"currency":"SEK","blocks":[{"type":"text","text":"x","bold":true,"undeline":1}]}"#.utf8).write(to: documentFile)
        let document = try kassa(["print", documentFile.path, "--json"])
        #expect(document.status == 3 && error(document).code == "UNKNOWN_FIELD" && error(document).message.contains("'underline'"),
                "\(document.stdout)")
        let park = try kassa(["park", "new", "-", "--user", "anna", "--json"],
                             stdin: Array(#"{"id":"p1","lines":[{"name":"x","quantity":1,"unitPrice":100,"vatRat":"12"}]}"#.utf8))
        #expect(park.status == 3 && error(park).message.contains("'vatRat'") && error(park).message.contains("'vatRate'"), "\(park.stdout)")
    }

    @Test("settings: an unknown key is named with the closest one; control characters and amounts out of range are refused")
    func settings() throws {
        try setUp()
        let misspelt = try kassa(["settings", "set", "cash-controll", "off", "--user", "maria", "--json"])
        #expect(misspelt.status == 31 && error(misspelt).message.contains("Did you mean 'cash-control'?"), "\(misspelt.stdout)")
        let control = try kassa(["settings", "set", "company-name", "Kaffe\u{1B}baren", "--user", "maria", "--json"])
        #expect(control.status == 31 && error(control).message.contains("U+001B"), "\(control.stdout)")
        let huge = try kassa(["settings", "set", "default-float", "9223372036854775807", "--user", "maria", "--json"])
        #expect(huge.status == 31 && error(huge).message.contains("999999999999"), "\(huge.stdout)")
        let shown = try kassa(["settings", "show", "--json"])
        #expect(shown.json?["cashControl"] as? Bool == true && shown.json?["defaultFloat"] as? Int == 0, "\(shown.stdout)")
    }

    @Test("a replayed park finalize answers as the first one did; other payments are a conflict")
    func parkedReplay() throws {
        try setUp()
        #expect(try kassa(["park", "new", "-", "--user", "anna"],
                          stdin: Array(#"{"id":"t1","lines":[{"name":"Kaffe","quantity":1,"unitPrice":3500,"vatRate":"12"}]}"#.utf8)).status == 0)
        let first = try kassa(["park", "finalize", "t1", "--pay", "card=3500", "--user", "anna", "--no-print", "--json"])
        let again = try kassa(["park", "finalize", "t1", "--pay", "card=3500", "--user", "anna", "--no-print", "--json"])
        let a = try #require(first.json?["receipt"] as? [String: Any]), b = try #require(again.json?["receipt"] as? [String: Any])
        #expect(a["number"] as? Int == 1 && b["number"] as? Int == 1)
        #expect(a["signatureCounter"] as? Int != nil && a["signatureCounter"] as? Int == b["signatureCounter"] as? Int)
        let other = try kassa(["park", "finalize", "t1", "--pay", "cash=4000", "--user", "anna", "--no-print", "--json"])
        #expect(other.status == 40 && error(other).message.contains("payments differs"), "\(other.stdout)")
        #expect(try receiptNumber() == 1)
    }

    @Test("one precise message per refusal: a fraction for money, a discount over 100 %")
    func messages() throws {
        try setUp()
        let fraction = try sell(#"{"id":"m1","lines":[{"name":"x","quantity":1,"unitPrice":12.5,"vatRate":"12"}]}"#)
        #expect(fraction.status == 3)
        #expect(error(fraction).message.contains("lines[0].unitPrice should be a whole number") && !error(fraction).message.contains("not valid JSON"),
                "\(error(fraction).message)")
        let discount = try sell(#"{"id":"m2","lines":[{"name":"x","quantity":1,"unitPrice":100,"vatRate":"12","discount":{"percent":"150","reason":"r"}}]}"#)
        #expect(discount.status == 31)
        #expect(error(discount).message.contains("lines[0].discount.percent is 150%; a discount is at most 100%")
                && !error(discount).message.contains("VAT"), "\(error(discount).message)")
    }

    @Test("a reused id with other content is IDEMPOTENCY_CONFLICT (exit 40) naming what differs; the same content replays")
    func idempotency() throws {
        try setUp()
        let base = #"{"id":"i1","lines":[{"name":"Kaffe","quantity":1,"unitPrice":3500,"vatRate":"12"}]}"#
        let first = try sell(base)
        #expect(first.status == 0)
        let replay = try sell(base)
        #expect(replay.status == 0 && (replay.json?["receipt"] as? [String: Any])?["number"] as? Int == 1)
        let cases: [(String, String, String)] = [
            (#"{"id":"i1","lines":[{"name":"Kaffe","quantity":2,"unitPrice":3500,"vatRate":"12"}]}"#, "anna", "lines"),
            (#"{"id":"i1","lines":[{"name":"Kaffe","quantity":1,"unitPrice":3500,"vatRate":"12"}],"payments":[{"method":"card","amount":3500}]}"#, "anna", "payments"),
            (base, "maria", "user"),
        ]
        for (json, user, field) in cases {
            let result = try sell(json, user: user)
            #expect(result.status == 40, "\(json) as \(user): \(result.status) \(result.stdout)")
            #expect(error(result).code == "IDEMPOTENCY_CONFLICT" && error(result).message.contains("(\(field) differs)"), "\(error(result).message)")
        }
        #expect(try receiptNumber() == 1)
        // Commands without a receipt too: a cash movement replayed with another amount.
        #expect(try kassa(["session", "cash-in", "--amount", "100", "--id", "c1", "--user", "anna"]).status == 0)
        #expect(try kassa(["session", "cash-in", "--amount", "100", "--id", "c1", "--user", "anna"]).status == 0)
        let other = try kassa(["session", "cash-in", "--amount", "200", "--id", "c1", "--user", "anna", "--json"])
        #expect(other.status == 40 && error(other).message.contains("amount differs"), "\(other.stdout)")
    }

    @Test("an empty or missing database beside a terminal that existed is refused, never a new terminal")
    func lostDatabase() throws {
        try setUp()
        #expect(try sell(#"{"id":"l1","lines":[{"name":"x","quantity":1,"unitPrice":100,"vatRate":"12"}]}"#).status == 0)
        let database = home.appendingPathComponent("kassa.sqlite").path
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        #expect(FileManager.default.createFile(atPath: database, contents: Data()))
        for arguments in [["terminal", "show", "--json"], ["sale", "-", "--user", "anna", "--json"]] {
            let result = try kassa(arguments, stdin: Array(#"{"id":"l2","lines":[{"name":"x","quantity":1,"unitPrice":100,"vatRate":"12"}]}"#.utf8))
            #expect(result.status == 37 && error(result).code == "DATABASE_LOST", "\(arguments): \(result.status) \(result.stdout)")
            #expect(error(result).message.contains("Restore kassa.sqlite"))
        }
        #expect((try FileManager.default.attributesOfItem(atPath: database)[.size] as? Int) == 0)
        try FileManager.default.removeItem(atPath: database)
        #expect(try kassa(["user", "list", "--json"]).status == 37)
        #expect(!FileManager.default.fileExists(atPath: database))
        // Without the marker too: the fiscal module's anchor shows that this home's terminal signed facts.
        try FileManager.default.removeItem(atPath: database + ".terminal")
        let anchored = try kassa(["terminal", "show", "--json"])
        #expect(anchored.status == 37 && error(anchored).code == "DATABASE_LOST", "\(anchored.stdout)")
        #expect(!FileManager.default.fileExists(atPath: database))
    }

    @Test("reads work on another terminal's database; writes are refused")
    func readsOnAnotherTerminal() throws {
        try setUp()
        #expect(try sell(#"{"id":"r1","lines":[{"name":"x","quantity":1,"unitPrice":100,"vatRate":"12"}]}"#).status == 0)
        #expect(try kassa(["session", "close", "--counted", "100", "--left", "0", "--user", "anna", "--no-print"]).status == 0)
        let elsewhere = "9999000099990000"
        for arguments in [["terminal", "show"], ["report", "z", "--number", "1", "--user", "maria", "--no-print"],
                          ["session", "list", "--user", "maria"], ["user", "list"], ["settings", "show"], ["receipt", "show", "1"],
                          ["journal", "verify"]] {
            let result = try kassa(arguments + ["--json"], machine: elsewhere)
            #expect(result.status == 0, "\(arguments): \(result.status) \(result.stdout) \(result.stderr)")
        }
        let write = try kassa(["session", "open", "--user", "anna", "--float", "0", "--json"], machine: elsewhere)
        #expect(write.status == 35 && error(write).code == "WRONG_TERMINAL")
    }

    @Test("global options before or after the subcommand")
    func globalOptionsFirst() throws {
        let machine = home.appendingPathComponent("machine")
        try Data("abcdef0123456789".utf8).write(to: machine)
        var environment = ProcessInfo.processInfo.environment
        environment["KASSA_HARDWARE"] = TestSupport.hardware.path
        environment["KASSA_MACHINE_ID_FILE"] = machine.path
        let first = try TestSupport.run(KassaProcess.binary, ["--home", home.path, "user", "add", "maria", "--role", "manager"],
                                        environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let json = try TestSupport.run(KassaProcess.binary, ["--json", "--home=\(home.path)", "user", "list"], environment: environment)
        #expect(json.status == 0 && json.stdout.contains("\"maria\""), "\(json.stderr)")
        let after = try TestSupport.run(KassaProcess.binary, ["user", "list", "--home", home.path, "--json"], environment: environment)
        #expect(after.stdout == json.stdout)
    }

    @Test("under umask 000 the home is 0700 and keys, the marker, exports and previews are 0600; an open AES key is refused")
    func fileModes() throws {
        let machine = home.appendingPathComponent("../machine-modes-\(UUID().uuidString)").standardizedFileURL
        try Data("1212343456567878".utf8).write(to: machine)
        let root = home.appendingPathComponent("till")
        func run(_ arguments: [String], stdin: [UInt8]? = nil) throws -> TestSupport.ProcessResult {
            var environment = ProcessInfo.processInfo.environment
            environment["KASSA_HARDWARE"] = TestSupport.hardware.path
            environment["KASSA_MACHINE_ID_FILE"] = machine.path
            let quoted = ([KassaProcess.binary.path] + arguments + ["--home", root.path]).map { "'" + $0 + "'" }.joined(separator: " ")
            return try TestSupport.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "umask 000; exec \(quoted)"], stdin: stdin, environment: environment)
        }
        #expect(try run(["user", "add", "maria", "--role", "manager"]).status == 0)
        for (key, value) in [("fiscal-profile", "at"), ("at-company-id", "U:ATU12345678"), ("cash-control", "off")] {
            #expect(try run(["settings", "set", key, value, "--user", "maria"]).status == 0)
        }
        #expect(try run(["session", "open", "--user", "maria"]).status == 0)
        #expect(try run(["sale", "-", "--user", "maria", "--fiscal-type", "start"],
                        stdin: Array(#"{"id":"s","lines":[{"name":"Start","quantity":1,"unitPrice":0,"vatRate":"20"}]}"#.utf8)).status == 0)
        let export = home.appendingPathComponent("export")
        let exported = try run(["journal", "export", "--to", export.path])
        #expect(exported.status == 0, "\(exported.stderr)")
        func mode(_ url: URL) -> Int { ((try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions]) as? Int) ?? -1 }
        #expect(mode(root) == 0o700)
        #expect(mode(export) == 0o700)
        for file in ["fiscal-module.key", "rksv-aes.key", "kassa.sqlite.terminal", "kassa.sqlite"] { #expect(mode(root.appendingPathComponent(file)) == 0o600, "\(file)") }
        let exports = try FileManager.default.contentsOfDirectory(atPath: export.path)
        #expect(exports.contains("cryptographicMaterialContainer.json") && exports.contains("journal.jsonl"))
        for file in exports { #expect(mode(export.appendingPathComponent(file)) == 0o600, "\(file)") }
        let previews = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("previews").path)
        #expect(!previews.isEmpty)
        for file in previews { #expect(mode(root.appendingPathComponent("previews").appendingPathComponent(file)) == 0o600, "\(file)") }
        // A secret that others may read is refused, with what to do.
        #expect(chmod(root.appendingPathComponent("rksv-aes.key").path, 0o644) == 0)
        let refused = try run(["sale", "-", "--user", "maria", "--no-print", "--json"],
                              stdin: Array(#"{"id":"t","lines":[{"name":"Kaffee","quantity":1,"unitPrice":350,"vatRate":"20"}]}"#.utf8))
        #expect(refused.status == 31 && refused.stdout.contains("chmod 600"), "\(refused.status) \(refused.stdout)")
    }
}

/// Section 2 through the binary: a tampered grand-total counter carried into the next signature is found by `journal
/// verify` and by the independent Python verifier, and `journal export` refuses until forced.
@Suite("Journal tampering from the CLI", .serialized)
struct JournalTamperCLITests {
    let home = TestSupport.temporaryDirectory()

    func kassa(_ arguments: [String], stdin: [UInt8]? = nil) throws -> KassaProcess.Result {
        let file = home.appendingPathComponent("machine")
        if !FileManager.default.fileExists(atPath: file.path) { try Data("4444aaaa4444bbbb".utf8).write(to: file) }
        return try KassaProcess.run(arguments, stdin: stdin, home: home, extraEnvironment: ["KASSA_MACHINE_ID_FILE": file.path])
    }

    func sell(_ id: String, _ price: Int) throws {
        let result = try kassa(["sale", "-", "--user", "anna", "--no-print"],
                               stdin: Array(#"{"id":"\#(id)","lines":[{"name":"Kaffe","quantity":1,"unitPrice":\#(price),"vatRate":"12"}]}"#.utf8))
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test("the fiscal module's signature counter is printed on every receipt, copy and Z, and matches the anchor")
    func counterPrinted() throws {
        #expect(try kassa(["user", "add", "maria", "--role", "manager"]).status == 0)
        #expect(try kassa(["session", "open", "--user", "maria", "--float", "0"]).status == 0)
        let sold = try kassa(["sale", "-", "--user", "maria", "--json"],
                             stdin: Array(#"{"id":"c1","lines":[{"name":"Kaffe","quantity":1,"unitPrice":3500,"vatRate":"12"}]}"#.utf8))
        let receipt = try #require(sold.json?["receipt"] as? [String: Any])
        let counter = try #require(receipt["signatureCounter"] as? Int)
        let module = try #require(receipt["signedBy"] as? String)
        let text = try String(contentsOfFile: try #require((sold.json?["printed"] as? [String: Any])?["previewText"] as? String), encoding: .utf8)
        #expect(text.contains("Signatur") && text.contains("nr \(counter)"), "\(text)")
        let anchor = try String(contentsOf: home.appendingPathComponent("fiscal-module.counter"), encoding: .utf8)
        #expect(anchor.hasPrefix(module + " ") && Int(anchor.split(separator: " ")[1].trimmingCharacters(in: .whitespacesAndNewlines)) == counter)
        let copy = try kassa(["receipt", "copy", "1", "--user", "maria", "--json"])
        let copied = try #require(copy.json?["receipt"] as? [String: Any])
        #expect((copied["signatureCounter"] as? Int ?? 0) > counter, "\(copy.stdout)")
        let closed = try kassa(["session", "close", "--counted", "3500", "--left", "0", "--user", "maria", "--json"])
        #expect(closed.status == 0, "\(closed.stderr)")
        let reprint = try kassa(["report", "z", "--user", "maria", "--json"])
        #expect(((reprint.json?["report"] as? [String: Any])?["signatureCounter"] as? Int ?? 0) > counter && (reprint.json?["report"] as? [String: Any])?["signedBy"] as? String == module, "\(reprint.stdout)")
        let z = try kassa(["report", "z", "--user", "maria"])
        let preview = try #require(z.stdout.split(separator: "\n").first { $0.hasPrefix("Preview: ") })
        let zText = try String(contentsOfFile: String(preview.dropFirst("Preview: ".count)).replacingOccurrences(of: ".png", with: ".txt"),
                               encoding: .utf8)
        #expect(zText.contains("Signatur"), "\(zText)")
    }

    @Test("a changed grand-total counter: the till refuses to sign on it (exit 39), verify exits 39, export refuses, --force marks the export")
    func grandTotal() throws {
        #expect(try kassa(["user", "add", "maria", "--role", "manager"]).status == 0)
        #expect(try kassa(["user", "add", "anna", "--user", "maria"]).status == 0)
        #expect(try kassa(["session", "open", "--user", "anna", "--float", "0"]).status == 0)
        try sell("a", 3500)
        let clean = home.appendingPathComponent("clean")
        #expect(try kassa(["journal", "export", "--to", clean.path]).status == 0)
        let script = TestSupport.repositoryRoot.appendingPathComponent("tools/verify_journal.py").path
        let python = URL(fileURLWithPath: "/usr/bin/env")
        let cleanCheck = try TestSupport.run(python, ["python3", script, clean.path])
        #expect(cleanCheck.status == 0, "\(cleanCheck.stdout)")
        // Someone with the file lowers the grand total; the till must not sign the next receipt on it.
        let store = try SessionStore.open(path: home.appendingPathComponent("kassa.sqlite").path)
        try store.writer.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TRIGGER terminal_counters_never_decrease")
            try db.execute(sql: "UPDATE terminal_counters SET gt_sales = gt_sales - 1000")
        }
        let sale = try kassa(["sale", "-", "--user", "anna", "--no-print", "--json"],
                             stdin: Array(#"{"id":"b","lines":[{"name":"Kaffe","quantity":1,"unitPrice":2000,"vatRate":"12"}]}"#.utf8))
        #expect(sale.status == 39 && (sale.json?["error"] as? [String: Any])?["code"] as? String == "JOURNAL_BROKEN", "\(sale.stdout)")
        let message = (sale.json?["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("stood at 2500/0") && message.contains("signed 3500/0"), "\(sale.stdout)")
        let verified = try kassa(["journal", "verify", "--json"])
        #expect(verified.status == 39)
        let detail = (verified.json?["problem"] as? [String: Any])?["detail"] as? String
        #expect(detail?.contains("grand-total counters (terminal_counters) say 2500/0") == true, "\(verified.stdout)")
        let refused = try kassa(["journal", "export", "--to", home.appendingPathComponent("refused").path, "--json"])
        #expect(refused.status == 39 && (refused.json?["error"] as? [String: Any])?["code"] as? String == "JOURNAL_BROKEN", "\(refused.stdout)")
        #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent("refused/journal.jsonl").path))
        let forced = home.appendingPathComponent("forced")
        let export = try kassa(["journal", "export", "--to", forced.path, "--force"])
        #expect(export.status == 0 && export.stderr.contains("marked as unverified"))
        let python3 = try TestSupport.run(python, ["python3", script, forced.path])
        #expect(python3.status == 1 && python3.stdout.contains("grand-total counters say 2500/0"), "\(python3.stdout)")
    }

    @Test("a running total changed, signed into a cash movement's state, then put back: both verifiers name the entry")
    func runningTotalSigned() throws {
        #expect(try kassa(["user", "add", "maria", "--role", "manager"]).status == 0)
        #expect(try kassa(["user", "add", "anna", "--user", "maria"]).status == 0)
        #expect(try kassa(["session", "open", "--user", "maria", "--float", "0"]).status == 0)
        try sell("a", 3500)
        let store = try SessionStore.open(path: home.appendingPathComponent("kassa.sqlite").path)
        func tamper(_ sql: String) throws {
            try store.writer.writeWithoutTransaction { db in
                for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'session_total'") {
                    try db.execute(sql: "DROP TRIGGER \(trigger)")
                }
                try db.execute(sql: sql)
            }
        }
        try tamper("UPDATE session_total SET amount = amount - 300 WHERE key = 'vat_tax:1200'")
        #expect(try kassa(["session", "cash-in", "--amount", "500", "--user", "maria", "--id", "in1"]).status == 0)
        try tamper("UPDATE session_total SET amount = amount + 300 WHERE key = 'vat_tax:1200'")
        let verified = try kassa(["journal", "verify", "--json"])
        let detail = (verified.json?["problem"] as? [String: Any])?["detail"] as? String ?? ""
        #expect(verified.status == 39 && detail.contains("cash_in in1") && detail.contains("signed running totals"), "\(verified.stdout)")
        let forced = home.appendingPathComponent("forced")
        #expect(try kassa(["journal", "export", "--to", forced.path, "--force"]).status == 0)
        let script = TestSupport.repositoryRoot.appendingPathComponent("tools/verify_journal.py").path
        let python = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script, forced.path])
        #expect(python.status == 1 && python.stdout.contains("signed running totals of shift"), "\(python.stdout)")
    }

    @Test("stored rows changed after their last signature (counted cash, a cash movement, an open shift's total): Python finds them in the export",
          arguments: [
              ("UPDATE pos_session SET counted_cash = counted_cash + 300 WHERE z_no = 1", "its row says counted_cash"),
              ("UPDATE cash_movement SET amount = 50 WHERE id = 'in1'", "cash movement in1"),
              ("UPDATE session_total SET amount = amount - 100 WHERE key = 'sales'", "running totals ['sales']"),
          ])
    func rowsAfterSignature(sql: String, expected: String) throws {
        #expect(try kassa(["user", "add", "maria", "--role", "manager"]).status == 0)
        #expect(try kassa(["user", "add", "anna", "--user", "maria"]).status == 0)
        #expect(try kassa(["session", "open", "--user", "maria", "--float", "0"]).status == 0)
        try sell("r1", 3500)
        #expect(try kassa(["session", "cash-in", "--amount", "500", "--user", "maria", "--id", "in1"]).status == 0)
        if sql.contains("pos_session") {
            #expect(try kassa(["session", "close", "--counted", "4000", "--left", "0", "--user", "maria"]).status == 0)
        }
        let script = TestSupport.repositoryRoot.appendingPathComponent("tools/verify_journal.py").path
        let clean = home.appendingPathComponent("clean")
        #expect(try kassa(["journal", "export", "--to", clean.path]).status == 0)
        let ok = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script, clean.path])
        #expect(ok.status == 0, "\(ok.stdout)")
        // Change the row, export past the failed verification, and let the independent verifier find it.
        let store = try SessionStore.open(path: home.appendingPathComponent("kassa.sqlite").path)
        try store.writer.writeWithoutTransaction { db in
            for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name != 'journal_moves_head'") {
                try db.execute(sql: "DROP TRIGGER \(trigger)")
            }
            try db.execute(sql: sql)
        }
        #expect(try kassa(["journal", "verify"]).status == 39, "\(sql)")
        let forced = home.appendingPathComponent("forced")
        #expect(try kassa(["journal", "export", "--to", forced.path, "--force"]).status == 0)
        let found = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script, forced.path])
        #expect(found.status == 1 && found.stdout.contains(expected), "\(sql): \(found.stdout)")
    }
}
