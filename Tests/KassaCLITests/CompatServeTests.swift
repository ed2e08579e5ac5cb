import ChildProcess
import Foundation
import Testing
import TestSupport

/// The drop-in endpoints of `kassa serve` as their clients see them (a real process, curl on loopback): Odoo's
/// `hw_proxy` and Epson's ePOS-Print, printing on a fake TCP printer, with the reference's test vectors TV-1 … TV-8.
@Suite("kassa serve drop-in endpoints: Odoo hw_proxy and Epson ePOS-Print", .serialized)
struct CompatServeTests {
    let base = ServeTests()
    var home: URL { base.home }

    static let jpeg = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAAEABABAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/AP8AP/r/AH+K/9k="
    static let raster: [UInt8] = [0x1D, 0x76, 0x30, 0x00, 0x02, 0x00, 0x04, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00]
    static let origin = "https://shop.example.com"

    static func count(_ bytes: [UInt8], _ needle: [UInt8]) -> Int {
        guard bytes.count >= needle.count else { return 0 }
        return (0...(bytes.count - needle.count)).filter { Array(bytes[$0..<($0 + needle.count)]) == needle }.count
    }

    func configure(_ printer: FakeTCPPrinter, extra: String = "") throws {
        try Data("""
            [serve]
            poll-ms = 200
            allowed-origins = "\(Self.origin)"
            dedupe-seconds = 10
            odoo-timeout = 10
            \(extra)

            [devices.counter]
            url = "\(printer.url)"
            profile = "TM-T20III"
            default = true

            """.utf8).write(to: home.appendingPathComponent("kassa.toml"))
    }

    func rpc(_ server: ServeTests.Server, _ path: String, id: Int, params: String, origin: String = Self.origin) throws -> ServeTests.Answer {
        try base.call(server, "POST", path, body: #"{"id":\#(id),"jsonrpc":"2.0","method":"call","params":\#(params)}"#, headers: ["Origin: \(origin)"])
    }

    func receipt(_ image: String = Self.jpeg) -> String { #"{"data":{"action":"print_receipt","receipt":"\#(image)"}}"# }

    @Test("TV-1 … TV-4 and faults: hello, the preflight with the private-network header, handshake, status, a receipt printed once, a retry in the window answered from the first job, paper out answered false and not printed later, the drawer")
    func odoo() throws {
        let printer = try FakeTCPPrinter()
        defer { printer.shutdown() }
        try configure(printer)
        let server = try ServeTests.Server(home: home)
        defer { _ = server.terminate() }

        // TV-1
        let hello = try base.call(server, "GET", "/hw_proxy/hello", headers: ["Origin: \(Self.origin)"])
        #expect(hello.status == 200 && hello.body == "ping", "\(hello.body)")
        let stranger = try base.call(server, "GET", "/hw_proxy/hello", headers: ["Origin: https://evil.example"])
        #expect(stranger.status == 403 && base.errorCode(stranger) == "ORIGIN_NOT_ALLOWED", "\(stranger.body)")
        // TV-2: the preflight, then handshake and status.
        let preflight = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), [
            "-s", "-o", "/dev/null", "-D", "-", "-X", "OPTIONS", "http://127.0.0.1:\(server.port)/hw_proxy/handshake",
            "-H", "Origin: \(Self.origin)", "-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Headers: content-type",
            "-H", "Access-Control-Request-Private-Network: true"]).stdout.lowercased()
        #expect(preflight.contains("204") && preflight.contains("access-control-allow-origin: \(Self.origin)")
                && preflight.contains("access-control-allow-private-network: true") && preflight.contains("access-control-allow-headers: content-type")
                && preflight.contains("access-control-max-age: 86400"), "\(preflight)")
        let handshake = try rpc(server, "/hw_proxy/handshake", id: 3, params: "{}")
        #expect(handshake.status == 200 && handshake.json?["result"] as? Bool == true && handshake.json?["id"] as? Int == 3, "\(handshake.body)")
        let status = try rpc(server, "/hw_proxy/status_json", id: 4, params: "{}")
        let drivers = status.json?["result"] as? [String: [String: Any]]
        #expect(drivers?["printer"]?["status"] as? String == "connected" && drivers?["escpos"]?["status"] as? String == "connected", "\(status.body)")

