import ESCPOS
import ImageCodec
import QRCode
import Raster

/// What an ePOS-Print document becomes: the ESC/POS bytes for the device's profile, and whether it only kicks the
/// drawer (then it is run as a drawer kick: it needs no paper and expires like one).
public struct EPOSJob: Sendable, Equatable {
    public var bytes: [UInt8]
    /// Set when every element is a `pulse` (or changes nothing printable): the last one's `ESC p m t1 t2`.
    public var drawerOnly: [UInt8]?
}

/// Executes an ePOS-Print document's elements in order through Kassa's ESC/POS writer and the device's profile. Pure.
public enum EPOSEncoder {
    /// `allowCommand`: `<command>` (raw bytes) is sent only when `[serve] epos-command` is true.
    public static func encode(_ request: EPOSRequest, profile: PrinterProfile, allowCommand: Bool) throws(CompatError) -> EPOSJob {
        var writer = ESCPOSWriter(profile: profile)
        writer.initialize()
        var state = State()
        var printsSomething = false
        var lastPulse: [UInt8]?
        for element in request.elements {
            do throws(ESCPOSError) {
                switch element {
                case .pulse(let drawer, let time):
                    let pin: DrawerPin = drawer == "drawer_2" ? .pin5 : .pin2
                    let on = Int(time.dropFirst("pulse_".count)) ?? 100
                    let pulse = try ESCPOSWriter.drawerPulseCommand(profile: profile, pin: pin, on: on, off: min(510, on * 2))
                    writer.append(pulse)
                    lastPulse = pulse.bytes
                case .layout:
                    break
                default:
                    printsSomething = true
                    try apply(element, &writer, &state, profile: profile, allowCommand: allowCommand)
                }
            } catch {
                throw CompatError.schema("\(name(of: element)): \(error.description)")
            }
        }
        return EPOSJob(bytes: writer.bytes, drawerOnly: printsSomething ? nil : lastPulse)
    }

    /// The text state the document has set so far (ePOS `text` attributes persist until changed).
    struct State {
        var style = TextStyle.normal
        var doubleWidth = false
        var doubleHeight = false
        var alignment = Alignment.left
        var smooth = false
        var upsideDown = false
    }

    static func name(of element: EPOSElement) -> String {
        switch element {
        case .text: return "<text>"
        case .feed: return "<feed>"
        case .image: return "<image>"
        case .logo: return "<logo>"
        case .barcode: return "<barcode>"
        case .symbol: return "<symbol>"
        case .hline: return "<hline>"
        case .cut: return "<cut>"
        case .pulse: return "<pulse>"
        case .sound: return "<sound>"
        case .layout: return "<layout>"
        case .command: return "<command>"
        case .recovery: return "<recovery>"
        case .reset: return "<reset>"
        }
    }

    static func alignment(_ text: String?) -> Alignment? {
        switch text {
        case "left": return .left
        case "center": return .center
        case "right": return .right
        default: return nil
        }
    }

