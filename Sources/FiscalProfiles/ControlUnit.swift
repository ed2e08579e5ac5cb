@preconcurrency import Crypto
import Foundation
import Synchronization

/// A Swedish control unit (kontrollenhet): it tells who it is and how it is, and registers each receipt under the
/// register's serial, answering with the control code and its own id, which are printed on the receipt. Implemented by
/// `CleanCashDriver.CleanCashControlUnit` (a CleanCash unit on a serial port) and, for demos and the engine's tests, by
/// `ControlUnitSimulator` in this process, which says so in its unit id.
public protocol ControlUnit: Sendable {
    /// The unit's identity and state, read now (`SIQ`, `IQ`). Throws when it does not answer.
    func status() throws(ControlUnitError) -> ControlUnitStatus
    /// Registers a receipt under `serial` (unique per registration; a repeat of the same serial with the same receipt is
    /// answered again and not registered twice).
    func register(_ receipt: ControlUnitReceipt, serial: Int64) throws(ControlUnitError) -> ControlUnitReply
    /// The id of the unit on the line, as last read (a driver reads it again whenever the line was re-opened), so that a
    /// registration can be checked against the terminal's unit without a status exchange per receipt.
    func currentUnitID() throws(ControlUnitError) -> String
}

extension ControlUnit {
    public func currentUnitID() throws(ControlUnitError) -> String { try status().unitID }
}

/// What the unit says of itself.
public struct ControlUnitStatus: Sendable, Equatable, Codable {
    /// `ok`, `warning`, `protocol-error`, `non-fatal-error`, `fatal-error`, `busy` (CleanCash's main status).
    public var state: String
    public var severity: Int
    public var unitID: String
    public var protocolVersion: Int
    public var firmware: String
    /// The storage state the unit last reported with a registration (`ok`, `high`, `full`), when one was made.
    public var storage: String?
    /// Where the unit is (`serial:///dev/ttyUSB0?baud=9600`, or `simulator` for the in-process one).
    public var connection: String

    public init(state: String, severity: Int, unitID: String, protocolVersion: Int, firmware: String, storage: String?, connection: String) {
        self.state = state
        self.severity = severity
        self.unitID = unitID
        self.protocolVersion = protocolVersion
        self.firmware = firmware
        self.storage = storage
        self.connection = connection
    }

    /// Receipts can be registered: the unit is OK or only warns.
    public var operational: Bool { state == "ok" || state == "warning" }
}

/// A receipt as the control unit takes it: its fields, formatted as the unit wants them (decision 0028).
public struct ControlUnitReceipt: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case normal = "RECEIPT_NORMAL", copy = "RECEIPT_COPY", training = "RECEIPT_TRAINING", proForma = "RECEIPT_PRO_FORMA"

        /// Normal receipts and copies get a control code; training receipts and pro-forma bills accept none.
        public var hasControlCode: Bool { self == .normal || self == .copy }
    }

    public var organisationNumber: String
    public var posID: String
    /// `yyyyMMddHHmm`, local time (a copy carries its original's).
    public var dateTime: String
    /// Digits only: the receipt number, or for training and pro forma their own series in a range of their own.
    public var receiptID: String
    public var kind: Kind
    /// `0,00` (sv-SE, decimal comma), negative for a receipt that pays out more than it takes.
    public var total: String
    /// The absolute amount of the returns on the receipt.
    public var negativeTotal: String
    /// Four fixed `rate;amount` slots: 25, 12, 6 and 0 %.
    public var vat: [String]
    /// The unit this terminal is bound to when the request was made (nil before the first): a unit with another id
    /// refuses to serve it.
    public var boundUnit: String?

    public init(organisationNumber: String, posID: String, dateTime: String, receiptID: String, kind: Kind, total: String,
                negativeTotal: String, vat: [String], boundUnit: String? = nil) {
        self.organisationNumber = organisationNumber
        self.posID = posID
        self.dateTime = dateTime
        self.receiptID = receiptID
        self.kind = kind
        self.total = total
        self.negativeTotal = negativeTotal
        self.vat = vat
        self.boundUnit = boundUnit
    }

    /// The four VAT rates of the slots, in basis points.
    public static let vatRates: [Int64] = [2500, 1200, 600, 0]

    /// sv-SE money: two decimals and a decimal comma.
    public static func amount(_ cents: Int64) -> String {
        let magnitude = cents.magnitude
        return (cents < 0 ? "-" : "") + "\(magnitude / 100)," + (magnitude % 100 < 10 ? "0" : "") + "\(magnitude % 100)"
    }
}

