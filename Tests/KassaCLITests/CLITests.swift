import Foundation
import Testing
import TestSupport

/// Runs the real `kassa` binary, as a user or a script would.
struct KassaProcess {
    static var binary: URL { TestSupport.kassaBinary }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
        }
        var jsonArray: [Any]? {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [Any]
        }
    }

    static func run(_ arguments: [String], stdin: [UInt8]? = nil, home: URL, extraEnvironment: [String: String] = [:]) throws -> Result {
        var environment = ProcessInfo.processInfo.environment
        environment["KASSA_HARDWARE"] = TestSupport.hardware.path
        environment.merge(extraEnvironment) { $1 }
        let result = try TestSupport.run(binary, arguments + ["--home", home.path], stdin: stdin, environment: environment)
        return Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }
}

@Suite("kassa CLI", .serialized)
struct CLITests {
    let home = TestSupport.temporaryDirectory()

    func previews() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("previews").path)) ?? []
    }

    @Test("print --demo prints on the virtual printer and says where the preview is")
    func demo() throws {
        let result = try KassaProcess.run(["print", "--demo"], home: home)
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("Preview: ") })
        let path = String(line.dropFirst("Preview: ".count))
        #expect(path.hasPrefix(home.appendingPathComponent("previews").path))
        let png = try #require(FileManager.default.contents(atPath: path))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        let text = try String(contentsOfFile: path.replacingOccurrences(of: ".png", with: ".txt"), encoding: .utf8)
        #expect(text.contains("Smørrebrød") && text.contains("Żurek") && text.contains("Weißwurst") && text.contains("€"))
    }

    @Test("--json output, an explicit preview path and copies")
    func jsonAndCopies() throws {
        let png = home.appendingPathComponent("out.png").path
        let result = try KassaProcess.run(["print", "--demo", "--json", "--preview", png, "--copies", "2", "--profile", "generic-58mm"], home: home)
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(result.json)
        #expect(json["previewPNG"] as? String == png)
        #expect(json["copies"] as? Int == 2)
        #expect(json["profile"] as? String == "generic-58mm")
        let text = try #require(json["text"] as? String)
        #expect(text.components(separatedBy: "Kassa Demo").count - 1 == 0)  // double width: letters are spaced out
        #expect(text.components(separatedBy: "Storgatan 1").count - 1 == 2)
        #expect(FileManager.default.fileExists(atPath: png))
    }

    @Test("a document file, and its logo relative to it")
    func document() throws {
        let example = TestSupport.repositoryRoot.appendingPathComponent("Docs/examples/receipt.json").path
        let result = try KassaProcess.run(["print", example, "--json"], home: home)
        #expect(result.status == 0, "\(result.stderr)")
        let text = try #require(result.json?["text"] as? String)
        #expect(text.contains("[image 24x8]"))
        #expect(text.contains("Käse, Bergkäse"))
        #expect(text.contains("[CODE128 R2025-000417]"))
    }

    @Test("plain text from standard input goes through the code pages")
    func stdinText() throws {
        let result = try KassaProcess.run(["print", "-", "--json"], stdin: Array("Grüße aus Łódź\nPris: 12 €\n".utf8), home: home)
        #expect(result.status == 0, "\(result.stderr)")
        let text = try #require(result.json?["text"] as? String)
        #expect(text.hasPrefix("Grüße aus Łódź\nPris: 12 €\n"))
        #expect((result.json?["warnings"] as? [String])?.isEmpty == true)
    }

    @Test("invalid UTF-8 on standard input is refused and nothing is printed")
    func invalidUTF8() throws {
        let result = try KassaProcess.run(["print", "-"], stdin: [0x48, 0x69, 0x20, 0xC3, 0x28, 0x0A], home: home)
        #expect(result.status == 3)
        #expect(result.stderr.contains("not valid UTF-8") && result.stderr.contains("offset 3"))
        #expect(previews().isEmpty)
    }

    @Test("a malformed document names the bad field and prints nothing")
    func malformedDocument() throws {
        let file = home.appendingPathComponent("bad.json")
        try Data(#"{"currency":"EUR","items":[{"name":"Kaffe","unitPrice":"3.50"}]}"#.utf8).write(to: file)
        let result = try KassaProcess.run(["print", file.path, "--json"], home: home)
        #expect(result.status == 3)
        let error = try #require(result.json?["error"] as? [String: Any])
        #expect(error["code"] as? String == "INVALID_DOCUMENT")
        #expect((error["message"] as? String)?.contains("items[0].unitPrice") == true)
        #expect(previews().isEmpty)
        let missing = try KassaProcess.run(["print", home.appendingPathComponent("nope.json").path], home: home)
        #expect(missing.status == 3 && missing.stderr.contains("no such file"))
    }

    @Test("an unknown profile, an unknown device URL and an unreachable printer have their own exit codes")
    func errors() throws {
        let profile = try KassaProcess.run(["print", "--demo", "--profile", "TM-T20"], home: home)
        #expect(profile.status == 4 && profile.stderr.contains("TM-T20II"))
        let url = try KassaProcess.run(["print", "--demo", "--device", "lpt1"], home: home)
        #expect(url.status == 64)
        let refused = try KassaProcess.run(["print", "--demo", "--device", "tcp://127.0.0.1:1", "--json"], home: home)
        #expect(refused.status == 21)
        #expect((refused.json?["error"] as? [String: Any])?["code"] as? String == "UNREACHABLE")
        let usage = try KassaProcess.run(["print"], home: home)
        #expect(usage.status == 64 && usage.stderr.contains("exactly one"))
    }

    @Test("print --raw sends a file unchanged to a file device")
    func raw() throws {
        let input = home.appendingPathComponent("job.bin")
        let bytes: [UInt8] = [0x1B, 0x40, 0x48, 0x69, 0x0A, 0x1D, 0x56, 0x42, 0x00]
        try Data(bytes).write(to: input)
        let output = home.appendingPathComponent("printer.bin")
        let result = try KassaProcess.run(["print", "--raw", input.path, "--device", "file:\(output.path)"], home: home)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Array(try Data(contentsOf: output)) == bytes)
    }

    @Test("profiles lists shipped and user profiles; a broken user profile is reported")
    func profiles() throws {
        let directory = home.appendingPathComponent("profiles")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let custom = try String(contentsOf: TestSupport.hardware.appendingPathComponent("profiles/generic-58mm.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"generic-58mm\"", with: "\"corner-shop\"")
        try Data(custom.utf8).write(to: directory.appendingPathComponent("corner-shop.json"))
        try Data("{".utf8).write(to: directory.appendingPathComponent("broken.json"))
        let list = try KassaProcess.run(["profiles"], home: home)
        #expect(list.status == 0)
        #expect(list.stdout.contains("corner-shop") && list.stdout.contains("TM-T88V") && list.stdout.contains("generic-80mm"))
        #expect(list.stdout.contains("broken.json"))
        let json = try KassaProcess.run(["profiles", "--json"], home: home)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 53)
        let printed = try KassaProcess.run(["print", "--demo", "--profile", "corner-shop", "--json"], home: home)
        #expect(printed.status == 0 && printed.json?["profile"] as? String == "corner-shop")
    }

    @Test("logo stores an image in printer memory where the profile allows it, and refuses otherwise")
    func logo() throws {
        let output = home.appendingPathComponent("nv.bin")
        let image = TestSupport.repositoryRoot.appendingPathComponent("Docs/examples/logo.pbm").path
        let stored = try KassaProcess.run(["logo", image, "--key", "K7", "--profile", "TM-T20III", "--device", "file:\(output.path)"], home: home)
        #expect(stored.status == 0, "\(stored.stderr)")
        let bytes = Array(try Data(contentsOf: output))
        #expect(Array(bytes.prefix(7)) == [0x1B, 0x40, 0x1D, 0x38, 0x4C, 11 + 3 * 8, 0])
        #expect(Array(bytes[9...12]) == [0x30, 0x43, 0x30, 0x4B])
        let refused = try KassaProcess.run(["logo", image, "--profile", "generic-58mm"], home: home)
        #expect(refused.status == 4 && refused.stderr.contains("does not support"))
    }

    @Test("version reports the system libraries")
    func version() throws {
        let result = try KassaProcess.run(["version", "--json"], home: home)
        #expect(result.status == 0)
        #expect((result.json?["libusb"] as? String)?.hasPrefix("1.0.") == true)
    }
}
