@preconcurrency import Crypto
import Foundation
import Synchronization

/// A Swedish control unit (kontrollenhet), shaped like the public CleanCash API (shared/reference/fiscal.md §1.7):
/// register the POS with organisation number and POS id, send each receipt, get back the control code and the unit's
/// manufacturing number, which are printed on the receipt. A real unit's driver implements this next; until then
/// `ControlUnitSimulator` stands in, and says so in its unit id.
public protocol ControlUnit: Sendable {
    /// `CheckStatus`: throws when the unit is not operational.
    func checkStatus() throws(ControlUnitError)
    /// `RegisterPos(orgNr, posId)`.
    func registerPOS(organisationNumber: String, posID: String) throws(ControlUnitError)
    /// `SendReceipt(…)`, then `UnitId` and `LastControlCode`.
    func sendReceipt(_ receipt: ControlUnitReceipt) throws(ControlUnitError) -> ControlUnitReply
}

/// A receipt as the control unit takes it: CleanCash's fields, formatted as its API wants them.
public struct ControlUnitReceipt: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case normal = "RECEIPT_NORMAL", copy = "RECEIPT_COPY", training = "RECEIPT_TRAINING", proForma = "RECEIPT_PRO_FORMA"
    }

    public var organisationNumber: String
    public var posID: String
    /// `yyyyMMddHHmm`, local time.
    public var dateTime: String
    public var receiptID: String
    public var kind: Kind
    /// `0,00` (sv-SE, decimal comma).
    public var total: String
    /// The absolute amount of the returns on the receipt.
    public var negativeTotal: String
    /// Up to four `rate;amount` slots, e.g. `25,00;20,00`.
    public var vat: [String]

    /// sv-SE money: two decimals and a decimal comma.
    public static func amount(_ cents: Int64) -> String {
        let magnitude = cents.magnitude
        return (cents < 0 ? "-" : "") + "\(magnitude / 100)," + (magnitude % 100 < 10 ? "0" : "") + "\(magnitude % 100)"
    }
}

public struct ControlUnitReply: Sendable, Equatable, Codable {
    public var controlCode: String
    public var unitID: String
}

/// What the unit answered instead of a control code. `code` keeps the unit's NAK code (1–11) or −1 when it did not answer.
public struct ControlUnitError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public static let noAnswer = ControlUnitError(code: -1, message: "the control unit did not answer")
    public var description: String { "control unit error \(code): \(message)" }
}

/// What the simulator registered, as a real unit keeps it in its memory: every registration under its kind and receipt
/// id, the repeats it ignored, and any receipt id it was given twice with different content (which a real unit would
/// then hold twice — what the engine's pending registrations exist to prevent).
public struct ControlUnitMemory: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public var key: String
        public var receipt: ControlUnitReceipt
        public var controlCode: String
        public var repeats: Int
    }
    public var entries: [Entry] = []
    /// Keys registered a second time with other content.
    public var conflicts: [String] = []
    public init() {}
}

/// An in-process stand-in for a control unit, **not a certified unit**: its unit id starts with `SIMULATOR-` and its
/// control codes are HMAC-SHA-256 over the receipt's fields with the simulator's own key (so they are checkable, and
/// never mistaken for real ones). It keeps what it registered (in `memoryPath` when given, so its memory outlives the
/// process as a unit's does), answers a repeat of the same request with the same code, can be told to stop answering,
/// and refuses receipts from a POS that was not registered (NAK 007), as a unit does.
public final class ControlUnitSimulator: ControlUnit {
    public let unitID: String
    private let key: SymmetricKey
    private let memoryPath: String?
    private struct State {
        var answering = true
        var registered: Set<String> = []
        var received: [ControlUnitReceipt] = []
        var memory = ControlUnitMemory()
    }
    private let state = Mutex(State())

    public init(unitID: String = "SIMULATOR-0001", secret: [UInt8] = Array("kassa control unit simulator".utf8), memoryPath: String? = nil) {
        self.unitID = unitID
        key = SymmetricKey(data: secret)
        self.memoryPath = memoryPath
    }

