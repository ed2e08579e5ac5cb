import ESCPOS
import Foundation
import ImageCodec
import Raster

/// Odoo's receipt image made into ESC/POS: the JPEG (or PNG) decoded to luminance, scaled down to the paper's dots
/// when wider, Floyd–Steinberg dithered to 1 bit (as Pillow's `convert("1")` in the IoT box), printed as `GS v 0`
/// bands through Kassa's raster path, then cut. A JPEG that fits the paper is dithered row by row while a second
/// thread decodes it (the same dots as decoding first). No I/O.
public enum ReceiptImage {
    public struct Rendered: Sendable {
        public var bytes: [UInt8]
        public var bitmap: MonoBitmap
        /// The decoded size, before any scaling.
        public var sourceWidth: Int
        public var sourceHeight: Int
    }

    /// `base64`: the image as Odoo sends it (a `data:image/…;base64,` prefix is also taken).
    public static func escpos(base64: String, profile: PrinterProfile) throws(CompatError) -> Rendered {
        var text = Substring(base64)
        if text.hasPrefix("data:image/"), let comma = text.firstIndex(of: ",") {
            guard text[..<comma].hasSuffix(";base64") else { throw CompatError("INVALID_RECEIPT_IMAGE", "The receipt is a data URL without base64.") }
            text = text[text.index(after: comma)...]
        }
        guard !text.isEmpty, let data = Data(base64Encoded: String(text)) else {
            throw CompatError("INVALID_RECEIPT_IMAGE", "The receipt is not base64 (Odoo sends the JPEG of canvas.toDataURL without its prefix).")
        }
        return try escpos(image: [UInt8](data), profile: profile)
    }

    public static func escpos(image: [UInt8], profile: PrinterProfile) throws(CompatError) -> Rendered {
        let dots = profile.paper.dots
        let bitmap: MonoBitmap
        let source: (width: Int, height: Int)
        do throws(ImageCodecError) {
            if JPEG.isJPEG(image), try JPEG.size(image).width <= dots {
                // Dithered while it decodes: the rows are diffused on this thread as a second one decodes them.
                let decoded = try JPEG.decodeGray(image) { pixels, width, height, ready in
                    GrayImage.floydSteinbergFollowing(pixels, width: width, height: height, ready: ready)
                }
                guard let dithered = decoded.result else { throw ImageCodecError.jpeg("the image could not be decoded") }
                bitmap = dithered
                source = (decoded.width, decoded.height)
            } else {
                let gray = try ImageCodec.decode(image)
                bitmap = (gray.width > dots ? gray.scaled(toWidth: dots) : gray).monochrome(.floydSteinberg)
                source = (gray.width, gray.height)
            }
        } catch {
            switch error {
            case .tooLarge: throw CompatError("IMAGE_TOO_LARGE", "The receipt image is \(error.description).")
            default: throw CompatError("INVALID_RECEIPT_IMAGE", "The receipt is not an image Kassa can print: \(error.description).")
            }
        }
        var writer = ESCPOSWriter(profile: profile)
        writer.initialize()
        do {
            try writer.image(bitmap)
        } catch {
            throw CompatError("PRINTER_CANNOT_PRINT_IMAGES", "The printer's profile \(profile.id) cannot print this image: \(error.description).")
        }
        writer.cut(.partial)
        return Rendered(bytes: writer.bytes, bitmap: bitmap, sourceWidth: source.width, sourceHeight: source.height)
    }
}
