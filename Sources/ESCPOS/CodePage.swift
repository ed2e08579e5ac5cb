/// A single-byte character table: ASCII in the lower half, the named encoding in 0x80...0xFF.
public final class CodePage: Sendable, Equatable, Hashable {
    public let name: String
    /// Scalars for bytes 0x80...0xFF (U+FFFD where the byte is undefined).
    public let upperHalf: [Unicode.Scalar]
    /// Byte for scalars below `directLimit` (0 = not on this page): Latin, Greek, Cyrillic, Hebrew, Arabic.
    private let direct: [UInt8]
    /// Byte for the rest (€, box drawing, …).
    private let reverse: [UInt32: UInt8]
    private static let directLimit: UInt32 = 0x800

    init(name: String, upperHalf: [Unicode.Scalar]) {
        self.name = name
        self.upperHalf = upperHalf
        var direct = [UInt8](repeating: 0, count: Int(Self.directLimit))
        var reverse: [UInt32: UInt8] = [:]
        for (index, scalar) in upperHalf.enumerated().reversed() where scalar.value != 0xFFFD {
            // Reversed, so the lowest byte wins when a page has a character twice.
            if scalar.value < Self.directLimit {
                direct[Int(scalar.value)] = UInt8(0x80 + index)
            } else {
                reverse[scalar.value] = UInt8(0x80 + index)
            }
        }
        self.direct = direct
        self.reverse = reverse
    }

    public static func == (lhs: CodePage, rhs: CodePage) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    private static let all: [String: CodePage] = {
        var result: [String: CodePage] = [:]
        for (name, text) in CodePageTables.upperHalves {
            result[name] = CodePage(name: name, upperHalf: Array(text.unicodeScalars))
        }
        return result
    }()

    /// The table for an encoding name as used by escpos-printer-db (`CP858`, `ISO_8859-2`, …).
    /// Accepts common spellings such as `cp858`, `ISO-8859-2`, `iso8859-15`.
    public static func named(_ name: String) -> CodePage? {
        if let page = all[name] { return page }
        let wanted = normalise(name)
        return all.first { normalise($0.key) == wanted }?.value
    }

    /// Every encoding this module can encode to.
    public static var allNames: [String] { all.keys.sorted() }

    private static func normalise(_ name: String) -> String {
        String(name.uppercased().filter { $0.isLetter || $0.isNumber })
    }

    /// The byte for `scalar`, or nil when the page cannot print it.
    public func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = scalar.value
        if value < 0x80 { return UInt8(value) }
        if value < Self.directLimit {
            let byte = direct[Int(value)]
            return byte == 0 ? nil : byte
        }
        return reverse[value]
    }

    /// The character a byte prints as.
    public func scalar(for byte: UInt8) -> Unicode.Scalar {
        byte < 0x80 ? Unicode.Scalar(byte) : upperHalf[Int(byte) - 0x80]
    }
}
