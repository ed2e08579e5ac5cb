internal import CJPEG
import Raster
import Synchronization

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
        let decoded = try decodeGray(data, concurrently: false) { pixels, width, height, ready in
            ready(height - 1) ? Array(UnsafeBufferPointer(start: pixels, count: width * height)) : []
        }
        return GrayImage(width: decoded.width, height: decoded.height, pixels: decoded.result)
    }

    /// Decodes on a second thread while `consume` runs on this one and reads the rows as they arrive: `ready(y)` waits
    /// until rows 0...y are decoded and is false when decoding failed (then `consume`'s work is dropped and the error
    /// thrown). The two overlap: a receipt is dithered while it is still being decoded. Without a second thread, the
    /// image is decoded first and `consume` runs after.
    public static func decodeGray<Result>(
        _ data: [UInt8], concurrently: Bool = true,
        following consume: (_ pixels: UnsafePointer<UInt8>, _ width: Int, _ height: Int, _ ready: (Int) -> Bool) -> Result
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
            if concurrently, hasSecondCore, let helper = DecodeHelper.shared, helper.start(decode) {
                let result = consume(decode.pixels, width, height) { y in decode.wait(forRow: y) }
                helper.finish()
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
final class Decode: @unchecked Sendable {
    let width: Int
    let height: Int
    let pixels: UnsafeMutablePointer<UInt8>
    let progress: OpaquePointer?
    var source = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    var message = [CChar](repeating: 0, count: 256)
    var status: Int32 = -1

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = .allocate(capacity: width * height)
        pixels.initialize(repeating: 255, count: width * height)
        progress = kassa_jpeg_progress_new()
    }

    func release() {
        pixels.deallocate()
        kassa_jpeg_progress_free(progress)
    }

    func run() {
        status = message.withUnsafeMutableBufferPointer { text in
            kassa_jpeg_decode_gray(source.baseAddress, UInt(source.count), pixels, Int32(width), Int32(height), progress,
                                   text.baseAddress, text.count)
        }
    }

    /// Waits until row `y` is decoded (a short spin, then a condition variable); false when decoding failed.
    func wait(forRow y: Int) -> Bool { kassa_jpeg_wait_rows(progress, y) == 1 }
}

/// The thread that decodes while the caller reads, kept between images: starting a thread (and waking an idle core)
/// per receipt costs a varying tenth of a millisecond or more. After a decode it spins briefly (200,000 checks) for
/// the next one (a burst of receipts), then sleeps on a condition variable. One image at a time: a caller that finds
/// it busy decodes on its own thread first.
final class DecodeHelper: @unchecked Sendable {
    static let shared: DecodeHelper? = {
        let helper = DecodeHelper()
        var thread = pthread_t()
        let context = Unmanaged.passRetained(helper).toOpaque()
        guard pthread_create(&thread, nil, { context in
            Unmanaged<DecodeHelper>.fromOpaque(context!).takeUnretainedValue().serve()
            return nil
        }, context) == 0 else {
            Unmanaged<DecodeHelper>.fromOpaque(context).release()
            return nil
        }
        pthread_detach(thread)
        return helper
    }()

    // Allocated, not stored properties: a pthread object must not move, and `&property` promises no fixed address.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let owner = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var job: Decode?
    /// 0 idle, 1 a decode is waiting, 2 it is done.
    private let state = Atomic<Int>(0)

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        pthread_mutex_init(owner, nil)
    }

    /// Hands `decode` over; false when another image is being decoded here.
    func start(_ decode: Decode) -> Bool {
        guard pthread_mutex_trylock(owner) == 0 else { return false }
        pthread_mutex_lock(mutex)
        job = decode
        state.store(1, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
        return true
    }

    /// Waits for the handed decode to end (its status and message are then visible) and frees the helper.
    func finish() {
        pthread_mutex_lock(mutex)
        while state.load(ordering: .sequentiallyConsistent) != 2 { pthread_cond_wait(condition, mutex) }
        state.store(0, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
        pthread_mutex_unlock(owner)
    }

    private func serve() {
        while true {
            // A short spin, then sleep until a decode is handed over.
            var spins = 0
            while state.load(ordering: .acquiring) != 1, spins < 200_000 { spins += 1 }
            pthread_mutex_lock(mutex)
            while state.load(ordering: .sequentiallyConsistent) != 1 { pthread_cond_wait(condition, mutex) }
            let decode = job
            job = nil
            pthread_mutex_unlock(mutex)
            decode?.run()
            pthread_mutex_lock(mutex)
            state.store(2, ordering: .sequentiallyConsistent)
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
    }
}
