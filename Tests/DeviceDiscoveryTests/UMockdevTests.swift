internal import CUMockdev
import ChildProcess
import DeviceDiscovery
import DeviceTransport
import ESCPOS
import FakeUSBPrinter
import ReceiptPrinter
import Foundation
import Testing
import TestSupport

/// True when the process runs under `umockdev-wrapper` (LD_PRELOAD must be set at start; `.ci/test` does it).
let underUMockdev = ProcessInfo.processInfo.environment["LD_PRELOAD"]?.contains("libumockdev-preload") == true

/// One umockdev testbed: fake /sys and /dev for this process. Only one may exist at a time.
final class Testbed {
    let pointer: OpaquePointer

    init() {
        pointer = OpaquePointer(umockdev_testbed_new())
    }

    deinit { g_object_unref(UnsafeMutableRawPointer(pointer)) }

    static func fixture(_ name: String) -> String {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")!.path
    }

    func add(_ fixture: String) throws {
        var error: UnsafeMutablePointer<GError>?
        guard umockdev_testbed_add_from_file(UnsafeMutablePointer(pointer), Self.fixture(fixture), &error) != 0 else {
            let message = error.map { String(cString: $0.pointee.message) } ?? "unknown"
            throw NSError(domain: "umockdev", code: 1, userInfo: [NSLocalizedDescriptionKey: message])
        }
    }

    func loadIoctl(device: String, script: String) throws {
        var error: UnsafeMutablePointer<GError>?
        guard umockdev_testbed_load_ioctl(UnsafeMutablePointer(pointer), device, Self.fixture(script), &error) != 0 else {
            let message = error.map { String(cString: $0.pointee.message) } ?? "unknown"
            throw NSError(domain: "umockdev", code: 2, userInfo: [NSLocalizedDescriptionKey: message])
        }
    }

    func uevent(_ syspath: String, _ action: String) {
        umockdev_testbed_uevent(UnsafeMutablePointer(pointer), syspath, action)
    }

    func remove(_ syspath: String) {
        umockdev_testbed_remove_device(UnsafeMutablePointer(pointer), syspath)
    }
}

/// All umockdev tests live in one serialized suite: a process can have only one testbed at a time.
@Suite("UMockdev: discovery and USB", .serialized, .enabled(if: underUMockdev, "run under umockdev-wrapper (.ci/test does)"))
struct UMockdevTests {}

extension UMockdevTests {
@Suite("Discovery")
struct Discovery {
    @Test("a fake USB printer and a USB-serial adapter are enumerated with their identity and URLs")
    func enumerate() throws {
        let testbed = Testbed()
        try testbed.add("printer.umockdev")
        try testbed.add("serial-adapter.umockdev")
        let devices = try DeviceDiscovery.enumerate()
        let printer = try #require(devices.first { $0.kind == .usbPrinter })
        #expect(printer.vendorID == "04b8" && printer.productID == "0202")
        #expect(printer.manufacturer == "EPSON" && printer.product == "TM-T20" && printer.serial == "TEST0001")
        #expect(printer.url == "usb://04b8:0202?serial=TEST0001")
        #expect(printer.stableID == "usb-printer:04b8:0202:TEST0001")
        #expect(printer.devnode == "/dev/bus/usb/001/002")
        let adapter = try #require(devices.first { $0.kind == .usbSerial })
        #expect(adapter.vendorID == "067b" && adapter.productID == "2303" && adapter.serial == "PL2303X9")
        #expect(adapter.devnode == "/dev/ttyUSB0")
        #expect(adapter.portPath == "1-2")
        _ = testbed
    }

    @Test("serial ports: a UART in use and a CDC-ACM device are found; an unused UART and virtual consoles are not")
    func serialPorts() throws {
        let testbed = Testbed()
        try testbed.add("ports.umockdev")
        let devices = try DeviceDiscovery.enumerate()
        #expect(devices.map(\.devnode) == ["/dev/ttyS0", "/dev/ttyACM0"] || devices.map(\.devnode) == ["/dev/ttyACM0", "/dev/ttyS0"],
                "\(devices.map(\.devnode))")
        let uart = try #require(devices.first { $0.devnode == "/dev/ttyS0" })
        #expect(uart.kind == .serialPort)
        let acm = try #require(devices.first { $0.devnode == "/dev/ttyACM0" })
        #expect(acm.kind == .usbSerial && acm.vendorID == "0483" && acm.productID == "5740" && acm.serial == "ACM42")
        _ = testbed
    }

