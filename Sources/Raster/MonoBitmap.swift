/// A 1-bit image in printer raster order: rows of `bytesPerRow` bytes, most significant bit leftmost, 1 = black.
public struct MonoBitmap: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var bytesPerRow: Int { (width + 7) / 8 }
    public var bytes: [UInt8]

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        bytes = Array(repeating: 0, count: ((width + 7) / 8) * height)
    }

    /// Wraps raster bytes as they appear in `GS v 0`.
    public init(width: Int, height: Int, bytes: [UInt8]) {
        precondition(bytes.count == ((width + 7) / 8) * height, "raster byte count must match size")
        self.width = width
        self.height = height
        self.bytes = bytes
    }

    public subscript(x: Int, y: Int) -> Bool {
        get { bytes[y * bytesPerRow + x >> 3] & (0x80 >> UInt8(x & 7)) != 0 }
        set {
            let mask: UInt8 = 0x80 >> UInt8(x & 7)
            if newValue { bytes[y * bytesPerRow + x >> 3] |= mask } else { bytes[y * bytesPerRow + x >> 3] &= ~mask }
        }
    }

    /// Rows `start..<end` as a new bitmap (for banding tall images).
    public func rows(_ range: Range<Int>) -> MonoBitmap {
        MonoBitmap(width: width, height: range.count,
                   bytes: Array(bytes[range.lowerBound * bytesPerRow..<range.upperBound * bytesPerRow]))
    }

    /// Number of black pixels.
    public var blackCount: Int { bytes.reduce(0) { $0 + $1.nonzeroBitCount } }
}
