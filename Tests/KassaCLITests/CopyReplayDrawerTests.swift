import Foundation
import Testing
import TestSupport

/// Issue 13, section 3: an original prints at most once, a replay prints nothing, the one copy is used only by a print
/// that reached the paper, and the drawer opens for cash even when the receipt cannot print.
@Suite("Copies, replays and the drawer", .serialized)
struct CopyReplayDrawerTests {
    let home = TestSupport.temporaryDirectory()

    func kassa(_ arguments: [String], stdin: [UInt8]? = nil) throws -> KassaProcess.Result {
        try KassaProcess.run(arguments, stdin: stdin, home: home)
    }

    static let cashSale = Array(#"{"id":"s1","lines":[{"name":"Kaffe","quantity":1,"unitPrice":3500,"vatRate":"12"}],"payments":[{"method":"cash","amount":5000}]}"#.utf8)

    func previews() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("previews").path)) ?? []).filter { $0.hasSuffix(".png") }.count
    }

    func setUp(_ settings: [(String, String)] = []) throws {
        #expect(try kassa(["user", "add", "maria", "--role", "manager"]).status == 0)
        for (key, value) in settings { #expect(try kassa(["settings", "set", key, value, "--user", "maria"]).status == 0) }
        #expect(try kassa(["session", "open", "--user", "maria", "--float", "0"]).status == 0)
    }

    @Test("paper out: the cash sale is recorded, the drawer opens anyway, and the output says so")
    func drawerWithPaperOut() throws {
        try setUp()
        let sale = try kassa(["sale", "-", "--user", "maria", "--device", "virtual:?paper=out", "--json"], stdin: Self.cashSale)
        #expect(sale.status == 0, "\(sale.stdout)")
        #expect((sale.json?["drawer"] as? [String: Any])?["result"] as? String == "opened", "\(sale.stdout)")
        #expect((sale.json?["printError"] as? String)?.contains("kassa receipt print 1") == true, "\(sale.stdout)")
        #expect(previews() == 0)
    }

    @Test("replaying a sale three times prints nothing, opens no drawer and reports the replay; the X report counts no copies")
    func replays() throws {
        try setUp()
        #expect(try kassa(["sale", "-", "--user", "maria"], stdin: Self.cashSale).status == 0)
        #expect(previews() == 1)
        for _ in 0..<3 {
            let replay = try kassa(["sale", "-", "--user", "maria", "--json"], stdin: Self.cashSale)
            #expect(replay.status == 0 && (replay.json?["receipt"] as? [String: Any])?["replayed"] as? Bool == true, "\(replay.stdout)")
            #expect(replay.json?["printed"] == nil && replay.json?["drawer"] == nil, "\(replay.stdout)")
            #expect((replay.json?["notes"] as? [String])?.first?.contains("already recorded") == true, "\(replay.stdout)")
        }
        #expect(previews() == 1)
        let x = try kassa(["report", "x", "--user", "maria", "--no-print", "--json"])
        #expect(((x.json?["report"] as? [String: Any])?["copies"] as? [String: Any])?["count"] as? Int ?? 0 == 0, "\(x.stdout)")
    }

    @Test("a copy that fails on paper out can be printed again; once printed, the next is COPY_ALREADY_PRINTED")
    func failedCopy() throws {
        try setUp()
        #expect(try kassa(["sale", "-", "--user", "maria"], stdin: Self.cashSale).status == 0)
        let failed = try kassa(["receipt", "copy", "1", "--user", "maria", "--device", "virtual:?paper=out", "--json"])
        #expect(failed.status == 0 && (failed.json?["printError"] as? String)?.contains("print it again with `kassa receipt copy 1`") == true,
                "\(failed.stdout)")
        let printed = try kassa(["receipt", "copy", "1", "--user", "maria", "--json"])
        #expect(printed.status == 0 && (printed.json?["printed"] as? [String: Any])?["delivery"] as? String == "confirmed", "\(printed.stdout)")
        let text = try String(contentsOfFile: try #require((printed.json?["printed"] as? [String: Any])?["previewText"] as? String), encoding: .utf8)
        #expect(text.contains("K O P I A"), "\(text)")
        let third = try kassa(["receipt", "copy", "1", "--user", "maria", "--json"])
        #expect(third.status == 34 && (third.json?["error"] as? [String: Any])?["code"] as? String == "COPY_ALREADY_PRINTED", "\(third.stdout)")
        // One copy recorded and journaled, however many attempts.
        let x = try kassa(["report", "x", "--user", "maria", "--no-print", "--json"])
        #expect(((x.json?["report"] as? [String: Any])?["copies"] as? [String: Any])?["count"] as? Int == 1, "\(x.stdout)")
        #expect(try kassa(["journal", "verify"]).status == 0)
    }

    @Test("an original that never printed is printed late, once, journaled; then ORIGINAL_ALREADY_PRINTED")
    func lateOriginal() throws {
        try setUp()
        #expect(try kassa(["sale", "-", "--user", "maria", "--device", "virtual:?paper=out"], stdin: Self.cashSale).status == 0)
        let late = try kassa(["receipt", "print", "1", "--user", "maria", "--json"])
        #expect(late.status == 0 && (late.json?["printed"] as? [String: Any])?["delivery"] as? String == "confirmed", "\(late.stdout)")
        #expect(late.json?["drawer"] == nil, "a late original does not open the drawer again: \(late.stdout)")
        let again = try kassa(["receipt", "print", "1", "--user", "maria", "--json"])
        #expect(again.status == 34 && (again.json?["error"] as? [String: Any])?["code"] as? String == "ORIGINAL_ALREADY_PRINTED", "\(again.stdout)")
        // A receipt whose original printed has no late original either.
        let second = Array(String(decoding: Self.cashSale, as: UTF8.self).replacingOccurrences(of: "\"s1\"", with: "\"s2\"").utf8)
        #expect(try kassa(["sale", "-", "--user", "maria"], stdin: second).status == 0)
        #expect(try kassa(["receipt", "print", "2", "--user", "maria"]).status == 34)
        let export = home.appendingPathComponent("export")
        #expect(try kassa(["journal", "export", "--to", export.path]).status == 0)
        let journal = try String(contentsOf: export.appendingPathComponent("journal.jsonl"), encoding: .utf8)
        #expect(journal.components(separatedBy: "\"kind\":\"original_print\"").count == 2, "one late original journaled")
        let script = TestSupport.repositoryRoot.appendingPathComponent("tools/verify_journal.py").path
        #expect(try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script, export.path]).status == 0)
    }

    @Test("Sweden: a receipt whose original did not print gets its one copy, never a late original (decision 0017)")
    func swedenNoLateOriginal() throws {
        try setUp([("fiscal-profile", "se"), ("se-org-number", "5561234567"), ("se-pos-id", "KASSA1"), ("company-name", "Kaffebaren AB"),
                   ("shop-address", "Storgatan 1;123 45 Stad"), ("cash-control", "off")])
        #expect(try kassa(["sale", "-", "--user", "maria", "--device", "virtual:?paper=out"], stdin: Self.cashSale).status == 0)
        let late = try kassa(["receipt", "print", "1", "--user", "maria", "--json"])
        let message = (late.json?["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(late.status == 34 && message.contains("Swedish profile") && message.contains("kassa receipt copy 1"), "\(late.stdout)")
        #expect(try kassa(["receipt", "copy", "1", "--user", "maria"]).status == 0)
    }
}
