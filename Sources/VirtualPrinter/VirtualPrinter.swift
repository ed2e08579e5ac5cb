import ESCPOS
import QRCode
import Raster

/// The fonts the virtual printer prints with (font A and font B).
public struct PrinterFonts: Sendable {
    public var fontA: BitmapFont
    public var fontB: BitmapFont
    public init(fontA: BitmapFont, fontB: BitmapFont) {
        self.fontA = fontA
        self.fontB = fontB
    }
}

/// An ESC/POS printer in software: it executes a byte stream, keeps what it printed as `elements`,
/// answers real-time status requests, and renders the paper as an image.
///
/// Bytes may arrive in any fragmentation; an incomplete command waits for the rest.
/// Unknown commands are skipped and noted, never fatal.
public struct VirtualPrinter: Sendable {
    public let profile: PrinterProfile
    public let fonts: PrinterFonts?
    public private(set) var elements: [PrintedElement] = []
    /// Commands skipped or questionable input, for the user to see.
    /// Remarks on what was skipped, clipped or not drawn: each different remark once, at most 100 (then one saying so).
    public private(set) var notes: [String] {
        get { noteList }
        set {
            for note in newValue.dropFirst(noteList.count) where !noteSet.contains(note) {
                guard noteList.count < 100 else {
                    if noteList.last != "… more notes left out" { noteList.append("… more notes left out") }
                    break
                }
                noteSet.insert(note)
                noteList.append(note)
            }
        }
    }
    private var noteList: [String] = []
    private var noteSet: Set<String> = []
    /// Bytes the printer sends back (answers to `DLE EOT`).
    public private(set) var responses: [UInt8] = []
    /// The answer to each `DLE EOT n`; default 0x12 (all fine).
    public var simulatedStatus: [StatusQuery: UInt8] = [:]
    public private(set) var bytesReceived = 0

    private var pending: [UInt8] = []
    private var style = TextStyle.normal
    private var alignment = Alignment.left
    private var lineSpacing: Int? = nil
    private var slot: UInt8 = 0
    private var page: CodePage?
    private var runs: [TextRun] = []
    private var lineWidthDots = 0
    private var canvas: Canvas
    private var y = 0
    private var qrModuleSize = 3
    private var qrErrorCorrection: UInt8 = 0x30
    private var qrData: [UInt8] = []
    private var barcodeHeight = 162
    private var barcodeModuleWidth = 3
    private var hriPosition: UInt8 = 0
    private var hriFont = TextStyle.Font.a
    private var graphicsBuffer: MonoBitmap?
    private var storedLogos: [String: MonoBitmap] = [:]
    private var kanjiMode = false
    private var lastCommandWasRaster = false

    /// `storesDots: false` keeps only the text preview (no paper image is drawn): `textPreview()` of a long receipt then
    /// costs no memory for dots.
    /// `maxPaperRows` caps the PNG's height (default 50,000 dot rows, 6.25 m).
    public init(profile: PrinterProfile, fonts: PrinterFonts?, storesDots: Bool = true, maxPaperRows: Int = 50_000) {
        self.profile = profile
        self.fonts = fonts
        canvas = Canvas(width: profile.paper.dots, storesDots: storesDots, maxHeight: maxPaperRows)
        page = Self.page(profile, slot: 0)
    }

    static func page(_ profile: PrinterProfile, slot: UInt8) -> CodePage? {
        profile.codePages[String(slot)].flatMap(CodePage.named)
    }

    // MARK: Input

    /// Executes `bytes`; a command cut off at the end waits for the next call.
    public mutating func receive(_ bytes: [UInt8]) {
        bytesReceived += bytes.count
        pending += bytes
        var index = 0
        while index < pending.count {
            guard let length = commandLength(at: index) else { break }
            execute(pending[index..<index + length])
            index += length
        }
        pending.removeFirst(index)
    }

    /// Ends the job: prints a pending line and reports a command that never completed.
    public mutating func finish() {
        if !pending.isEmpty {
            notes.append("the data ended inside a command (\(pending.count) bytes starting "
                + pending.prefix(4).map { String(format2: $0) }.joined(separator: " ") + "); it was not executed")
            pending.removeAll()
        }
        flushLine(force: false)
        if canvas.clipped, !notes.contains(where: { $0.hasPrefix("the paper is longer") }) {
            notes.append("the paper is longer than the preview's \(canvas.maxHeight) dot rows (\(canvas.maxHeight / 8) mm at 203 dpi): "
                + "the PNG shows that much, the text preview all of it")
        }
    }

