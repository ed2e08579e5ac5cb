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

extension GrayImage {
    /// Whether `count` bytes from `start` are all 255 (white).
    static func isWhite(_ start: UnsafeRawPointer, count: Int) -> Bool {
        var offset = 0
        while offset &+ 8 <= count {
            if start.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != UInt64.max { return false }
            offset &+= 8
        }
        while offset < count {
            if start.load(fromByteOffset: offset, as: UInt8.self) != 255 { return false }
            offset &+= 1
        }
        return true
    }
}

extension GrayImage {
    /// Floyd–Steinberg on rows that are still arriving (an image being decoded by another thread): `ready(y)` waits
    /// until rows 0...y are there, and false from it stops the work (nil). The same dots as `monochrome(.floydSteinberg)`.
    public static func floydSteinbergFollowing(_ pixels: UnsafePointer<UInt8>, width: Int, height: Int, threshold: UInt8 = 128,
                                               ready: (Int) -> Bool) -> MonoBitmap? {
        let rowBytes = (width + 7) / 8
        var out = [UInt8](repeating: 0, count: rowBytes * height)
        guard width > 0, height > 0 else { return MonoBitmap(width: width, height: height, bytes: out) }
        let complete = out.withUnsafeMutableBufferPointer { target in
            floydSteinberg(pixels, width: width, height: height, threshold: Int32(threshold), into: target.baseAddress!, ready: ready)
        }
        return complete ? MonoBitmap(width: width, height: height, bytes: out) : nil
    }

    /// Floyd–Steinberg error diffusion (7, 3, 5, 1 sixteenths; an error's sixteenths rounded toward zero), 1 = black.
    /// Each row is waited for with `ready` first; false stops the work and is returned.
    ///
    /// Errors are kept in sixteenths. The error coming into a pixel is kept in a register (the error to the right is
    /// the one step each pixel waits for), and each cell of the row below is written once, from two pending sums (cell
    /// x ends with e(x−2) + 5·e(x−1) + 3·e(x)). A white pixel receiving less than one level of error is skipped, and so
    /// is a white row receiving none (most of a receipt is paper). The arithmetic cannot overflow (an error stays
    /// within ±255·16), so it wraps instead of checking.
    @inline(__always)
    @discardableResult
    static func floydSteinberg(_ source: UnsafePointer<UInt8>, width: Int, height: Int, threshold: Int32,
                               into target: UnsafeMutablePointer<UInt8>, ready: (Int) -> Bool = { _ in true }) -> Bool {
        let rowBytes = (width + 7) / 8
        let raw = UnsafeRawPointer(source)
        let rows = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * (width + 2))
        rows.initialize(repeating: 0, count: 2 * (width + 2))
        defer { rows.deallocate() }
        var thisRow = rows
        var nextRow = rows + (width + 2)
        // Whether `thisRow` holds any error (spread from the row above).
        var carried = false
        for y in 0..<height {
            guard ready(y) else { return false }
            let base = y &* width
            if !carried, isWhite(raw + base, count: width) { continue }
            let rowStart = y &* rowBytes
            var spread: Int32 = 0
            var incoming = thisRow[1]
            var pendingLeft: Int32 = 0
            var pendingBelow: Int32 = 0
            for x in 0..<width {
                let above = thisRow[x &+ 2]
                let pixel = Int32(source[base &+ x])
                // White, and less than one level of error coming in: it stays white, with no error to spread.
                if pixel == 255, UInt32(bitPattern: incoming &+ 15) < 31 {
                    nextRow[x] = pendingLeft
                    pendingLeft = pendingBelow
                    pendingBelow = 0
                    incoming = above
                    continue
                }
                let value = pixel &+ incoming / 16
                let error: Int32
                if value < threshold {
                    target[rowStart &+ (x &>> 3)] |= 0x80 &>> UInt8(truncatingIfNeeded: x & 7)
                    error = value
                } else {
                    error = value &- 255
                }
                incoming = above &+ error &* 7
                nextRow[x] = pendingLeft &+ error &* 3
                pendingLeft = pendingBelow &+ error &* 5
                pendingBelow = error
                spread |= error
            }
            nextRow[width] = pendingLeft
            nextRow[width &+ 1] = pendingBelow
            swap(&thisRow, &nextRow)
            carried = spread != 0
        }
        return true
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
        guard width > 0, height > 0 else { return MonoBitmap(width: width, height: height, bytes: out) }
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
                    // The usual threshold as a constant: one register more for the loop.
                    if limit == 128 {
                        Self.floydSteinberg(source.baseAddress!, width: width, height: height, threshold: 128, into: target.baseAddress!)
                    } else {
                        Self.floydSteinberg(source.baseAddress!, width: width, height: height, threshold: Int32(limit), into: target.baseAddress!)
                    }
                }
            }
        }
        return MonoBitmap(width: width, height: height, bytes: out)
    }
}
