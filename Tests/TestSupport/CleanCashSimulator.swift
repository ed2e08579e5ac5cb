import CleanCashProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A **simulated** CleanCash control unit on the master side of a pseudo-terminal, speaking the framing and messages
/// Kassa's driver speaks (decisions 0027, 0028). For tests only; the driver has no path for it.
///
/// - Protocol 2 (`RR`) or 1 (`ST`, `RH`, `SQ`), chosen at start; `SIQ` and `IQ` answered.
/// - **Persistent memory** (`memoryPath`, JSON): every registration with its serial, type, receipt id and fields, and
///   the last serial and reply — a repeat of the last serial with the same fields is answered again and not registered;
///   other fields under it are NAK 011. Anything registered twice under the same type and receipt id is recorded in
///   `conflicts`, which the tests require empty.
/// - **Faults** on cue: no answer, damaged replies, NAK codes, busy, noise, a dropped reply (the request was
///   executed), a duplicated reply, and power loss (the request executed and stored, then silence until `powerOn()`,
///   the memory kept).
public final class CleanCashSimulator: @unchecked Sendable {
    public enum Fault: Sendable, Equatable {
        case none
        /// Never answers.
        case silent
        /// The next `count` replies carry a wrong checksum.
        case damageReplies(count: Int)
        /// Answers every request with this NAK code.
        case nak(Int)
        /// Answers `SIQ` with main status 5 (busy) and registrations with NAK 006.
        case busy
        /// Sends bytes of noise before each reply.
        case noise
        /// Executes the next `count` requests but sends no reply (a reply lost on the line).
        case dropReplies(count: Int)
        /// Executes the next request of this type but sends no reply.
        case dropReplyTo(String)
        /// Sends every reply twice.
        case duplicateReplies
        /// Executes the next registration, stores it, then loses power: silent until `powerOn()`.
        case powerLossAfterRegistration
        /// The unit's memory: `high` or `full` storage (full refuses registrations with NAK 010).
        case storage(Int)
    }

    public struct Registration: Codable, Equatable, Sendable {
        public var serial: UInt64?
        public var kind: String
        public var receiptID: String
        public var fields: [String]
        public var controlCode: String?
        public var repeats: Int
    }

    public struct Memory: Codable, Equatable, Sendable {
        public var registrations: [Registration] = []
        public var lastSerial: UInt64?
        /// `kind:receiptID` registered a second time.
        public var conflicts: [String] = []
        public init() {}
    }

    public let slavePath: String
    public let unitID: String
    public let protocolVersion: Int
    private let memoryPath: String?
    private let master: Int32
    private let lock = NSLock()
    private var fault: Fault = .none
    private var requests: [[String]] = []
    private var memoryState = Memory()
    private var poweredOff = false
    private var openReceipt: [String]?  // protocol 1: ST seen (empty) or RH's fields
    private var running = true
    private let finished = DispatchSemaphore(value: 0)

    public init(unitID: String = "CCSIM0000000001", protocolVersion: Int = 2, memoryPath: String? = nil) throws {
        (master, slavePath) = try TestSupport.openPseudoTerminal()
        self.unitID = unitID
        self.protocolVersion = protocolVersion
        self.memoryPath = memoryPath
        if let memoryPath, let data = FileManager.default.contents(atPath: memoryPath) {
            memoryState = try JSONDecoder().decode(Memory.self, from: data)
        }
        Thread { [self] in serve() }.start()
    }