    public mutating func takeResponses() -> [UInt8] {
        defer { responses.removeAll() }
        return responses
    }

    // MARK: Parsing

    /// Total length of the command starting at `index`, or nil when more bytes are needed.
    private func commandLength(at index: Int) -> Int? {
        let available = pending.count - index
        func byte(_ offset: Int) -> Int? { offset < available ? Int(pending[index + offset]) : nil }
        func need(_ count: Int) -> Int? { available >= count ? count : nil }
        let first = pending[index]
        switch first {
        case 0x1B:
            guard let command = byte(1) else { return nil }
            switch command {
            case 0x40, 0x32, 0x3C: return need(2)
            case 0x45, 0x2D, 0x21, 0x4D, 0x61, 0x33, 0x64, 0x4A, 0x74, 0x7B, 0x47, 0x56, 0x52, 0x72, 0x20, 0x3D, 0x55,
                0x4C, 0x53, 0x54, 0x65, 0x4B:
                return need(3)
            case 0x42, 0x24, 0x5C, 0x63: return need(4)
            case 0x70: return need(5)
            case 0x1D: return need(4)  // ESC GS t n (Star)
            case 0x2A:
                guard let mode = byte(2), let nL = byte(3), let nH = byte(4) else { return nil }
                let columns = nL + nH * 256
                return need(5 + columns * (mode >= 32 ? 3 : 1))
            case 0x44:
                var offset = 2
                while let value = byte(offset) {
                    if value == 0 { return offset + 1 }
                    offset += 1
                }
                return nil
            default: return need(2)
            }
        case 0x1D:
            guard let command = byte(1) else { return nil }
            switch command {
            case 0x21, 0x42, 0x48, 0x66, 0x68, 0x77, 0x61, 0x72, 0x49, 0x62: return need(3)
            case 0x56:
                guard let mode = byte(2) else { return nil }
                return need([0, 1, 0x30, 0x31].contains(mode) ? 3 : 4)
            case 0x6B:
                guard let m = byte(2) else { return nil }
                if m <= 6 {
                    var offset = 3
                    while let value = byte(offset) {
                        if value == 0 { return offset + 1 }
                        offset += 1
                    }
                    return nil
                }
                guard let n = byte(3) else { return nil }
                return need(4 + n)
            case 0x76:
                guard let xL = byte(4), let xH = byte(5), let yL = byte(6), let yH = byte(7) else { return nil }
                return need(8 + (xL + xH * 256) * (yL + yH * 256))
            case 0x28:
                guard let pL = byte(3), let pH = byte(4) else { return nil }
                return need(5 + pL + pH * 256)
            case 0x38:
                guard let p1 = byte(3), let p2 = byte(4), let p3 = byte(5), let p4 = byte(6) else { return nil }
                return need(7 + p1 + p2 << 8 + p3 << 16 + p4 << 24)
            case 0x4C, 0x57, 0x50, 0x24, 0x5C: return need(4)
            default: return need(2)
            }
        case 0x10:
            guard let command = byte(1) else { return nil }
            if command == 0x14 {
                guard let fn = byte(2) else { return nil }
                return need(fn <= 2 ? 5 : 3)
            }
            return need(3)
        case 0x1C:
            guard let command = byte(1) else { return nil }
            switch command {
            case 0x2E, 0x26: return need(2)
            case 0x70: return need(4)
            default: return need(3)
            }
        default:
            return 1
        }
    }

    private mutating func execute(_ command: ArraySlice<UInt8>) {
        let bytes = Array(command)
        defer {
            // GS ( D around image data does not separate bands.
            let isRaster = bytes.count > 2 && bytes[0] == 0x1D && (bytes[1] == 0x76 || (bytes[1] == 0x28 && bytes[2] == 0x44))
            lastCommandWasRaster = isRaster || (lastCommandWasRaster && bytes.count > 2 && bytes[1] == 0x28 && bytes[2] == 0x44)
        }
        switch bytes[0] {
        case 0x0A: flushLine(force: true)
        case 0x0D, 0x00: break
        case 0x09: printScalar(" ")
        case 0x0C: flushLine(force: false)
        case 0x07: elements.append(.beep(times: 1))
        case 0x1B: executeESC(bytes)
        case 0x1D: executeGS(bytes)
        case 0x10: executeDLE(bytes)
        case 0x1C:
            switch bytes[1] {
            case 0x2E: kanjiMode = false
            case 0x26:
                kanjiMode = true
                notes.append("FS & (Kanji mode) received: bytes ≥ 0x80 would print as double-byte characters on a real printer")
            case 0x70:
                notes.append("FS p (print NV bit image \(bytes[2])) skipped: no NV images are stored in the virtual printer")
            default: notes.append("FS 0x\(String(format2: bytes[1])) skipped")
            }
        case let value where value < 0x20:
            notes.append("control byte 0x\(String(format2: value)) ignored")
        default:
            let scalar = value(of: bytes[0])
            printScalar(scalar)
        }
    }

