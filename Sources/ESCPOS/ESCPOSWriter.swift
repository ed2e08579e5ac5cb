import QRCode
import Raster

/// Builds the byte stream for one print job. Pure: it only appends to `bytes`.
///
/// The writer remembers the printer state it has set (style, alignment, code page) and emits a command only
/// when the state changes, so a receipt carries no redundant style bytes — on a 9600-baud serial printer every
/// byte costs about a millisecond.
public struct ESCPOSWriter: Sendable {
    public struct Options: Sendable, Equatable {
        /// Rows per `GS v 0` band; slow printers overflow their buffer on one huge image.
        public var imageBandHeight: Int
        /// Send `ESC t` again after a font change (some clones reset the code page then).
        public var resendCodePageAfterFontChange: Bool
        /// Lines fed before a cut, so the last line clears the cutter.
        public var feedBeforeCut: UInt8

        public init(imageBandHeight: Int = 128, resendCodePageAfterFontChange: Bool = false, feedBeforeCut: UInt8 = 3) {
            self.imageBandHeight = max(8, imageBandHeight)
            self.resendCodePageAfterFontChange = resendCodePageAfterFontChange
            self.feedBeforeCut = feedBeforeCut
        }
    }

    public let profile: PrinterProfile
    public let options: Options
    public private(set) var bytes: [UInt8] = []
    public private(set) var warnings: [EncodingWarning] = []
    private var encoder: TextEncoder
    private var style = TextStyle.normal
    private var alignment = Alignment.left
    private var atLineStart = true
    /// `bytes.count` right after the last cut: a cut with nothing printed since would cut a blank slip.
    private var lastCutEnd: Int?
    /// The barcode settings last sent (`GS h`, `GS w`, `GS f`, `GS H`): only changes are sent again. Reset by `ESC @`.
    private var barcodeSettings: (height: Int, moduleWidth: Int, font: TextStyle.Font, hri: BarcodeOptions.HRIPosition)?
    /// Resolved once from the profile: used on every line.
    private let canJump: Bool
    private let cellWidths: (a: Int, b: Int)

    public init(profile: PrinterProfile, options: Options = Options()) {
        self.profile = profile
        self.options = options
        encoder = TextEncoder(profile: profile)
        canJump = profile.features.absolutePosition
        cellWidths = (profile.cellWidth(font: .a), profile.cellWidth(font: .b))
        bytes.reserveCapacity(4096)
    }

    public mutating func append(_ command: Command) {
        command.append(to: &bytes)
    }

    /// `ESC @` (plus `FS .` where the profile asks for it). Resets the writer's idea of the printer state.
    /// The whole text a run of lines comes from (a block of several lines), so that the code page is chosen for all of
    /// it; nil when done.
    public mutating func hintText(_ text: String?) { encoder.setHint(text) }

    public mutating func initialize() {
        append(.initialize)
        if profile.features.cancelKanjiMode { append(.cancelKanjiMode) }
        style = .normal
        alignment = .left
        atLineStart = true
        barcodeSettings = nil
        encoder.reset()
    }

    /// Switches to `newStyle`, sending only the attributes that differ.
    public mutating func setStyle(_ newStyle: TextStyle) {
        if newStyle.font != style.font {
            append(.font(newStyle.font))
            if options.resendCodePageAfterFontChange { encoder.reset() }
        }
        if newStyle.bold != style.bold { append(.bold(newStyle.bold)) }
        if newStyle.underline != style.underline { append(.underline(newStyle.underline)) }
        if newStyle.width != style.width || newStyle.height != style.height {
            append(.characterSize(width: newStyle.width, height: newStyle.height))
        }
        if newStyle.reverse != style.reverse { append(.reverse(newStyle.reverse)) }
        style = newStyle
    }

    public var currentStyle: TextStyle { style }

    /// `ESC a` — takes effect at the start of a line; a pending line is ended first.
    public mutating func setAlignment(_ newAlignment: Alignment) {
        guard newAlignment != alignment else { return }
        if !atLineStart { newline() }
        append(.align(newAlignment))
        alignment = newAlignment
    }

