internal import CTurboJPEG
import Raster

/// JPEG decoding through libjpeg-turbo's TurboJPEG API (Debian `libturbojpeg0-dev`). Strict: a warning about damage (a
/// truncated or corrupt stream, which libjpeg would fill with grey) is an error, progressive scans are limited, and the
/// size is checked from the header before anything is allocated.
public enum JPEG {
    /// Starts with the SOI marker and a marker after it.
    public static func isJPEG(_ data: [UInt8]) -> Bool {
        data.count >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF
    }

    /// The size in the header, without decoding the image.
    public static func size(_ data: [UInt8]) throws(ImageCodecError) -> (width: Int, height: Int) {
        guard isJPEG(data) else { throw .jpeg("the data does not start with a JPEG marker") }
        guard let handle = tjInitDecompress() else { throw .jpeg("libjpeg-turbo could not start a decompressor") }
        defer { tjDestroy(handle) }
        return try header(handle, data)
    }

    private static func header(_ handle: tjhandle, _ data: [UInt8]) throws(ImageCodecError) -> (width: Int, height: Int) {
        guard data.count <= Int(UInt32.max) else { throw .jpeg("the data is larger than 4 GiB") }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        let read = data.withUnsafeBufferPointer { buffer in
            tjDecompressHeader3(handle, buffer.baseAddress, UInt(buffer.count), &width, &height, &subsampling, &colorspace)
        }
        if read != 0 { try acceptWarning(handle) }
        guard width > 0, height > 0 else { throw .jpeg("the JPEG header gives no size") }
        return (Int(width), Int(height))
    }

    /// Decodes to 8-bit luminance (0 black, 255 white): the Y channel of a colour JPEG (ITU-R BT.601 weights, as
    /// Pillow's `convert("L")`), or the grey of a greyscale one.
    public static func decodeGray(_ data: [UInt8]) throws(ImageCodecError) -> GrayImage {
        guard isJPEG(data) else { throw .jpeg("the data does not start with a JPEG marker") }
        guard let handle = tjInitDecompress() else { throw .jpeg("libjpeg-turbo could not start a decompressor") }
        defer { tjDestroy(handle) }
        let (width, height) = try header(handle, data)
        guard ImageCodec.acceptable(width: width, height: height) else { throw .tooLarge(width: width, height: height) }
        // libjpeg pads a cut-off stream with grey and may not even warn: a JPEG must end with its end-of-image marker.
        guard data.suffix(2).elementsEqual([0xFF, 0xD9]) else {
            throw .jpeg("the JPEG ends early (no end-of-image marker): it was cut off on the way")
        }
        var pixels = [UInt8](repeating: 255, count: width * height)
        let flags = Int32(TJFLAG_LIMITSCANS | TJFLAG_ACCURATEDCT)
        let decoded = data.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                tjDecompress2(handle, source.baseAddress, UInt(source.count), target.baseAddress, Int32(width), Int32(width), Int32(height),
                              Int32(TJPF_GRAY.rawValue), flags)
            }
        }
        if decoded != 0 { try acceptWarning(handle) }
        return GrayImage(width: width, height: height, pixels: pixels)
    }

    /// A warning still gives an image. The only one accepted is padding between markers ("extraneous bytes before
    /// marker"), which loses nothing; any other (a truncated stream, damaged data filled with grey) is refused.
    private static func acceptWarning(_ handle: tjhandle) throws(ImageCodecError) {
        let text = message(handle)
        guard tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue), text.contains("extraneous bytes before marker") else {
            throw .jpeg(text)
        }
    }

    private static func message(_ handle: tjhandle) -> String {
        guard let text = tjGetErrorStr2(handle) else { return "unknown libjpeg-turbo error" }
        return String(cString: text)
    }
}
