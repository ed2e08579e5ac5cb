import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
    /// Diffuses one row. `incomingRow` holds the errors (in sixteenths) spread into this row, at index x + 1 for pixel x;
    /// `outgoingRow` receives the row below's, every cell written (none accumulated), so it needs no clearing. Pixels
    /// `from..<to` only: the caller splits a row into chunks to wait for the row above between them, carrying `state`.
    ///
    /// The error coming into a pixel is kept in a register (the error to the right is the one step each pixel waits
    /// for), and each cell of the row below is written once, from two pending sums (cell x − 1 ends with
    /// e(x−2) + 5·e(x−1) + 3·e(x), written at pixel x). A white pixel receiving less than one level of error is
    /// skipped. The arithmetic cannot overflow (an error stays within ±255·16), so it wraps instead of checking.
    struct RowState {
        var incoming: Int32
        var pendingLeft: Int32 = 0
        var pendingBelow: Int32 = 0
        var spread: Int32 = 0
    }

    @inline(__always)
    static func diffuse(_ source: UnsafePointer<UInt8>, from: Int, to: Int, threshold: Int32, state: inout RowState,
                        incomingRow thisRow: UnsafeMutablePointer<Int32>, outgoingRow nextRow: UnsafeMutablePointer<Int32>,
                        target: UnsafeMutablePointer<UInt8>) {
        var incoming = state.incoming
        var pendingLeft = state.pendingLeft
        var pendingBelow = state.pendingBelow
        var spread = state.spread
        for x in from..<to {
            let above = thisRow[x &+ 2]
            let pixel = Int32(source[x])
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
                target[x &>> 3] |= 0x80 &>> UInt8(truncatingIfNeeded: x & 7)
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
        state = RowState(incoming: incoming, pendingLeft: pendingLeft, pendingBelow: pendingBelow, spread: spread)
    }

    /// Floyd–Steinberg error diffusion (7, 3, 5, 1 sixteenths; an error's sixteenths rounded toward zero), 1 = black.
    /// A white row receiving no error is skipped whole (most of a receipt is paper).
    @inline(__always)
    static func floydSteinberg(_ source: UnsafeBufferPointer<UInt8>, width: Int, height: Int, threshold: Int32,
                               into target: UnsafeMutableBufferPointer<UInt8>) {
        let rowBytes = (width + 7) / 8
        let raw = UnsafeRawPointer(source.baseAddress!)
        let rows = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * (width + 2))
        rows.initialize(repeating: 0, count: 2 * (width + 2))
        defer { rows.deallocate() }
        var thisRow = rows
        var nextRow = rows + (width + 2)
        // Whether `thisRow` holds any error (spread from the row above).
        var carried = false
        for y in 0..<height {
            let base = y &* width
            if !carried, isWhite(raw + base, count: width) { continue }
            var state = RowState(incoming: thisRow[1])
            diffuse(source.baseAddress! + base, from: 0, to: width, threshold: threshold, state: &state,
                    incomingRow: thisRow, outgoingRow: nextRow, target: target.baseAddress! + y &* rowBytes)
            nextRow[width] = state.pendingLeft
            nextRow[width &+ 1] = state.pendingBelow
            swap(&thisRow, &nextRow)
            carried = state.spread != 0
        }
    }

    /// The same diffusion on two threads, dot for dot: this thread takes the even rows, a second one the odd rows, each
    /// row trailing the one above by a chunk (a pixel needs the row above done up to two pixels to its right). Each
    /// thread publishes how far it has come after every chunk; the other waits for that (spinning, then yielding).
    /// Error rows live in a ring of four, indexed by row. A white row is skipped whole once the row above is known to
    /// have spread no error, so the result never depends on how the threads happened to run.
    static func floydSteinbergOnTwoThreads(_ source: UnsafeBufferPointer<UInt8>, width: Int, height: Int, threshold: Int32,
                                           into target: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        let shared = DiffusionShared(source: source, width: width, height: height, threshold: threshold, target: target)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(shared).toOpaque()
        guard pthread_create(&thread, nil, { context in
            let shared = Unmanaged<DiffusionShared>.fromOpaque(context!).takeRetainedValue()
            shared.run(parity: 1)
            return nil
        }, context) == 0 else {
            Unmanaged<DiffusionShared>.fromOpaque(context).release()
            return false
        }
        shared.run(parity: 0)
        pthread_join(thread, nil)
        return true
    }
}