    /// Text without a line break, encoded through the profile's code pages.
    public mutating func text(_ string: String) {
        guard !string.isEmpty else { return }
        if TextEncoder.appendIfPrintableASCII(string, to: &bytes) {
            atLineStart = false
            return
        }
        if !Self.containsNewline(string) {
            encoder.encode(string, into: &bytes)
            atLineStart = false
            if !encoder.warnings.isEmpty { warnings += encoder.drainWarnings() }
            return
        }
        var first = true
        for line in string.split(separator: "\n", omittingEmptySubsequences: false) {
            if !first { newline() }
            first = false
            encoder.encode(String(line), into: &bytes)
            if !line.isEmpty { atLineStart = false }
        }
        warnings += encoder.drainWarnings()
    }

    /// Bytes the caller guarantees are printable ASCII (0x20...0x7E), e.g. formatted amounts; no code-page work.
    public mutating func printableASCII(_ ascii: [UInt8]) {
        assert(ascii.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "printableASCII takes printable ASCII only")
        bytes.append(contentsOf: ascii)
        if !ascii.isEmpty { atLineStart = false }
    }

    /// Writes `string` and returns the columns it took. Printable ASCII (the usual case) is copied in one pass;
    /// anything else goes through the code pages and is counted per character.
    @discardableResult
    public mutating func measuredText(_ string: String) -> Int {
        if TextEncoder.appendIfPrintableASCII(string, to: &bytes) {
            if !string.isEmpty { atLineStart = false }
            return string.utf8.count
        }
        guard !Self.containsNewline(string) else {
            text(string)
            return string.count
        }
        let columns = encoder.encode(string, into: &bytes)
        if !string.isEmpty { atLineStart = false }
        if !encoder.warnings.isEmpty { warnings += encoder.drainWarnings() }
        return columns
    }

    /// Lets the caller write printable ASCII (0x20...0x7E) straight into the job, e.g. formatted amounts.
    public mutating func appendPrintableASCII(_ body: (inout [UInt8]) -> Void) {
        let start = bytes.count
        body(&bytes)
        assert(bytes[start...].allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "appendPrintableASCII takes printable ASCII only")
        if bytes.count > start { atLineStart = false }
    }

    /// Writes `string` only if it is all printable ASCII, returning its column count; nil (and nothing written)
    /// otherwise. One pass: the fast path for names and labels.
    public mutating func textIfPrintableASCII(_ string: String) -> Int? {
        guard TextEncoder.appendIfPrintableASCII(string, to: &bytes) else { return nil }
        if !string.isEmpty { atLineStart = false }
        return string.utf8.count
    }

    /// Text followed by a line feed.
    public mutating func line(_ string: String = "") {
        text(string)
        newline()
    }

    /// One line made of segments, each starting at a column (in body-font cells of the current style).
    /// Gaps of four or more columns on a left-aligned line become one `ESC $` jump instead of spaces.
    public mutating func line(segments: [(column: Int, text: String)]) {
        var column = 0
        for segment in segments {
            if segment.column > column { moveRight(from: column, to: segment.column) }
            text(segment.text)
            column = max(column, segment.column) + Self.columnCount(segment.text)
        }
        newline()
    }

    /// Moves the print position from column `from` to column `to` of the current line.
    public mutating func moveRight(from: Int, to: Int) {
        let gap = to - from
        guard gap > 0 else { return }
        if gap >= 4, canJump, alignment == .left {
            append(.absolutePosition(to * (style.font == .a ? cellWidths.a : cellWidths.b) * style.width))
        } else {
            bytes.append(contentsOf: repeatElement(0x20, count: gap))
        }
        atLineStart = false
    }

    /// Columns a string takes: one per character (ASCII counted without walking grapheme clusters).
    public static func columnCount(_ text: String) -> Int {
        var copy = text
        let ascii = copy.withUTF8 { buffer in
            for byte in buffer where byte >= 0x80 { return false }
            return true
        }
        return ascii ? text.utf8.count : text.count
    }

    public static func containsNewline(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { $0.contains(0x0A) }
    }

    public mutating func newline() {
        append(.lineFeed)
        atLineStart = true
    }

    public mutating func feed(lines: Int) {
        guard lines > 0 else { return }
        append(.feedLines(UInt8(min(255, lines))))
        atLineStart = true
    }

    /// `ESC J n`: feeds `dots` dots (0–255), printing what the line holds first.
    public mutating func feed(dots: Int) {
        append(.feedDots(UInt8(min(255, max(0, dots)))))
        atLineStart = true
    }

    /// Ends the line being written, if any (nothing at the start of a line).
    public mutating func endLine() {
        if !atLineStart { newline() }
    }

    public mutating func lineSpacing(dots: Int?) {
        if let dots { append(.lineSpacing(UInt8(min(255, max(0, dots))))) } else { append(.defaultLineSpacing) }
    }