    private func value(of byte: UInt8) -> Unicode.Scalar {
        if byte < 0x80 { return Unicode.Scalar(byte) }
        guard let page else { return "\u{FFFD}" }
        return page.scalar(for: byte)
    }

    private mutating func executeESC(_ bytes: [UInt8]) {
        let parameter = bytes.count > 2 ? bytes[2] : 0
        switch bytes[1] {
        case 0x40:
            flushLine(force: false)
            style = .normal
            alignment = .left
            lineSpacing = nil
            slot = 0
            page = Self.page(profile, slot: 0)
            kanjiMode = false
        case 0x45, 0x47: style.bold = parameter & 1 == 1
        case 0x2D:
            let n = parameter % 0x30
            style.underline = n == 0 ? .none : (n == 1 ? .single : .double)
        case 0x21:
            style.font = parameter & 0x01 != 0 ? .b : .a
            style.bold = parameter & 0x08 != 0
            style.height = parameter & 0x10 != 0 ? 2 : 1
            style.width = parameter & 0x20 != 0 ? 2 : 1
            style.underline = parameter & 0x80 != 0 ? .single : .none
        case 0x4D: style.font = parameter % 0x30 == 1 ? .b : .a
        case 0x61:
            alignment = Alignment(rawValue: parameter % 0x30) ?? .left
        case 0x32: lineSpacing = nil
        case 0x33: lineSpacing = Int(parameter)
        case 0x64:
            flushLine(force: false)
            let dots = Int(parameter) * currentLineAdvance(height: cellHeight(.a))
            advance(dots)
            if parameter > 0 { elements.append(.feed(dots: dots)) }
        case 0x4A:
            flushLine(force: false)
            advance(Int(parameter))
        case 0x74:
            slot = parameter
            page = Self.page(profile, slot: parameter)
            if page == nil { notes.append("ESC t \(parameter): the profile has no code page in slot \(parameter)") }
        case 0x1D:
            if bytes[2] == 0x74 {
                slot = bytes[3]
                page = Self.page(profile, slot: bytes[3])
            }
        case 0x42: elements.append(.beep(times: Int(bytes[2])))
        case 0x70:
            let pin = bytes[2] % 0x30 == 0 ? 2 : 5
            elements.append(.drawerPulse(pin: pin, onMilliseconds: Int(bytes[3]) * 2, offMilliseconds: Int(bytes[4]) * 2))
            // The simulated drawer springs open: its switch now reads high (DLE EOT 1, bit 2).
            simulatedStatus[.printer] = (simulatedStatus[.printer] ?? 0x12) | 0x04
        case 0x2A: notes.append("ESC * column image printed as blank space (preview draws GS v 0 raster images only)")
        case 0x24:
            // ESC $: absolute position. The preview fills the skipped columns with spaces.
            let target = Int(bytes[2]) + Int(bytes[3]) * 256
            // As a printer does, a position beyond the print area is ignored.
            guard target < profile.paper.dots else {
                notes.append("ESC $ \(target): beyond the paper's \(profile.paper.dots) dots, ignored")
                break
            }
            let cell = cellWidth(style.font) * style.width
            var remaining = (target - lineWidthDots + cell / 2) / cell
            while remaining > 0 {
                printScalar(" ")
                remaining -= 1
            }
        case 0x7B, 0x56, 0x52, 0x72, 0x20, 0x3D, 0x55, 0x4C, 0x53, 0x54, 0x65, 0x4B, 0x5C, 0x63, 0x44, 0x3C:
            break  // accepted, no visible effect in the preview
        default:
            notes.append("unknown command ESC 0x\(String(format2: bytes[1])) skipped")
        }
    }

