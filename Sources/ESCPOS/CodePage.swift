/// A single-byte character table: ASCII in the lower half, the named encoding in 0x80...0xFF.
public struct CodePage: Sendable, Equatable, Hashable {
    public let name: String
    /// Scalars for bytes 0x80...0xFF (U+FFFD where the byte is undefined).
    public let upperHalf: [Unicode.Scalar]
    private let reverse: [UInt32: UInt8]

    init(name: String, upperHalf: [Unicode.Scalar]) {
        self.name = name
        self.upperHalf = upperHalf
        var reverse: [UInt32: UInt8] = [:]
        for (index, scalar) in upperHalf.enumerated() where scalar.value != 0xFFFD && reverse[scalar.value] == nil {
            reverse[scalar.value] = UInt8(0x80 + index)
        }
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
        if scalar.value < 0x80 { return UInt8(scalar.value) }
        return reverse[scalar.value]
    }

    /// The character a byte prints as.
    public func scalar(for byte: UInt8) -> Unicode.Scalar {
        byte < 0x80 ? Unicode.Scalar(byte) : upperHalf[Int(byte) - 0x80]
    }
}
