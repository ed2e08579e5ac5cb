internal import CLibPNG
import Raster

/// Errors reading or writing image files.
public enum ImageCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not an image format Kassa reads.
    case unknownFormat
    /// libpng refused the data; its message is kept.
    case png(String)
    /// libjpeg-turbo refused the data (or warned: a damaged JPEG is not printed half); its message is kept.
    case jpeg(String)
    case pbm(String)
    case tooLarge(width: Int, height: Int)

    public var description: String {
        switch self {
        case .unknownFormat: return "not a PNG, JPEG or PBM image; convert the logo to PNG"
        case .png(let message): return "the PNG image could not be read (\(message)); re-export it as an 8-bit PNG"
        case .jpeg(let message): return "the JPEG image could not be read (\(message)); export it again as a baseline JPEG"
        case .pbm(let message): return "the PBM image could not be read: \(message)"
        case .tooLarge(let width, let height):
            return "the image is \(width)×\(height) pixels, larger than Kassa accepts (at most 16384 wide, 65535 high and "
                + "\(ImageCodec.maxPixels / 1_048_576) Mpixels in all); scale it down"
        }
    }
}

/// Decodes PNG (via libpng) and PBM images into greyscale, and encodes greyscale PNG.
public enum ImageCodec {
    static let maxWidth = 16_384
    static let maxHeight = 65_535
    /// No image decodes to more than this many pixels (one byte each): a hostile header cannot make Kassa allocate
    /// gigabytes. A 576-dot receipt image 58,000 rows (about 7 m of paper) still fits.
    public static let maxPixels = 32 * 1_048_576

    /// Whether a decoded image of this size is accepted.
    static func acceptable(width: Int, height: Int) -> Bool {
        width > 0 && height > 0 && width <= maxWidth && height <= maxHeight && width * height <= maxPixels
    }

    /// Decodes PNG, JPEG or PBM (P1/P4) data. Transparent pixels become white (paper).
    public static func decode(_ data: [UInt8]) throws(ImageCodecError) -> GrayImage {
        if data.count >= 8, data[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return try decodePNG(data)
        }
        if JPEG.isJPEG(data) { return try JPEG.decodeGray(data) }
        if data.count >= 2, data[0] == 0x50, data[1] == 0x31 || data[1] == 0x34 {
            return try PBM.decode(data)
        }
        throw .unknownFormat
    }

    static func decodePNG(_ data: [UInt8]) throws(ImageCodecError) -> GrayImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let begun = data.withUnsafeBytes { raw in
            png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count)
        }
        guard begun != 0 else { throw .png(message(of: &image)) }
        let width = Int(image.width)
        let height = Int(image.height)
        guard acceptable(width: width, height: height) else {
            png_image_free(&image)
            throw .tooLarge(width: width, height: height)
        }
        image.format = UInt32(PNG_FORMAT_GRAY)
        var pixels = [UInt8](repeating: 255, count: width * height)
        var background = png_color(red: 255, green: 255, blue: 255)
        let finished = data.withUnsafeBytes { _ in
            pixels.withUnsafeMutableBytes { buffer in
                png_image_finish_read(&image, &background, buffer.baseAddress, Int32(width), nil)
            }
        }
        guard finished != 0 else {
            let text = message(of: &image)
            png_image_free(&image)
            throw .png(text)
        }
        return GrayImage(width: width, height: height, pixels: pixels)
    }

    /// Encodes an 8-bit greyscale PNG.
    public static func encodePNG(_ gray: GrayImage) throws(ImageCodecError) -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(gray.width)
        image.height = UInt32(gray.height)
        image.format = UInt32(PNG_FORMAT_GRAY)
        var size = 0
        let sized = gray.pixels.withUnsafeBytes { raw in
            png_image_write_to_memory(&image, nil, &size, 0, raw.baseAddress, Int32(gray.width), nil)
        }
        guard sized != 0, size > 0 else { throw .png(message(of: &image)) }
        var out = [UInt8](repeating: 0, count: size)
        let written = gray.pixels.withUnsafeBytes { raw in
            out.withUnsafeMutableBytes { dest in
                png_image_write_to_memory(&image, dest.baseAddress, &size, 0, raw.baseAddress, Int32(gray.width), nil)
            }
        }
        guard written != 0 else { throw .png(message(of: &image)) }
        return Array(out.prefix(size))
    }

    /// A 1-bit bitmap as a PNG (black dots on white).
    public static func encodePNG(_ bitmap: MonoBitmap) throws(ImageCodecError) -> [UInt8] {
        var gray = GrayImage(width: bitmap.width, height: bitmap.height)
        for y in 0..<bitmap.height {
            for x in 0..<bitmap.width where bitmap[x, y] { gray[x, y] = 0 }
        }
        return try encodePNG(gray)
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
