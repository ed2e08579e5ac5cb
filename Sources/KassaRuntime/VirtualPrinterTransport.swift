import DeviceTransport
import ESCPOS
import VirtualPrinter

/// The embedded virtual printer behind the common transport interface.
public final class VirtualPrinterTransport: Transport {
    public private(set) var printer: VirtualPrinter
    public var name: String { "virtual:" }
    public var canRead: Bool { true }

    public init(profile: PrinterProfile, fonts: PrinterFonts?) {
        printer = VirtualPrinter(profile: profile, fonts: fonts)
    }

    public func open() throws(TransportError) {}

    public func write(_ bytes: [UInt8], timeout: Duration) throws(TransportError) {
        printer.receive(bytes)
    }

    public func read(maxCount: Int, timeout: Duration) throws(TransportError) -> [UInt8] {
        let answer = printer.takeResponses()
        guard !answer.isEmpty else {
            throw .timedOut(device: name, operation: "waiting for an answer", milliseconds: timeout.milliseconds)
        }
        return answer
    }

    public func close() { printer.finish() }
}