        // TV-3: printed, confirmed, answered true; the bytes are Odoo's raster in Kassa's job.
        let printed = try rpc(server, "/hw_proxy/default_printer_action", id: 9, params: receipt())
        #expect(printed.status == 200 && printed.json?["result"] as? Bool == true && printed.json?["id"] as? Int == 9, "\(printed.body)")
        #expect(Self.count(printer.received(), Self.raster) == 1)
        // The same receipt again inside the window (a retried request): the first job's outcome, not a second print.
        let again = try rpc(server, "/hw_proxy/default_printer_action", id: 10, params: receipt())
        #expect(again.json?["result"] as? Bool == true && Self.count(printer.received(), Self.raster) == 1, "\(again.body)")

        // Paper out: status says so, a new receipt answers false at once and never prints later; after the paper is back
        // the same receipt again (its key forgotten after the failure) prints, once. (A PBM: another image than TV-3's.)
        let other = Data("P1\n8 2\n1 0 1 0 1 0 1 0\n0 1 0 1 0 1 0 1\n".utf8).base64EncodedString()
        let otherRaster: [UInt8] = [0x1D, 0x76, 0x30, 0x00, 0x01, 0x00, 0x02, 0x00, 0xAA, 0x55]
        printer.setStatus(4, 0x72)
        try waitUntil { try rpc(server, "/hw_proxy/status_json", id: 5, params: "{}").body.contains("disconnected") }
        let failed = try rpc(server, "/hw_proxy/default_printer_action", id: 12, params: receipt(other))
        #expect(failed.json?["result"] as? Bool == false, "\(failed.body)")
        printer.setStatus(4, 0x12)
        try waitUntil { try rpc(server, "/hw_proxy/status_json", id: 6, params: "{}").body.contains("\"connected\"") }
        #expect(Self.count(printer.received(), otherRaster) == 0, "nothing printed while the paper was out, nor after it came back")
        let retried = try rpc(server, "/hw_proxy/default_printer_action", id: 13, params: receipt(other))
        #expect(retried.json?["result"] as? Bool == true, "\(retried.body)")
        #expect(Self.count(printer.received(), otherRaster) == 1, "the retry after the failure printed, once")