    public func setFault(_ newFault: Fault) { lock.withLock { fault = newFault } }
    /// Power back after `powerLossAfterRegistration`: answering again, with the memory it stored.
    public func powerOn() { lock.withLock { poweredOff = false; openReceipt = nil; fault = .none } }
    /// Every request received, in order (its fields).
    public var received: [[String]] { lock.withLock { requests } }
    /// What the unit holds.
    public var memory: Memory { lock.withLock { memoryState } }

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
                    send(["NAK", "001"])
                    continue
                }
                let answer = lock.withLock { () -> [String]? in
                    requests.append(fields)
                    if poweredOff || fault == .silent { return nil }
                    if case .nak(let code) = fault { return ["NAK", Self.three(code)] }
                    return handle(fields)
                }
                if let answer { send(answer) }
            }
        }
    }

    /// The unit's answer to one request (under the lock); nil when it executes but does not answer.
    private func handle(_ fields: [String]) -> [String]? {
        var reply: [String]
        var registered = false
        switch fields.first {
        case "SIQ": reply = ["SIR", fault == .busy ? "5" : "0", "0"]
        case "IQ": reply = ["IR", unitID, String(protocolVersion), "1.0.7-sim"]
        case "RR" where protocolVersion >= 2:
            (reply, registered) = registerV2(fields)
        case "ST" where protocolVersion == 1:
            openReceipt = []
            reply = ["ACK"]
        case "RH" where protocolVersion == 1:
            guard openReceipt != nil else { return ["NAK", "004"] }
            guard fields.count == 14 else { return ["NAK", "003"] }
            openReceipt = Array(fields[1...3]) + Array(fields[6...])
            reply = ["ACK"]
        case "SQ" where protocolVersion == 1:
            guard let header = openReceipt, !header.isEmpty else { return ["NAK", "004"] }
            openReceipt = nil
            guard let receipt = Self.receipt(header) else { return ["NAK", "003"] }
            let code = record(serial: nil, receipt)
            reply = ["SR", code ?? ""]
            registered = true
        default: reply = ["NAK", "002"]
        }
        if registered { persist() }
        switch fault {
        case .dropReplies(let count):
            fault = count > 1 ? .dropReplies(count: count - 1) : .none
            return nil
        case .dropReplyTo(let type) where type == fields.first:
            fault = .none
            return nil
        case .powerLossAfterRegistration where registered:
            poweredOff = true
            return nil
        default:
            return reply
        }
    }

    private func registerV2(_ fields: [String]) -> ([String], Bool) {
        guard fields.count == 13, let serial = UInt64(fields[1]), serial > 0, let receipt = Self.receipt(Array(fields[2...])) else {
            return (["NAK", "003"], false)
        }
        if fault == .busy { return (["NAK", "006"], false) }
        var storage = "0"
        if case .storage(let level) = fault {
            if level >= 2 { return (["NAK", "010"], false) }
            storage = String(level)
        }
        if serial == memoryState.lastSerial, let last = memoryState.registrations.last {
            // A repeat of the last serial: answered from memory, not registered again.
            guard last.fields == receipt.fields else { return (["NAK", "011"], false) }
            memoryState.registrations[memoryState.registrations.count - 1].repeats += 1
            return (["RR", last.controlCode ?? "", unitID, "0", storage], true)
        }
        let code = record(serial: serial, receipt)
        return (["RR", code ?? "", unitID, "0", storage], true)
    }

    /// Stores a new registration and returns its control code (none for training and pro forma).
    private func record(serial: UInt64?, _ receipt: CleanCashReceipt) -> String? {
        let key = receipt.kind.rawValue + ":" + receipt.receiptID
        if memoryState.registrations.contains(where: { $0.kind + ":" + $0.receiptID == key }) { memoryState.conflicts.append(key) }
        let code = receipt.kind.hasControlCode ? Self.controlCode(unitID + "#" + receipt.fields.joined(separator: "#")) : nil
        memoryState.registrations.append(Registration(serial: serial, kind: receipt.kind.rawValue, receiptID: receipt.receiptID,
                                                      fields: receipt.fields, controlCode: code, repeats: 0))
        if let serial { memoryState.lastSerial = serial }
        return code
    }

    private func persist() {
        guard let memoryPath, let data = try? JSONEncoder().encode(memoryState) else { return }
        try? data.write(to: URL(fileURLWithPath: memoryPath), options: .atomic)
    }

    /// The receipt in 11 fields (date, id, POS, org, total, negative, type, four VAT slots), checked as a unit would.
    static func receipt(_ fields: [String]) -> CleanCashReceipt? {
        guard fields.count == 11, let kind = CleanCashReceipt.Kind(rawValue: fields[6]) else { return nil }
        return try? CleanCashReceipt(dateTime: fields[0], receiptID: fields[1], posID: fields[2], organisationNumber: fields[3],
                                     total: fields[4], negativeTotal: fields[5], kind: kind, vat: Array(fields[7...]))
    }

    /// The simulator's control code: 59 base32 characters from FNV-1a over the fields (not a real unit's algorithm).
    static func controlCode(_ text: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var result = ""
        var round: UInt8 = 0
        while result.count < 59 {
            for byte in Array(text.utf8) + [round] {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            for shift in stride(from: 0, to: 60, by: 5) where result.count < 59 { result.append(alphabet[Int((hash >> UInt64(shift)) & 31)]) }
            round &+= 1
        }
        return result
    }

    static func three(_ code: Int) -> String {
        let digits = String(code)
        return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    private func send(_ fields: [String]) {
        let current = lock.withLock { fault }
        var frame = (try? CleanCashFraming.encode(fields)) ?? []
        if case .damageReplies(let count) = current, count > 0 {
            frame[frame.count - 2] ^= 0x01
            lock.withLock { fault = count > 1 ? .damageReplies(count: count - 1) : .none }
        }
        if current == .noise { frame = [0x00, 0xFF, 0x23, 0x21] + frame }
        if current == .duplicateReplies { frame += frame }
        frame.withUnsafeBytes { _ = Glibc.write(master, $0.baseAddress, $0.count) }
    }
}
