/// Text attributes that ESC/POS can switch.
public struct TextStyle: Sendable, Equatable, Hashable, Codable {
    public enum Font: String, Sendable, Codable, CaseIterable { case a, b }
    public enum Underline: UInt8, Sendable, Codable { case none = 0, single = 1, double = 2 }

    public var bold: Bool
    public var underline: Underline
    /// Character width multiplier, 1...8.
    public var width: Int
    /// Character height multiplier, 1...8.
    public var height: Int
    public var reverse: Bool
    public var font: Font

    public init(
        bold: Bool = false, underline: Underline = .none, width: Int = 1, height: Int = 1, reverse: Bool = false,
        font: Font = .a
    ) {
        self.bold = bold
        self.underline = underline
        self.width = min(8, max(1, width))
        self.height = min(8, max(1, height))
        self.reverse = reverse
        self.font = font
    }

    public static let normal = TextStyle()
}

public enum Alignment: UInt8, Sendable, CaseIterable {
    case left = 0, center = 1, right = 2

    public var name: String { ["left", "center", "right"][Int(rawValue)] }
}

extension Alignment: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        switch text.lowercased() {
        case "left": self = .left
        case "center", "centre": self = .center
        case "right": self = .right
        default:
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "alignment is \"left\", \"center\" or \"right\", not \"\(text)\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

public enum CutKind: Sendable, Equatable, Codable {
    case full, partial
}

public enum DrawerPin: UInt8, Sendable, Codable {
    /// Connector pin 2 (`m = 0`), the usual first drawer.
    case pin2 = 0
    /// Connector pin 5 (`m = 1`), the second drawer.
    case pin5 = 1
}

/// One ESC/POS command. `bytes` is the exact wire form; every case names its mnemonic.
public enum Command: Sendable, Equatable {
    /// `ESC @` — clears the buffer and resets modes (and the code page).
    case initialize
    /// `FS .` — leaves Kanji/Chinese double-byte mode.
    case cancelKanjiMode
    /// `ESC E n`
    case bold(Bool)
    /// `ESC - n` (0, 1 or 2 dots)
    case underline(TextStyle.Underline)
    /// `GS ! n` — width and height multipliers 1...8.
    case characterSize(width: Int, height: Int)
    /// `GS B n`
    case reverse(Bool)
    /// `ESC M n`
    case font(TextStyle.Font)
    /// `ESC a n`
    case align(Alignment)
    /// `ESC 2`
    case defaultLineSpacing
    /// `ESC 3 n` — line spacing in motion units.
    case lineSpacing(UInt8)
    /// `ESC $ nL nH` — move to an absolute position on the line, in motion units (dots).
    case absolutePosition(Int)
    /// `LF`
    case lineFeed
    /// `ESC d n` — print and feed n lines.
    case feedLines(UInt8)
    /// `ESC J n` — print and feed n dots.
    case feedDots(UInt8)
    /// `GS V 0` / `GS V 1` — cut without feeding.
    case cut(CutKind)
    /// `GS V 65 n` / `GS V 66 n` — feed to the cutter plus n units, then cut.
    case feedAndCut(CutKind, feed: UInt8)
    /// `ESC t n` — select code-page slot n.
    case selectCodePage(UInt8)
    /// `ESC GS t n` — Star printers' code-page selection.
    case selectCodePageStar(UInt8)
    /// `ESC B n t` — sound the buzzer n times for t × 50 ms.
    case beep(times: UInt8, duration: UInt8)
    /// `ESC p m t1 t2` — drawer kick: on for t1 × 2 ms, off for t2 × 2 ms. Always the 5-byte form.
    case drawerPulse(DrawerPin, on: UInt8, off: UInt8)
    /// `DLE EOT n` — real-time status, n = 1...4.
    case statusRequest(StatusQuery)
    /// `GS ( D` — disable (`false`) or enable real-time command `DLE DC4 fn 1` (pulse).
    case realtimePulseCommand(enabled: Bool)
    /// `GS H n` — HRI text position.
    case barcodeHRIPosition(BarcodeOptions.HRIPosition)
    /// `GS f n` — HRI font.
    case barcodeHRIFont(TextStyle.Font)
    /// `GS h n` — bar height in dots.
    case barcodeHeight(UInt8)
    /// `GS w n` — module width 2...6.
    case barcodeModuleWidth(UInt8)
    /// `GS b n`: smoothing of enlarged characters on or off.
    case smoothing(Bool)
    /// `ESC { n`: upside-down (180°) printing on or off, from the next line.
    case upsideDown(Bool)
    /// Raw bytes already encoded (text, image data).
    case raw([UInt8])

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        append(to: &out)
        return out
    }