    @Test("kassa devices --watch prints attach and detach events as they happen")
    func watchCLI() throws {
        let testbed = Testbed()
        let binary = TestSupport.kassaBinary
        var environment = ProcessInfo.processInfo.environment  // carries UMOCKDEV_DIR and LD_PRELOAD
        environment["KASSA_HARDWARE"] = TestSupport.hardware.path
        let process = try ChildProcess(binary.path, ["devices", "--watch", "--json", "--events", "2", "--seconds", "10",
                                                     "--home", TestSupport.temporaryDirectory().path],
                                       environment: environment, stdout: .capture, stderr: .inherit)
        usleep(700_000)  // let it start listening
        try testbed.add("printer.umockdev")
        usleep(200_000)
        testbed.uevent("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1", "remove")
        let outcome = try process.communicate(timeout: .seconds(30))
        let lines = String(decoding: outcome.stdout, as: UTF8.self)
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.map { $0["action"] as? String } == ["add", "remove"])
        let device = lines.first?["device"] as? [String: Any]
        #expect(device?["url"] as? String == "usb://04b8:0202?serial=TEST0001")
        #expect(device?["profile"] as? String == "TM-T88V")
        #expect(outcome.termination == .exited(0))
    }

    @Test("kassa serve follows hot-plug: a configured USB printer attached and detached is announced on /v1/events by name, and its status is read at once")
    func serveFollowsHotplug() throws {
        let testbed = Testbed()
        let home = TestSupport.temporaryDirectory()
        var environment = ProcessInfo.processInfo.environment  // carries UMOCKDEV_DIR and LD_PRELOAD
        environment["KASSA_HARDWARE"] = TestSupport.hardware.path
        environment["KASSA_HOME"] = home.path
        try Data("[serve]\npoll-ms = 60000\n\n[devices.counter]\nurl = \"usb://04b8:0202?serial=TEST0001\"\nprofile = \"TM-T88V\"\n".utf8)
            .write(to: home.appendingPathComponent("kassa.toml"))
        let binary = TestSupport.kassaBinary
        #expect(try TestSupport.run(binary, ["--home", home.path, "user", "add", "ana", "--role", "manager"], environment: environment).status == 0)
        let made = try TestSupport.run(binary, ["--home", home.path, "serve", "token", "add", "--user", "ana", "--scope", "print", "--json"],
                                       environment: environment)
        let token = try #require((try? JSONSerialization.jsonObject(with: Data(made.stdout.utf8)) as? [String: Any])?["token"] as? String, "\(made.stderr)")
        let server = try ChildProcess(binary.path, ["--home", home.path, "serve", "--listen", "127.0.0.1:0"],
                                      environment: environment, stdout: .capture, stderr: .discard)
        defer {
            server.signal(SIGTERM)
            server.wait()
        }
        let text = try server.readLine(timeout: .seconds(20)) ?? ""
        let port = try #require(text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression).flatMap { Int(text[$0].split(separator: ":")[1]) }, "\(text)")
        // The event stream, read by curl for a few seconds while the printer comes and goes.
        let events = try ChildProcess("/usr/bin/curl", ["-s", "-N", "--max-time", "6", "-H", "Authorization: Bearer \(token)",
                                                         "http://127.0.0.1:\(port)/v1/events"], stdout: .capture, stderr: .discard)
        usleep(700_000)
        let attachedAt = Date()
        try testbed.add("printer.umockdev")
        usleep(1_500_000)
        testbed.uevent("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1", "remove")
        let received = String(decoding: try events.communicate(timeout: .seconds(30)).stdout, as: UTF8.self)
        let kinds = received.split(separator: "\n").filter { $0.hasPrefix("event: device.") }.map { String($0.dropFirst("event: ".count)) }
        let hotplug = kinds.filter { $0 == "device.attached" || $0 == "device.detached" }
        #expect(hotplug == ["device.attached", "device.detached"], "\(received)")
        #expect(received.contains(#""name":"counter""#), "\(received)")
        // Each event made the owner read the status at once (the poll interval is a minute, so only that can explain
        // a status read after the printer was attached).
        let device = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"),
                                         ["-s", "-H", "Authorization: Bearer \(token)", "http://127.0.0.1:\(port)/v1/devices/counter"])
        let status = (try? JSONSerialization.jsonObject(with: Data(device.stdout.utf8)) as? [String: Any])?["status"] as? [String: Any]
        let readAt = try #require(status?["readAt"] as? String, "\(device.stdout)")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        let read = try #require(formatter.date(from: readAt) ?? plain.date(from: readAt), "\(readAt)")
        #expect(read > attachedAt, "status read at \(readAt), printer attached at \(attachedAt)")
    }

    @Test("the same events as an async stream, for the service")
    func asyncEvents() async throws {
        let testbed = Testbed()
        let stream = try DeviceMonitor.events()
        try testbed.add("serial-adapter.umockdev")
        var iterator = stream.makeAsyncIterator()
        var seen: DeviceEvent?
        while let event = await iterator.next() {
            if event.action == .add, event.device.kind == .usbSerial {
                seen = event
                break
            }
        }
        #expect(seen?.device.devnode == "/dev/ttyUSB0")
        #expect(seen?.device.serial == "PL2303X9")
        _ = testbed
    }

    @Test("attach and detach events reach the monitor")
    func hotplug() throws {
        let testbed = Testbed()
        let monitor = try DeviceMonitor()
        try testbed.add("printer.umockdev")
        var added: DeviceEvent?
        for _ in 0..<20 where added == nil {
            if let event = monitor.next(timeoutMilliseconds: 100), event.action == .add, event.device.kind == .usbPrinter {
                added = event
            }
        }
        #expect(added?.device.vendorID == "04b8")
        testbed.uevent("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1", "remove")
        var removed: DeviceEvent?
        for _ in 0..<20 where removed == nil {
            if let event = monitor.next(timeoutMilliseconds: 100), event.action == .remove { removed = event }
        }
        #expect(removed?.device.syspath.hasSuffix("usb1/1-1") == true)
    }
}

}

