import Raster

/// A roll of paper: fixed width in dots, growing downwards. 1 = a burnt (black) dot.
///
/// The storage grows by doubling (rows are zero-filled in bulk), so a roll of any length costs time linear in its length:
/// growing it one text line at a time used to reallocate and copy the whole roll per line.
struct Canvas {
    /// The longest roll the virtual printer draws: 50,000 dot rows (6.25 m at 203 dpi; 28.8 MB for 576 dots). Beyond it
    /// nothing more is drawn and `clipped` is set; the text preview goes on.
    static let defaultMaxHeight = 50_000

    let width: Int
    let maxHeight: Int
    private(set) var height = 0
    /// Set when something was to be drawn below `maxHeight`.
    private(set) var clipped = false
    /// `allocatedRows * width` bytes; only the first `height` rows are paper.
    private var dots: [UInt8] = []
    /// False for a printer that only keeps the text preview: the roll's height is tracked, no dot is stored.
    let storesDots: Bool

    init(width: Int, storesDots: Bool = true, maxHeight: Int = Canvas.defaultMaxHeight) {
        self.width = width
        self.storesDots = storesDots
        self.maxHeight = max(1, maxHeight)
    }

    mutating func ensureHeight(_ rows: Int) {
        guard rows > height else { return }
        guard !storesDots || rows <= maxHeight else {
            clipped = true
            return ensureHeight(maxHeight)
        }
        height = rows
        guard storesDots, width > 0 else { return }
        let needed = rows * width
        guard needed > dots.count else { return }
        let target = max(needed, dots.count * 2, 64 * width)
        dots.reserveCapacity(target)
        dots.append(contentsOf: [UInt8](repeating: 0, count: target - dots.count))
    }

    mutating func set(_ x: Int, _ y: Int, _ value: Bool = true) {
        guard x >= 0, x < width, y >= 0 else { return }
        ensureHeight(y + 1)
        guard y < height else { return }
        guard storesDots else { return }
        dots[y * width + x] = value ? 1 : 0
    }

    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ value: Bool = true) {
        guard w > 0, h > 0, y < Int.max - h else { return }
        ensureHeight(y + h)
        guard storesDots else { return }
        let left = max(0, x), right = min(width, x + w)
        let top = max(0, y), bottom = min(height, y + h)
        guard left < right, top < bottom else { return }
        let byte: UInt8 = value ? 1 : 0
        dots.withUnsafeMutableBufferPointer { buffer in
            for yy in top..<bottom {
                let row = yy * width
                for xx in left..<right { buffer[row + xx] = byte }
            }
        }
    }

    func gray() -> GrayImage {
        guard height > 0, storesDots else { return GrayImage(width: width, height: max(1, height), pixels: Array(repeating: 255, count: width * max(1, height))) }
        var pixels = [UInt8](repeating: 255, count: width * height)
        dots.withUnsafeBufferPointer { source in
            for index in 0..<(width * height) where source[index] == 1 { pixels[index] = 0 }
        }
        return GrayImage(width: width, height: height, pixels: pixels)
    }
}
