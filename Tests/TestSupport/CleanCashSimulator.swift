import CleanCashProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A **simulated** CleanCash control unit on the master side of a pseudo-terminal, speaking the framing Kassa's driver
/// speaks (decision 0027). For tests only; the driver has no path for it. It answers `SIQ` and `IQ`, records every
/// request, and injects faults on cue: no answer, a damaged reply, a NAK, noise before the reply.
public final class CleanCashSimulator: @unchecked Sendable {
    public enum Fault: Sendable, Equatable {
        case none
        /// Never answers.
        case silent
        /// The next `count` replies carry a wrong checksum.
        case damageReplies(count: Int)
        /// Answers every request with this NAK code.
        case nak(Int)
        /// Sends bytes of noise before each reply.
        case noise
    }

    public let slavePath: String
    public let unitID: String
    private let master: Int32
    private let lock = NSLock()
    private var fault: Fault = .none
    private var requests: [[String]] = []
    private var running = true
    private let finished = DispatchSemaphore(value: 0)

    public init(unitID: String = "CCSIM0000000001") throws {
        (master, slavePath) = try TestSupport.openPseudoTerminal()
        self.unitID = unitID
        Thread { [self] in serve() }.start()
    }

    public func setFault(_ newFault: Fault) { lock.withLock { fault = newFault } }
    /// Every request received, in order (its fields).
    public var received: [[String]] { lock.withLock { requests } }

    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { running = false }
            return running
        }
        if first { _ = finished.wait(timeout: .now() + 5) }
    }

    deinit { stop() }

    private func serve() {
        defer {
            Glibc.close(master)
            finished.signal()
        }
        var decoder = CleanCashFrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 1024)
        while lock.withLock({ running }) {
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 20) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, $0.count) }
            if count <= 0 { usleep(5000); continue }  // EIO until the slave side is opened
            for event in decoder.feed(buffer.prefix(count)) {
                guard case .frame(let fields) = event else {
                    reply(["NAK", "001"])
                    continue
                }
                lock.withLock { requests.append(fields) }
                switch fields.first {
                case "SIQ": reply(["SIR", "0", "0"])
                case "IQ": reply(["IR", unitID, "2", "1.0.7-sim"])
                default: reply(["NAK", "002"])
                }
            }
        }
    }

    private func reply(_ fields: [String]) {
        let current = lock.withLock { fault }
        var frame: [UInt8]
        switch current {
        case .silent: return
        case .nak(let code):
            let digits = String(code)
            frame = (try? CleanCashFraming.encode(["NAK", String(repeating: "0", count: max(0, 3 - digits.count)) + digits])) ?? []
        default:
            frame = (try? CleanCashFraming.encode(fields)) ?? []
        }
        if case .damageReplies(let count) = current, count > 0 {
            frame[frame.count - 2] ^= 0x01
            lock.withLock { fault = count > 1 ? .damageReplies(count: count - 1) : .none }
        }
        if current == .noise { frame = [0x00, 0xFF, 0x23, 0x21] + frame }
        frame.withUnsafeBytes { _ = Glibc.write(master, $0.baseAddress, $0.count) }
    }
}