    /// Off: every call fails as a unit that does not answer (cable pulled, unit powered off).
    public func setAnswering(_ answering: Bool) { state.withLock { $0.answering = answering } }
    /// A power cycle: the unit forgets which POS were registered (it keeps what it stored).
    public func restart() { state.withLock { $0.registered.removeAll() } }
    /// The receipts the unit registered in this process, in order (repeats included).
    public var received: [ControlUnitReceipt] { state.withLock { $0.received } }

    /// What the unit holds (read from `memoryPath` when there is one).
    public func memory() -> ControlUnitMemory {
        state.withLock { state in
            if let memoryPath, let data = FileManager.default.contents(atPath: memoryPath),
               let stored = try? JSONDecoder().decode(ControlUnitMemory.self, from: data) {
                return stored
            }
            return state.memory
        }
    }

    public func checkStatus() throws(ControlUnitError) {
        guard state.withLock({ $0.answering }) else { throw .noAnswer }
    }

    public func registerPOS(organisationNumber: String, posID: String) throws(ControlUnitError) {
        guard state.withLock({ $0.answering }) else { throw .noAnswer }
        guard organisationNumber.utf8.count == 10, organisationNumber.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw ControlUnitError(code: 3, message: "invalid data: the organisation number has 10 digits")
        }
        guard !posID.isEmpty, posID.count <= 16 else { throw ControlUnitError(code: 7, message: "invalid POS id") }
        _ = state.withLock { $0.registered.insert(organisationNumber + "/" + posID) }
    }

    public func sendReceipt(_ receipt: ControlUnitReceipt) throws(ControlUnitError) -> ControlUnitReply {
        try state.withLock { (state: inout State) throws(ControlUnitError) -> ControlUnitReply in
            guard state.answering else { throw .noAnswer }
            guard state.registered.contains(receipt.organisationNumber + "/" + receipt.posID) else {
                throw ControlUnitError(code: 7, message: "invalid POS id: register the POS first")
            }
            guard receipt.vat.count <= 4 else { throw ControlUnitError(code: 3, message: "invalid data: at most four VAT rates") }
            if let memoryPath, let data = FileManager.default.contents(atPath: memoryPath),
               let stored = try? JSONDecoder().decode(ControlUnitMemory.self, from: data) {
                state.memory = stored
            }
            state.received.append(receipt)
            let key = receipt.kind.rawValue + ":" + receipt.receiptID
            let code = Self.controlCode(receipt, unitID: unitID, key: self.key)
            if let index = state.memory.entries.firstIndex(where: { $0.key == key && $0.receipt == receipt }) {
                // A repeat (the register re-sent after a lost answer): ignored, answered with the same code.
                state.memory.entries[index].repeats += 1
            } else {
                if state.memory.entries.contains(where: { $0.key == key }) { state.memory.conflicts.append(key) }
                state.memory.entries.append(ControlUnitMemory.Entry(key: key, receipt: receipt, controlCode: code, repeats: 0))
            }
            if let memoryPath, let data = try? JSONEncoder().encode(state.memory) {
                try? data.write(to: URL(fileURLWithPath: memoryPath), options: .atomic)
            }
            return ControlUnitReply(controlCode: code, unitID: unitID)
        }
    }
    /// The simulator's control code: the first 20 bytes of HMAC-SHA-256 over the fields, as 5 groups of 8 hex digits.
    static func controlCode(_ receipt: ControlUnitReceipt, unitID: String, key: SymmetricKey) -> String {
        let fields = [unitID, receipt.organisationNumber, receipt.posID, receipt.dateTime, receipt.receiptID, receipt.kind.rawValue,
                      receipt.total, receipt.negativeTotal] + receipt.vat
        let mac = Array(HMAC<SHA256>.authenticationCode(for: Array(fields.joined(separator: "#").utf8), using: key)).prefix(20)
        let hex = mac.map { String(format: "%02X", $0) }.joined()
        return stride(from: 0, to: hex.count, by: 8).map { start in
            String(hex[hex.index(hex.startIndex, offsetBy: start)..<hex.index(hex.startIndex, offsetBy: start + 8)])
        }.joined(separator: "-")
    }
}