    private mutating func executeGS(_ bytes: [UInt8]) {
        let parameter = bytes.count > 2 ? bytes[2] : 0
        switch bytes[1] {
        case 0x21:
            style.width = Int(parameter >> 4) + 1
            style.height = Int(parameter & 0x0F) + 1
        case 0x42: style.reverse = parameter & 1 == 1
        case 0x56:
            flushLine(force: false)
            if bytes.count == 4 { advance(Int(bytes[3])) }
            let partial = [1, 0x31, 66, 98, 104].contains(parameter)
            drawCut(partial: partial)
        case 0x48: hriPosition = parameter % 0x30
        case 0x66: hriFont = parameter % 0x30 == 1 ? .b : .a
        case 0x68: barcodeHeight = Int(parameter)
        case 0x77: barcodeModuleWidth = Int(parameter)
        case 0x6B: printBarcode(bytes)
        case 0x76:
            let widthBytes = Int(bytes[4]) + Int(bytes[5]) * 256
            let height = Int(bytes[6]) + Int(bytes[7]) * 256
            let bitmap = MonoBitmap(width: widthBytes * 8, height: height, bytes: Array(bytes[8...]))
            flushLine(force: false)
            drawBitmap(bitmap, scaleX: bytes[3] & 1 == 1 ? 2 : 1, scaleY: bytes[3] & 2 == 2 ? 2 : 1)
            // Bands of one image arrive as consecutive GS v 0 commands: read them back as one image.
            if lastCommandWasRaster, case .image(let width, let previous) = elements.last, width == bitmap.width {
                elements[elements.count - 1] = .image(width: width, height: previous + height)
            } else {
                elements.append(.image(width: bitmap.width, height: height))
            }
        case 0x28: executeGSParen(bytes)
        case 0x38:
            if bytes.count > 8, bytes[7] == 0x30 { storeGraphics(function: bytes[8], body: Array(bytes[9...])) }
        case 0x61, 0x72, 0x49, 0x62, 0x4C, 0x57, 0x50, 0x24, 0x5C: break
        default: notes.append("unknown command GS 0x\(String(format2: bytes[1])) skipped")
        }
    }

    private mutating func executeGSParen(_ bytes: [UInt8]) {
        let body = Array(bytes[5...])
        switch bytes[2] {
        case 0x6B:  // GS ( k: 2D codes
            guard body.count >= 2 else { return }
            guard body[0] == 0x31 else {
                notes.append("GS ( k symbol type \(body[0]) (e.g. PDF417) is not drawn in the preview")
                return
            }
            switch body[1] {
            case 0x43: if body.count > 2 { qrModuleSize = Int(body[2]) }
            case 0x45: if body.count > 2 { qrErrorCorrection = body[2] }
            case 0x50: qrData = Array(body.dropFirst(3))
            case 0x51: printQR()
            default: break
            }
        case 0x4C:  // GS ( L: graphics
            guard body.count >= 2, body[0] == 0x30 else { return }
            storeGraphics(function: body[1], body: Array(body[2...]))
        case 0x44: break  // real-time command enable/disable
        default: notes.append("GS ( 0x\(String(format2: bytes[2])) skipped")
        }
    }

    /// `GS ( L` / `GS 8 L` functions: 112 store to buffer, 50 print buffer, 67 define NV, 69 print NV.
    private mutating func storeGraphics(function: UInt8, body: [UInt8]) {
        switch function {
        case 0x70:
            guard body.count >= 8 else { return }
            let width = Int(body[4]) + Int(body[5]) * 256
            let height = Int(body[6]) + Int(body[7]) * 256
            let data = Array(body[8...])
            guard data.count >= (width + 7) / 8 * height else { return }
            graphicsBuffer = MonoBitmap(width: width, height: height, bytes: Array(data.prefix((width + 7) / 8 * height)))
        case 0x32:
            if let image = graphicsBuffer {
                flushLine(force: false)
                drawBitmap(image, scaleX: 1, scaleY: 1)
                elements.append(.image(width: image.width, height: image.height))
            }
        case 0x43:
            guard body.count >= 9 else { return }
            let key = String(decoding: body[1...2], as: UTF8.self)
            let width = Int(body[4]) + Int(body[5]) * 256
            let height = Int(body[6]) + Int(body[7]) * 256
            let data = Array(body[9...])
            guard data.count >= (width + 7) / 8 * height else { return }
            storedLogos[key] = MonoBitmap(width: width, height: height, bytes: Array(data.prefix((width + 7) / 8 * height)))
        case 0x45:
            guard body.count >= 2 else { return }
            let key = String(decoding: body[0...1], as: UTF8.self)
            flushLine(force: false)
            if let logo = storedLogos[key] {
                drawBitmap(logo, scaleX: 1, scaleY: 1)
            } else {
                notes.append("stored logo '\(key)' printed as nothing: it was not stored in this virtual printer")
            }
            elements.append(.storedLogo(key: key))
        default: break
        }
    }

