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
        let rowBytes = (width + 7) / 8
        var out = [UInt8](repeating: 0, count: rowBytes * height)
        let limit = Int(threshold)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                switch dithering {
                case .threshold:
                    for y in 0..<height {
                        for x in 0..<width where Int(source[y * width + x]) < limit {
                            target[y * rowBytes + x >> 3] |= 0x80 >> UInt8(x & 7)
                        }
                    }
                case .floydSteinberg:
                    // Errors in 1/16 units for this row and the next, with one guard cell on each side.
                    var current = [Int32](repeating: 0, count: width + 2)
                    var next = [Int32](repeating: 0, count: width + 2)
                    current.withUnsafeMutableBufferPointer { currentBuffer in
                        next.withUnsafeMutableBufferPointer { nextBuffer in
                            var thisRow = currentBuffer
                            var nextRow = nextBuffer
                            for y in 0..<height {
                                let base = y * width
                                for x in 0..<width {
                                    let value = Int32(source[base + x]) + thisRow[x + 1] / 16
                                    let error: Int32
                                    if value < Int32(limit) {
                                        target[y * rowBytes + x >> 3] |= 0x80 >> UInt8(x & 7)
                                        error = value
                                    } else {
                                        error = value - 255
                                    }
                                    thisRow[x + 2] += error * 7
                                    nextRow[x] += error * 3
                                    nextRow[x + 1] += error * 5
                                    nextRow[x + 2] += error
                                }
                                swap(&thisRow, &nextRow)
                                for i in 0..<nextRow.count { nextRow[i] = 0 }
                            }
                        }
                    }
                }
            }
        }
        return MonoBitmap(width: width, height: height, bytes: out)
    }
}
