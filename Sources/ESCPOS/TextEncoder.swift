import Foundation

/// Something the encoder could not print exactly as asked.
public struct EncodingWarning: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// No code page of the profile has the character; a replacement was printed.
        case unprintableCharacter = "unprintable-character"
        /// A feature the profile lacks was replaced by a fallback (e.g. QR printed as an image).
        case fallback
        /// Something was left out because the printer cannot do it at all.
        case skipped
    }

    public var kind: Kind
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Turns Unicode text into bytes using the code pages a profile declares, switching pages with `ESC t`
/// only when the next character needs it.
public struct TextEncoder: Sendable {
    public let pages: [(slot: UInt8, page: CodePage)]
    public let starCommands: Bool
    /// The slot the printer is known to be on, or nil after `ESC @` (unknown until selected).
    public private(set) var currentSlot: UInt8?
    public var replacement: UInt8 = 0x3F  // '?'
    public private(set) var warnings: [EncodingWarning] = []
    /// The page of `currentSlot`, kept beside it so the common case needs no search.
    private var currentPage: CodePage?

    public init(profile: PrinterProfile) {
        var pages = profile.usableCodePages
        if let preferred = profile.preferredCodePages {
            let order = Dictionary(uniqueKeysWithValues: preferred.enumerated().map { ($1.uppercased(), $0) })
            pages.sort { (order[$0.page.name.uppercased()] ?? Int.max, $0.slot) < (order[$1.page.name.uppercased()] ?? Int.max, $1.slot) }
        }
        if pages.isEmpty, let cp437 = CodePage.named("CP437") { pages = [(0, cp437)] }
        self.pages = pages
        self.starCommands = profile.features.starCommands
    }

    /// Forget the selected page (after `ESC @`, or a font change on clones that reset it).
    public mutating func reset() {
        currentSlot = nil
        currentPage = nil
    }

    /// The non-ASCII characters of the text around the run being encoded (a block's other lines), at most 64: a page is
    /// then chosen for the whole block, not line by line.
    public private(set) var hint: [Unicode.Scalar] = []

    public mutating func setHint(_ text: String?) {
        hint.removeAll(keepingCapacity: true)
        guard let text else { return }
        for scalar in text.unicodeScalars where scalar.value >= 0x80 {
            hint.append(scalar)
            if hint.count == 64 { break }
        }
    }

    /// Typographic characters that have a faithful ASCII spelling when no page has them.
    static let substitutes: [UInt32: String] = [
        0x2018: "'", 0x2019: "'", 0x201A: ",", 0x201C: "\"", 0x201D: "\"", 0x201E: "\"", 0x2013: "-", 0x2014: "-",
        0x2026: "...", 0x00A0: " ", 0x2022: "*", 0x2212: "-", 0x00AD: "-", 0x2009: " ", 0x202F: " ", 0x2032: "'",
    ]

    /// Encodes one run of text (no line breaks expected; control characters are replaced).
    /// Returns the number of columns printed (one per character byte; `ESC t` commands are not counted).
    @discardableResult
    public mutating func encode(_ text: String, into out: inout [UInt8]) -> Int {
        // Fast path: printable ASCII is the same byte on every code page.
        if Self.appendIfPrintableASCII(text, to: &out) { return text.utf8.count }
        if Self.needsComposition(text) {
            return encodeCharacters(text.precomposedStringWithCanonicalMapping, into: &out)
        }
        if let columns = encodeTwoByteLatin(text, into: &out) { return columns }
        return encodeCharacters(text, into: &out)
    }

    /// The usual non-ASCII case — printable ASCII plus two-byte UTF-8 letters (Latin, Greek, Cyrillic) that the
    /// current page has — decoded straight from UTF-8. Returns nil, having written nothing, when the text needs more
    /// (a page switch, a substitution, a warning): then the general path runs.
    private func encodeTwoByteLatin(_ text: String, into out: inout [UInt8]) -> Int? {
        guard let page = currentPage else { return nil }
        var copy = text
        let start = out.count
        let done: Bool = copy.withUTF8 { buffer in
            var index = 0
            while index < buffer.count {
                let lead = buffer[index]
                if lead >= 0x20 && lead < 0x7F {
                    out.append(lead)
                    index += 1
                    continue
                }
                guard lead & 0xE0 == 0xC0, index + 1 < buffer.count else { return false }
                let value = UInt32(lead & 0x1F) << 6 | UInt32(buffer[index + 1] & 0x3F)
                guard value >= 0xA0, let scalar = Unicode.Scalar(value), let byte = page.byte(for: scalar) else { return false }
                out.append(byte)
                index += 2
            }
            return true
        }
        guard done else {
            out.removeSubrange(start...)
            return nil
        }
        return out.count - start
    }