    private mutating func executeDLE(_ bytes: [UInt8]) {
        switch bytes[1] {
        case 0x04:
            guard let query = StatusQuery(rawValue: bytes[2]) else {
                notes.append("DLE EOT \(bytes[2]) is not answered by the virtual printer")
                return
            }
            responses.append(simulatedStatus[query] ?? 0x12)
        case 0x14:
            if bytes[2] == 1, bytes.count == 5 {
                elements.append(.drawerPulse(pin: bytes[3] == 0 ? 2 : 5, onMilliseconds: Int(bytes[4]) * 100,
                                             offMilliseconds: Int(bytes[4]) * 100))
            }
        default: break
        }
    }

    // MARK: Text

    private func cellWidth(_ font: TextStyle.Font) -> Int { profile.cellWidth(font: font) }
    private func cellHeight(_ font: TextStyle.Font) -> Int { font == .a ? 24 : 17 }

    private func currentLineAdvance(height: Int) -> Int { max(lineSpacing ?? 30, height) }

    private mutating func printScalar(_ scalar: Unicode.Scalar) {
        let advance = cellWidth(style.font) * style.width
        if lineWidthDots + advance > profile.paper.dots { flushLine(force: true) }
        if let last = runs.last, last.style == style {
            runs[runs.count - 1].text.unicodeScalars.append(scalar)
        } else {
            runs.append(TextRun(text: String(Character(scalar)), style: style))
        }
        lineWidthDots += advance
    }

    /// Prints the buffered line. `force` prints an empty line too (a bare LF feeds one line).
    private mutating func flushLine(force: Bool) {
        guard force || !runs.isEmpty else { return }
        let lineHeight = runs.map { cellHeight($0.style.font) * $0.style.height }.max() ?? cellHeight(style.font)
        if !runs.isEmpty {
            var x: Int
            switch alignment {
            case .left: x = 0
            case .center: x = max(0, (profile.paper.dots - lineWidthDots) / 2)
            case .right: x = max(0, profile.paper.dots - lineWidthDots)
            }
            for run in runs {
                let runHeight = cellHeight(run.style.font) * run.style.height
                for scalar in run.text.unicodeScalars {
                    drawGlyph(scalar, style: run.style, x: x, top: y + lineHeight - runHeight)
                    x += cellWidth(run.style.font) * run.style.width
                }
            }
            elements.append(.line(runs: runs, alignment: alignment))
        } else {
            elements.append(.line(runs: [], alignment: alignment))
        }
        runs.removeAll()
        lineWidthDots = 0
        advance(currentLineAdvance(height: lineHeight))
    }

    private mutating func advance(_ dots: Int) {
        guard dots > 0 else { return }
        y += dots
        canvas.ensureHeight(y)
    }

    private mutating func drawGlyph(_ scalar: Unicode.Scalar, style: TextStyle, x: Int, top: Int) {
        let cellW = cellWidth(style.font) * style.width
        let cellH = cellHeight(style.font) * style.height
        canvas.ensureHeight(top + cellH)
        // Below the paper's cap nothing is drawn: a glyph there costs nothing.
        guard !canvas.storesDots || top < canvas.maxHeight else { return }
        if style.reverse { canvas.fill(x: x, y: top, width: cellW, height: cellH) }
        let ink = !style.reverse
        guard let fonts else { return }
        let font = style.font == .a ? fonts.fontA : fonts.fontB
        guard let glyph = font.glyph(for: scalar) ?? (scalar == " " ? nil : font.glyph(for: "\u{FFFD}")) else { return }
        let limitX = cellWidth(style.font)
        for gy in 0..<glyph.height {
            for gx in 0..<min(glyph.width, limitX) where glyph.isSet(gx, gy) {
                let px = x + gx * style.width
                let py = top + gy * style.height
                canvas.fill(x: px, y: py, width: style.width, height: style.height, ink)
                if style.bold { canvas.fill(x: px + 1, y: py, width: style.width, height: style.height, ink) }
            }
        }
        if style.underline != .none, !style.reverse {
            let thickness = Int(style.underline.rawValue)
            canvas.fill(x: x, y: top + cellH - thickness, width: cellW, height: thickness)
        }
    }

