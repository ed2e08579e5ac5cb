import DeviceTransport
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A simulated network printer on 127.0.0.1: accepts, captures, answers DLE EOT, stalls or resets on cue.
final class FakeNetworkPrinter: @unchecked Sendable {
    enum Behaviour { case capture, stall, reset, close }

    let port: UInt16
    private let listener: Int32
    private let behaviour: Behaviour
    private let lock = NSLock()
    private var captured: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)
    private let statusByte: UInt8

    init(behaviour: Behaviour, status: UInt8 = 0x12) throws {
        self.behaviour = behaviour
        statusByte = status
        let (fd, port) = TestSupport.loopbackSocket(listenBacklog: 4)
        guard fd >= 0, port != 0 else { throw POSIXError(.EADDRINUSE) }
        listener = fd
        self.port = port
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    private func serve() {
        defer { done.signal() }
        let client = accept(listener, nil, nil)
        guard client >= 0 else { return }
        defer { Glibc.close(client) }
        switch behaviour {
        case .stall:
            // Never read: the client's send buffer fills and its write must time out.
            var small: Int32 = 4096
            setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            Thread.sleep(forTimeInterval: 3)
        case .close:
            break  // closes normally (FIN) right after accepting, like a printer that restarted
        case .reset:
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        case .capture:
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(client, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                let chunk = Array(buffer.prefix(count))
                lock.withLock { captured += chunk }
                // Answer each DLE EOT n in the chunk.
                var index = 0
                while index + 2 < chunk.count {
                    if chunk[index] == 0x10, chunk[index + 1] == 0x04 {
                        var answer = statusByte
                        _ = send(client, &answer, 1, Int32(MSG_NOSIGNAL))
                    }
                    index += 1
                }
            }
        }
    }

    /// Waits for the connection to end and returns what the printer received.
    func received() -> [UInt8] {
        _ = done.wait(timeout: .now() + 5)
        return lock.withLock { captured }
    }

    deinit { Glibc.close(listener) }
}

@Suite("TCP transport on 127.0.0.1", .serialized)
struct TCPTransportTests {
    @Test("a job arrives byte for byte and a status answer comes back")
    func capture() throws {
        let printer = try FakeNetworkPrinter(behaviour: .capture, status: 0x1E)
        let transport = TCPTransport(host: "127.0.0.1", port: printer.port)
        try transport.open()
        let job = (0..<100_000).map { UInt8($0 % 251) }.filter { $0 != 0x10 }
        try transport.write(job, timeout: .seconds(5))
        try transport.write([0x10, 0x04, 0x04], timeout: .seconds(1))
        let answer = try transport.read(maxCount: 1, timeout: .seconds(2))
        transport.close()
        #expect(answer == [0x1E])
        #expect(printer.received() == job + [0x10, 0x04, 0x04])
    }

    @Test("a closed port is 'connection refused'")
    func refused() throws {
        // A port that is bound but not listening refuses connections.
        let (fd, port) = TestSupport.loopbackSocket(listenBacklog: nil)
        defer { Glibc.close(fd) }
        let transport = TCPTransport(host: "127.0.0.1", port: port, connectTimeout: .seconds(2))
        var error: TransportError?
        do { try transport.open() } catch let caught { error = caught }
        #expect(error == .connectionRefused(device: "tcp://127.0.0.1:\(port)"))
    }

    @Test("a printer that stops reading makes the write time out")
    func stall() throws {
        let printer = try FakeNetworkPrinter(behaviour: .stall)
        let transport = TCPTransport(host: "127.0.0.1", port: printer.port)
        try transport.open()
        let big = [UInt8](repeating: 0x41, count: 64 * 1024 * 1024)
        #expect {
            try transport.write(big, timeout: .milliseconds(300))
        } throws: { error in
            if case TransportError.timedOut = error { return true }
            return false
        }
    }

    @Test("a reset connection is reported as disconnected, and reading with no answer times out")
    func reset() throws {
        let printer = try FakeNetworkPrinter(behaviour: .reset)
        let transport = TCPTransport(host: "127.0.0.1", port: printer.port)
        try transport.open()
        _ = printer.received()
        Thread.sleep(forTimeInterval: 0.1)
        #expect {
            for _ in 0..<50 { try transport.write([UInt8](repeating: 0x41, count: 65536), timeout: .seconds(1)) }
        } throws: { error in
            if case TransportError.disconnected = error { return true }
            return false
        }
        let quiet = try FakeNetworkPrinter(behaviour: .capture)
        let other = TCPTransport(host: "127.0.0.1", port: quiet.port)
        try other.open()
        #expect(throws: TransportError.timedOut(device: other.name, operation: "waiting for an answer", milliseconds: 200)) {
            try other.read(maxCount: 1, timeout: .milliseconds(200))
        }
        other.close()
    }

    @Test("a connection the printer closed (half-open on our side) is detected before sending, and the next job reconnects")
    func halfOpen() throws {
        let printer = try FakeNetworkPrinter(behaviour: .close)
        let transport = TCPTransport(host: "127.0.0.1", port: printer.port)
        try transport.open()
        _ = printer.received()
        Thread.sleep(forTimeInterval: 0.05)
        #expect(transport.peerHasClosed)
        #expect(throws: TransportError.disconnected(device: transport.name, detail: "the printer closed the connection")) {
            try transport.write([0x1B, 0x40], timeout: .seconds(1))
        }
        let again = try FakeNetworkPrinter(behaviour: .capture)
        let next = TCPTransport(host: "127.0.0.1", port: again.port)
        try next.open()
        try next.write([0x1B, 0x40], timeout: .seconds(1))
        next.close()
        #expect(again.received() == [0x1B, 0x40])
    }

    @Test("a printer that does not accept connections in time gives a connect timeout")
    func connectTimeout() throws {
        // A listener that never accepts, with its backlog full: further SYNs are dropped, so connect() hangs.
        let (listener, port) = TestSupport.loopbackSocket(listenBacklog: 0)
        defer { Glibc.close(listener) }
        var fillers: [TCPTransport] = []
        defer { fillers.forEach { $0.close() } }
        var timedOut = false
        func attempt(_ transport: TCPTransport) -> TransportError? {
            do {
                try transport.open()
                return nil
            } catch {
                return error
            }
        }
        for _ in 0..<8 where !timedOut {
            let transport = TCPTransport(host: "127.0.0.1", port: port, connectTimeout: .milliseconds(300))
            guard let error = attempt(transport) else {
                fillers.append(transport)
                continue
            }
            guard case .timedOut(_, "connecting", 300) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(error.description.contains("did not respond within 300 ms while connecting"))
            timedOut = true
        }
        #expect(timedOut)
    }

    @Test("an unresolvable host is 'unreachable'")
    func unresolvable() {
        #expect {
            try TCPTransport(host: "printer.invalid", port: 9100).open()
        } throws: { error in
            if case TransportError.unreachable = error { return true }
            return false
        }
    }
}