    /// Feeds the paper past the cutter and cuts, falling back to the other cut kind, or only feeding when the
    /// printer has no cutter (tear-off models).
    public mutating func cut(_ kind: CutKind = .partial) {
        // Nothing printed since the last cut (a document's own cut block and its default cut): one cut is enough.
        if lastCutEnd == bytes.count { return }
        if !atLineStart { newline() }
        let features = profile.features
        let chosen: CutKind?
        switch kind {
        case .full: chosen = features.fullCut ? .full : (features.partialCut ? .partial : nil)
        case .partial: chosen = features.partialCut ? .partial : (features.fullCut ? .full : nil)
        }
        if let chosen {
            append(.feedAndCut(chosen, feed: options.feedBeforeCut))
        } else {
            feed(lines: 4)
        }
        atLineStart = true
        lastCutEnd = bytes.count
    }

    /// Cuts where the paper is, without feeding it past the cutter first (`GS V m`); only feeds when the printer
    /// has no cutter.
    public mutating func cutWithoutFeed(_ kind: CutKind = .partial) {
        if lastCutEnd == bytes.count { return }
        if !atLineStart { newline() }
        let features = profile.features
        switch kind {
        case .full where features.fullCut, .partial where !features.partialCut && features.fullCut: append(.cut(.full))
        case .partial where features.partialCut, .full where !features.fullCut && features.partialCut: append(.cut(.partial))
        default: feed(lines: 4)
        }
        atLineStart = true
        lastCutEnd = bytes.count
    }

    /// `ESC B n t`. Throws when the profile has no beeper.
    public mutating func beep(times: Int = 1, durationMilliseconds: Int = 100) throws(ESCPOSError) {
        guard profile.features.beeper else { throw .notSupported(feature: "a beeper", profile: profile.id) }
        guard (1...9).contains(times) else { throw .parameterOutOfRange(name: "beep count", value: times, allowed: 1...9) }
        guard (50...450).contains(durationMilliseconds) else {
            throw .parameterOutOfRange(name: "beep duration (ms)", value: durationMilliseconds, allowed: 50...450)
        }
        append(.beep(times: UInt8(times), duration: UInt8(durationMilliseconds / 50)))
    }

    /// The 5-byte `ESC p m t1 t2` drawer kick. Times are in milliseconds, in steps of 2 ms.
    public mutating func drawerPulse(pin: DrawerPin = .pin2, onMilliseconds: Int = 50, offMilliseconds: Int = 500)
        throws(ESCPOSError)
    {
        append(try Self.drawerPulseCommand(profile: profile, pin: pin, on: onMilliseconds, off: offMilliseconds))
    }

    public static func drawerPulseCommand(profile: PrinterProfile, pin: DrawerPin, on: Int, off: Int)
        throws(ESCPOSError) -> Command
    {
        guard profile.features.drawerPulse else {
            throw .notSupported(feature: "a cash-drawer pulse (ESC p)", profile: profile.id)
        }
        guard (2...510).contains(on) else { throw .parameterOutOfRange(name: "drawer on time (ms)", value: on, allowed: 2...510) }
        guard (2...510).contains(off) else {
            throw .parameterOutOfRange(name: "drawer off time (ms)", value: off, allowed: 2...510)
        }
        return .drawerPulse(pin, on: UInt8(on / 2), off: UInt8(max(on, off) / 2))
    }

    // MARK: Barcodes and QR