extension UMockdevTests {
@Suite("USB transport")
struct USB {
    static let hello: [UInt8] = [0x1B, 0x40, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x0A]

    func testbed(_ script: String) throws -> Testbed {
        let testbed = Testbed()
        try testbed.add("printer.umockdev")
        try testbed.loadIoctl(device: "/dev/bus/usb/001/002", script: script)
        return testbed
    }

    @Test("a bulk OUT job arrives byte for byte and a status byte comes back on bulk IN")
    func jobAndStatus() throws {
        let testbed = try testbed("printer.ioctl")
        let transport = USBTransport(vendor: 0x04B8, product: 0x0202, serial: "TEST0001")
        try transport.open()
        defer { transport.close() }
        // The script only accepts exactly these bytes: anything else fails the transfer.
        try transport.write(Self.hello, timeout: .seconds(2))
        try transport.write([0x10, 0x04, 0x01], timeout: .seconds(2))
        #expect(try transport.read(maxCount: 1, timeout: .seconds(1)) == [0x12])
        _ = testbed
    }

    @Test("bytes other than the expected job are rejected by the fake device (the check is real)")
    func wrongBytes() throws {
        let testbed = try testbed("printer.ioctl")
        let transport = USBTransport(vendor: 0x04B8, product: 0x0202)
        try transport.open()
        defer { transport.close() }
        #expect {
            try transport.write([0x1B, 0x40, 0x48, 0x61, 0x6C, 0x6C, 0x6F, 0x0A], timeout: .seconds(2))
        } throws: { error in
            if case TransportError.usb(_, "bulk OUT", _, let name) = error { return name.contains("LIBUSB_ERROR") }
            return false
        }
        _ = testbed
    }

