import DeviceTransport
import ESCPOS
import Foundation
import ReceiptPrinter
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Serial transport on a pty", .serialized)
struct SerialTransportTests {
    @Test("a job arrives byte for byte with every line setting", arguments: [
        "baud=9600", "baud=115200&flow=rtscts", "baud=19200&data=7&parity=even&stop=2", "baud=1200&flow=xonxoff&parity=odd",
    ])
    func job(query: String) throws {
        let printer = try FakeSerialPrinter()
        let url = try DeviceURL(parsing: "serial://\(printer.slavePath)?\(query)")
        guard case .serial(let path, let parameters) = url else { Issue.record("not a serial URL"); return }
        let transport = SerialTransport(path: path, settings: try SerialSettings(parameters: parameters, url: "\(url)"))
        try transport.open()
        let job = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) }.map { $0 == 0x10 ? 0x11 : $0 }
        try transport.write(job, timeout: .seconds(5))
        #expect(printer.waitForBytes(job.count) == job)
        transport.close()
    }

    @Test("status answers are read back: paper out, cover open, drawer signal")
    func status() throws {
        let fake = try FakeSerialPrinter()
        fake.setStatus(1, 0x1E)  // offline + drawer pin high
        fake.setStatus(2, 0x16)  // cover open
        fake.setStatus(4, 0x72)  // paper end
        let printer = ReceiptPrinter(transport: SerialTransport(path: fake.slavePath), profile: TestSupport.profile("generic-80mm"))
        try printer.open()
        defer { printer.close() }
        let status = try printer.status()
        #expect(status.online == false && status.drawerSignalHigh == true && status.coverOpen == true && status.paper == .out)
        // Every blocking condition in one message.
        #expect(throws: ReceiptPrinterError.notReady(device: "serial://\(fake.slavePath)",
                                                     problem: "the printer cover is open: close it; the printer is out of paper: load a new roll")) {
            try printer.preflight()
        }
    }

    @Test("a printer that swallows status requests gives 'status unavailable', not a guess")
    func swallow() throws {
        let fake = try FakeSerialPrinter(mode: .swallow)
        let printer = ReceiptPrinter(transport: SerialTransport(path: fake.slavePath), profile: TestSupport.profile("generic-80mm"))
        printer.statusTimeout = .milliseconds(150)
        try printer.open()
        defer { printer.close() }
        #expect {
            try printer.status([.printer])
        } throws: { error in
            guard case ReceiptPrinterError.statusUnavailable(_, let reason) = error else { return false }
            return reason.contains("did not answer DLE EOT 1")
        }
        guard case .unknown = try printer.preflight() else {
            Issue.record("preflight should report an unknown status")
            return
        }
    }

    @Test("garbled answers are rejected, never misread")
    func garble() throws {
        let fake = try FakeSerialPrinter(mode: .garble)
        let printer = ReceiptPrinter(transport: SerialTransport(path: fake.slavePath), profile: TestSupport.profile("generic-80mm"))
        try printer.open()
        defer { printer.close() }
        #expect(throws: ReceiptPrinterError.garbledStatus(device: "serial://\(fake.slavePath)", .invalidStatusByte(query: .printer, byte: 0xFF))) {
            try printer.status([.printer])
        }
    }

    @Test("a stalled printer makes the write time out with a clear message")
    func stall() throws {
        let fake = try FakeSerialPrinter(mode: .stall)
        let transport = SerialTransport(path: fake.slavePath)
        try transport.open()
        defer { transport.close() }
        #expect {
            try transport.write([UInt8](repeating: 0x41, count: 1_000_000), timeout: .milliseconds(300))
        } throws: { error in
            guard case TransportError.timedOut(_, let operation, 300) = error else { return false }
            return operation.contains("of 1000000 bytes") && "\(error)".contains("did not respond within 300 ms")
        }
    }

    @Test("an unplugged adapter is 'disconnected'")
    func unplug() throws {
        let fake = try FakeSerialPrinter()
        let transport = SerialTransport(path: fake.slavePath)
        try transport.open()
        defer { transport.close() }
        fake.unplug()
        #expect {
            _ = try transport.read(maxCount: 1, timeout: .seconds(1))
        } throws: { error in
            guard case TransportError.disconnected = error else { return false }
            return "\(error)".contains("Reconnect")
        }
    }

    @Test("a second process cannot open the locked port")
    func exclusive() throws {
        let fake = try FakeSerialPrinter()
        let first = SerialTransport(path: fake.slavePath)
        try first.open()
        defer { first.close() }
        let second = SerialTransport(path: fake.slavePath)
        #expect {
            try second.open()
        } throws: { error in
            guard case TransportError.busy = error else { return false }
            return "\(error)".contains("busy")
        }
        first.close()
        try second.open()
        second.close()
    }

    @Test("a missing port, a non-tty and bad settings get clear errors")
    func errors() throws {
        #expect(throws: TransportError.notFound(device: "serial:///dev/ttyKASSA99")) {
            try SerialTransport(path: "/dev/ttyKASSA99").open()
        }
        #expect {
            try SerialTransport(path: "/dev/null").open()
        } throws: { error in
            "\(error)".contains("not a serial port")
        }
        for bad in ["baud=14400", "data=9", "parity=mark", "stop=3", "flow=dtr", "speed=9600"] {
            let url = try DeviceURL(parsing: "serial:///dev/ttyUSB0?\(bad)")
            guard case .serial(_, let parameters) = url else { continue }
            #expect(throws: TransportError.self) { try SerialSettings(parameters: parameters, url: "\(url)") }
        }
        #expect(SerialSettings(baud: 9600).secondsPerByte == 10.0 / 9600)
    }
}

@Suite("Who holds a device")
struct DeviceHolderTests {
    @Test("processes with the device open are found in /proc, with their command name")
    func holders() throws {
        let fake = try FakeSerialPrinter()
        let transport = SerialTransport(path: fake.slavePath)
        try transport.open()
        defer { transport.close() }
        let holders = DeviceHolders.processes(holding: fake.slavePath)
        #expect(holders.contains { $0.pid == getpid() })
        #expect(DeviceHolders.processes(holding: "/dev/kassa-nothing-holds-this").isEmpty)
    }

    @Test("a port locked by another process names the holder")
    func lockedByAnother() throws {
        let fake = try FakeSerialPrinter()
        // Another process takes the lock: flock(1) from util-linux holds it while sleeping.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["--exclusive", fake.slavePath, "sleep", "5"]
        try holder.run()
        defer { holder.terminate() }
        usleep(300_000)
        #expect {
            try SerialTransport(path: fake.slavePath).open()
        } throws: { error in
            guard case TransportError.busy(_, let who) = error else { return false }
            return who?.contains("(pid \(holder.processIdentifier))") == true
        }
    }
}
