/// The CleanCash control unit's serial framing (Docs/fiscal-devices.md; `../shared/reference/fiscal.md` §1.8, as read
/// from Odoo's LGPL driver — the vendor's document is not public):
///
///     #!#LLL#message#CC<CR>
///
/// `LLL` is the frame's whole length, 11 + the message's, in three upper-case hex digits; `message` is `#`-separated
/// ASCII fields, the first its type (`SIQ`, `SIR`, `NAK` …); `CC` is the XOR of every byte from the first `#` through
/// the `#` after the message, in two upper-case hex digits. There is no escaping, so a field never holds `#` or CR.
/// Pure: bytes in, fields out.
public enum CleanCashFraming {
    /// The longest frame `LLL` can describe.
    public static let maximumFrameLength = 0xFFF
    static let start: [UInt8] = Array("#!#".utf8)
    static let carriageReturn: UInt8 = 0x0D
    static let separator = UInt8(ascii: "#")

    /// A frame for `fields` (the type first).
    public static func encode(_ fields: [String]) throws(CleanCashFrameError) -> [UInt8] {
        guard let type = fields.first, !type.isEmpty else { throw .malformed("a message needs its type as the first field") }
        var message: [UInt8] = []
        for (index, field) in fields.enumerated() {
            let bytes = Array(field.utf8)
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != separator }) else { throw .invalidField(index: index) }
            if index > 0 { message.append(separator) }
            message += bytes
        }
        let length = 11 + message.count
        guard length <= maximumFrameLength else { throw .tooLong(length) }
        let body = start + hex(length, digits: 3) + [separator] + message + [separator]
        return body + hex(Int(checksum(body)), digits: 2) + [carriageReturn]
    }

    /// The fields of one whole frame (from `#!#` through its CR), every part checked.
    public static func decode(_ frame: [UInt8]) throws(CleanCashFrameError) -> [String] {
        guard frame.count >= 12, Array(frame.prefix(3)) == start, frame.last == carriageReturn else {
            throw .malformed("a frame is #!#LLL#message#CC and a carriage return")
        }
        guard let declared = value(frame[3..<6]), frame[6] == separator else { throw .malformed("the length is not three hex digits") }
        guard declared == frame.count else { throw .lengthMismatch(declared: declared, actual: frame.count) }
        let checksumStart = frame.count - 3
        guard frame[checksumStart - 1] == separator, let sent = value(frame[checksumStart..<(checksumStart + 2)]) else {
            throw .malformed("the checksum is not two hex digits after a #")
        }
        let computed = checksum(frame[..<checksumStart])
        guard sent == Int(computed) else { throw .checksumMismatch(sent: UInt8(sent), computed: computed) }
        let message = frame[7..<(checksumStart - 1)]
        guard message.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { throw .malformed("the message is not printable ASCII") }
        let fields = message.split(separator: separator, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard let type = fields.first, !type.isEmpty else { throw .malformed("the message has no type") }
        return fields
    }

    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt8 { bytes.reduce(0, ^) }

    static func hex(_ value: Int, digits: Int) -> [UInt8] {
        let text = String(value, radix: 16, uppercase: true)
        return Array((String(repeating: "0", count: max(0, digits - text.count)) + text).utf8)
    }

    /// Upper-case hex only (as the unit writes it).
    static func value(_ digits: ArraySlice<UInt8>) -> Int? {
        var result = 0
        for digit in digits {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): result = result * 16 + Int(digit - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "F"): result = result * 16 + Int(digit - UInt8(ascii: "A")) + 10
            default: return nil
            }
        }
        return result
    }
}

/// Why bytes are not a CleanCash frame. The codes are documented in Docs/fiscal-devices.md.
public enum CleanCashFrameError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case lengthMismatch(declared: Int, actual: Int)
    case checksumMismatch(sent: UInt8, computed: UInt8)
    case tooLong(Int)
    case invalidField(index: Int)

    public var code: String {
        switch self {
        case .malformed: return "CU_FRAME_MALFORMED"
        case .lengthMismatch: return "CU_FRAME_LENGTH"
        case .checksumMismatch: return "CU_FRAME_CHECKSUM"
        case .tooLong: return "CU_FRAME_TOO_LONG"
        case .invalidField: return "CU_FIELD_INVALID"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let why): return "Not a control-unit frame: \(why)."
        case .lengthMismatch(let declared, let actual): return "The frame says it is \(declared) bytes long but is \(actual)."
        case .checksumMismatch(let sent, let computed):
            return "The frame's checksum is \(String(sent, radix: 16, uppercase: true)), its bytes give \(String(computed, radix: 16, uppercase: true)): it was damaged on the line."
        case .tooLong(let length): return "A frame of \(length) bytes is longer than the protocol allows (\(CleanCashFraming.maximumFrameLength))."
        case .invalidField(let index): return "Field \(index) holds a character the protocol cannot carry (only printable ASCII without #)."
        }
    }
}

/// Frames out of a byte stream that may be cut anywhere and may carry noise: bytes before `#!#` are skipped (and
/// counted), a frame ends at its CR, and a damaged frame is reported and skipped so the next one is still found.
public struct CleanCashFrameDecoder: Sendable {
    public enum Event: Equatable, Sendable {
        case frame([String])
        case damaged(CleanCashFrameError)
    }

    private var buffer: [UInt8] = []
    /// Bytes dropped while looking for the start of a frame.
    public private(set) var skipped = 0

    public init() {}

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        buffer += bytes
        var events: [Event] = []
        while true {
            // Find the start; keep a partial "#" or "#!" at the end, it may be one.
            guard let start = startIndex() else {
                let keep = buffer.suffix(2).elementsEqual([0x23, 0x21]) ? 2 : (buffer.last == 0x23 ? 1 : 0)
                skipped += buffer.count - keep
                buffer.removeFirst(buffer.count - keep)
                return events
            }
            skipped += start
            buffer.removeFirst(start)
            guard let end = buffer.firstIndex(of: CleanCashFraming.carriageReturn) else {
                if buffer.count > CleanCashFraming.maximumFrameLength {
                    events.append(.damaged(.tooLong(buffer.count)))
                    buffer.removeFirst(1)  // resynchronise just after this start (starts may overlap: "#!#!#")
                    continue
                }
                return events
            }
            guard end < CleanCashFraming.maximumFrameLength else {
                events.append(.damaged(.tooLong(end + 1)))
                buffer.removeFirst(1)
                continue
            }
            let frame = Array(buffer[...end])
            do {
                events.append(.frame(try CleanCashFraming.decode(frame)))
                buffer.removeFirst(end + 1)
            } catch {
                events.append(.damaged(error))
                // A damaged frame may hide the start of the next one, even overlapping it ("#!" noise before
                // "#!#…"): look again from the next byte.
                buffer.removeFirst(1)
            }
        }
    }

    private func startIndex() -> Int? {
        guard buffer.count >= 3 else { return nil }
        for index in 0...(buffer.count - 3) where buffer[index] == 0x23 && buffer[index + 1] == 0x21 && buffer[index + 2] == 0x23 {
            return index
        }
        return nil
    }
}