public struct ControlUnitReply: Sendable, Equatable, Codable {
    /// Nil for training receipts and pro-forma bills.
    public var controlCode: String?
    public var unitID: String
    /// `ok`, `high` or `full`: the unit's transaction memory after this registration.
    public var storage: String

    public init(controlCode: String?, unitID: String, storage: String) {
        self.controlCode = controlCode
        self.unitID = unitID
        self.storage = storage
    }
}

/// Why the unit did not serve a request. `code` keeps the unit's NAK code (1–11), or Kassa's own: −1 no answer (the
/// unit may have registered it), −2 a reply Kassa does not understand, −3 the port failed (nothing was sent), −4 a
/// request Kassa refused to send (nothing was sent). `identifier` is the documented code (Docs/fiscal-devices.md).
public struct ControlUnitError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var identifier: String
    public var message: String

    public init(code: Int32, identifier: String, message: String) {
        self.code = code
        self.identifier = identifier
        self.message = message
    }

    public static let noAnswer = ControlUnitError(code: -1, identifier: "CU_NO_REPLY", message: "the control unit did not answer")
    public var description: String { "\(identifier): \(message)" }

    /// Whether the unit certainly holds nothing of the request (a refusal, or nothing sent): its pending registration
    /// can go. Otherwise (no answer, a damaged answer) it may hold it, and only the same request may be sent again.
    public var definite: Bool { code > 0 || code == -3 || code == -4 }
}

/// What the simulator registered, as a real unit keeps it in its memory: every registration with its serial, kind and
/// receipt id, the repeats it answered again, and any receipt id registered twice (which a real unit would then hold
/// twice — what the engine's pending registrations exist to prevent).
public struct ControlUnitMemory: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public var serial: Int64
        public var receipt: ControlUnitReceipt
        public var controlCode: String?
        public var repeats: Int
    }
    public var entries: [Entry] = []
    /// `kind:receiptID` registered a second time under a new serial (with the same or other content).
    public var conflicts: [String] = []
    public init() {}
}

/// An in-process stand-in for a control unit, **not a certified unit**: its unit id starts with `SIMULATOR-` and its
/// control codes are 59 base32 characters of HMAC-SHA-256 over the receipt's fields with the simulator's own key (so
/// they are checkable, and never mistaken for real ones). It keeps what it registered (in `memoryPath` when given, so
/// its memory outlives the process as a unit's does), answers a repeat of its last serial with the same answer, and
/// can be told to stop answering. The driver for a real unit is `CleanCashDriver`; this one serves the demo and the
/// engine's tests.
public final class ControlUnitSimulator: ControlUnit {
    public let unitID: String
    private let key: SymmetricKey
    private let memoryPath: String?
    private struct State {
        var answering = true
        var received: [ControlUnitReceipt] = []
        var memory = ControlUnitMemory()
        var storage = "ok"
    }
    private let state = Mutex(State())

    public init(unitID: String = "SIMULATOR-0001", secret: [UInt8] = Array("kassa control unit simulator".utf8), memoryPath: String? = nil) {
        self.unitID = unitID
        key = SymmetricKey(data: secret)
        self.memoryPath = memoryPath
    }

