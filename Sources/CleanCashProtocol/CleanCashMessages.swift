/// The CleanCash messages Kassa sends and the replies it understands, as typed values over the framing's fields.
/// Field positions follow Odoo's driver (which counts the frame's `#`-split parts, so its "field 4" is the message's
/// second field); where public code does not show a detail, decision 0027 says what Kassa assumes.
public enum CleanCashRequest: Equatable, Sendable {
    /// `SIQ`: the unit's status.
    case status
    /// `IQ`: the unit's identity and protocol version.
    case identity
    /// Protocol 2: `RR#serial#…`, one message that registers a receipt. The unit ignores a repeat of its last serial
    /// (it answers it again), which is what makes a re-send after a lost reply safe.
    case register(serial: UInt64, CleanCashReceipt)
    /// Protocol 1, first of three: `ST`, start a receipt.
    case startReceipt
    /// Protocol 1, second: `RH#…`, the receipt's header (two blank fields after the POS id, as Odoo's driver sends them).
    case receiptHeader(CleanCashReceipt)
    /// Protocol 1, third: `SQ`, ask for the control code.
    case signatureRequest

    public var fields: [String] {
        switch self {
        case .status: return ["SIQ"]
        case .identity: return ["IQ"]
        case .register(let serial, let receipt): return ["RR", String(serial)] + receipt.fields
        case .startReceipt: return ["ST"]
        case .receiptHeader(let receipt):
            let fields = receipt.fields
            return ["RH"] + fields[0..<3] + [" ", " "] + fields[3...]
        case .signatureRequest: return ["SQ"]
        }
    }
}

/// The unit's main status (`SIR`, first value).
public enum CleanCashStatus: Int, Equatable, Sendable {
    case ok = 0, warning = 1, protocolError = 2, nonFatalError = 3, fatalError = 4, busy = 5
}

/// The unit's transaction memory (`RR` reply, storage status).
public enum CleanCashStorage: Int, Equatable, Sendable {
    case ok = 0, high = 1, full = 2
}

/// A `NAK`'s code: the unit refused the request. Kept as its number too, for codes Kassa does not know.
public enum CleanCashRefusal: Equatable, Sendable {
    case badChecksum, unknownType, invalidData, invalidSequence, notOperational, invalidPOSID, internalError
    case licenceExceeded, storageFull, invalidSequenceNumber
    case other(Int)

    public init(code: Int) {
        switch code {
        case 1: self = .badChecksum
        case 2: self = .unknownType
        case 3: self = .invalidData
        case 4: self = .invalidSequence
        case 6: self = .notOperational
        case 7: self = .invalidPOSID
        case 8: self = .internalError
        case 9: self = .licenceExceeded
        case 10: self = .storageFull
        case 11: self = .invalidSequenceNumber
        default: self = .other(code)
        }
    }

    public var code: Int {
        switch self {
        case .badChecksum: return 1
        case .unknownType: return 2
        case .invalidData: return 3
        case .invalidSequence: return 4
        case .notOperational: return 6
        case .invalidPOSID: return 7
        case .internalError: return 8
        case .licenceExceeded: return 9
        case .storageFull: return 10
        case .invalidSequenceNumber: return 11
        case .other(let code): return code
        }
    }
}

public enum CleanCashReply: Equatable, Sendable {
    /// `SIR#main#severity`.
    case status(CleanCashStatus, severity: Int)
    /// `IR#unitId#protocolVersion#firmware`.
    case identity(unitID: String, protocolVersion: Int, firmware: String)
    /// The reply to a protocol-2 registration: the control code (none for training and pro forma), the unit's id and
    /// its storage state.
    case registered(controlCode: String?, unitID: String, storage: CleanCashStorage)
    /// Protocol 1: `ACK`, the unit took `ST` or `RH` (decision 0027).
    case acknowledged
    /// Protocol 1: `SR#controlCode`, the answer to `SQ` (decision 0027).
    case signature(controlCode: String?)
    /// `NAK#code`.
    case refused(CleanCashRefusal)

    /// A reply from a decoded frame's fields, every value checked; anything else is `CU_REPLY_INVALID`.
    public init(fields: [String]) throws(CleanCashReplyError) {
        guard let type = fields.first else { throw .invalid("an empty message") }
        func number(_ index: Int, _ range: ClosedRange<Int>) throws(CleanCashReplyError) -> Int {
            guard index < fields.count, !fields[index].isEmpty, fields[index].count <= 4,
                  fields[index].allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(fields[index]), range.contains(value)
            else { throw .invalid("\(type) field \(index) is not a number in \(range)") }
            return value
        }
        func text(_ index: Int, maximum: Int) throws(CleanCashReplyError) -> String {
            guard index < fields.count, !fields[index].isEmpty, fields[index].count <= maximum else {
                throw .invalid("\(type) field \(index) is missing or longer than \(maximum)")
            }
            return fields[index]
        }
        switch type {
        case "SIR":
            guard fields.count == 3 else { throw .invalid("SIR has \(fields.count - 1) values, not 2") }
            guard let main = CleanCashStatus(rawValue: try number(1, 0...5)) else { throw .invalid("SIR status") }
            self = .status(main, severity: try number(2, 0...9999))
        case "IR":
            guard fields.count == 4 else { throw .invalid("IR has \(fields.count - 1) values, not 3") }
            self = .identity(unitID: try text(1, maximum: 32), protocolVersion: try number(2, 1...2), firmware: try text(3, maximum: 32))
        case "RR":
            guard fields.count >= 5 else { throw .invalid("RR has \(fields.count - 1) values, not at least 4") }
            guard let storage = CleanCashStorage(rawValue: try number(4, 0...2)) else { throw .invalid("RR storage") }
            self = .registered(controlCode: try Self.controlCode(fields[1], type), unitID: try text(2, maximum: 32), storage: storage)
        case "ACK":
            guard fields.count == 1 else { throw .invalid("ACK has \(fields.count - 1) values, not 0") }
            self = .acknowledged
        case "SR":
            guard fields.count >= 2 else { throw .invalid("SR has no value") }
            self = .signature(controlCode: try Self.controlCode(fields[1], type))
        case "NAK":
            guard fields.count == 2 else { throw .invalid("NAK has \(fields.count - 1) values, not 1") }
            guard fields[1].count == 3 else { throw .invalid("a NAK code has three digits") }
            self = .refused(CleanCashRefusal(code: try number(1, 0...999)))
        default:
            throw .invalid("unknown reply type \(type.prefix(8))")
        }
    }

    /// A control code: empty (training, pro forma) or exactly 59 characters of the RFC 4648 base32 alphabet.
    static func controlCode(_ field: String, _ type: String) throws(CleanCashReplyError) -> String? {
        if field.isEmpty { return nil }
        guard field.utf8.count == 59, field.utf8.allSatisfy({ (0x41...0x5A).contains($0) || (0x32...0x37).contains($0) }) else {
            throw .invalid("\(type)'s control code is not 59 base32 characters")
        }
        return field
    }
}

public enum CleanCashReplyError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)

    public var code: String { "CU_REPLY_INVALID" }
    public var description: String {
        switch self {
        case .invalid(let why): return "The control unit's reply is not one Kassa understands (\(why)). Check the unit's firmware and protocol version with `kassa fiscal info`."
        }
    }
}
