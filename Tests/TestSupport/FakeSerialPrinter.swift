import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A simulated serial printer on the master side of a pseudo-terminal. Kassa opens `slavePath` like a real port.
/// It captures what it receives and answers `DLE EOT n`; on cue it swallows (never answers), stalls (stops reading),
/// or garbles (answers with bytes that are not status bytes).
public final class FakeSerialPrinter: @unchecked Sendable {
    public enum Mode: Sendable { case normal, swallow, stall, garble }

    public let slavePath: String
    private let master: Int32
    private let lock = NSLock()
    private var captured: [UInt8] = []
    private var statusBytes: [UInt8: UInt8] = [1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12]
    private var mode: Mode
    private var running = true
    private let finished = DispatchSemaphore(value: 0)

    public init(mode: Mode = .normal) throws {
        (master, slavePath) = try TestSupport.openPseudoTerminal()
        self.mode = mode
        Thread { [self] in serve() }.start()
    }

    /// The answer to `DLE EOT n` (0x12 = all fine).
    public func setStatus(_ n: UInt8, _ byte: UInt8) { lock.withLock { statusBytes[n] = byte } }
    public func setMode(_ newMode: Mode) { lock.withLock { mode = newMode } }

    public var received: [UInt8] { lock.withLock { captured } }

    /// Waits until at least `count` bytes arrived (or two seconds passed).
    public func waitForBytes(_ count: Int) -> [UInt8] {
        for _ in 0..<400 {
            let bytes = received
            if bytes.count >= count { return bytes }
            usleep(5000)
        }
        return received
    }

    /// Simulates unplugging the cable: the master side closes.
    public func unplug() {
        lock.withLock { running = false }
        _ = finished.wait(timeout: .now() + 2)
    }

    private func serve() {
        defer {
            Glibc.close(master)
            finished.signal()
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pending: [UInt8] = []
        while lock.withLock({ running }) {
            if lock.withLock({ mode }) == .stall {
                usleep(5000)
                continue
            }
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 20) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, $0.count) }
            if count <= 0 { continue }  // EIO until the slave is opened
            let chunk = Array(buffer.prefix(count))
            let (currentMode, statuses) = lock.withLock { (mode, statusBytes) }
            lock.withLock { captured += chunk }
            pending += chunk
            // Answer every complete DLE EOT n; keep a partial one for the next chunk.
            var index = 0
            while index < pending.count {
                if pending[index] == 0x10 {
                    guard index + 2 < pending.count else { break }
                    if pending[index + 1] == 0x04 {
                        let n = pending[index + 2]
                        switch currentMode {
                        case .normal, .stall: answer(statuses[n] ?? 0x12)
                        case .garble: answer(0xFF)
                        case .swallow: break
                        }
                        index += 3
                        continue
                    }
                }
                index += 1
            }
            pending = Array(pending[index...])
        }
    }

    private func answer(_ byte: UInt8) {
        var value = byte
        _ = Glibc.write(master, &value, 1)
    }

    deinit {
        lock.withLock { running = false }
    }
}
