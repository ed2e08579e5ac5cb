import DeviceTransport
import ESCPOS
import VirtualPrinter

/// The embedded virtual printer behind the common transport interface.
public final class VirtualPrinterTransport: Transport {
    public private(set) var printer: VirtualPrinter
    public let name: String
    public var canRead: Bool { true }

    public init(profile: PrinterProfile, fonts: PrinterFonts?, simulate: [String: String] = [:]) throws(TransportError) {
        printer = VirtualPrinter(profile: profile, fonts: fonts)
        name = DeviceURL.virtual(simulate: simulate).description
        printer.simulatedStatus = try Self.statusBytes(simulate, url: name)
    }

    /// Conditions a tester or integrator can ask the virtual printer to report:
    /// `paper=ok|near-end|out`, `cover=open|closed`, `drawer=open|closed` (connector signal high),
    /// `offline=true`, `error=recoverable|unrecoverable|cutter`.
    static func statusBytes(_ simulate: [String: String], url: String) throws(TransportError) -> [StatusQuery: UInt8] {
        var printer: UInt8 = 0x12, offlineCause: UInt8 = 0x12, errorCause: UInt8 = 0x12, paper: UInt8 = 0x12
        for (key, value) in simulate {
            switch (key, value) {
            case ("paper", "ok"), ("cover", "closed"), ("drawer", "closed"), ("offline", "false"): break
            case ("paper", "near-end"): paper = 0x1E
            case ("paper", "out"):
                paper = 0x72
                offlineCause |= 0x20
                printer |= 0x08
            case ("cover", "open"):
                offlineCause |= 0x04
                printer |= 0x08
            case ("drawer", "open"): printer |= 0x04
            case ("offline", "true"): printer |= 0x08
            case ("error", "recoverable"):
                errorCause |= 0x04
                offlineCause |= 0x40
            case ("error", "unrecoverable"):
                errorCause |= 0x20
                offlineCause |= 0x40
                printer |= 0x08
            case ("error", "cutter"):
                errorCause |= 0x08
                offlineCause |= 0x40
                printer |= 0x08
            default:
                throw .invalidURL(url, reason: "the virtual printer simulates paper=ok|near-end|out, cover=open|closed, "
                    + "drawer=open|closed, offline=true|false and error=recoverable|unrecoverable|cutter; not \(key)=\(value)")
            }
        }
        return [.printer: printer, .offlineCause: offlineCause, .errorCause: errorCause, .rollPaper: paper]
    }

    public func open() throws(TransportError) {}

    public func write(_ bytes: [UInt8], timeout: Duration) throws(TransportError) {
        printer.receive(bytes)
    }

    private var answers: [UInt8] = []

    public func read(maxCount: Int, timeout: Duration) throws(TransportError) -> [UInt8] {
        answers += printer.takeResponses()
        guard !answers.isEmpty else {
            throw .timedOut(device: name, operation: "waiting for an answer", milliseconds: timeout.milliseconds)
        }
        let answer = Array(answers.prefix(max(1, maxCount)))
        answers.removeFirst(answer.count)
        return answer
    }

    public func close() { printer.finish() }
}
