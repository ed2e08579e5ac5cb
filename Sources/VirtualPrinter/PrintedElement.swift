import ESCPOS

/// A run of text printed in one style.
public struct TextRun: Sendable, Equatable {
    public var text: String
    public var style: TextStyle

    public init(text: String, style: TextStyle) {
        self.text = text
        self.style = style
    }
}

/// What the virtual printer read back from the byte stream, in paper order.
public enum PrintedElement: Sendable, Equatable {
    case line(runs: [TextRun], alignment: Alignment)
    case feed(dots: Int)
    case qrCode(data: [UInt8], moduleSize: Int, errorCorrection: UInt8, modules: Int)
    case barcode(symbology: String, text: String)
    case image(width: Int, height: Int)
    case storedLogo(key: String)
    case cut(partial: Bool)
    case drawerPulse(pin: Int, onMilliseconds: Int, offMilliseconds: Int)
    case beep(times: Int)

    /// The line's text when this is a text line.
    public var text: String? {
        if case .line(let runs, _) = self { return runs.map(\.text).joined() }
        return nil
    }
}
