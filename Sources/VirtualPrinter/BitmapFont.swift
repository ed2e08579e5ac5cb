/// A fixed-cell bitmap font read from a BDF file (the shipped fonts live in `Hardware/fonts/`).
public struct BitmapFont: Sendable {
    public struct Glyph: Sendable {
        public let width: Int
        public let height: Int
        public let xOffset: Int
        public let yOffset: Int
        /// One row per entry, most significant bit leftmost, `(width + 7) / 8` bytes per row.
        public let rows: [[UInt8]]

        public func isSet(_ x: Int, _ y: Int) -> Bool {
            guard y >= 0, y < rows.count, x >= 0, x < width else { return false }
            return rows[y][x >> 3] & (0x80 >> UInt8(x & 7)) != 0
        }
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case malformed(line: Int, reason: String)
        public var description: String {
            switch self {
            case .malformed(let line, let reason): return "BDF font line \(line): \(reason)"
            }
        }
    }

    public let cellWidth: Int
    public let cellHeight: Int
    public let ascent: Int
    public let glyphs: [UInt32: Glyph]

    public func glyph(for scalar: Unicode.Scalar) -> Glyph? { glyphs[scalar.value] }

    /// Parses the subset of BDF 2.1 that bitmap console fonts use.
    public init(bdf text: String) throws(ParseError) {
        var cellWidth = 0
        var cellHeight = 0
        var ascent = 0
        var boxYOffset = 0
        var glyphs: [UInt32: Glyph] = [:]
        var encoding: Int?
        var bbx = (w: 0, h: 0, x: 0, y: 0)
        var rows: [[UInt8]] = []
        var inBitmap = false
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingTrailingCR()
            if inBitmap {
                if line == "ENDCHAR" {
                    inBitmap = false
                    if let code = encoding, code >= 0 {
                        glyphs[UInt32(code)] = Glyph(width: bbx.w, height: bbx.h, xOffset: bbx.x, yOffset: bbx.y, rows: rows)
                    }
                    continue
                }
                var row: [UInt8] = []
                var chars = Substring(line)
                while chars.count >= 2 {
                    guard let byte = UInt8(chars.prefix(2), radix: 16) else {
                        throw .malformed(line: lineNumber, reason: "bitmap row '\(line)' is not hexadecimal")
                    }
                    row.append(byte)
                    chars = chars.dropFirst(2)
                }
                rows.append(row)
                continue
            }
            let fields = line.split(separator: " ")
            guard let keyword = fields.first else { continue }
            func ints() throws(ParseError) -> [Int] {
                var values: [Int] = []
                for field in fields.dropFirst() {
                    guard let value = Int(field) else {
                        throw .malformed(line: lineNumber, reason: "'\(field)' is not a number")
                    }
                    values.append(value)
                }
                return values
            }
            switch keyword {
            case "FONTBOUNDINGBOX":
                let v = try ints()
                guard v.count == 4 else { throw .malformed(line: lineNumber, reason: "FONTBOUNDINGBOX needs 4 numbers") }
                cellWidth = v[0]
                cellHeight = v[1]
                boxYOffset = v[3]
            case "FONT_ASCENT":
                ascent = try ints().first ?? 0
            case "STARTCHAR":
                encoding = nil
                rows = []
            case "ENCODING":
                encoding = try ints().first
            case "BBX":
                let v = try ints()
                guard v.count == 4 else { throw .malformed(line: lineNumber, reason: "BBX needs 4 numbers") }
                bbx = (v[0], v[1], v[2], v[3])
            case "BITMAP":
                inBitmap = true
            default:
                continue
            }
        }
        guard cellWidth > 0, cellHeight > 0, !glyphs.isEmpty else {
            throw .malformed(line: lineNumber, reason: "no FONTBOUNDINGBOX or no glyphs")
        }
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
        self.ascent = ascent > 0 ? ascent : cellHeight + boxYOffset
        self.glyphs = glyphs
    }
}

extension Substring {
    func trimmingTrailingCR() -> Substring {
        last == "\r" ? dropLast() : self
    }
}