        // TV-4: the drawer.
        let drawer = try rpc(server, "/hw_proxy/default_printer_action", id: 14, params: #"{"data":{"action":"cashbox"}}"#)
        #expect(drawer.json?["result"] as? Bool == true, "\(drawer.body)")
        #expect(Self.count(printer.received(), [0x1B, 0x70]) == 1)

        // Refusals: each a clear error, nothing printed.
        // Every job starts with ESC @ (status polls are DLE EOT): count jobs, not bytes.
        let sent = Self.count(printer.received(), [0x1B, 0x40])
        let notJSON = try base.call(server, "POST", "/hw_proxy/default_printer_action", body: #"{"params":"#)
        #expect(notJSON.status == 400 && ((notJSON.json?["error"] as? [String: Any])?["data"] as? [String: Any])?["name"] as? String == "kassa.INVALID_JSON",
                "\(notJSON.body)")
        for (params, name) in [
            (receipt(Data("not an image".utf8).base64EncodedString()), "kassa.INVALID_RECEIPT_IMAGE"),
            (receipt(Self.huge()), "kassa.IMAGE_TOO_LARGE"),
            (#"{"data":{"action":"print_receipt"}}"#, "kassa.INVALID_REQUEST"),
            (#"{"data":{"action":"self_destruct"}}"#, "kassa.UNKNOWN_ACTION"),
            (#"{"data":{"action":"cashbox","x":1}}"#, "kassa.UNKNOWN_FIELD"),
        ] {
            let answer = try rpc(server, "/hw_proxy/default_printer_action", id: 20, params: params)
            let error = answer.json?["error"] as? [String: Any]
            #expect(answer.status == 200 && (error?["data"] as? [String: Any])?["name"] as? String == name && answer.json?["id"] as? Int == 20,
                    "\(name): \(answer.body.prefix(300))")
        }
        let wrongType = try base.call(server, "POST", "/hw_proxy/handshake", body: "{}", contentType: "text/plain")
        #expect(wrongType.status == 415)
        #expect(Self.count(printer.received(), [0x1B, 0x40]) == sent, "no refusal printed anything")
    }

    /// The reference JPEG with a header claiming 65000 × 16383 pixels.
    static func huge() -> String {
        var bytes = [UInt8](Data(base64Encoded: jpeg)!)
        let sof = (0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 }!
        bytes[sof + 5] = 0xFD; bytes[sof + 6] = 0xE8; bytes[sof + 7] = 0x3F; bytes[sof + 8] = 0xFF
        return Data(bytes).base64EncodedString()
    }

    func waitUntil(_ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("condition not met within 10 s")
    }

    static func envelope(_ inner: String) -> String {
        #"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><epos-print xmlns="http://www.epson-pos.com/schemas/2011/03/epos-print">"#
            + inner + "</epos-print></s:Body></s:Envelope>"
    }

    func epos(_ server: ServeTests.Server, _ inner: String, devid: String = "local_printer", raw: String? = nil) throws -> (answer: ServeTests.Answer, success: String?, code: String?, status: UInt32?) {
        // Odoo's fetch: no headers of its own, so text/plain and no preflight.
        let answer = try base.call(server, "POST", "/cgi-bin/epos/service.cgi?devid=\(devid)", body: raw ?? Self.envelope(inner),
                                   contentType: "text/plain;charset=UTF-8", headers: ["Origin: \(Self.origin)"])
        func attribute(_ name: String) -> String? {
            guard let range = answer.body.range(of: #"\#(name)="([^"]*)""#, options: .regularExpression) else { return nil }
            return String(answer.body[range].dropFirst(name.count + 2).dropLast())
        }
        return (answer, attribute("success"), attribute("code"), attribute("status").flatMap { UInt32($0) })
    }

    @Test("TV-5 … TV-8 over ePOS-Print: the image, the drawer, text with barcode and QR; printjobid once; cover open and paper out with their codes and ASB bits; unknown device, malformed XML, a body over the limit")
    func eposPrint() throws {
        let printer = try FakeTCPPrinter()
        defer { printer.shutdown() }
        try configure(printer, extra: "body-limit = 65536")
        let server = try ServeTests.Server(home: home)
        defer { _ = server.terminate() }

        // The Epson SDK's preflight (its POST sends content-type, if-modified-since and soapaction).
        let preflight = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), [
            "-s", "-o", "/dev/null", "-D", "-", "-X", "OPTIONS", "http://127.0.0.1:\(server.port)/cgi-bin/epos/service.cgi?devid=local_printer",
            "-H", "Origin: \(Self.origin)", "-H", "Access-Control-Request-Method: POST",
            "-H", "Access-Control-Request-Headers: content-type,if-modified-since,soapaction"]).stdout.lowercased()
        #expect(preflight.contains("204") && preflight.contains("access-control-allow-origin: \(Self.origin)")
                && preflight.contains("access-control-allow-headers: content-type,if-modified-since,soapaction")
                && preflight.contains("post"), "\(preflight)")

        // TV-6
        let image = try epos(server, #"<image width="16" height="4" align="center">/wD/AP8A/wA=</image><cut type="feed"/>"#)
        #expect(image.answer.status == 200 && image.success == "true" && image.code == "" && image.status.map { $0 & 2 == 2 } == true, "\(image.answer.body)")
        #expect(image.answer.body.contains("<response") && image.answer.body.hasPrefix("<?xml"))
        // Centred: 280 blank dots then the 16 of the image, 37 bytes a row.
        #expect(Self.count(printer.received(), [0x1D, 0x76, 0x30, 0x00, 37, 0x00, 0x04, 0x00]) == 1)
        // TV-7: a pulse alone is a drawer kick.
        let pulse = try epos(server, "<pulse/>")
        #expect(pulse.success == "true" && Self.count(printer.received(), [0x1B, 0x70, 0x00]) == 1, "\(pulse.answer.body)")
        // TV-8
        let text = try epos(server, #"<text lang="en" smooth="true"/><text align="center"/><text dw="true" dh="true"/><text>KASSA&#10;</text><text dw="false" dh="false"/><text align="left"/><text>1 x Coffee        3.20&#10;</text><barcode type="ean13" hri="below" font="font_a" width="2" height="64">401234567890</barcode><feed line="1"/><symbol type="qrcode_model_2" level="level_m" width="6" size="0">https://example.com/r/123</symbol><feed unit="24"/><cut type="feed"/><pulse drawer="drawer_1" time="pulse_100"/>"#)
        #expect(text.success == "true", "\(text.answer.body)")
        let received = String(decoding: printer.received(), as: UTF8.self)
        #expect(received.contains("KASSA") && received.contains("1 x Coffee        3.20") && received.contains("https://example.com/r/123"))

        // printjobid: printed once; asked again, the job's outcome; an empty document with it reads that outcome.
        let header = #"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><parameter xmlns="http://www.epson-pos.com/schemas/2011/03/epos-print"><printjobid>job-7</printjobid></parameter></s:Header><s:Body><epos-print xmlns="http://www.epson-pos.com/schemas/2011/03/epos-print">"#
        let once = try epos(server, "", raw: header + "<text>ONCE&#10;</text></epos-print></s:Body></s:Envelope>")
        let twice = try epos(server, "", raw: header + "<text>ONCE&#10;</text></epos-print></s:Body></s:Envelope>")
        let asked = try epos(server, "", raw: header + "</epos-print></s:Body></s:Envelope>")
        #expect(once.success == "true" && twice.success == "true" && asked.success == "true" && asked.answer.body.contains("<printjobid>job-7</printjobid>"),
                "\(once.answer.body) \(twice.answer.body) \(asked.answer.body)")
        #expect(String(decoding: printer.received(), as: UTF8.self).components(separatedBy: "ONCE").count == 2, "printed once")

        // A status request reads the printer now.
        let idle = try epos(server, "")
        #expect(idle.success == "true" && idle.status == 0, "\(idle.answer.body)")
        // Cover open: refused before printing, with the code and the ASB bits; nothing is sent, and it never prints later.
        let before = printer.received().count
        printer.setStatus(1, 0x1A)
        printer.setStatus(2, 0x16)
        Thread.sleep(forTimeInterval: 0.6)
        let cover = try epos(server, "<text>COVER&#10;</text>")
        #expect(cover.success == "false" && cover.code == "EPTR_COVER_OPEN" && cover.status.map { $0 & 0x28 == 0x28 } == true, "\(cover.answer.body)")
        printer.setStatus(2, 0x12)
        printer.setStatus(4, 0x72)
        Thread.sleep(forTimeInterval: 0.6)
        let paper = try epos(server, "<text>PAPER&#10;</text>")
        #expect(paper.success == "false" && paper.code == "EPTR_REC_EMPTY" && paper.status.map { $0 & 0x80000 == 0x80000 } == true, "\(paper.answer.body)")
        printer.setStatus(1, 0x12)
        printer.setStatus(4, 0x12)
        Thread.sleep(forTimeInterval: 1)
        let after = String(decoding: printer.received()[before...], as: UTF8.self)
        #expect(!after.contains("COVER") && !after.contains("PAPER"), "refused jobs never print")

        // Refusals.
        #expect(try epos(server, "<text>x</text>", devid: "nowhere").code == "DeviceNotFound")
        #expect(try epos(server, "<text>unclosed").code == "SchemaError")
        #expect(try epos(server, "<blink/>").code == "SchemaError")
        #expect(try epos(server, #"<image width="70000" height="1">AA==</image>"#).code == "SchemaError")
        #expect(try epos(server, "<command>1B40</command>").code == "SchemaError")
        let large = try epos(server, "<text>" + String(repeating: "x", count: 70_000) + "</text>")
        #expect(large.success == "false" && large.code == "RequestEntityTooLarge", "\(large.answer.body.prefix(300))")
        let stranger = try base.call(server, "POST", "/cgi-bin/epos/service.cgi?devid=local_printer", body: Self.envelope("<text>x</text>"),
                                     contentType: "text/plain", headers: ["Origin: https://evil.example"])
        #expect(stranger.status == 403)

        // The printer gone (its port closed): the status request and a print both say EX_BADPORT with status 1.
        printer.shutdown()
        Thread.sleep(forTimeInterval: 0.5)
        let gone = try epos(server, "")
        #expect(gone.success == "false" && gone.code == "EX_BADPORT" && gone.status == 1, "\(gone.answer.body)")
        let unreachable = try epos(server, "<text>NOWHERE&#10;</text>")
        #expect(unreachable.success == "false" && unreachable.code == "EX_BADPORT" && unreachable.status == 1, "\(unreachable.answer.body)")
    }

    @Test("ePOS timeout: a job still queued behind a slow one is answered EX_TIMEOUT at its timeout and never prints later")
    func eposTimeout() throws {
        // Answers the first status reads, then goes silent: the owner's status reads and the first job wait out their
        // read timeouts, and the second job, queued behind it, reaches its 500 ms timeout first.
        let printer = try FakeTCPPrinter(.silent, after: 16)
        defer { printer.shutdown() }
        try configure(printer)
        let server = try ServeTests.Server(home: home)
        defer { _ = server.terminate() }
        let first = try ChildProcess("/usr/bin/curl", [
            "-s", "-X", "POST", "-H", "Content-Type: text/plain;charset=UTF-8", "-H", "Origin: \(Self.origin)",
            "--data-binary", Self.envelope("<text>FIRST&#10;</text>"), "http://127.0.0.1:\(server.port)/cgi-bin/epos/service.cgi?devid=local_printer",
        ], stdout: .capture, stderr: .discard)
        // The first job is on the wire before the second is sent.
        for _ in 0..<200 where !String(decoding: printer.received(), as: UTF8.self).contains("FIRST") { usleep(20_000) }
        #expect(String(decoding: printer.received(), as: UTF8.self).contains("FIRST"))
        let started = ContinuousClock.now
        let answer = try base.call(server, "POST", "/cgi-bin/epos/service.cgi?devid=local_printer&timeout=500",
                                   body: Self.envelope("<text>SECOND&#10;</text>"), contentType: "text/plain;charset=UTF-8",
                                   headers: ["Origin: \(Self.origin)"])
        let waited = ContinuousClock.now - started
        #expect(answer.status == 200 && answer.body.contains(#"success="false""#) && answer.body.contains(#"code="EX_TIMEOUT""#), "\(answer.body)")
        #expect(waited >= .milliseconds(450) && waited < .seconds(5), "answered after \(waited)")
        // The first gets its answer (a printer that stopped answering status counts as one that cannot report: its job
        // was delivered), and the expired second is never sent.
        let firstAnswer = String(decoding: try first.communicate(timeout: .seconds(90)).stdout, as: UTF8.self)
        #expect(firstAnswer.contains("<response ") && firstAnswer.contains("success="), "\(firstAnswer)")
        // Long enough for the owner to reach the next job, its status read timing out included.
        Thread.sleep(forTimeInterval: 5)
        #expect(!String(decoding: printer.received(), as: UTF8.self).contains("SECOND"), "an expired job never prints")
    }

    @Test("--odoo-listen: the drop-in endpoints alone on their own port, answered with CORS; the /v1 API is not there")
    func odooListener() throws {
        let printer = try FakeTCPPrinter()
        defer { printer.shutdown() }
        try configure(printer)
        let server = try ServeTests.Server(home: home, arguments: ["--odoo-listen", "127.0.0.1:0"])
        defer { _ = server.terminate() }
        // The second line names the Odoo listener's port.
        let text = try server.nextLine() ?? ""
        let port = try #require(text.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }, "\(text)")
        func get(_ path: String) throws -> (status: Int, body: String, headers: String) {
            let result = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-D", "/dev/stderr", "-w", "\n%{http_code}",
                                                                                   "-H", "Origin: \(Self.origin)", "http://127.0.0.1:\(port)\(path)"])
            var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let status = Int(lines.popLast() ?? "") ?? 0
            return (status, lines.joined(separator: "\n"), result.stderr.lowercased())
        }
        let hello = try get("/hw_proxy/hello")
        #expect(hello.status == 200 && hello.body == "ping" && hello.headers.contains("access-control-allow-origin: \(Self.origin)"), "\(hello)")
        #expect(try get("/v1/health").status == 404)
    }

    @Test("in headless chromium, a page from another origin calls hello, JSON-RPC handshake, status and a canvas JPEG receipt, and a header-less ePOS POST: the browser accepts every CORS answer and the printer gets both jobs")
    func browser() throws {
        let printer = try FakeTCPPrinter()
        defer { printer.shutdown() }
        // A free port for the page's own origin (bound, read, released).
        let probe = TestSupport.loopbackSocket(listenBacklog: nil)
        let pagePort = probe.port
        close(probe.fd)
        try Data("""
            [serve]
            poll-ms = 200
            allowed-origins = "http://127.0.0.1:\(pagePort)"

            [devices.counter]
            url = "\(printer.url)"
            profile = "TM-T20III"
            default = true

            """.utf8).write(to: home.appendingPathComponent("kassa.toml"))
        let server = try ServeTests.Server(home: home)
        defer { _ = server.terminate() }
        let script = TestSupport.repositoryRoot.appendingPathComponent("Tests/Browser/odoo_pos.py").path
        let debian = (try? TestSupport.run(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", "import selenium"]))?.status == 0
        let result = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"), [debian ? "/usr/bin/python3" : "python3", script,
                                                                                "http://127.0.0.1:\(server.port)", "\(pagePort)"])
        #expect(result.status == 0, "chromium and python3-selenium come from .ci/deps test: \(result.stdout) \(result.stderr)")
        // The canvas receipt: 512 dots wide (64 bytes a row), 160 rows, in bands; and the ePOS text.
        let bytes = printer.received()
        #expect(Self.count(bytes, [0x1D, 0x76, 0x30, 0x00, 64, 0x00]) >= 1, "the receipt image reached the printer")
        #expect(String(decoding: bytes, as: UTF8.self).contains("EPOS FROM THE BROWSER"))
    }

    /// This machine's first IPv4 address that is not loopback, if it has one.
    static let lanAddress: String? = {
        guard let result = try? TestSupport.run(URL(fileURLWithPath: "/usr/bin/hostname"), ["-I"]) else { return nil }
        return result.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .first { $0.split(separator: ".").count == 4 && !$0.hasPrefix("127.") }
    }()

    @Test("a caller beyond loopback: refused (403 CLIENT_NOT_ALLOWED) until its address is in [serve] compat-clients, then served",
          .enabled(if: lanAddress != nil, "the machine has no non-loopback IPv4 address"))
    func compatClients() throws {
        let address = try #require(Self.lanAddress)
        func hello(_ extra: String) throws -> (status: Int, body: String) {
            try Data("[serve]\n\(extra)\n".utf8).write(to: home.appendingPathComponent("kassa.toml"))
            let server = try ServeTests.Server(home: home, listen: "0.0.0.0:0", arguments: ["--insecure"])
            defer { _ = server.terminate() }
            let result = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-w", "\n%{http_code}", "http://\(address):\(server.port)/hw_proxy/hello"])
            var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let status = Int(lines.popLast() ?? "") ?? 0
            return (status, lines.joined(separator: "\n"))
        }
        let refused = try hello("")
        #expect(refused.status == 403 && refused.body.contains("CLIENT_NOT_ALLOWED"), "\(refused)")
        let otherRange = try hello(#"compat-clients = "198.51.100.0/24""#)
        #expect(otherRange.status == 403, "\(otherRange)")
        let parts = address.split(separator: ".")
        let allowed = try hello(#"compat-clients = "10.0.0.1, \#(parts[0]).\#(parts[1]).\#(parts[2]).0/24""#)
        #expect(allowed.status == 200 && allowed.body == "ping", "\(allowed)")
    }
}
