import Foundation
import Testing
import TestSupport

/// `kassa serve` as a client sees it: a real process on loopback, spoken to over HTTP with curl.
@Suite("kassa serve: the local print and drawer service", .serialized)
struct ServeTests {
    let home = TestSupport.temporaryDirectory()

    /// A running `kassa serve` on a free port.
    final class Server {
        let process = Process()
        let port: Int
        let output = Pipe()

        init(home: URL, listen: String = "127.0.0.1:0") throws {
            process.executableURL = TestSupport.kassaBinary
            process.arguments = ["--home", home.path, "serve", "--listen", listen]
            var environment = ProcessInfo.processInfo.environment
            environment["KASSA_HOME"] = home.path
            environment["KASSA_HARDWARE"] = TestSupport.hardware.path
            process.environment = environment
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            // The one line it prints when it listens.
            var line = Data()
            let deadline = Date().addingTimeInterval(20)
            while !line.contains(0x0A), Date() < deadline {
                let byte = output.fileHandleForReading.readData(ofLength: 1)
                if byte.isEmpty { break }
                line.append(byte)
            }
            let text = String(decoding: line, as: UTF8.self)
            guard let range = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
                  let port = Int(text[range].split(separator: ":").last ?? "") else {
                process.terminate()
                throw ServeTestError.notListening(text)
            }
            self.port = port
        }

