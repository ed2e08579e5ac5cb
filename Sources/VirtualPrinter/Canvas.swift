import Raster

/// A roll of paper: fixed width in dots, growing downwards. 1 = a burnt (black) dot.
struct Canvas {
    let width: Int
    private(set) var height = 0
    private var dots: [UInt8] = []

    init(width: Int) { self.width = width }

    mutating func ensureHeight(_ rows: Int) {
        guard rows > height else { return }
        dots.append(contentsOf: repeatElement(0, count: (rows - height) * width))
        height = rows
    }

    mutating func set(_ x: Int, _ y: Int, _ value: Bool = true) {
        guard x >= 0, x < width, y >= 0 else { return }
        ensureHeight(y + 1)
        dots[y * width + x] = value ? 1 : 0
    }

    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ value: Bool = true) {
        guard w > 0, h > 0 else { return }
        ensureHeight(y + h)
        for yy in max(0, y)..<(y + h) {
            for xx in max(0, x)..<min(width, x + w) { dots[yy * width + xx] = value ? 1 : 0 }
        }
    }

    func gray() -> GrayImage {
        GrayImage(width: width, height: max(1, height), pixels: height == 0
            ? Array(repeating: 255, count: width) : dots.map { $0 == 1 ? 0 : 255 })
    }
}
