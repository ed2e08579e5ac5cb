internal import CPosixShims
import ChildProcess
import ESCPOS
import Foundation
import ImageCodec
import ProfileCatalog
import Raster
import VirtualPrinter

#if canImport(Glibc)
import Glibc
#endif

/// Paths and fixtures shared by the test targets.
public enum TestSupport {
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var hardware: URL { repositoryRoot.appendingPathComponent("Hardware") }

    /// Writes `HOME/profiles/pid-80mm.json`: generic-80mm for a printer that answers Epson's process-ID request.
    public static func writeProcessIDProfile(home: URL) throws {
        let source = hardware.appendingPathComponent("profiles/generic-80mm.json")
        guard var profile = try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        profile["id"] = "pid-80mm"
        var features = profile["features"] as? [String: Any] ?? [:]
        features["processIDResponse"] = true
        profile["features"] = features
        let folder = home.appendingPathComponent("profiles")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: profile).write(to: folder.appendingPathComponent("pid-80mm.json"))
    }

    /// The `kassa` executable built beside the tests (or `$KASSA_BIN`).
    public static let kassaBinary: URL = {
        if let explicit = ProcessInfo.processInfo.environment["KASSA_BIN"] { return URL(fileURLWithPath: explicit) }
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            besideTests.appendingPathComponent("kassa"),
            besideTests.deletingLastPathComponent().appendingPathComponent("kassa"),
            repositoryRoot.appendingPathComponent(".build/debug/kassa"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[2]
    }()

    public static let catalog: ProfileCatalog = {
        do {
            return try ProfileCatalog.load(hardwareDirectory: hardware, userDirectory: nil)
        } catch {
            preconditionFailure("shipped profiles must load: \(error)")
        }
    }()

    public static func profile(_ name: String) -> PrinterProfile {
        do {
            return try catalog.profile(named: name)
        } catch {
            preconditionFailure("\(error)")
        }
    }

    public static let fonts: PrinterFonts = {
        func load(_ name: String) -> BitmapFont {
            let data = FileManager.default.contents(atPath: hardware.appendingPathComponent("fonts/\(name)").path)!
            return try! BitmapFont(bdf: String(decoding: data, as: UTF8.self))
        }
        return PrinterFonts(fontA: load("font-a-12x24.bdf"), fontB: load("font-b-8x16.bdf"))
    }()

    /// Runs the bytes through a virtual printer.
    public static func print(_ bytes: [UInt8], profile: PrinterProfile, fonts: PrinterFonts? = TestSupport.fonts) -> VirtualPrinter {
        var printer = VirtualPrinter(profile: profile, fonts: fonts)
        printer.receive(bytes)
        printer.finish()
        return printer
    }

    public static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kassa-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A TCP socket bound to an ephemeral port on 127.0.0.1; listening with `backlog` when given, else only bound
    /// (so connections to it are refused). The caller closes `fd`.
    public static func loopbackSocket(listenBacklog backlog: Int32?) -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(fd, $0, length)
                _ = getsockname(fd, $0, &length)
            }
        }
        if let backlog { listen(fd, backlog) }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// A pseudo-terminal's master side (non-blocking, close-on-exec) for a simulated serial device, and the slave's
    /// path that Kassa opens as its port. The caller closes the master.
    public static func openPseudoTerminal() throws -> (master: Int32, slavePath: String) {
        var name = [CChar](repeating: 0, count: 128)
        let fd = kassa_open_pty_master(&name, 128)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return (fd, String(cString: name))
    }

    public struct ProcessResult {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs a program to completion, feeding it `stdin` (ChildProcess: no trap on a read error, both outputs drained
    /// together). `status` is the exit status, or 128 + the signal. A program still running after `timeout` is killed.
    public static func run(
        _ executable: URL, _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String]? = nil,
        timeout: Duration = .seconds(300)
    ) throws -> ProcessResult {
        let outcome = try ChildProcess.run(executable.path, arguments, environment: environment, input: stdin ?? [], timeout: timeout)
        return ProcessResult(status: outcome.termination.status, stdout: String(decoding: outcome.stdout, as: UTF8.self),
                             stderr: String(decoding: outcome.stderr, as: UTF8.self))
    }

    /// Decodes every symbol in a PNG with zbarimg (Debian package zbar-tools, installed by the test command).
    /// Returns lines like `QR-Code:data`.
    public static func zbar(_ image: GrayImage) throws -> [String] {
        // A quiet zone around the paper helps the decoder.
        var padded = GrayImage(width: image.width + 80, height: image.height + 80)
        for y in 0..<image.height {
            for x in 0..<image.width { padded[x + 40, y + 40] = image[x, y] }
        }
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("symbol.png")
        try Data(ImageCodec.encodePNG(padded)).write(to: file)
        let result = try run(URL(fileURLWithPath: "/usr/bin/zbarimg"), ["-q", file.path])
        return result.stdout.split(separator: "\n").map(String.init)
    }
}
