@testable import DeviceTransport
import ESCPOS
import ReceiptPrinter
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Transport errors say what happened and what to do")
struct ErrorTests {
    @Test("errno values from open and transfer map to the typed errors")
    func mapping() {
        #expect(TransportError.fromOpen(ENOENT, device: "d") == .notFound(device: "d"))
        #expect(TransportError.fromOpen(EACCES, device: "d") == .permissionDenied(device: "d"))
        #expect(TransportError.fromOpen(EPERM, device: "d") == .permissionDenied(device: "d"))
        #expect(TransportError.fromOpen(EBUSY, device: "d") == .busy(device: "d", holder: nil))
        #expect(TransportError.fromOpen(EMFILE, device: "d") == .io(device: "d", operation: "open", errno: EMFILE))
        #expect(TransportError.fromTransfer(EIO, device: "d", operation: "write") == .disconnected(device: "d", detail: String(cString: strerror(EIO))))
        #expect(TransportError.fromTransfer(ENOSPC, device: "d", operation: "write") == .io(device: "d", operation: "write", errno: ENOSPC))
        // A network printer that stopped acknowledging (TCP_USER_TIMEOUT) is a timeout (exit 20), not an I/O error.
        #expect(TransportError.fromTransfer(ETIMEDOUT, device: "d", operation: "write")
            == .timedOut(device: "d", operation: "sending (the printer stopped taking data)", milliseconds: 10_000))
    }

    @Test("every message names the device and the next step", arguments: [
        (TransportError.notFound(device: "usb://04b8:0202"), ["usb://04b8:0202", "kassa devices"]),
        (.permissionDenied(device: "file:/dev/usb/lp0"), ["file:/dev/usb/lp0", "udev", "usermod"]),
        (.busy(device: "usb://04b8:0202", holder: "the usblp kernel driver"), ["busy", "usblp", "CUPS"]),
        (.timedOut(device: "tcp://10.0.0.5:9100", operation: "connecting", milliseconds: 4000), ["4000 ms", "connecting", "paper"]),
        (.disconnected(device: "serial:///dev/ttyUSB0", detail: "Input/output error"), ["Reconnect", "printed again"]),
        (.connectionRefused(device: "tcp://10.0.0.5:9100"), ["refused", "9100"]),
        (.unreachable(device: "tcp://printer.invalid:9100", detail: "no such host"), ["cannot be reached", "IP address"]),
        (.io(device: "d", operation: "write", errno: ENOSPC), ["errno \(ENOSPC)"]),
        (.stalled(device: "usb://04b8:0202"), ["stall", "off and on"]),
        (.usb(device: "usb://04b8:0202", operation: "bulk OUT", code: -1, name: "LIBUSB_ERROR_IO"), ["LIBUSB_ERROR_IO", "libusb -1"]),
        (.cannotRead(device: "file:/tmp/x"), ["status is unavailable"]),
    ] as [(TransportError, [String])])
    func messages(error: TransportError, phrases: [String]) {
        for phrase in phrases { #expect(error.description.contains(phrase), "\(error.description) lacks '\(phrase)'") }
    }

    @Test("the usblp port status byte decodes")
    func portStatus() {
        #expect(PortStatus(raw: 0x18).selected && !PortStatus(raw: 0x18).paperOut && !PortStatus(raw: 0x18).error)
        #expect(PortStatus(raw: 0x38).paperOut)
        #expect(PortStatus(raw: 0x10).error)
        #expect(!PortStatus(raw: 0x08).selected)
    }

    @Test("a device that does not answer the lp ioctl has no port status")
    func noPortStatus() throws {
        let transport = FileTransport(path: "/dev/null")
        try transport.open()
        defer { transport.close() }
        #expect(try transport.portStatus() == nil)
    }

    /// A usblp-like device: never answers DLE EOT, but the driver reports the port status.
    final class PortOnlyPrinter: Transport, PortStatusReporting {
        var status: PortStatus
        var written: [UInt8] = []
        init(_ status: PortStatus) { self.status = status }
        var name: String { "file:/dev/usb/lp0" }
        var canRead: Bool { true }
        func open() throws(TransportError) {}
        func write(_ bytes: [UInt8], timeout: Duration) throws(TransportError) { written += bytes }
        func read(maxCount: Int, timeout: Duration) throws(TransportError) -> [UInt8] {
            throw .timedOut(device: name, operation: "waiting for an answer", milliseconds: timeout.milliseconds)
        }
        func close() {}
        func portStatus() throws(TransportError) -> PortStatus? { status }
    }

    @Test("without DLE EOT answers, the port status still stops a job on paper out")
    func portPreflight() throws {
        let transport = PortOnlyPrinter(PortStatus(raw: 0x38))
        let printer = ReceiptPrinter(transport: transport, profile: TestSupport.profile("generic-58mm"))
        printer.statusTimeout = .milliseconds(20)
        #expect(throws: ReceiptPrinterError.notReady(device: "file:/dev/usb/lp0", problem: "the printer is out of paper: load a new roll")) {
            try printer.preflight()
        }
        transport.status = PortStatus(raw: 0x18)
        guard case .ready(let status) = try printer.preflight() else {
            Issue.record("expected ready")
            return
        }
        #expect(status.paper == .ok && status.online == true)
    }
}