    public mutating func barcode(_ symbology: BarcodeSymbology, _ data: String, options: BarcodeOptions = BarcodeOptions())
        throws(ESCPOSError)
    {
        let payload = try Barcode.payload(symbology, data)
        guard (1...255).contains(options.height) else {
            throw .parameterOutOfRange(name: "barcode height (dots)", value: options.height, allowed: 1...255)
        }
        guard (2...6).contains(options.moduleWidth) else {
            throw .parameterOutOfRange(name: "barcode module width", value: options.moduleWidth, allowed: 2...6)
        }
        var moduleWidth = options.moduleWidth
        let modules = Barcode.modules(symbology, payload: payload)
        while modules * moduleWidth > profile.paper.dots, moduleWidth > 2 { moduleWidth -= 1 }
        guard modules * moduleWidth <= profile.paper.dots else {
            throw .barcodeTooWide(data: data, dots: modules * moduleWidth, maximum: profile.paper.dots)
        }
        let useB = profile.features.barcodeB || symbology == .code128
        if useB && !profile.features.barcodeB {
            throw .notSupported(feature: "CODE128 barcodes (GS k function B)", profile: profile.id)
        }
        if !useB && !profile.features.barcodeA {
            throw .notSupported(feature: "barcodes (GS k)", profile: profile.id)
        }
        if !atLineStart { newline() }
        if barcodeSettings?.height != options.height { append(.barcodeHeight(UInt8(options.height))) }
        if barcodeSettings?.moduleWidth != moduleWidth { append(.barcodeModuleWidth(UInt8(moduleWidth))) }
        if barcodeSettings?.font != options.hriFont { append(.barcodeHRIFont(options.hriFont)) }
        if barcodeSettings?.hri != options.hri { append(.barcodeHRIPosition(options.hri)) }
        barcodeSettings = (options.height, moduleWidth, options.hriFont, options.hri)
        if useB {
            bytes += [0x1D, 0x6B, symbology.functionB, UInt8(payload.count)] + payload
        } else {
            bytes += [0x1D, 0x6B, symbology.functionA!] + payload + [0x00]
        }
        // GS k leaves the print position at the start of a line.
        atLineStart = true
    }

    /// A QR code: native `GS ( k` where the profile supports it, otherwise the same symbol as a raster image.
    public mutating func qrCode(
        _ data: [UInt8], moduleSize: Int = 4, errorCorrection: QRCode.ErrorCorrection = .medium
    ) throws(ESCPOSError) {
        guard (1...16).contains(moduleSize) else {
            throw .parameterOutOfRange(name: "QR module size (dots)", value: moduleSize, allowed: 1...16)
        }
        guard let version = QRCode.minimumVersion(for: data, errorCorrection: errorCorrection) else {
            throw .qrCodeTooLong(bytes: data.count)
        }
        if !atLineStart { newline() }
        // Data holding DLE EOT, DLE ENQ or DLE DC4 would be taken as a real-time command inside GS ( k (DLE DC4 1 pulses
        // the drawer): such a symbol is sent as an image instead, whose bytes are scrubbed.
        let realtimeRisk = zip(data, data.dropFirst()).contains { $0 == 0x10 && ($1 == 0x04 || $1 == 0x05 || $1 == 0x14) }
        if profile.features.nativeQR, !realtimeRisk {
            // The printer draws the symbol itself and drops one wider than its paper: refuse it here, with the size that fits.
            let modules = 17 + 4 * version
            guard modules * moduleSize <= profile.paper.dots else {
                throw .qrCodeTooWide(modules: modules, moduleSize: moduleSize, maximum: profile.paper.dots)
            }
            let stored = data.count + 3
            bytes += [0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00]
            bytes += [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, UInt8(moduleSize)]
            bytes += [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x30 + UInt8(errorCorrection.rawValue)]
            bytes += [0x1D, 0x28, 0x6B, UInt8(stored & 0xFF), UInt8(stored >> 8), 0x31, 0x50, 0x30] + data
            bytes += [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]
            newline()
            return
        }
        guard profile.features.rasterImage else {
            throw .notSupported(feature: "QR codes (neither native QR nor raster images)", profile: profile.id)
        }
        let symbol: QRCode
        do {
            symbol = try QRCode(data: data, errorCorrection: errorCorrection)
        } catch {
            throw .qrCodeTooLong(bytes: data.count)
        }
        var size = moduleSize
        while (symbol.size + 8) * size > profile.paper.dots && size > 1 { size -= 1 }
        warnings.append(EncodingWarning(
            kind: .fallback, message: realtimeRisk
                ? "the QR data holds bytes a printer would take as a real-time command (DLE EOT/ENQ/DC4); the QR code was printed as an image"
                : "profile '\(profile.id)' has no native QR; the QR code was printed as an image"))
        try image(Self.rasterize(symbol, moduleSize: size))
    }

    /// A QR symbol as a bitmap with a 4-module quiet zone.
    public static func rasterize(_ symbol: QRCode, moduleSize: Int) -> MonoBitmap {
        let quiet = 4
        let side = (symbol.size + 2 * quiet) * moduleSize
        var bitmap = MonoBitmap(width: side, height: side)
        for y in 0..<symbol.size {
            for x in 0..<symbol.size where symbol[x, y] {
                for dy in 0..<moduleSize {
                    for dx in 0..<moduleSize {
                        bitmap[(x + quiet) * moduleSize + dx, (y + quiet) * moduleSize + dy] = true
                    }
                }
            }
        }
        return bitmap
    }

