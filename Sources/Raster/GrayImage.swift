/// An 8-bit greyscale image: 0 is black, 255 is white. Row-major, no padding.
public struct GrayImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height, "pixel count must match size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: UInt8 = 255) {
        self.init(width: width, height: height, pixels: Array(repeating: fill, count: width * height))
    }

    public subscript(x: Int, y: Int) -> UInt8 {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }

    /// Scales with area averaging (downscaling) or nearest neighbour (upscaling), keeping the aspect ratio.
    public func scaled(toWidth newWidth: Int) -> GrayImage {
        guard newWidth > 0, width > 0, height > 0, newWidth != width else { return self }
        let newHeight = max(1, (height * newWidth + width / 2) / width)
        var out = GrayImage(width: newWidth, height: newHeight)
        if newWidth > width {
            for y in 0..<newHeight {
                let sy = min(height - 1, y * height / newHeight)
                for x in 0..<newWidth {
                    out[x, y] = self[min(width - 1, x * width / newWidth), sy]
                }
            }
            return out
        }
        for y in 0..<newHeight {
            let y0 = y * height / newHeight
            let y1 = max(y0 + 1, (y + 1) * height / newHeight)
            for x in 0..<newWidth {
                let x0 = x * width / newWidth
                let x1 = max(x0 + 1, (x + 1) * width / newWidth)
                var sum = 0
                for yy in y0..<y1 {
                    for xx in x0..<x1 { sum += Int(self[xx, yy]) }
                }
                out[x, y] = UInt8(sum / ((y1 - y0) * (x1 - x0)))
            }
        }
        return out
    }
}

/// How greyscale becomes black and white.
public enum Dithering: String, Sendable, Codable, CaseIterable {
    /// Each pixel darker than the threshold is black.
    case threshold
    /// Floyd–Steinberg error diffusion: keeps photos and gradients recognisable.
    case floydSteinberg = "floyd-steinberg"
}

extension GrayImage {
    /// Converts to a 1-bit bitmap.
    public func monochrome(_ dithering: Dithering, threshold: UInt8 = 128) -> MonoBitmap {
        var bitmap = MonoBitmap(width: width, height: height)
        switch dithering {
        case .threshold:
            for y in 0..<height {
                for x in 0..<width where self[x, y] < threshold { bitmap[x, y] = true }
            }
        case .floydSteinberg:
            var current = [Int](repeating: 0, count: width + 2)
            var next = [Int](repeating: 0, count: width + 2)
            for y in 0..<height {
                for x in 0..<width {
                    let value = Int(self[x, y]) + current[x + 1] / 16
                    let black = value < Int(threshold)
                    if black { bitmap[x, y] = true }
                    let error = value - (black ? 0 : 255)
                    current[x + 2] += error * 7
                    next[x] += error * 3
                    next[x + 1] += error * 5
                    next[x + 2] += error * 1
                }
                swap(&current, &next)
                for i in next.indices { next[i] = 0 }
            }
        }
        return bitmap
    }
}
