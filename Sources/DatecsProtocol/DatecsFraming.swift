/// The Datecs "X" fiscal-printer protocol's frames (Docs/fiscal-devices.md; `../shared/reference/fiscal.md` §6.1, as
/// read from the vendor's public protocol description and ErpNet.FP's open driver). Pure: bytes in, values out.
///
///     host → device   01 LEN SEQ CMD DATA 05 BCC 03
///     device → host   01 LEN SEQ CMD DATA 04 STATUS 05 BCC 03
///     single bytes    15 (NAK: resend the same SEQ)   16 (SYN: busy, keep waiting)
///
/// LEN, CMD and BCC are 16-bit values written as four nibbles, most significant first, each + 30h. LEN is 20h + the
/// number of bytes after `01` up to and including `05`. SEQ is 20h…FFh. BCC is the 16-bit sum of the bytes after `01`
/// up to and including `05`. DATA is TAB-separated fields; STATUS is eight bytes.
public enum DatecsFraming {
    public static let preamble: UInt8 = 0x01, terminator: UInt8 = 0x03, separator: UInt8 = 0x04, postamble: UInt8 = 0x05
    public static let nak: UInt8 = 0x15, syn: UInt8 = 0x16
    /// The most data one frame carries (decision 0029).
    public static let maximumData = 496
    public static let sequenceRange: ClosedRange<UInt8> = 0x20...0xFF

    /// A host frame.
    public static func encodeRequest(sequence: UInt8, command: UInt16, data: [UInt8]) throws(DatecsFrameError) -> [UInt8] {
        guard sequenceRange.contains(sequence) else { throw .invalidSequence(sequence) }
        guard data.count <= maximumData else { throw .tooLong(data.count) }
        if let index = data.firstIndex(where: { $0 < 0x20 && $0 != 0x09 }) { throw .invalidData(index: index) }
        var body = nibbles(UInt16(0x20 + 10 + data.count)) + [sequence] + nibbles(command) + data + [postamble]
        body = [preamble] + body + nibbles(checksum(body[...])) + [terminator]
        return body
    }

    /// A device frame (for the simulator and the tests; the device writes these).
    public static func encodeReply(sequence: UInt8, command: UInt16, data: [UInt8], status: DatecsStatus) throws(DatecsFrameError) -> [UInt8] {
        guard sequenceRange.contains(sequence) else { throw .invalidSequence(sequence) }
        guard data.count <= maximumData else { throw .tooLong(data.count) }
        if let index = data.firstIndex(where: { $0 < 0x20 && $0 != 0x09 }) { throw .invalidData(index: index) }
        let body = nibbles(UInt16(0x20 + 19 + data.count)) + [sequence] + nibbles(command) + data + [separator] + status.bytes + [postamble]
        return [preamble] + body + nibbles(checksum(body[...])) + [terminator]
    }

    /// One whole device frame (from `01` through `03`), every part checked.
    public static func decodeReply(_ frame: [UInt8]) throws(DatecsFrameError) -> DatecsReply {
        guard frame.count >= 25, frame.first == preamble, frame.last == terminator else {
            throw .malformed("a reply is 01 LEN SEQ CMD DATA 04 STATUS 05 BCC 03")
        }
        guard let length = value(frame[1..<5]) else { throw .malformed("LEN is not four nibbles + 30h") }
        let counted = frame.count - 6  // after 01, through 05
        guard Int(length) == 0x20 + counted else { throw .lengthMismatch(declared: Int(length), actual: 0x20 + counted) }
        let postamblePosition = frame.count - 6
        guard frame[postamblePosition] == postamble else { throw .malformed("no 05 before the checksum") }
        guard let sent = value(frame[(postamblePosition + 1)..<(postamblePosition + 5)]) else { throw .malformed("BCC is not four nibbles + 30h") }
        let computed = checksum(frame[1...postamblePosition])
        guard sent == computed else { throw .checksumMismatch(sent: sent, computed: computed) }
        let sequence = frame[5]
        guard sequenceRange.contains(sequence) else { throw .invalidSequence(sequence) }
        guard let command = value(frame[6..<10]) else { throw .malformed("CMD is not four nibbles + 30h") }
        let separatorPosition = postamblePosition - 9
        guard frame[separatorPosition] == separator else { throw .malformed("no 04 before the eight status bytes") }
        let data = Array(frame[10..<separatorPosition])
        if let index = data.firstIndex(where: { $0 < 0x20 && $0 != 0x09 }) { throw .invalidData(index: index) }
        let status = DatecsStatus(bytes: Array(frame[(separatorPosition + 1)..<postamblePosition]))
        return DatecsReply(sequence: sequence, command: command, data: data, status: status)
    }

    static func nibbles(_ value: UInt16) -> [UInt8] {
        [UInt8((value >> 12) & 0xF) + 0x30, UInt8((value >> 8) & 0xF) + 0x30, UInt8((value >> 4) & 0xF) + 0x30, UInt8(value & 0xF) + 0x30]
    }

    static func value(_ bytes: ArraySlice<UInt8>) -> UInt16? {
        var result: UInt16 = 0
        for byte in bytes {
            guard (0x30...0x3F).contains(byte) else { return nil }
            result = result << 4 | UInt16(byte - 0x30)
        }
        return result
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt16 { bytes.reduce(UInt16(0)) { $0 &+ UInt16($1) } }

    /// Fields of TAB-separated data (a trailing TAB ends the last field, as the device writes it).
    public static func fields(_ data: [UInt8]) -> [String] {
        var parts = data.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if data.last == 0x09 { parts.removeLast() }
        return parts
    }

    /// TAB-separated data, each field followed by a TAB.
    public static func data(_ fields: [String]) -> [UInt8] { fields.flatMap { Array($0.utf8) + [0x09] } }
}

/// A device reply.
public struct DatecsReply: Equatable, Sendable {
    public var sequence: UInt8
    public var command: UInt16
    public var data: [UInt8]
    public var status: DatecsStatus

    public init(sequence: UInt8, command: UInt16, data: [UInt8], status: DatecsStatus) {
        self.sequence = sequence
        self.command = command
        self.data = data
        self.status = status
    }

    public var fields: [String] { DatecsFraming.fields(data) }
}

public enum DatecsFrameError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case lengthMismatch(declared: Int, actual: Int)
    case checksumMismatch(sent: UInt16, computed: UInt16)
    case tooLong(Int)
    case invalidData(index: Int)
    case invalidSequence(UInt8)

    public var code: String {
        switch self {
        case .malformed: return "FP_FRAME_MALFORMED"
        case .lengthMismatch: return "FP_FRAME_LENGTH"
        case .checksumMismatch: return "FP_FRAME_CHECKSUM"
        case .tooLong: return "FP_FRAME_TOO_LONG"
        case .invalidData: return "FP_FIELD_INVALID"
        case .invalidSequence: return "FP_FRAME_SEQUENCE"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let why): return "Not a fiscal-printer frame: \(why)."
        case .lengthMismatch(let declared, let actual): return "The frame's LEN says \(declared), its bytes give \(actual)."
        case .checksumMismatch(let sent, let computed): return "The frame's BCC is \(sent), its bytes give \(computed): it was damaged on the line."
        case .tooLong(let count): return "\(count) bytes of data are more than one frame carries (\(DatecsFraming.maximumData))."
        case .invalidData(let index): return "Data byte \(index) is a control character the protocol cannot carry (only TAB is allowed)."
        case .invalidSequence(let sequence): return "SEQ \(sequence) is outside 20h…FFh."
        }
    }
}