    static func apply(_ element: EPOSElement, _ writer: inout ESCPOSWriter, _ state: inout State, profile: PrinterProfile,
                      allowCommand: Bool) throws(ESCPOSError) {
        switch element {
        case .text(let text):
            if let align = alignment(text.align) {
                state.alignment = align
                writer.setAlignment(align)
            }
            if let font = text.font {
                switch font {
                case .fontA: state.style.font = .a
                case .fontB: state.style.font = .b
                default: throw .notSupported(feature: "the ePOS font \(font.rawValue) (font_a and font_b only)", profile: profile.id)
                }
            }
            if let dw = text.doubleWidth { state.style.width = dw ? 2 : 1 }
            if let dh = text.doubleHeight { state.style.height = dh ? 2 : 1 }
            if let width = text.width { state.style.width = width }
            if let height = text.height { state.style.height = height }
            if let em = text.emphasis { state.style.bold = em }
            if let ul = text.underline { state.style.underline = ul ? .single : .none }
            if let reverse = text.reverse { state.style.reverse = reverse }
            writer.setStyle(state.style)
            if let smooth = text.smooth, smooth != state.smooth {
                writer.append(.smoothing(smooth))
                state.smooth = smooth
            }
            if let rotate = text.rotate, rotate != state.upsideDown {
                writer.append(.upsideDown(rotate))
                state.upsideDown = rotate
            }
            if let spacing = text.lineSpacing { writer.lineSpacing(dots: spacing) }
            if let x = text.x {
                if profile.features.absolutePosition {
                    writer.append(.absolutePosition(x))
                } else {
                    let cell = profile.cellWidth(font: state.style.font) * state.style.width
                    writer.text(String(repeating: " ", count: cell > 0 ? x / cell : 0))
                }
            }
            if !text.content.isEmpty { writer.text(text.content.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")) }
        case .feed(let line, let unit, let spacing, let pos):
            if let spacing { writer.lineSpacing(dots: spacing) }
            if let line {
                if line == 0 { writer.endLine() } else { writer.feed(lines: line) }
            } else if let unit {
                writer.feed(dots: unit)
            } else if pos == "cutting" {
                writer.feed(lines: Int(writer.options.feedBeforeCut))
            } else if pos == nil, spacing == nil {
                writer.newline()
            }
        case .image(let width, let height, let align, let gray16, let data):
            if let align = alignment(align) { state.alignment = align }
            let bitmap = try Self.bitmap(width: width, height: height, gray16: gray16, data: data, dots: profile.paper.dots)
            try writer.image(pad(bitmap, to: profile.paper.dots, alignment: state.alignment))
        case .logo(let key1, let key2):
            try writer.printStoredLogo(key: (UInt8(key1), UInt8(key2)))
        case .barcode(let type, let hri, let font, let width, let height, let align, let data):
            if let align = alignment(align) {
                state.alignment = align
                writer.setAlignment(align)
            }
            let symbology: BarcodeSymbology
            switch type {
            case "upc_a": symbology = .upcA
            case "ean13", "jan13": symbology = .ean13
            case "ean8", "jan8": symbology = .ean8
            case "code39": symbology = .code39
            case "code128": symbology = .code128
            default: throw .notSupported(feature: "ePOS barcode type \(type) (Kassa prints upc_a, ean13/jan13, ean8/jan8, code39 and code128)", profile: profile.id)
            }
            var options = BarcodeOptions()
            switch hri {
            case "none": options.hri = .none
            case "above": options.hri = .above
            case "both": options.hri = .both
            default: options.hri = .below
            }
            options.hriFont = font == "font_b" ? .b : .a
            if let width { options.moduleWidth = width }
            if let height { options.height = height }
            try writer.barcode(symbology, try barcodeText(symbology, data), options: options)
        case .symbol(let type, let level, let width, _, _, let align, let data):
            if let align = alignment(align) {
                state.alignment = align
                writer.setAlignment(align)
            }
            guard type == "qrcode_model_2" || type == "qrcode_model_1" else {
                throw .notSupported(feature: "ePOS symbol \(type) (Kassa prints QR codes: qrcode_model_1 and qrcode_model_2)", profile: profile.id)
            }
            let correction: QRCode.ErrorCorrection
            switch level {
            case "level_l": correction = .low
            case nil, "level_m", "default": correction = .medium
            case "level_q": correction = .quartile
            case "level_h": correction = .high
            default: throw .notSupported(feature: "QR level \(level ?? "") (level_l, level_m, level_q, level_h or default)", profile: profile.id)
            }
            let size = (width ?? 0) == 0 ? 3 : width!
            guard size <= 16 else { throw .parameterOutOfRange(name: "QR module width", value: size, allowed: 1...16) }
            try writer.qrCode(data, moduleSize: size, errorCorrection: correction)
        case .hline(let x1, let x2, let style):
            try writer.image(line(x1: x1, x2: x2, style: style, dots: profile.paper.dots))
        case .cut(let type):
            if type == "no_feed" { writer.cutWithoutFeed(.partial) } else { writer.cut(.partial) }
        case .sound(let pattern, let repeatCount, _):
            // A printer without a buzzer ignores it, as Epson's own printers without one do.
            guard profile.features.beeper, pattern != "none", repeatCount != 0 else { return }
            try writer.beep(times: min(9, max(1, repeatCount ?? 1)), durationMilliseconds: 100)
        case .command(let bytes):
            guard allowCommand else {
                throw .notSupported(feature: "<command> (raw ESC/POS; set [serve] epos-command = true in kassa.toml to allow it)", profile: profile.id)
            }
            writer.append(.raw(bytes))
        case .recovery:
            // DLE ENQ 2: recover from a recoverable error after clearing the receive and print buffers.
            writer.append(.raw([0x10, 0x05, 0x02]))
        case .reset:
            writer.initialize()
            state = State()
        case .pulse, .layout:
            break
        }
    }

    /// ePOS barcode data as text for Kassa's encoder: CODE128's code-set prefix (`{A`, `{B`, `{C`) is taken off, since
    /// the encoder chooses the code set itself; `{{` is a brace; under `{C` each byte is two digits.
    static func barcodeText(_ symbology: BarcodeSymbology, _ data: [UInt8]) throws(ESCPOSError) -> String {
        guard symbology == .code128, data.count >= 2, data[0] == 0x7B else {
            guard data.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                throw .invalidBarcode(symbology: symbology, data: String(decoding: data, as: UTF8.self), reason: "only printable ASCII is allowed")
            }
            return String(decoding: data, as: UTF8.self)
        }
        var out = ""
        var set = data[1]
        var index = 2
        guard set == 0x41 || set == 0x42 || set == 0x43 else {
            throw .invalidBarcode(symbology: symbology, data: String(decoding: data, as: UTF8.self), reason: "CODE128 data starts with {A, {B or {C")
        }
        while index < data.count {
            let byte = data[index]
            if byte == 0x7B, index + 1 < data.count {
                let next = data[index + 1]
                if next == 0x7B { out.append("{"); index += 2; continue }
                guard next == 0x41 || next == 0x42 || next == 0x43 else {
                    throw .invalidBarcode(symbology: symbology, data: String(decoding: data, as: UTF8.self), reason: "function codes ({1…{4, {S) are not supported")
                }
                set = next
                index += 2
                continue
            }
            if set == 0x43 {
                guard byte <= 99 else {
                    throw .invalidBarcode(symbology: symbology, data: String(decoding: data, as: UTF8.self), reason: "code set C takes bytes 0 to 99")
                }
                out += byte < 10 ? "0\(byte)" : "\(byte)"
            } else {
                guard byte >= 0x20, byte < 0x7F else {
                    throw .invalidBarcode(symbology: symbology, data: String(decoding: data, as: UTF8.self), reason: "only printable ASCII is allowed")
                }
                out.append(Character(Unicode.Scalar(byte)))
            }
            index += 1
        }
        return out
    }

    /// The raster of an `image` element. Mono: 1 bit a pixel, 1 = black, rows padded to whole bytes as Epson documents
    /// it; a stream of exactly ceil(width·height/8) bytes with no row padding (what Odoo's encoder sends when the
    /// width is not a multiple of 8) is read as such. Gray16: 4 bits a pixel (0 white … 15 black), rows padded, dithered.
    /// Wider than the paper: scaled down to it.
    public static func bitmap(width: Int, height: Int, gray16: Bool, data: [UInt8], dots: Int) throws(ESCPOSError) -> MonoBitmap {
        guard width * height <= ImageCodec.maxPixels else {
            throw .parameterOutOfRange(name: "image pixels", value: width * height, allowed: 1...ImageCodec.maxPixels)
        }
        var gray: GrayImage?
        var mono: MonoBitmap?
        if gray16 {
            let rowBytes = (width + 1) / 2
            guard data.count == rowBytes * height else {
                throw .parameterOutOfRange(name: "gray16 image bytes (\(width)×\(height) needs \(rowBytes * height))", value: data.count,
                                           allowed: (rowBytes * height)...(rowBytes * height))
            }
            var pixels = [UInt8](repeating: 255, count: width * height)
            for y in 0..<height {
                for x in 0..<width {
                    let byte = data[y * rowBytes + x / 2]
                    let level = x % 2 == 0 ? byte >> 4 : byte & 0x0F
                    pixels[y * width + x] = 255 - level * 17
                }
            }
            gray = GrayImage(width: width, height: height, pixels: pixels)
        } else {
            let padded = ((width + 7) / 8) * height
            let stream = (width * height + 7) / 8
            if data.count == padded {
                mono = MonoBitmap(width: width, height: height, bytes: data)
            } else if data.count == stream {
                var bitmap = MonoBitmap(width: width, height: height)
                for index in 0..<(width * height) where data[index >> 3] & (0x80 >> UInt8(index & 7)) != 0 {
                    bitmap[index % width, index / width] = true
                }
                mono = bitmap
            } else {
                throw .parameterOutOfRange(name: "image bytes (\(width)×\(height) needs \(padded), or \(stream) unpadded)", value: data.count,
                                           allowed: min(padded, stream)...max(padded, stream))
            }
        }
        if let bitmap = mono, bitmap.width <= dots { return bitmap }
        if gray == nil, let bitmap = mono {
            var pixels = [UInt8](repeating: 255, count: width * height)
            for y in 0..<height { for x in 0..<width where bitmap[x, y] { pixels[y * width + x] = 0 } }
            gray = GrayImage(width: width, height: height, pixels: pixels)
        }
        var image = gray!
        if image.width > dots { image = image.scaled(toWidth: dots) }
        return image.monochrome(.floydSteinberg)
    }

    /// Places `bitmap` on the paper's width as `alignment` says, with blank dots on the left (and the right, up to
    /// a whole byte): the same result on every printer, whether or not it applies `ESC a` to raster images.
    static func pad(_ bitmap: MonoBitmap, to dots: Int, alignment: Alignment) -> MonoBitmap {
        let offset: Int
        switch alignment {
        case .left: return bitmap
        case .center: offset = (dots - bitmap.width) / 2
        case .right: offset = dots - bitmap.width
        }
        guard offset > 0 else { return bitmap }
        var out = MonoBitmap(width: bitmap.width + offset, height: bitmap.height)
        for y in 0..<bitmap.height {
            for x in 0..<bitmap.width where bitmap[x, y] { out[x + offset, y] = true }
        }
        return out
    }

    /// A ruled line from x1 to x2 (dots, clipped to the paper): thin 1 dot, medium 2, thick 3; `_double` draws two
    /// with a gap of the same height.
    static func line(x1: Int, x2: Int, style: String, dots: Int) throws(ESCPOSError) -> MonoBitmap {
        let end = min(x2, dots)
        guard x1 < end else { throw .parameterOutOfRange(name: "hline x1", value: x1, allowed: 0...max(0, dots - 1)) }
        let thickness = style.hasPrefix("thick") ? 3 : (style.hasPrefix("medium") ? 2 : 1)
        let double = style.hasSuffix("_double")
        let height = double ? thickness * 3 : thickness
        var bitmap = MonoBitmap(width: end, height: height)
        for y in 0..<height where y < thickness || (double && y >= 2 * thickness) {
            for x in x1..<end { bitmap[x, y] = true }
        }
        return bitmap
    }
}