@Suite("File transport")
struct FileTransportTests {
    @Test("bytes are appended, never overwritten")
    func appends() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kassa-\(UUID()).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for chunk in [[UInt8](arrayLiteral: 1, 2), [3]] {
            let transport = FileTransport(path: path)
            try transport.open()
            try transport.write(chunk, timeout: .seconds(1))
            transport.close()
        }
        #expect(Array(FileManager.default.contents(atPath: path)!) == [1, 2, 3])
        let transport = FileTransport(path: path)
        try transport.open()
        #expect(!transport.canRead)
        #expect(throws: TransportError.cannotRead(device: "file:\(path)")) { try transport.read(maxCount: 1, timeout: .seconds(1)) }
    }

    @Test("a missing directory is 'not found', a directory is refused")
    func errors() {
        #expect(throws: TransportError.notFound(device: "file:/nonexistent/dir/lp0")) {
            try FileTransport(path: "/nonexistent/dir/lp0").open()
        }
        #expect(throws: TransportError.self) { try FileTransport(path: "/tmp").open() }
    }

    @Test("a character device opens read-write")
    func characterDevice() throws {
        let transport = FileTransport(path: "/dev/null")
        try transport.open()
        #expect(transport.canRead)
        try transport.write([0x1B, 0x40], timeout: .seconds(1))
        transport.close()
    }
}

@Suite("Device URLs")
struct DeviceURLTests {
    @Test(arguments: [
        ("virtual:", DeviceURL.virtual()),
        ("virtual:?paper=out&cover=open", .virtual(simulate: ["paper": "out", "cover": "open"])),
        ("tcp://10.0.0.5:9100", .tcp(host: "10.0.0.5", port: 9100)),
        ("tcp://printer.local", .tcp(host: "printer.local", port: 9100)),
        ("tcp://[::1]:9101", .tcp(host: "::1", port: 9101)),
        ("file:/dev/usb/lp0", .file(path: "/dev/usb/lp0")),
        ("file:///dev/usb/lp0", .file(path: "/dev/usb/lp0")),
        ("/tmp/out.bin", .file(path: "/tmp/out.bin")),
        ("usb://04b8:0202?serial=ABC123", .usb(vendor: 0x04B8, product: 0x0202, serial: "ABC123")),
        ("usb://04b8:0202?port=1-1.4", .usb(vendor: 0x04B8, product: 0x0202, port: "1-1.4")),
        ("serial:///dev/ttyUSB0?baud=115200&flow=rtscts", .serial(path: "/dev/ttyUSB0", parameters: ["baud": "115200", "flow": "rtscts"])),
    ])
    func parses(text: String, expected: DeviceURL) throws {
        #expect(try DeviceURL(parsing: text) == expected)
    }

    @Test(arguments: ["usb://04b8:0202?bus=1", "tcp://:9100", "tcp://host:0", "tcp://host:99999", "usb://epson", "serial://ttyUSB0", "lpt1", "file:", "http://x"])
    func rejects(text: String) {
        #expect(throws: TransportError.self) { try DeviceURL(parsing: text) }
    }

    @Test("device URLs with malformed settings are refused, never a trap (found by the url fuzz target)", arguments: [
        "serial:///dUSB0?==&parity=none&s/flow=rtscts", "serial:///dev/ttyUSB0?=9600", "virtual:?=", "usb://04b8:0202?&",
        "serial:///dev/ttyUSB0?baud=9600&baud=115200", "usb://04b8:0202?serial=A&serial=B",
    ])
    func malformedSettings(text: String) {
        #expect(throws: TransportError.self) { try DeviceURL(parsing: text) }
    }

    @Test("errors tell the user what to do")
    func messages() {
        #expect(TransportError.permissionDenied(device: "file:/dev/usb/lp0").description.contains("udev"))
        #expect(TransportError.connectionRefused(device: "tcp://x:9100").description.contains("9100"))
        #expect(TransportError.io(device: "d", operation: "write", errno: EIO).description.contains("errno 5"))
    }
}