    /// Off: every call fails as a unit that does not answer (cable pulled, unit powered off).
    public func setAnswering(_ answering: Bool) { state.withLock { $0.answering = answering } }
    /// The receipts the unit was sent in this process, in order (repeats included).
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

    public func status() throws(ControlUnitError) -> ControlUnitStatus {
        try state.withLock { (state: inout State) throws(ControlUnitError) -> ControlUnitStatus in
            guard state.answering else { throw .noAnswer }
            return ControlUnitStatus(state: "ok", severity: 0, unitID: unitID, protocolVersion: 2, firmware: "simulator",
                                     storage: state.storage, connection: "simulator")
        }
    }

    public func register(_ receipt: ControlUnitReceipt, serial: Int64) throws(ControlUnitError) -> ControlUnitReply {
        try state.withLock { (state: inout State) throws(ControlUnitError) -> ControlUnitReply in
            guard state.answering else { throw .noAnswer }
            guard receipt.organisationNumber.utf8.count == 10, receipt.organisationNumber.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw ControlUnitError(code: 3, identifier: "CU_NAK_003", message: "invalid data: the organisation number has 10 digits")
            }
            guard !receipt.posID.isEmpty, receipt.posID.count <= 16 else {
                throw ControlUnitError(code: 7, identifier: "CU_NAK_007", message: "invalid POS id")
            }
            guard receipt.vat.count == 4, serial > 0 else {
                throw ControlUnitError(code: 3, identifier: "CU_NAK_003", message: "invalid data: four VAT slots and a serial")
            }
            if let memoryPath, let data = FileManager.default.contents(atPath: memoryPath),
               let stored = try? JSONDecoder().decode(ControlUnitMemory.self, from: data) {
                state.memory = stored
            }
            state.received.append(receipt)
            let code = receipt.kind.hasControlCode ? Self.controlCode(receipt, unitID: unitID, key: self.key) : nil
            if let last = state.memory.entries.last, last.serial == serial {
                // A repeat of the last serial (the register re-sent after a lost answer): answered again, not registered.
                guard last.receipt == receipt else {
                    throw ControlUnitError(code: 11, identifier: "CU_NAK_011", message: "invalid sequence number: the serial was used for another receipt")
                }
                state.memory.entries[state.memory.entries.count - 1].repeats += 1
            } else {
                let key = receipt.kind.rawValue + ":" + receipt.receiptID
                if state.memory.entries.contains(where: { $0.receipt.kind.rawValue + ":" + $0.receipt.receiptID == key }) {
                    state.memory.conflicts.append(key)
                }
                state.memory.entries.append(ControlUnitMemory.Entry(serial: serial, receipt: receipt, controlCode: code, repeats: 0))
            }
            if let memoryPath, let data = try? JSONEncoder().encode(state.memory) {
                try? data.write(to: URL(fileURLWithPath: memoryPath), options: .atomic)
            }
            return ControlUnitReply(controlCode: code, unitID: unitID, storage: state.storage)
        }
    }

    /// The simulator's control code: HMAC-SHA-256 over the fields, written in the RFC 4648 base32 alphabet, 59 characters.
    static func controlCode(_ receipt: ControlUnitReceipt, unitID: String, key: SymmetricKey) -> String {
        let fields = [unitID, receipt.organisationNumber, receipt.posID, receipt.dateTime, receipt.receiptID, receipt.kind.rawValue,
                      receipt.total, receipt.negativeTotal] + receipt.vat
        let data = Array(fields.joined(separator: "#").utf8)
        let bytes = Array(HMAC<SHA256>.authenticationCode(for: data, using: key)) + Array(HMAC<SHA256>.authenticationCode(for: data + [1], using: key))
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var result = "", buffer = 0, bits = 0
        for byte in bytes where result.count < 59 {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5, result.count < 59 {
                bits -= 5
                result.append(alphabet[(buffer >> bits) & 31])
            }
            buffer &= (1 << bits) - 1
        }
        return result
    }
}