    public func append(to out: inout [UInt8]) {
        switch self {
        case .initialize: out.put(0x1B, 0x40)
        case .cancelKanjiMode: out.put(0x1C, 0x2E)
        case .bold(let on): out.put(0x1B, 0x45, on ? 1 : 0)
        case .underline(let kind): out.put(0x1B, 0x2D, kind.rawValue)
        case .characterSize(let width, let height):
            let w = UInt8(min(8, max(1, width)) - 1)
            let h = UInt8(min(8, max(1, height)) - 1)
            out.put(0x1D, 0x21, w << 4 | h)
        case .reverse(let on): out.put(0x1D, 0x42, on ? 1 : 0)
        case .font(let font): out.put(0x1B, 0x4D, font == .a ? 0 : 1)
        case .align(let alignment): out.put(0x1B, 0x61, alignment.rawValue)
        case .defaultLineSpacing: out.put(0x1B, 0x32)
        case .lineSpacing(let n): out.put(0x1B, 0x33, n)
        case .absolutePosition(let dots): out.put(0x1B, 0x24, UInt8(dots & 0xFF), UInt8((dots >> 8) & 0xFF))
        case .lineFeed: out.append(0x0A)
        case .feedLines(let n): out.put(0x1B, 0x64, n)
        case .feedDots(let n): out.put(0x1B, 0x4A, n)
        case .cut(let kind): out.put(0x1D, 0x56, kind == .full ? 0x00 : 0x01)
        case .feedAndCut(let kind, let feed): out.put(0x1D, 0x56, kind == .full ? 0x41 : 0x42, feed)
        case .selectCodePage(let slot): out.put(0x1B, 0x74, slot)
        case .selectCodePageStar(let slot): out.put(0x1B, 0x1D, 0x74, slot)
        case .beep(let times, let duration): out.put(0x1B, 0x42, times, duration)
        case .drawerPulse(let pin, let on, let off): out.put(0x1B, 0x70, pin.rawValue, on, off)
        case .statusRequest(let query): out.put(0x10, 0x04, query.rawValue)
        case .realtimePulseCommand(let enabled): out.put(0x1D, 0x28, 0x44, 0x03, 0x00, 0x14, 0x01, enabled ? 1 : 0)
        case .barcodeHRIPosition(let position): out.put(0x1D, 0x48, position.rawValue)
        case .barcodeHRIFont(let font): out.put(0x1D, 0x66, font == .a ? 0 : 1)
        case .barcodeHeight(let dots): out.put(0x1D, 0x68, dots)
        case .barcodeModuleWidth(let width): out.put(0x1D, 0x77, width)
        case .smoothing(let on): out.put(0x1D, 0x62, on ? 1 : 0)
        case .upsideDown(let on): out.put(0x1B, 0x7B, on ? 1 : 0)
        case .raw(let bytes): out += bytes
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends a few bytes without building a temporary array (commands are written thousands of times a second).
    @inline(__always)
    mutating func put(_ a: UInt8) { append(a) }
    @inline(__always)
    mutating func put(_ a: UInt8, _ b: UInt8) {
        append(a)
        append(b)
    }
    @inline(__always)
    mutating func put(_ a: UInt8, _ b: UInt8, _ c: UInt8) {
        append(a)
        append(b)
        append(c)
    }
    @inline(__always)
    mutating func put(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        append(a)
        append(b)
        append(c)
        append(d)
    }
    @inline(__always)
    mutating func put(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8) {
        put(a, b, c, d)
        append(e)
    }
    @inline(__always)
    mutating func put(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8, _ g: UInt8, _ h: UInt8) {
        put(a, b, c, d)
        put(e, f, g, h)
    }
}