    // MARK: Graphics

    private func alignedX(width: Int) -> Int {
        switch alignment {
        case .left: return 0
        case .center: return max(0, (profile.paper.dots - width) / 2)
        case .right: return max(0, profile.paper.dots - width)
        }
    }

    private mutating func drawBitmap(_ bitmap: MonoBitmap, scaleX: Int, scaleY: Int) {
        if bitmap.width * scaleX > canvas.width {
            notes.append("a raster image of \(bitmap.width * scaleX) dots is wider than the paper (\(canvas.width) dots): clipped at the edge")
        }
        let x0 = alignedX(width: bitmap.width * scaleX)
        canvas.ensureHeight(y + bitmap.height * scaleY)
        // Only the part that lands on the paper is visited: an image as wide or as long as a command allows costs the
        // paper's area, not its own.
        let columns = min(bitmap.width, max(0, (canvas.width - x0 + scaleX - 1) / scaleX))
        let rows = canvas.storesDots ? min(bitmap.height, max(0, (canvas.height - y + scaleY - 1) / scaleY)) : 0
        let firstColumn = x0 < 0 ? min(columns, -x0 / scaleX) : 0
        for by in 0..<rows {
            for bx in firstColumn..<columns where bitmap[bx, by] {
                canvas.fill(x: x0 + bx * scaleX, y: y + by * scaleY, width: scaleX, height: scaleY)
            }
        }
        y += bitmap.height * scaleY
    }

    private mutating func printQR() {
        flushLine(force: false)
        let level: QRCode.ErrorCorrection
        switch qrErrorCorrection {
        case 0x31, 1: level = .medium
        case 0x32, 2: level = .quartile
        case 0x33, 3: level = .high
        default: level = .low
        }
        guard let symbol = try? QRCode(data: qrData, errorCorrection: level) else {
            notes.append("QR data of \(qrData.count) bytes does not fit a QR code; nothing printed")
            return
        }
        let size = max(1, qrModuleSize)
        let side = symbol.size * size
        guard side <= canvas.width else {
            // As a printer does: a symbol wider than the print area is not printed at all.
            notes.append("a QR code of \(side) dots is wider than the paper (\(canvas.width) dots): not printed, as a printer drops it")
            return
        }
        let x0 = alignedX(width: side)
        canvas.ensureHeight(y + side)
        for my in 0..<symbol.size {
            for mx in 0..<symbol.size where symbol[mx, my] {
                canvas.fill(x: x0 + mx * size, y: y + my * size, width: size, height: size)
            }
        }
        y += side
        elements.append(.qrCode(data: qrData, moduleSize: size, errorCorrection: qrErrorCorrection, modules: symbol.size))
    }

    private mutating func printBarcode(_ bytes: [UInt8]) {
        flushLine(force: false)
        let m = bytes[2]
        let data: [UInt8] = m <= 6 ? Array(bytes[3..<(bytes.count - 1)]) : Array(bytes[4...])
        let digits = data.compactMap { $0 >= 0x30 && $0 <= 0x39 ? Int($0 - 0x30) : nil }
        var modules: [Bool]?
        var text = String(decoding: data, as: UTF8.self)
        let name: String
        switch m {
        case 0, 65:
            name = "UPC-A"
            modules = BarcodeModules.ean13([0] + digits)
        case 2, 67:
            name = "EAN13"
            modules = BarcodeModules.ean13(digits)
        case 3, 68:
            name = "EAN8"
            modules = BarcodeModules.ean8(digits)
        case 4, 69:
            name = "CODE39"
            modules = BarcodeModules.code39(text)
        case 73:
            name = "CODE128"
            if let result = BarcodeModules.code128(data) {
                modules = result.modules
                text = result.text
            }
        default:
            name = "barcode type \(m)"
        }
        guard let modules else {
            notes.append("\(name) data '\(text)' could not be drawn in the preview")
            elements.append(.barcode(symbology: name, text: text))
            return
        }
        let moduleWidth = max(1, barcodeModuleWidth)
        guard modules.count * moduleWidth <= profile.paper.dots else {
            notes.append("\(name) barcode of \(modules.count * moduleWidth) dots is wider than the paper (\(profile.paper.dots) dots): "
                + "not printed, as a printer drops it")
            return
        }
        let width = min(profile.paper.dots, modules.count * moduleWidth)
        let x0 = alignedX(width: width)
        if hriPosition == 1 || hriPosition == 3 { printHRI(text) }
        canvas.ensureHeight(y + barcodeHeight)
        for (index, bar) in modules.enumerated() where bar {
            canvas.fill(x: x0 + index * moduleWidth, y: y, width: moduleWidth, height: barcodeHeight)
        }
        y += barcodeHeight
        if hriPosition == 2 || hriPosition == 3 { printHRI(text) }
        elements.append(.barcode(symbology: name, text: text))
    }

