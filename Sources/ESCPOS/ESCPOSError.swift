/// Errors from building ESC/POS bytes or parsing what a printer sends back.
public enum ESCPOSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The profile says the printer lacks a feature the document needs.
    case notSupported(feature: String, profile: String)
    /// A status byte failed the validity mask `(b & 0x93) == 0x12`.
    case invalidStatusByte(query: StatusQuery, byte: UInt8)
    case invalidBarcode(symbology: BarcodeSymbology, data: String, reason: String)
    case qrCodeTooLong(bytes: Int)
    case parameterOutOfRange(name: String, value: Int, allowed: ClosedRange<Int>)
    case imageTooWide(width: Int, maximum: Int)
    case barcodeTooWide(data: String, dots: Int, maximum: Int)
    /// A QR code of `modules` × `modules` at `moduleSize` dots is wider than the paper.
    case qrCodeTooWide(modules: Int, moduleSize: Int, maximum: Int)

    public var description: String {
        switch self {
        case .notSupported(let feature, let profile):
            return "The printer profile '\(profile)' does not support \(feature). "
                + "Choose a profile that matches the printer (kassa profiles) or remove \(feature) from the document."
        case .invalidStatusByte(let query, let byte):
            return "The printer answered status request \(query.rawValue) with 0x\(String(byte, radix: 16, uppercase: true)), "
                + "which is not a valid status byte. Check that the device is an ESC/POS printer and that nothing else "
                + "is reading from it."
        case .invalidBarcode(let symbology, let data, let reason):
            return "Cannot print '\(data)' as \(symbology.rawValue): \(reason)."
        case .qrCodeTooLong(let bytes):
            return "The QR code data is \(bytes) bytes, more than a QR code can hold; shorten it."
        case .parameterOutOfRange(let name, let value, let allowed):
            return "\(name) must be between \(allowed.lowerBound) and \(allowed.upperBound), not \(value)."
        case .imageTooWide(let width, let maximum):
            return "The image is \(width) dots wide but the paper has \(maximum) dots; scale it down."
        case .qrCodeTooWide(let modules, let moduleSize, let maximum):
            let fits = maximum / modules
            return "The QR code has \(modules)×\(modules) modules; at module size \(moduleSize) it is \(modules * moduleSize) dots wide, but the "
                + "paper has \(maximum) dots. " + (fits >= 1 ? "Use moduleSize \(fits) or less, or shorten the data."
                    : "Shorten the data: even module size 1 does not fit.")
        case .barcodeTooWide(let data, let dots, let maximum):
            return "The barcode for '\(data)' needs \(dots) dots but the paper has \(maximum); shorten the data "
                + "or use a QR code."
        }
    }
}
