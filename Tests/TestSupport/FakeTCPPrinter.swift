import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A simulated network printer (port 9100 style) on 127.0.0.1 for the print path's tests. It answers each `DLE EOT n`
/// with a status byte as a real printer does, and can misbehave once it has received `after` bytes:
///
/// - `reset`: the connection is reset (RST), as a printer that rebooted;
/// - `stall`: it stops reading but keeps the connection open, as a printer whose buffer is full and never drains;
/// - `silent`: it reads on but never answers again, as a printer that lost its status function;
/// - `mute`: it never answers status at all (from the first byte).
///
/// This is a simulator for tests, named as one; the driver under test has no path for it.
public final class FakeTCPPrinter: @unchecked Sendable {
    public enum Behaviour: Sendable { case normal, reset, stall, silent, mute }

    public let port: UInt16
    private let listener: Int32
    private let behaviour: Behaviour
    private let after: Int
    private var status: [UInt8: UInt8]
    private let statusAfter: [UInt8: UInt8]?
    private let processID: Bool
    private let processIDLimit: Int
    private var answeredProcessIDs = 0
    private var accepted = 0
    /// Where each connection's bytes start in `captured`, in order: (offset, connection number from 1).
    private var starts: [(offset: Int, connection: Int)] = []
    private let lock = NSLock()
    private var captured: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)
    private var stop = false

    /// `status` answers `DLE EOT n` by n (0x12, "all well", for any n not given); `statusAfter`, when given, replaces it
    /// once `after` bytes have arrived (a printer that ran out of paper during the job).
    /// `processID`: answers Epson's process-ID request (`GS ( H` fn 48) as a printer does once it has printed, the first
    /// `processIDLimit` of them (then it stays silent, as a printer that stopped printing).
    public init(_ behaviour: Behaviour = .normal, after: Int = 0, status: [UInt8: UInt8] = [:], statusAfter: [UInt8: UInt8]? = nil,
                processID: Bool = false, processIDLimit: Int = .max) throws {
        self.behaviour = behaviour
        self.processID = processID
        self.processIDLimit = processIDLimit
        self.after = after
        self.status = status
        self.statusAfter = statusAfter
        let (fd, port) = TestSupport.loopbackSocket(listenBacklog: 8)
        guard fd >= 0, port != 0 else { throw POSIXError(.EADDRINUSE) }
        listener = fd
        self.port = port
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    public var url: String { "tcp://127.0.0.1:\(port)" }

    /// Everything received so far.
    public func received() -> [UInt8] { lock.withLock { captured } }

    /// Changes the answer to `DLE EOT n` from now on (paper out, paper back).
    public func setStatus(_ n: UInt8, _ byte: UInt8) { lock.withLock { status[n] = byte } }

    /// The connection (numbered from 1, in the order accepted) whose bytes include `offset` of `received()`.
    public func connection(at offset: Int) -> Int? {
        lock.withLock { starts.last(where: { $0.offset <= offset })?.connection }
    }

    /// How many connections it has accepted.
    public var connections: Int { lock.withLock { accepted } }

    private func serve() {
        defer { done.signal() }
        while !lock.withLock({ stop }) {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            lock.withLock {
                accepted += 1
                starts.append((captured.count, accepted))
            }
            if behaviour == .stall {
                var small: Int32 = 4096
                setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            }
            handle(client)
        }
    }

    private func handle(_ client: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var pendingQuery = false
        while !lock.withLock({ stop }) {
            let total = lock.withLock { captured.count }
            let misbehaving = behaviour != .normal && total >= after
            if misbehaving, behaviour == .reset {
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                Glibc.close(client)
                return
            }
            if misbehaving, behaviour == .stall {
                usleep(20_000)
                continue
            }
            var poller = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            // Read no further than the misbehaviour's point, so that it starts exactly there.
            let room = behaviour == .normal || behaviour == .mute || behaviour == .silent ? buffer.count : max(1, min(buffer.count, after - total))
            let count = buffer.withUnsafeMutableBytes { Glibc.read(client, $0.baseAddress, room) }
            if count <= 0 { break }
            let chunk = Array(buffer.prefix(count))
            let start = lock.withLock { () -> Int in
                captured += chunk
                return captured.count - chunk.count
            }
            // Answer each DLE EOT n (n = 1…4), also one split across reads.
            for (offset, byte) in chunk.enumerated() {
                let position = start + offset
                let answers = behaviour == .normal || behaviour == .reset || behaviour == .stall || (behaviour == .silent && position < after)
                if pendingQuery, (1...4).contains(byte), answers {
                    let table = position >= after ? statusAfter ?? lock.withLock({ status }) : lock.withLock({ status })
                    var answer = table[byte] ?? 0x12
                    _ = send(client, &answer, 1, Int32(MSG_NOSIGNAL))
                }
                pendingQuery = false
                if byte == 0x04, position > 0, previous(position) == 0x10 { pendingQuery = true }
            }
            if processID { answerProcessIDs(client) }
        }
        Glibc.close(client)
    }

    private func previous(_ position: Int) -> UInt8 { lock.withLock { captured[position - 1] } }

    /// Answers each complete `GS ( H 6 0 48 48 d1 d2 d3 d4` not answered yet with `0x37 0x22 d1 d2 d3 d4 0x00`.
    private func answerProcessIDs(_ client: Int32) {
        let request: [UInt8] = [0x1D, 0x28, 0x48, 0x06, 0x00, 0x30, 0x30]
        let bytes = received()
        var found: [[UInt8]] = []
        var index = 0
        while index + 11 <= bytes.count {
            if Array(bytes[index..<(index + 7)]) == request {
                found.append(Array(bytes[(index + 7)..<(index + 11)]))
                index += 11
            } else {
                index += 1
            }
        }
        while answeredProcessIDs < min(found.count, processIDLimit) {
            var answer: [UInt8] = [0x37, 0x22] + found[answeredProcessIDs] + [0x00]
            _ = send(client, &answer, answer.count, Int32(MSG_NOSIGNAL))
            answeredProcessIDs += 1
        }
    }

    /// Stops serving and closes the port (the serving thread holds the printer until then). Idempotent: a second call
    /// (an explicit shutdown and a deferred one) must not close the descriptor number again, which by then may belong
    /// to another test's pipe or socket (that double close once crashed the whole test process in CI).
    public func shutdown() {
        let first = lock.withLock { () -> Bool in
            defer { stop = true }
            return !stop
        }
        guard first else { return }
        // The serving thread uses the listener until it sees `stop`; wait for it before closing. A thread that does not
        // end within 10 s keeps the descriptor (leaked, never closed under it).
        guard done.wait(timeout: .now() + 10) == .success else { return }
        Glibc.close(listener)
    }
}