    // MARK: Images

    /// `GS v 0` raster image in bands of `options.imageBandHeight` rows. Real-time commands are disabled around the
    /// data where the profile supports `GS ( D`; byte pairs that a printer would still take as a real-time command
    /// (`DLE EOT`, `DLE ENQ`, `DLE DC4`) are broken by clearing one dot.
    public mutating func image(_ bitmap: MonoBitmap) throws(ESCPOSError) {
        guard profile.features.rasterImage else {
            throw .notSupported(feature: "raster images (GS v 0)", profile: profile.id)
        }
        guard bitmap.width <= profile.paper.dots else {
            throw .imageTooWide(width: bitmap.width, maximum: profile.paper.dots)
        }
        guard bitmap.width > 0, bitmap.height > 0 else { return }
        if !atLineStart { newline() }
        let disable = profile.features.disableRealtimeCommands
        if disable { append(.realtimePulseCommand(enabled: false)) }
        let widthBytes = bitmap.bytesPerRow
        bytes.reserveCapacity(bytes.count + bitmap.bytes.count + 8 * (bitmap.height / options.imageBandHeight + 1))
        var row = 0
        while row < bitmap.height {
            let end = min(bitmap.height, row + options.imageBandHeight)
            let bandHeight = end - row
            bytes += [0x1D, 0x76, 0x30, 0x00, UInt8(widthBytes & 0xFF), UInt8(widthBytes >> 8),
                      UInt8(bandHeight & 0xFF), UInt8(bandHeight >> 8)]
            let start = bytes.count
            bytes.append(contentsOf: bitmap.bytes[row * widthBytes..<end * widthBytes])
            Self.scrubRealtimeSequences(&bytes, from: start)
            row = end
        }
        if disable { append(.realtimePulseCommand(enabled: true)) }
        atLineStart = true
    }

    /// Clears bit 4 of any 0x10 that is followed by 0x04, 0x05 or 0x14, so the pair cannot act as `DLE EOT`,
    /// `DLE ENQ` or `DLE DC4`. Changes one dot per occurrence.
    public static func scrubRealtimeSequences(_ data: [UInt8]) -> [UInt8] {
        var out = data
        scrubRealtimeSequences(&out, from: 0)
        return out
    }

    /// In place, from `start` to the end.
    static func scrubRealtimeSequences(_ data: inout [UInt8], from start: Int) {
        data.withUnsafeMutableBufferPointer { buffer in
            var index = start
            while index + 1 < buffer.count {
                if buffer[index] == 0x10 {
                    let next = buffer[index + 1]
                    if next == 0x04 || next == 0x05 || next == 0x14 { buffer[index] = 0x00 }
                }
                index += 1
            }
        }
    }

    /// Prints a logo already stored in the printer's non-volatile memory (`GS ( L` fn 69, key codes kc1 kc2).
    public mutating func printStoredLogo(key: (UInt8, UInt8)) throws(ESCPOSError) {
        guard profile.features.storedLogo else {
            throw .notSupported(feature: "logos stored in printer memory (GS ( L)", profile: profile.id)
        }
        if !atLineStart { newline() }
        bytes += [0x1D, 0x28, 0x4C, 0x06, 0x00, 0x30, 0x45, key.0, key.1, 0x01, 0x01]
        atLineStart = true
    }

    /// The one-off job that stores `bitmap` in non-volatile memory under key `kc1 kc2` (`GS ( L` fn 67, raster format).
    public static func storeLogoJob(_ bitmap: MonoBitmap, key: (UInt8, UInt8)) -> [UInt8] {
                var out: [UInt8] = [0x1B, 0x40]
        // GS 8 L p1 p2 p3 p4 m fn a kc1 kc2 b xL xH yL yH c d...
        let p = 11 + bitmap.bytes.count  // bytes after p4: m fn a kc1 kc2 b xL xH yL yH c, then data
        out += [0x1D, 0x38, 0x4C, UInt8(p & 0xFF), UInt8((p >> 8) & 0xFF), UInt8((p >> 16) & 0xFF), UInt8(p >> 24)]
        out += [0x30, 0x43, 0x30, key.0, key.1, 0x01,
                UInt8(bitmap.width & 0xFF), UInt8(bitmap.width >> 8), UInt8(bitmap.height & 0xFF), UInt8(bitmap.height >> 8),
                0x31]
        out += bitmap.bytes
        return out
    }
}