        func kill9() {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        func terminate() -> Int32 {
            process.terminate()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    enum ServeTestError: Error { case notListening(String) }

    struct Answer {
        var status: Int
        var json: [String: Any]?
        var body: String
    }

    /// One HTTP request with curl.
    func call(_ server: Server, _ method: String, _ path: String, token: String? = nil, key: String? = nil, body: String? = nil,
              contentType: String = "application/json", headers: [String] = []) throws -> Answer {
        var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, "http://127.0.0.1:\(server.port)\(path)"]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let key { arguments += ["-H", "Idempotency-Key: \(key)"] }
        for header in headers { arguments += ["-H", header] }
        if let body {
            let file = home.appendingPathComponent("body-\(UUID().uuidString)")
            try Data(body.utf8).write(to: file)
            arguments += ["-H", "Content-Type: \(contentType)", "--data-binary", "@\(file.path)"]
        }
        let result = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), arguments)
        var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.popLast() ?? "") ?? 0
        let text = lines.joined(separator: "\n")
        return Answer(status: status, json: try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], body: text)
    }

    func kassa(_ arguments: [String]) throws -> KassaProcess.Result { try KassaProcess.run(arguments, home: home) }

    func token(_ scopes: String) throws -> String {
        if try kassa(["user", "list", "--json"]).stdout.contains("maria") == false {
            #expect(try kassa(["user", "add", "maria", "--role", "manager"]).status == 0)
        }
        let made = try kassa(["serve", "token", "add", "--user", "maria", "--scope", scopes, "--json"])
        return try #require(made.json?["token"] as? String, "\(made.stderr)")
    }

    func errorCode(_ answer: Answer) -> String? { (answer.json?["error"] as? [String: Any])?["code"] as? String }

    @Test("health, tokens and scopes, a text job printed and confirmed, idempotency, strict bodies, the error envelope")
    func basics() throws {
        let printer = try token("print")
        let admin = try token("admin")
        let server = try Server(home: home)
        defer { _ = server.terminate() }
        let health = try call(server, "GET", "/v1/health")
        #expect(health.status == 200 && health.json?["version"] as? String != nil, "\(health.body)")
        #expect(try call(server, "GET", "/v1/openapi.yaml").body.hasPrefix("openapi: 3.1"))
        let anonymous = try call(server, "GET", "/v1/devices")
        #expect(anonymous.status == 401 && anonymous.json?["ok"] as? Bool == false && errorCode(anonymous) == "UNAUTHORIZED")
        #expect(try call(server, "GET", "/v1/devices", token: "kst_wrong").status == 401)
        let devices = try call(server, "GET", "/v1/devices", token: printer)
        let list = try #require(devices.json?["devices"] as? [[String: Any]])
        #expect(list.count == 1 && list[0]["name"] as? String == "virtual" && (list[0]["status"] as? [String: Any])?["paper"] as? String == "ok")
        // The drawer needs its scope.
        let forbidden = try call(server, "POST", "/v1/devices/virtual/drawer", token: printer, key: "d1")
        #expect(forbidden.status == 403 && errorCode(forbidden) == "FORBIDDEN", "\(forbidden.body)")

        let printed = try call(server, "POST", "/v1/devices/virtual/jobs?wait=10", token: printer, key: "k1", body: #"{"text":"Hej från Kassa\n"}"#)
        #expect(printed.status == 200 && printed.json?["state"] as? String == "done", "\(printed.body)")
        let id = try #require(printed.json?["id"] as? String)
        // ISO 8601 timestamps with their offset.
        #expect((printed.json?["createdAt"] as? String)?.hasSuffix("Z") == true)
        let preview = try call(server, "GET", "/v1/jobs/\(id)/preview.png", token: printer)
        #expect(preview.status == 200 && preview.body.contains("PNG"))
        // The same key again is the same job; with other content it is refused.
        let repeated = try call(server, "POST", "/v1/devices/virtual/jobs", token: printer, key: "k1", body: #"{"text":"Hej från Kassa\n"}"#)
        #expect(repeated.json?["id"] as? String == id)
        let conflict = try call(server, "POST", "/v1/devices/virtual/jobs", token: printer, key: "k1", body: #"{"text":"other\n"}"#)
        #expect(conflict.status == 409 && errorCode(conflict) == "IDEMPOTENCY_CONFLICT")
        // Refusals change nothing, each with its status and code.
        for (answer, status, code) in [
            (try call(server, "POST", "/v1/devices/virtual/jobs", token: printer, body: #"{"text":"x"}"#), 400, "IDEMPOTENCY_KEY_REQUIRED"),
            (try call(server, "POST", "/v1/devices/virtual/jobs", token: printer, key: "k2", body: #"{"text":"x","colour":1}"#), 400, "UNKNOWN_FIELD"),
            (try call(server, "POST", "/v1/devices/virtual/jobs", token: printer, key: "k3", body: #"{"text":"#), 400, "INVALID_JSON"),
            (try call(server, "POST", "/v1/devices/virtual/jobs", token: printer, key: "k4", body: "x", contentType: "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE"),
            (try call(server, "POST", "/v1/devices/virtual/jobs", token: printer, key: "k5", body: #"{"text":"x","raw":"AA=="}"#), 400, "INVALID_JOB"),
            (try call(server, "POST", "/v1/devices/nowhere/jobs", token: printer, key: "k6", body: #"{"text":"x"}"#), 404, "NOT_FOUND"),
            (try call(server, "POST", "/v1/devices/virtual/jobs", token: printer, key: "k7",
                      body: #"{"text":"\#(String(repeating: "x", count: 11 * 1024 * 1024))"}"#), 413, "BODY_TOO_LARGE"),
        ] {
            #expect(answer.status == status && errorCode(answer) == code, "\(status) \(code): \(answer.status) \(answer.body.prefix(300))")
        }
        let jobs = try call(server, "GET", "/v1/jobs", token: admin)
        #expect((jobs.json?["jobs"] as? [Any])?.count == 1, "only the one job was made: \(jobs.body.prefix(300))")
        // CORS preflight with the private-network header.
        let preflight = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), [
            "-s", "-i", "-X", "OPTIONS", "http://127.0.0.1:\(server.port)/v1/devices/virtual/jobs", "-H", "Origin: http://pos.local",
            "-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Private-Network: true",
            "-H", "Access-Control-Request-Headers: authorization, content-type, idempotency-key"])
        #expect(preflight.stdout.lowercased().hasPrefix("http/1.1 403") && !preflight.stdout.lowercased().contains("access-control-allow-origin"),
                "no origin is allowed by default: \(preflight.stdout)")
    }

    @Test("a job for a printer out of paper is held, then printed by itself; an accepted job survives kill -9; SIGTERM exits 0")
    func heldDurableDrained() throws {
        let admin = try token("print,drawer,admin")
        try Data("[serve]\npoll-ms = 200\nallowed-origins = \"http://pos.local\"\n".utf8).write(to: home.appendingPathComponent("kassa.toml"))
        var server = try Server(home: home)
        let out = try call(server, "POST", "/v1/devices/virtual/simulate", token: admin, body: #"{"paper":"out"}"#)
        #expect(out.status == 200 && (out.json?["status"] as? [String: Any])?["ready"] as? Bool == false, "\(out.body)")
        let held = try call(server, "POST", "/v1/devices/virtual/jobs?wait=2", token: admin, key: "h1", body: #"{"text":"held\n"}"#)
        #expect(held.status == 202 && held.json?["state"] as? String == "held", "\(held.body)")
        let id = try #require(held.json?["id"] as? String)
        _ = try call(server, "POST", "/v1/devices/virtual/simulate", token: admin, body: #"{"paper":"ok"}"#)
        var job = try call(server, "GET", "/v1/jobs/\(id)", token: admin)
        for _ in 0..<50 where job.json?["state"] as? String != "done" {
            Thread.sleep(forTimeInterval: 0.1)
            job = try call(server, "GET", "/v1/jobs/\(id)", token: admin)
        }
        #expect(job.json?["state"] as? String == "done", "\(job.body)")
        // Accepted while paper is out, then the process is killed: after the restart the job is still there and is sent.
        _ = try call(server, "POST", "/v1/devices/virtual/simulate", token: admin, body: #"{"paper":"out"}"#)
        let accepted = try call(server, "POST", "/v1/devices/virtual/jobs", token: admin, key: "h2", body: #"{"text":"survives\n"}"#)
        #expect(accepted.status == 202)
        let survivor = try #require(accepted.json?["id"] as? String)
        server.kill9()
        server = try Server(home: home)
        var after = try call(server, "GET", "/v1/jobs/\(survivor)", token: admin)
        for _ in 0..<50 where after.json?["state"] as? String != "done" {
            Thread.sleep(forTimeInterval: 0.1)
            after = try call(server, "GET", "/v1/jobs/\(survivor)", token: admin)
        }
        #expect(after.json?["state"] as? String == "done" && after.json?["attempts"] as? Int == 1, "\(after.body)")
        // A drawer kick, and the CORS answer for an allowed origin.
        let drawer = try call(server, "POST", "/v1/devices/virtual/drawer?wait=5", token: admin, key: "d1", headers: ["Origin: http://pos.local"])
        #expect(drawer.status == 200 && drawer.json?["state"] as? String == "done", "\(drawer.body)")
        let preflight = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), [
            "-s", "-i", "-X", "OPTIONS", "http://127.0.0.1:\(server.port)/v1/devices/virtual/jobs", "-H", "Origin: http://pos.local",
            "-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Private-Network: true",
            "-H", "Access-Control-Request-Headers: authorization, content-type, idempotency-key"]).stdout.lowercased()
        #expect(preflight.hasPrefix("http/1.1 204") && preflight.contains("access-control-allow-origin: http://pos.local")
                && preflight.contains("access-control-allow-private-network: true")
                && preflight.contains("access-control-allow-headers: authorization, content-type, idempotency-key"), "\(preflight)")
        #expect(server.terminate() == 0)
    }

    @Test("tokens: only a hash is stored (0600); list and revoke; listening beyond loopback needs --insecure")
    func tokensAndBinding() throws {
        let secret = try token("print")
        let file = home.appendingPathComponent("serve-tokens.json")
        let stored = try String(contentsOf: file, encoding: .utf8)
        #expect(!stored.contains(secret))
        let mode = (try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600)
        let listed = try kassa(["serve", "token", "list", "--json"])
        let id = try #require((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])?.first?["id"] as? String)
        #expect(try kassa(["serve", "token", "revoke", id]).status == 0)
        #expect(try kassa(["serve", "token", "revoke", id]).status == 36)
        #expect(try kassa(["serve", "token", "add", "--user", "nobody", "--scope", "print"]).status == 31)
        let open = try kassa(["serve", "--listen", "0.0.0.0:0", "--json"])
        #expect(open.status == 9 && open.stdout.contains("--insecure"), "\(open.stdout)")
    }
}