    /// One printed cell per character (grapheme cluster), as the layout counts columns: a character's first scalar is
    /// encoded, and the scalars that extend it (combining marks NFC could not fold, ZWJ sequences, variation selectors,
    /// skin tones) are not printed — with a warning of their own unless the whole character became '?'. So a family
    /// emoji prints one '?', not one per code point.
    private mutating func encodeCharacters(_ text: String, into out: inout [UInt8]) -> Int {
        let view = text.unicodeScalars
        let start = out.count
        var commandBytes = 0
        var index = view.startIndex
        while index != view.endIndex {
            let characterStart = index
            let end = text.index(after: index)
            let scalar = view[index]
            view.formIndex(after: &index)
            let before = out.count
            let warningsBefore = warnings.count
            commandBytes += encodeScalar(scalar, lookahead: view[index...], into: &out)
            guard index < end else { continue }
            let character = String(text[characterStart..<end])
            if out.count == before + 1, out.last == replacement, warnings.count > warningsBefore {
                warnings[warnings.count - 1].message = "'\(character)' is in none of the printer's code pages; printed as one '?'"
            } else {
                warnings.append(EncodingWarning(
                    kind: .unprintableCharacter,
                    message: "'\(character)': the marks joined to '\(Character(scalar))' cannot be printed and were left out"))
            }
            index = end
        }
        return out.count - start - commandBytes
    }

    /// Encodes one scalar (selecting a code page when needed); returns the bytes of page-selection commands written.
    private mutating func encodeScalar(_ scalar: Unicode.Scalar, lookahead: Substring.UnicodeScalarView, into out: inout [UInt8]) -> Int {
        if scalar.value >= 0x20 && scalar.value < 0x7F {
            out.append(UInt8(scalar.value))
            return 0
        }
        if scalar == "\t" {
            out.append(0x20)
            return 0
        }
        if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value) {
            out.append(replacement)
            warnings.append(EncodingWarning(
                kind: .unprintableCharacter,
                message: "control character U+\(hex(scalar.value)) in text was printed as '?'"))
            return 0
        }
        if let page = currentPage, let byte = page.byte(for: scalar) {
            out.append(byte)
            return 0
        }
        if let (slot, page) = choosePage(for: scalar, lookahead: lookahead) {
            let before = out.count
            select(slot, into: &out)
            let commandBytes = out.count - before
            out.append(page.byte(for: scalar)!)
            return commandBytes
        }
        if let substitute = Self.substitutes[scalar.value] {
            out.append(contentsOf: substitute.utf8)
            return 0
        }
        out.append(replacement)
        warnings.append(EncodingWarning(
            kind: .unprintableCharacter,
            message: "'\(Character(scalar))' (U+\(hex(scalar.value))) is in none of the printer's code pages "
                + "(\(pages.map(\.page.name).joined(separator: ", "))); printed as '?'"))
        return 0
    }

    /// Appends the text's bytes when they are all printable ASCII; returns false (appending nothing) otherwise.
    static func appendIfPrintableASCII(_ text: String, to out: inout [UInt8]) -> Bool {
        var text = text
        return text.withUTF8 { buffer in
            for byte in buffer where byte < 0x20 || byte >= 0x7F { return false }
            out.append(contentsOf: buffer)
            return true
        }
    }

    /// Whether the text holds combining marks that NFC could fold into precomposed letters.
    static func needsComposition(_ text: String) -> Bool {
        // Combining marks are encoded with lead bytes CC, CD, E1, E2 or EF; most text has none of them.
        var copy = text
        let candidate = copy.withUTF8 { buffer in
            buffer.contains { $0 == 0xCC || $0 == 0xCD || $0 == 0xE1 || $0 == 0xE2 || $0 == 0xEF }
        }
        guard candidate else { return false }
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0300...0x036F, 0x1AB0...0x1AFF, 0x1DC0...0x1DFF, 0x20D0...0x20FF, 0xFE20...0xFE2F: return true
            default: continue
            }
        }
        return false
    }

    /// Emits `ESC t` when `slot` is not already selected.
    public mutating func select(_ slot: UInt8, into out: inout [UInt8]) {
        guard currentSlot != slot else { return }
        (starCommands ? Command.selectCodePageStar(slot) : Command.selectCodePage(slot)).append(to: &out)
        currentSlot = slot
        currentPage = pages.first { $0.slot == slot }?.page
    }

    public mutating func drainWarnings() -> [EncodingWarning] {
        defer { warnings.removeAll() }
        return warnings
    }

    /// Among the pages that contain `scalar`, the one that also covers the longest run of the non-ASCII characters
    /// that follow, so one line needs as few `ESC t` as possible. Ties go to the profile's preference order.
    private func choosePage(
        for scalar: Unicode.Scalar, lookahead: Substring.UnicodeScalarView
    ) -> (UInt8, CodePage)? {
        var best: (UInt8, CodePage)?
        var bestRun = -1
        // The following non-ASCII characters, gathered once (not once per page).
        var upcoming: [Unicode.Scalar] = []
        for next in lookahead where next.value >= 0x80 {
            upcoming.append(next)
            if upcoming.count == 32 { break }
        }
        upcoming += hint
        for (slot, page) in pages where page.byte(for: scalar) != nil {
            var run = 0
            for next in upcoming {
                guard page.byte(for: next) != nil else { break }
                run += 1
            }
            if run > bestRun {
                best = (slot, page)
                bestRun = run
                if run == upcoming.count { break }  // cannot do better than covering everything
            }
        }
        return best
    }
}

func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
