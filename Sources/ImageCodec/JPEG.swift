internal import CJPEG
import Raster

#if canImport(Glibc)
import Glibc
#endif

/// JPEG decoding through libjpeg-turbo's libjpeg API (Debian `libjpeg-dev`, behind the `CJPEG` C target). Strict: a
/// warning about damage (a truncated or corrupt stream, which libjpeg would fill with grey) is an error, progressive
/// images are limited to 500 scans, a stream must end with its end-of-image marker, and the size is checked from the
/// header before anything is allocated.
public enum JPEG {
    /// Starts with the SOI marker and a marker after it.
    public static func isJPEG(_ data: [UInt8]) -> Bool {
        data.count >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF
    }

    /// The size in the header, without decoding the image.
    public static func size(_ data: [UInt8]) throws(ImageCodecError) -> (width: Int, height: Int) {
        guard isJPEG(data) else { throw .jpeg("the data does not start with a JPEG marker") }
        guard data.count <= Int(UInt32.max) else { throw .jpeg("the data is larger than 4 GiB") }
        var width: Int32 = 0
        var height: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let result = data.withUnsafeBufferPointer { buffer in
            kassa_jpeg_size(buffer.baseAddress, UInt(buffer.count), &width, &height, &message, message.count)
        }
        guard result == 0 else { throw .jpeg(text(message)) }
        guard width > 0, height > 0 else { throw .jpeg("the JPEG header gives no size") }
        return (Int(width), Int(height))
    }

    /// Decodes to 8-bit luminance (0 black, 255 white): the Y channel of a colour JPEG (ITU-R BT.601 weights, as
    /// Pillow's `convert("L")`), or the grey of a greyscale one.
    public static func decodeGray(_ data: [UInt8]) throws(ImageCodecError) -> GrayImage {
        let decoded = try decodeGray(data) { pixels, width, height, ready in
            ready(height - 1) ? Array(UnsafeBufferPointer(start: pixels, count: width * height)) : []
        }
        return GrayImage(width: decoded.width, height: decoded.height, pixels: decoded.result)
    }

    /// Decodes on a second thread while `consume` runs on this one and reads the rows as they arrive: `ready(y)` waits
    /// until rows 0...y are decoded and is false when decoding failed (then `consume`'s work is dropped and the error
    /// thrown). The two overlap: a receipt is dithered while it is still being decoded. Without a second thread, the
    /// image is decoded first and `consume` runs after.
    public static func decodeGray<Result>(
        _ data: [UInt8], following consume: (_ pixels: UnsafePointer<UInt8>, _ width: Int, _ height: Int, _ ready: (Int) -> Bool) -> Result
    ) throws(ImageCodecError) -> (width: Int, height: Int, result: Result) {
        let (width, height) = try size(data)
        guard ImageCodec.acceptable(width: width, height: height) else { throw .tooLarge(width: width, height: height) }
        // libjpeg pads a cut-off stream with grey and may not even warn: a JPEG must end with its end-of-image marker.
        guard data.suffix(2).elementsEqual([0xFF, 0xD9]) else {
            throw .jpeg("the JPEG ends early (no end-of-image marker): it was cut off on the way")
        }
        let decode = Decode(width: width, height: height)
        defer { decode.release() }
        let result: Result = data.withUnsafeBufferPointer { source in
            decode.source = source
            if hasSecondCore, decode.startThread() {
                let result = consume(decode.pixels, width, height) { y in decode.wait(forRow: y) }
                decode.join()
                return result
            }
            decode.run()
            return consume(decode.pixels, width, height) { _ in decode.status == 0 }
        }
        guard decode.status == 0 else { throw .jpeg(text(decode.message)) }
        return (width, height, result)
    }

    static let hasSecondCore = sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1

    fileprivate static func text(_ message: [CChar]) -> String {
        let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return text.isEmpty ? "libjpeg could not decode the image" : text
    }
}

/// One decode, shared by the decoding thread and the reader: the pixels, the published row count and the outcome.
private final class Decode: @unchecked Sendable {
    let width: Int
    let height: Int
    let pixels: UnsafeMutablePointer<UInt8>
    let rows: UnsafeMutablePointer<Int>
    var source = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    var message = [CChar](repeating: 0, count: 256)
    var status: Int32 = -1
    private var thread = pthread_t()

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = .allocate(capacity: width * height)
        pixels.initialize(repeating: 255, count: width * height)
        rows = .allocate(capacity: 1)
        rows.initialize(to: 0)
    }

    func release() {
        pixels.deallocate()
        rows.deallocate()
    }

    func run() {
        status = message.withUnsafeMutableBufferPointer { text in
            kassa_jpeg_decode_gray(source.baseAddress, UInt(source.count), pixels, Int32(width), Int32(height), rows,
                                   text.baseAddress, text.count)
        }
    }

    func startThread() -> Bool {
        let context = Unmanaged.passRetained(self).toOpaque()
        let started = pthread_create(&thread, nil, { context in
            let decode = Unmanaged<Decode>.fromOpaque(context!).takeRetainedValue()
            decode.run()
            return nil
        }, context) == 0
        if !started { Unmanaged<Decode>.fromOpaque(context).release() }
        return started
    }

    /// Joining is what makes `status` and `message` visible here.
    func join() { pthread_join(thread, nil) }

    /// Waits until row `y` is decoded: a short spin (decoding a row takes about a microsecond), then yielding.
    func wait(forRow y: Int) -> Bool {
        var spins = 0
        while true {
            let ready = kassa_jpeg_rows_ready(rows)
            if ready < 0 { return false }
            if ready > y { return true }
            spins += 1
            if spins > 64 { sched_yield() }
        }
    }
}