    private mutating func printHRI(_ text: String) {
        let font = hriFont
        let width = text.unicodeScalars.count * cellWidth(font)
        var x = alignedX(width: width)
        for scalar in text.unicodeScalars {
            drawGlyph(scalar, style: TextStyle(font: font), x: x, top: y)
            x += cellWidth(font)
        }
        y += cellHeight(font) + 2
    }

    private mutating func drawCut(partial: Bool) {
        y += 6
        let dash = 8
        var x = 0
        while x < profile.paper.dots {
            let middle = abs(x + dash / 2 - profile.paper.dots / 2) < 24
            if !(partial && middle) { canvas.fill(x: x, y: y, width: dash, height: 2) }
            x += dash * 2
        }
        y += 10
        canvas.ensureHeight(y)
        elements.append(.cut(partial: partial))
    }

    // MARK: Output

    /// The paper as a greyscale image, exactly the profile's dot width.
    public func renderImage() -> GrayImage { canvas.gray() }

    /// Each printed text line with its height in dots (the tallest run's character cell times its height multiplier), as
    /// the paper shows it: what a rule about the size of a marking is measured on.
    public func textLineHeights() -> [(text: String, heightDots: Int)] {
        elements.compactMap { element in
            guard case .line(let runs, _) = element else { return nil }
            return (runs.map(\.text).joined(), runs.map { cellHeight($0.style.font) * $0.style.height }.max() ?? 0)
        }
    }

    /// A plain-text rendering for terminals.
    public func textPreview() -> String {
        let columns = profile.columns(font: .a)
        var lines: [String] = []
        func centered(_ text: String) -> String {
            let pad = max(0, (columns - text.count) / 2)
            return String(repeating: " ", count: pad) + text
        }
        for element in elements {
            switch element {
            case .line(let runs, let alignment):
                let text = runs.map { run in
                    run.style.width > 1 ? run.text.map { String($0) + String(repeating: " ", count: run.style.width - 1) }.joined() : run.text
                }.joined()
                let visible = text.count
                switch alignment {
                case .left: lines.append(text)
                case .center: lines.append(String(repeating: " ", count: max(0, (columns - visible) / 2)) + text)
                case .right: lines.append(String(repeating: " ", count: max(0, columns - visible)) + text)
                }
            case .feed(let dots):
                lines += Array(repeating: "", count: max(1, dots / 30))
            case .qrCode(let data, _, _, let modules):
                let text = String(decoding: data, as: UTF8.self)
                lines.append(centered("[QR \(modules)x\(modules): \(text.count > 40 ? String(text.prefix(37)) + "..." : text)]"))
            case .barcode(let symbology, let text): lines.append(centered("[\(symbology) \(text)]"))
            case .image(let width, let height): lines.append(centered("[image \(width)x\(height)]"))
            case .storedLogo(let key): lines.append(centered("[stored logo \(key)]"))
            case .cut(let partial): lines.append(String(repeating: "- ", count: columns / 2) + (partial ? "(partial cut)" : "(cut)"))
            case .drawerPulse(let pin, let on, let off): lines.append("[drawer pulse, pin \(pin): \(on) ms on / \(off) ms off]")
            case .beep(let times): lines.append("[beep x\(times)]")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    init(format2 byte: UInt8) {
        let digits = String(byte, radix: 16, uppercase: true)
        self = digits.count == 1 ? "0" + digits : digits
    }
}