/// What the two diffusing threads share: the image, the ring of error rows, each row's spread and each thread's
/// progress (row × stride + pixels done; a row's end is stride, which covers the tail cells).
final class DiffusionShared: @unchecked Sendable {
    static let chunk = 64
    let source: UnsafeBufferPointer<UInt8>
    let width: Int
    let height: Int
    let threshold: Int32
    let target: UnsafeMutableBufferPointer<UInt8>
    let stride: Int
    let errors: UnsafeMutablePointer<Int32>
    let spreads: UnsafeMutablePointer<Int32>
    let evenProgress = Atomic<Int>(-1)
    let oddProgress = Atomic<Int>(-1)

    init(source: UnsafeBufferPointer<UInt8>, width: Int, height: Int, threshold: Int32, target: UnsafeMutableBufferPointer<UInt8>) {
        self.source = source
        self.width = width
        self.height = height
        self.threshold = threshold
        self.target = target
        stride = width + 3
        errors = .allocate(capacity: 4 * (width + 2))
        errors.initialize(repeating: 0, count: 4 * (width + 2))
        spreads = .allocate(capacity: height)
        spreads.initialize(repeating: 0, count: height)
    }

    deinit {
        errors.deallocate()
        spreads.deallocate()
    }

    func errorRow(_ y: Int) -> UnsafeMutablePointer<Int32> { errors + (y & 3) * (width + 2) }

    func publish(_ parity: Int, _ value: Int) {
        if parity == 0 { evenProgress.store(value, ordering: .releasing) } else { oddProgress.store(value, ordering: .releasing) }
    }

    /// Waits until the other thread has reached `value`.
    func wait(for parity: Int, _ value: Int) {
        var spins = 0
        while (parity == 0 ? evenProgress.load(ordering: .acquiring) : oddProgress.load(ordering: .acquiring)) < value {
            spins += 1
            if spins > 256 { sched_yield() }
        }
    }

    func run(parity: Int) {
        let other = 1 - parity
        let rowBytes = (width + 7) / 8
        let raw = UnsafeRawPointer(source.baseAddress!)
        var y = parity
        while y < height {
            let thisRow = errorRow(y)
            let nextRow = errorRow(y + 1)
            let above = (y - 1) * stride
            let base = y * width
            if GrayImage.isWhite(raw + base, count: width) {
                // Skipped whole only when the row above spread nothing (then this row's incoming errors are all zero).
                if y > 0 { wait(for: other, above + stride) }
                if y == 0 || spreads[y - 1] == 0 {
                    nextRow.update(repeating: 0, count: width + 2)
                    spreads[y] = 0
                    publish(parity, y * stride + stride)
                    y += 2
                    continue
                }
            }
            // Pixels ..< to need the row above done up to to + 1 (its row end covers the last two cells).
            func needed(_ to: Int) -> Int { above + (to + 2 > width ? stride : to + 2) }
            if y > 0 { wait(for: other, needed(min(Self.chunk, width))) }
            var state = GrayImage.RowState(incoming: thisRow[1])
            var from = 0
            while from < width {
                let to = min(from + Self.chunk, width)
                if y > 0 { wait(for: other, needed(to)) }
                GrayImage.diffuse(source.baseAddress! + base, from: from, to: to, threshold: threshold, state: &state,
                                  incomingRow: thisRow, outgoingRow: nextRow, target: target.baseAddress! + y * rowBytes)
                from = to
                if from < width { publish(parity, y * stride + from) }
            }
            nextRow[width] = state.pendingLeft
            nextRow[width + 1] = state.pendingBelow
            spreads[y] = state.spread
            publish(parity, y * stride + stride)
            y += 2
        }
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
    /// From this many pixels on, Floyd–Steinberg runs on two threads (below it, starting one costs more than it saves).
    static let twoThreadPixels = 1 << 17
    static let hasSecondCore = sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1

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
                    // A large image on a machine with a second core: two threads, the same dots.
                    if width &* height >= Self.twoThreadPixels, Self.hasSecondCore,
                       Self.floydSteinbergOnTwoThreads(source, width: width, height: height, threshold: Int32(limit), into: target) {
                        break
                    }
                    // The usual threshold as a constant: one register more for the loop.
                    if limit == 128 {
                        Self.floydSteinberg(source, width: width, height: height, threshold: 128, into: target)
                    } else {
                        Self.floydSteinberg(source, width: width, height: height, threshold: Int32(limit), into: target)
                    }
                }
            }
        }
        return MonoBitmap(width: width, height: height, bytes: out)
    }
}
