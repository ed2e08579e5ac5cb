/// Replies out of a byte stream that may be cut anywhere and carry noise: single NAK and SYN bytes between frames are
/// reported, other bytes before `01` are skipped (and counted), a frame's length comes from its LEN, and a damaged frame
/// is reported and skipped from its next byte so that a real frame behind it is still found.
public struct DatecsFrameDecoder: Sendable {
    public enum Event: Equatable, Sendable {
        case reply(DatecsReply)
        case nak
        case syn
        case damaged(DatecsFrameError)
    }

    private var buffer: [UInt8] = []
    public private(set) var skipped = 0

    public init() {}

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        buffer += bytes
        var events: [Event] = []
        var start = 0
        defer { buffer.removeFirst(start) }
        while start < buffer.count {
            switch buffer[start] {
            case DatecsFraming.nak:
                events.append(.nak)
                start += 1
                continue
            case DatecsFraming.syn:
                events.append(.syn)
                start += 1
                continue
            case DatecsFraming.preamble:
                break
            default:
                skipped += 1
                start += 1
                continue
            }
            guard buffer.count - start >= 5 else { return events }
            guard let length = DatecsFraming.value(buffer[(start + 1)..<(start + 5)]),
                  (0x20 + 19)...(0x20 + 19 + DatecsFraming.maximumData) ~= Int(length)
            else {
                events.append(.damaged(.malformed("LEN is not a reply's length")))
                start += 1
                continue
            }
            let total = 1 + (Int(length) - 0x20) + 4 + 1
            guard buffer.count - start >= total else { return events }
            do {
                events.append(.reply(try DatecsFraming.decodeReply(Array(buffer[start..<(start + total)]))))
                start += total
            } catch {
                events.append(.damaged(error))
                start += 1
            }
        }
        return events
    }
}
