import Raster
import Testing

/// The Floyd–Steinberg diffusion (with its white-pixel and white-row shortcuts) against the plain textbook loop.
@Suite("Floyd–Steinberg: the fast diffusion matches the plain one dot for dot")
struct DitheringTests {
    /// The plain algorithm: errors in sixteenths, rounded toward zero, 7/3/5/1, threshold 128.
    static func reference(_ image: GrayImage) -> MonoBitmap {
        var bitmap = MonoBitmap(width: image.width, height: image.height)
        var current = [Int](repeating: 0, count: image.width + 2)
        var next = [Int](repeating: 0, count: image.width + 2)
        for y in 0..<image.height {
            for x in 0..<image.width {
                let value = Int(image[x, y]) + current[x + 1] / 16
                let error: Int
                if value < 128 {
                    bitmap[x, y] = true
                    error = value
                } else {
                    error = value - 255
                }
                current[x + 2] += error * 7
                next[x] += error * 3
                next[x + 1] += error * 5
                next[x + 2] += error
            }
            current = next
            next = [Int](repeating: 0, count: image.width + 2)
        }
        return bitmap
    }

    @Test("random images with white areas, near-white noise, whole white rows, odd sizes, one row, one column, large ones; rows arriving one by one",
          arguments: [(1, 1), (1, 9), (9, 1), (13, 7), (64, 40), (517, 61), (512, 300), (701, 257), (2, 70_000)])
    func matchesReference(size: (Int, Int)) {
        var random = SystemRandomNumberGenerator()
        for round in 0..<5 {
            var image = GrayImage(width: size.0, height: size.1)
            for y in 0..<size.1 {
                for x in 0..<size.0 {
                    switch (round, (x / 7 + y / 5) % 4) {
                    case (0, _): image[x, y] = UInt8.random(in: 0...255, using: &random)
                    // Bands of whole white rows (gaps where a large image's diffusion restarts) between dark ones.
                    case (4, _): image[x, y] = (y / 6) % 3 == 0 ? 255 : (y % 18 == 17 ? 250 : UInt8.random(in: 0...200, using: &random))
                    case (_, 0): image[x, y] = 255
                    case (_, 1): image[x, y] = UInt8.random(in: 250...255, using: &random)
                    case (_, 2): image[x, y] = UInt8.random(in: 0...255, using: &random)
                    default: image[x, y] = y % 3 == 0 ? 255 : UInt8.random(in: 100...160, using: &random)
                    }
                }
            }
            let fast = image.monochrome(.floydSteinberg).bytes
            let plain = Self.reference(image).bytes
            // Rows that arrive one by one (a JPEG being decoded) give the same dots; a failed arrival gives none.
            let following = image.pixels.withUnsafeBufferPointer { pixels in
                GrayImage.floydSteinbergFollowing(pixels.baseAddress!, width: size.0, height: size.1) { _ in true }
            }
            #expect(following?.bytes == plain, "\(size) round \(round): following")
            let stopped = image.pixels.withUnsafeBufferPointer { pixels in
                GrayImage.floydSteinbergFollowing(pixels.baseAddress!, width: size.0, height: size.1) { $0 < size.1 / 2 }
            }
            #expect(stopped == nil)
            let differing = zip(fast, plain).filter { $0 != $1 }.count
            #expect(fast.count == plain.count && differing == 0, "\(size) round \(round): \(differing) bytes differ, first at \(String(describing: fast.indices.first { fast[$0] != plain[$0] }))")
        }
    }
}