    @Test("a STALL becomes a clear 'refused the data' error")
    func stall() throws {
        let testbed = try testbed("stall.ioctl")
        let transport = USBTransport(vendor: 0x04B8, product: 0x0202)
        try transport.open()
        defer { transport.close() }
        #expect {
            try transport.write(Self.hello, timeout: .seconds(2))
        } throws: { error in
            error as? TransportError == .stalled(device: "usb://04b8:0202") && "\(error)".contains("refused the data")
        }
        _ = testbed
    }

    @Test("a device unplugged mid-job becomes 'disconnected'")
    func unplugged() throws {
        let testbed = try testbed("unplugged.ioctl")
        let transport = USBTransport(vendor: 0x04B8, product: 0x0202)
        try transport.open()
        defer { transport.close() }
        #expect {
            try transport.write(Self.hello, timeout: .seconds(2))
        } throws: { error in
            guard case TransportError.disconnected = error else { return false }
            return "\(error)".contains("unplugged")
        }
        _ = testbed
    }

    /// The programmable fake (Tests/FakeUSBPrinter) instead of a fixed script: any job, status on bulk IN, silence.
    func fakePrinter() throws -> (Testbed, OpaquePointer) {
        let testbed = Testbed()
        try testbed.add("printer.umockdev")
        guard let printer = kassa_fake_usb_printer_attach(UnsafeMutableRawPointer(testbed.pointer), "/dev/bus/usb/001/002") else {
            throw NSError(domain: "umockdev", code: 3, userInfo: [NSLocalizedDescriptionKey: "cannot attach the fake printer"])
        }
        return (testbed, printer)
    }

    func received(_ printer: OpaquePointer) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let count = kassa_fake_usb_printer_received(printer, &buffer, buffer.count)
        return Array(buffer.prefix(count))
    }

    @Test("a whole receipt job over USB, with the status check first, in 4 KiB transfers")
    func receiptOverUSB() throws {
        let (testbed, fake) = try fakePrinter()
        defer { kassa_fake_usb_printer_free(fake) }
        kassa_fake_usb_printer_set_status(fake, 4, 0x1E)  // paper near end: prints
        let transport = USBTransport(vendor: 0x04B8, product: 0x0202)
        let printer = ReceiptPrinter(transport: transport, profile: TestSupport.profile("TM-T20III"))
        try printer.open()
        defer { printer.close() }
        guard case .ready(let status) = try printer.preflight() else {
            Issue.record("expected a status answer over bulk IN")
            return
        }
        #expect(status.paper == .nearEnd)
        let job = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try printer.send(job)
        let bytes = received(fake)
        #expect(Array(bytes.prefix(12)) == [0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 3, 0x10, 0x04, 4])
        #expect(Array(bytes.dropFirst(12)) == job)
        _ = testbed
    }

    @Test("paper out reported over USB stops the job before any byte of it is sent")
    func paperOutOverUSB() throws {
        let (testbed, fake) = try fakePrinter()
        defer { kassa_fake_usb_printer_free(fake) }
        kassa_fake_usb_printer_set_status(fake, 4, 0x72)
        let printer = ReceiptPrinter(transport: USBTransport(vendor: 0x04B8, product: 0x0202), profile: TestSupport.profile("TM-T20III"))
        try printer.open()
        defer { printer.close() }
        #expect(throws: ReceiptPrinterError.notReady(device: "usb://04b8:0202", problem: "the printer is out of paper: load a new roll")) {
            try printer.preflight()
        }
        #expect(received(fake).count == 12)
        _ = testbed
    }

    @Test("the usblp kernel driver is detached explicitly on open and reattached on close")
    func kernelDriver() throws {
        let (testbed, fake) = try fakePrinter()
        defer { kassa_fake_usb_printer_free(fake) }
        kassa_fake_usb_printer_bind_kernel_driver(fake)
        var detaches: Int32 = 0, attaches: Int32 = 0, bound: Int32 = 0
        let transport = USBTransport(vendor: 0x04B8, product: 0x0202)
        try transport.open()
        kassa_fake_usb_printer_driver_events(fake, &detaches, &attaches, &bound)
        #expect(detaches == 1 && attaches == 0 && bound == 0)
        try transport.write([0x1B, 0x40], timeout: .seconds(1))
        transport.close()
        kassa_fake_usb_printer_driver_events(fake, &detaches, &attaches, &bound)
        #expect(detaches == 1 && attaches == 1 && bound == 1)
        _ = testbed
    }

    @Test("a printer that never answers on bulk IN gives a timeout, not a hang")
    func silent() throws {
        let (testbed, fake) = try fakePrinter()
        defer { kassa_fake_usb_printer_free(fake) }
        kassa_fake_usb_printer_set_silent(fake, 1)
        let transport = USBTransport(vendor: 0x04B8, product: 0x0202)
        try transport.open()
        defer { transport.close() }
        try transport.write([0x10, 0x04, 0x01], timeout: .seconds(1))
        let clock = ContinuousClock()
        let start = clock.now
        #expect {
            _ = try transport.read(maxCount: 1, timeout: .milliseconds(300))
        } throws: { error in
            guard case TransportError.timedOut(_, let operation, 300) = error else { return false }
            return operation == "waiting for an answer" && "\(error)".contains("did not respond within 300 ms")
        }
        #expect(clock.now - start < .seconds(3))
        _ = testbed
    }

    @Test("an absent device or serial number is 'not found'")
    func notFound() throws {
        let testbed = try testbed("printer.ioctl")
        #expect(throws: TransportError.notFound(device: "usb://04b8:0202?serial=OTHER")) {
            try USBTransport(vendor: 0x04B8, product: 0x0202, serial: "OTHER").open()
        }
        #expect(throws: TransportError.notFound(device: "usb://04b8:0202?port=2-1")) {
            try USBTransport(vendor: 0x04B8, product: 0x0202, port: "2-1").open()
        }
        let byPort = USBTransport(vendor: 0x04B8, product: 0x0202, port: "1-1")
        try byPort.open()
        byPort.close()
        #expect(throws: TransportError.notFound(device: "usb://0519:0003")) {
            try USBTransport(vendor: 0x0519, product: 0x0003).open()
        }
        _ = testbed
    }
}
}
