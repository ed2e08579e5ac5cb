import DatecsProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A **simulated** Datecs "X" fiscal printer on the master side of a pseudo-terminal, for tests only (the driver has
/// no path for it). Its fiscal memory lives in a JSON file when `memoryPath` is given, so it outlives a power cut: the
/// last document number, the Z number, the grand totals per VAT group (A–H), the totals since the last Z, an open
/// receipt, and the last SEQ with its answer — a command under the last SEQ is answered from memory, not executed.
/// Faults on cue: NAK, SYN, a lost reply (the command executed), a garbled BCC, and power loss after a command.
public final class DatecsSimulator: @unchecked Sendable {
    public enum Fault: Sendable, Equatable {
        case none
        /// The next `count` frames are answered with NAK (not executed).
        case nak(count: Int)
        /// The next command is answered after `count` SYN bytes.
        case syn(count: Int)
        /// The next `count` commands execute but their replies are lost.
        case dropReplies(count: Int)
        /// The next `count` replies carry a wrong BCC (the command executed).
        case garble(count: Int)
        /// The next command with this code executes, is stored, and then the power goes: silent until `powerOn()`.
        case powerLossAfter(UInt16)
    }

    public struct OpenReceipt: Codable, Equatable, Sendable {
        public var uniqueSaleNumber: String
        public var byGroup: [Int64] = Array(repeating: 0, count: 8)
        public var paid: Int64 = 0
        public var lines: Int = 0
        public var total: Int64 { byGroup.reduce(0, +) }
    }

    public struct Memory: Codable, Equatable, Sendable {
        public var lastDocument: Int64 = 0
        public var zNumber: Int64 = 0
        public var grandTotals: [Int64] = Array(repeating: 0, count: 8)
        public var sinceZ: [Int64] = Array(repeating: 0, count: 8)
        public var open: OpenReceipt?
        public var receipts: [String] = []  // unique sale numbers of closed receipts, in order
        public var cancelled: [String] = []
        public var lastSequence: UInt8?
        public var lastReply: [UInt8]?
        public init() {}
    }

    public let slavePath: String
    private let memoryPath: String?
    private let master: Int32
    private let lock = NSLock()
    private var fault: Fault = .none
    private var state = Memory()
    private var poweredOff = false
    private var commands: [UInt16] = []
    private var running = true
    private let finished = DispatchSemaphore(value: 0)

    public init(memoryPath: String? = nil) throws {
        (master, slavePath) = try TestSupport.openPseudoTerminal()
        self.memoryPath = memoryPath
        if let memoryPath, let data = FileManager.default.contents(atPath: memoryPath) {
            state = try JSONDecoder().decode(Memory.self, from: data)
        }
        Thread { [self] in serve() }.start()
    }

    public func setFault(_ newFault: Fault) { lock.withLock { fault = newFault } }
    /// Leaves a fiscal receipt open, as a power cut mid-receipt does.
    public func setOpenReceipt(_ uniqueSaleNumber: String) { lock.withLock { state.open = OpenReceipt(uniqueSaleNumber: uniqueSaleNumber) } }
    public func powerOn() { lock.withLock { poweredOff = false; fault = .none } }
    public var memory: Memory { lock.withLock { state } }
    /// Every command code that reached the device as a whole frame, in order (repeats included).
    public var received: [UInt16] { lock.withLock { commands } }

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
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while lock.withLock({ running }) {
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 20) > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, $0.count) }
            if count <= 0 { usleep(5000); continue }
            buffer += chunk.prefix(count)
            while let start = buffer.firstIndex(of: DatecsFraming.preamble) {
                buffer.removeFirst(start)
                guard let end = buffer.firstIndex(of: DatecsFraming.terminator) else { break }
                let frame = Array(buffer[...end])
                buffer.removeFirst(end + 1)
                if let out = lock.withLock({ handle(frame) }) { write(out) }
            }
            if buffer.firstIndex(of: DatecsFraming.preamble) == nil { buffer.removeAll() }
        }
    }

    /// The bytes to answer a host frame with (under the lock); nil for silence.
    private func handle(_ frame: [UInt8]) -> [UInt8]? {
        if poweredOff { return nil }
        if case .nak(let count) = fault {
            fault = count > 1 ? .nak(count: count - 1) : .none
            return [DatecsFraming.nak]
        }
        guard let (sequence, code, data) = Self.decodeRequest(frame) else { return [DatecsFraming.nak] }
        commands.append(code)
        var prefix: [UInt8] = []
        if case .syn(let count) = fault {
            prefix = [UInt8](repeating: DatecsFraming.syn, count: count)
            fault = .none
        }
        var reply: [UInt8]
        if sequence == state.lastSequence, let last = state.lastReply {
            reply = last  // the same SEQ again: answered from memory, not executed
        } else {
            let fields = execute(code, DatecsFraming.fields(data))
            reply = (try? DatecsFraming.encodeReply(sequence: sequence, command: code, data: DatecsFraming.data(fields), status: status())) ?? []
            state.lastSequence = sequence
            state.lastReply = reply
            persist()
        }
        switch fault {
        case .dropReplies(let count):
            fault = count > 1 ? .dropReplies(count: count - 1) : .none
            return prefix.isEmpty ? nil : prefix
        case .garble(let count):
            fault = count > 1 ? .garble(count: count - 1) : .none
            reply[reply.count - 2] ^= 0x01
        case .powerLossAfter(let target) where target == code:
            poweredOff = true
            return nil
        default: break
        }
        return prefix + reply
    }

    private func status() -> DatecsStatus {
        var status = DatecsStatus.clear
        status.set(2, 3, state.open != nil)
        status.set(5, 3, true)
        return status
    }

    /// A command's answer fields (error code first); the device's negative codes are its refusals.
    private func execute(_ code: UInt16, _ fields: [String]) -> [String] {
        switch code {
        case 74: return ["0"]
        case 113: return ["0", String(state.lastDocument)]
        case 48:
            guard state.open == nil else { return ["-111015"] }
            guard fields.count >= 4, !fields[2].isEmpty else { return ["-112001"] }
            state.open = OpenReceipt(uniqueSaleNumber: fields[2])
            return ["0", String(state.lastDocument + 1)]
        case 49:
            guard var open = state.open else { return ["-111018"] }
            guard fields.count >= 4, let group = Int(fields[1]), (1...8).contains(group), let price = DatecsCommand.minorUnits(fields[2]),
                  let quantity = Self.milli(fields[3]) else { return ["-112001"] }
            let (product, overflow) = price.multipliedReportingOverflow(by: quantity)
            guard !overflow else { return ["-111007"] }
            open.byGroup[group - 1] += (product + 500) / 1000
            open.lines += 1
            state.open = open
            return ["0", String(state.lastDocument + 1)]
        case 53:
            guard var open = state.open else { return ["-111018"] }
            guard fields.count >= 2, let amount = DatecsCommand.minorUnits(fields[1]) else { return ["-112001"] }
            open.paid += amount
            state.open = open
            let rest = open.total - open.paid
            return rest > 0 ? ["0", "R", DatecsCommand.amount(rest)] : ["0", "D", DatecsCommand.amount(-rest)]
        case 56:
            guard let open = state.open else { return ["-111018"] }
            guard open.paid >= open.total, open.lines > 0 else { return ["-111019"] }
            state.lastDocument += 1
            for group in 0..<8 {
                state.grandTotals[group] += open.byGroup[group]
                state.sinceZ[group] += open.byGroup[group]
            }
            state.receipts.append(open.uniqueSaleNumber)
            state.open = nil
            return ["0", String(state.lastDocument)]
        case 60:
            guard let open = state.open else { return ["-111018"] }
            state.cancelled.append(open.uniqueSaleNumber)
            state.open = nil
            return ["0"]
        case 69:
            guard state.open == nil else { return ["-111015"] }
            let zeroing = fields.first == "Z"
            let totals = state.sinceZ.map(DatecsCommand.amount)
            if zeroing {
                state.zNumber += 1
                state.lastDocument += 1
                state.sinceZ = Array(repeating: 0, count: 8)
            }
            return ["0", String(zeroing ? state.zNumber : state.zNumber + 1)] + totals
        default:
            return ["-111001"]
        }
    }

    private func persist() {
        guard let memoryPath, let data = try? JSONEncoder().encode(state) else { return }
        try? data.write(to: URL(fileURLWithPath: memoryPath), options: .atomic)
    }

    private func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = Glibc.write(master, $0.baseAddress, $0.count) }
    }

    static func milli(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 3, let whole = Int64(parts[0]), let fraction = Int64(parts[1]) else { return nil }
        return whole * 1000 + fraction
    }

    /// A host frame's SEQ, command and data, checked as a device does (length and BCC).
    static func decodeRequest(_ frame: [UInt8]) -> (UInt8, UInt16, [UInt8])? {
        guard frame.count >= 16, frame.first == DatecsFraming.preamble, frame.last == DatecsFraming.terminator,
              frame[frame.count - 6] == DatecsFraming.postamble else { return nil }
        func value(_ bytes: ArraySlice<UInt8>) -> Int? {
            bytes.allSatisfy { (0x30...0x3F).contains($0) } ? bytes.reduce(0) { $0 << 4 | Int($1 - 0x30) } : nil
        }
        guard let length = value(frame[1..<5]), length == 0x20 + frame.count - 6,
              let bcc = value(frame[(frame.count - 5)..<(frame.count - 1)]),
              bcc == Int(frame[1...(frame.count - 6)].reduce(UInt16(0)) { $0 &+ UInt16($1) }),
              let command = value(frame[6..<10])
        else { return nil }
        return (frame[5], UInt16(command), Array(frame[10..<(frame.count - 6)]))
    }
}
