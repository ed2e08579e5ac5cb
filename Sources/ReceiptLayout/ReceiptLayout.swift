import ESCPOS
import Foundation
import QRCode
import Raster

public enum LayoutError: Error, Equatable, Sendable, CustomStringConvertible {
    case escpos(ESCPOSError)
    case image(source: String, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .escpos(let error): return error.description
        case .image(let source, let reason): return "The image \(source) cannot be printed: \(reason)."
        case .invalid(let reason): return "The document is not valid: \(reason)."
        }
    }
}

/// The bytes of one laid-out document and what could not be printed exactly.
public struct LayoutResult: Sendable {
    public var bytes: [UInt8]
    public var warnings: [EncodingWarning]
    public init(bytes: [UInt8], warnings: [EncodingWarning]) {
        self.bytes = bytes
        self.warnings = warnings
    }
}

/// Lays a `Document` out for a printer profile's columns and turns it into ESC/POS.
public struct ReceiptLayout: Sendable {
    public struct Options: Sendable {
        /// The body font; columns come from the profile.
        public var font: TextStyle.Font
        public var writer: ESCPOSWriter.Options
        /// Reuse scaled and dithered logos across documents (for long-running services and batch printing).
        public var imageCache: ImageCache?
        public init(font: TextStyle.Font = .a, writer: ESCPOSWriter.Options = .init(), imageCache: ImageCache? = nil) {
            self.font = font
            self.writer = writer
            self.imageCache = imageCache
        }
    }

    public let profile: PrinterProfile
    public let options: Options
    /// A fresh writer with the profile's code pages resolved once; each render starts from a copy.
    private let template: ESCPOSWriter

    public init(profile: PrinterProfile, options: Options = Options()) {
        self.profile = profile
        self.options = options
        template = ESCPOSWriter(profile: profile, options: options.writer)
    }

    /// Characters per line for the body font.
    public var columns: Int { profile.columns(font: options.font) }

    /// Renders the document. `loadImage` turns an image block into pixels (the caller owns file access).
    public func render(
        _ document: Document, loadImage: (ImageBlock) throws(LayoutError) -> GrayImage
    ) throws(LayoutError) -> LayoutResult {
        if let format = document.format, format != Document.formatIdentifier {
            throw .invalid("format '\(format)' is not supported; this Kassa reads '\(Document.formatIdentifier)'")
        }
        try document.validate()
        let money = document.moneyFormat ?? MoneyFormat.standard(for: document.currency)
        let labels = document.labels ?? [:]
        func label(_ key: String, _ fallback: String) -> String { labels[key] ?? fallback }
        var writer = template
        writer.initialize()
        let body = TextStyle(font: options.font)
        writer.setStyle(body)
        let width = columns
        let asciiMoney = money.isASCII ? MoneyFormat.ByteFormatter(money) : nil

        do {
            for block in document.resolvedBlocks {
                switch block {
                case .text(let text):
                    var style = text.style
                    if text.font == nil { style.font = options.font }
                    writer.setAlignment(text.align ?? .left)
                    writer.setStyle(style)
                    let lineWidth = max(1, profile.columns(font: style.font) / style.width)
                    writer.hintText(text.text)
                    for line in Self.wrap(text.text, width: lineWidth) { writer.line(line) }
                    writer.hintText(nil)
                    // The style stays until the next block sets its own: consecutive blocks of one style send nothing
                    // between them (decision 0004: only changes).
                case .separator(let separator):
                    writer.setAlignment(.left)
                    writer.setStyle(body)
                    let character = separator.character?.first ?? "-"
                    if let ascii = character.asciiValue, ascii >= 0x20, ascii < 0x7F {
                        writer.appendPrintableASCII { $0.append(contentsOf: repeatElement(ascii, count: width)) }
                        writer.newline()
                    } else {
                        writer.line(String(repeating: character, count: width))
                    }
                case .keyValue(let pair):
                    writer.setAlignment(.left)
                    var style = body
                    style.bold = pair.bold ?? false
                    writer.setStyle(style)
                    if let amount = pair.amount {
                        emitAmountLine(pair.label, amount, symbol: false, into: &writer, money: money, fast: asciiMoney, width: width)
                    } else {
                        Self.emitColumns(&writer, pair.label, pair.value ?? "", width: width)
                    }
                case .items(let items):
                    writer.setAlignment(.left)
                    writer.setStyle(body)
                    let discountLabel = label("discount", "Discount")
                    for index in items.indices {
                        emitItem(items[index], into: &writer, money: money, asciiMoney: asciiMoney, width: width,
                                 discountLabel: discountLabel)
                    }
                case .totals(let totals):
                    writer.setAlignment(.left)
                    writer.setStyle(body)
                    for line in totals.lines ?? [] {
                        emitAmountLine(line.label, line.amount, symbol: false, into: &writer, money: money, fast: asciiMoney,
                                       width: width)
                    }
                    var style = body
                    style.bold = true
                    style.height = 2
                    writer.setStyle(style)
                    emitAmountLine(totals.label ?? label("total", "TOTAL"), totals.total, symbol: true, into: &writer, money: money,
                                   fast: asciiMoney, width: width)
                case .vat(let rows):
                    writer.setAlignment(.left)
                    writer.setStyle(body)
                    emitVATTable(rows, into: &writer, money: money, asciiMoney: asciiMoney, width: width,
                                 labels: labels)
                case .payments(let payments):
                    writer.setAlignment(.left)
                    writer.setStyle(body)
                    for payment in payments {
                        emitAmountLine(payment.method, payment.amount, symbol: false, into: &writer, money: money,
                                       fast: asciiMoney, width: width)
                    }
                case .qr(let qr):
                    guard let level = qr.level else {
                        throw LayoutError.invalid("QR errorCorrection must be L, M, Q or H, not '\(qr.errorCorrection ?? "")'")
                    }
                    writer.setAlignment(qr.align ?? .center)
                    try writer.qrCode(Array(qr.data.utf8), moduleSize: qr.moduleSize ?? 4, errorCorrection: level)
                    writer.setAlignment(.left)
                case .barcode(let barcode):
                    writer.setAlignment(barcode.align ?? .center)
                    let defaults = BarcodeOptions()
                    try writer.barcode(
                        barcode.symbology, barcode.data,
                        options: BarcodeOptions(
                            hri: barcode.hri ?? defaults.hri, hriFont: .a, height: barcode.height ?? defaults.height,
                            moduleWidth: barcode.moduleWidth ?? defaults.moduleWidth))
                    writer.setAlignment(.left)
                case .image(let image):
                    writer.setAlignment(image.align ?? .center)
                    try printImage(image, writer: &writer, loadImage: loadImage)
                    writer.setAlignment(.left)
                case .feed(let feed):
                    writer.setStyle(body)
                    writer.feed(lines: feed.lines)
                case .cut(let cut):
                    writer.cut(cut.kind == "full" ? .full : .partial)
                }
            }
            if document.cut ?? true { writer.cut(.partial) }
        } catch let error as ESCPOSError {
            throw .escpos(error)
        } catch let error as LayoutError {
            throw error
        } catch {
            throw .invalid("\(error)")
        }
        return LayoutResult(bytes: writer.bytes, warnings: writer.warnings)
    }

    private func printImage(
        _ block: ImageBlock, writer: inout ESCPOSWriter, loadImage: (ImageBlock) throws(LayoutError) -> GrayImage
    ) throws {
        if let key = block.storedKey, profile.features.storedLogo {
            let bytes = Array(key.utf8)
            guard bytes.count == 2, bytes.allSatisfy({ (0x20...0x7E).contains($0) }) else {
                throw LayoutError.invalid("storedKey must be two printable ASCII characters, not '\(key)'")
            }
            try writer.printStoredLogo(key: (bytes[0], bytes[1]))
            return
        }
        guard profile.features.rasterImage else {
            throw LayoutError.escpos(.notSupported(feature: "raster images (GS v 0)", profile: profile.id))
        }
        let dithering = block.dithering ?? .floydSteinberg
        func rasterize() throws(LayoutError) -> MonoBitmap {
            let gray = try loadImage(block)
            let target = min(block.width ?? gray.width, profile.paper.dots)
            return gray.scaled(toWidth: target).monochrome(dithering)
        }
        let bitmap: MonoBitmap
        if let cache = options.imageCache, let source = block.file ?? block.base64, source.utf8.count <= ImageCache.maxSourceBytes {
            let key = ImageCache.Key(source: source, width: block.width ?? 0, dithering: dithering)
            bitmap = try cache.bitmap(for: key, make: rasterize)
        } else {
            bitmap = try rasterize()
        }
        try writer.image(bitmap)
    }

    typealias Line = [(column: Int, text: String)]

    func emitItem(
        _ item: borrowing Item, into writer: inout ESCPOSWriter, money: MoneyFormat, asciiMoney: MoneyFormat.ByteFormatter?,
        width: Int, discountLabel: String
    ) {
        let quantity = item.quantity ?? .one
        if let amounts = asciiMoney, item.unit == nil, item.vat.map(Self.isPrintableASCII) ?? true {
            // The common case, written straight into the job without building strings: name, a jump to the amount
            // column, amount and VAT code; then "  2 x 4,20". Widths are computed before anything is written.
            let amount = item.lineAmount
            let rightWidth = (amount.map(amounts.width) ?? 0) + (item.vat.map { $0.utf8.count + 1 } ?? 0)
            let fits = item.name.utf8.count + rightWidth < width
            let nameWidth: Int? = !fits ? nil
                : (writer.textIfPrintableASCII(item.name)
                    ?? (ESCPOSWriter.containsNewline(item.name) ? nil : writer.measuredText(item.name)))
            if let nameWidth {
                writer.moveRight(from: nameWidth, to: width - rightWidth)
                writer.appendPrintableASCII { out in
                    if let amount { amounts.append(amount, to: &out) }
                    if var vat = item.vat {
                        out.append(0x20)
                        vat.withUTF8 { out.append(contentsOf: $0) }
                    }
                }
                writer.newline()
                if let unitPrice = item.unitPrice, !quantity.isOne {
                    if quantity.scale == 0, 2 + amounts.integerWidth(quantity.units) + 3 + amounts.width(unitPrice) <= width {
                        writer.appendPrintableASCII { out in
                            out.append(0x20)
                            out.append(0x20)
                            amounts.appendInteger(quantity.units, to: &out)
                            out.append(0x20)
                            out.append(0x78)
                            out.append(0x20)
                            amounts.append(unitPrice, to: &out)
                        }
                        writer.newline()
                    } else {
                        let detail = "  \(quantity.formatted(decimalSeparator: money.decimalSeparator)) x \(money.format(unitPrice))"
                        for line in Self.wrap(detail, width: width) { writer.line(line) }
                    }
                }
                emitDiscount(item, into: &writer, money: money, width: width, discountLabel: discountLabel)
                return
            }
        }
        var amountText = item.lineAmount.map { money.format($0) } ?? ""
        if let vat = item.vat { amountText += " " + vat }
        Self.emitColumns(&writer, item.name, amountText, width: width)
        if let unitPrice = item.unitPrice, !quantity.isOne || item.unit != nil {
            let unit = item.unit.map { " " + $0 } ?? ""
            let detail = "  \(quantity.formatted(decimalSeparator: money.decimalSeparator))\(unit) x \(money.format(unitPrice))"
                + (item.unit.map { "/" + $0 } ?? "")
            for line in Self.wrap(detail, width: width) { writer.line(line) }
        }
        emitDiscount(item, into: &writer, money: money, width: width, discountLabel: discountLabel)
    }

    /// A label on the left and an amount (optionally with the currency symbol) right-aligned.
    func emitAmountLine(
        _ label: String, _ amount: Int64, symbol: Bool, into writer: inout ESCPOSWriter, money: MoneyFormat,
        fast: MoneyFormat.ByteFormatter?, width: Int
    ) {
        if let fast {
            let symbolWidth = symbol ? money.symbol.count + 1 : 0
            let amountWidth = fast.width(amount)
            let rightWidth = amountWidth + symbolWidth
            // Bytes are never fewer than columns, so a label whose bytes fit leaves room for the amount.
            if label.utf8.count + rightWidth < width, !ESCPOSWriter.containsNewline(label) {
                let labelWidth = writer.measuredText(label)
                writer.moveRight(from: labelWidth, to: width - rightWidth)
                if symbol, money.symbolPosition == .before { writer.measuredText(money.symbol + " ") }
                writer.appendPrintableASCII { fast.append(amount, to: &$0) }
                if symbol, money.symbolPosition == .after { writer.measuredText(" " + money.symbol) }
                writer.newline()
                return
            }
        }
        Self.emitColumns(&writer, label, money.format(amount, withSymbol: symbol), width: width)
    }

    private func emitDiscount(_ item: Item, into writer: inout ESCPOSWriter, money: MoneyFormat, width: Int, discountLabel: String) {
        guard let discount = item.discount else { return }
        let reason = discount.reason.map { "  \(discountLabel): \($0)" } ?? "  \(discountLabel)"
        Self.emitColumns(&writer, reason, money.format(-abs(discount.amount)), width: width)
    }

    static func isPrintableASCII(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { buffer in !buffer.contains { $0 < 0x20 || $0 >= 0x7F } }
    }

    /// Rate on the left, then net, tax and gross right-aligned in three equal columns.
    func emitVATTable(
        _ rows: [VATRow], into writer: inout ESCPOSWriter, money: MoneyFormat, asciiMoney: MoneyFormat.ByteFormatter?,
        width: Int, labels: [String: String]
    ) {
        let first = max(5, min(9, width / 5))
        let rest = (width - first) / 3
        func row(_ label: String, _ cells: (inout ESCPOSWriter, Int) -> Void) {
            var text = label
            if ESCPOSWriter.columnCount(text) > first - 1 { text = String(text.prefix(first - 1)) }
            let column = writer.measuredText(text)
            cells(&writer, column)
            writer.newline()
        }
        func cell(_ writer: inout ESCPOSWriter, from column: inout Int, index: Int, text: String) {
            let fitted = ESCPOSWriter.columnCount(text) > rest - 1 ? String(text.prefix(rest - 1)) : text
            let end = first + rest * (index + 1)
            let count = ESCPOSWriter.columnCount(fitted)
            writer.moveRight(from: column, to: end - count)
            writer.measuredText(fitted)
            column = end
        }
        row(labels["rate"] ?? "VAT") { writer, start in
            var column = start
            for (index, title) in [labels["net"] ?? "Net", labels["vat"] ?? "Tax", labels["gross"] ?? "Gross"].enumerated() {
                cell(&writer, from: &column, index: index, text: title)
            }
        }
        let titles = [labels["net"] ?? "Net", labels["vat"] ?? "Tax", labels["gross"] ?? "Gross"]
        for entry in rows {
            let amounts = [entry.net, entry.vat, entry.gross]
            // An amount wider than its column is never cut: such a row is printed as a label line and one line per amount.
            if amounts.contains(where: { ESCPOSWriter.columnCount(money.format($0)) > rest - 1 }) {
                writer.line(entry.rate)
                for (title, amount) in zip(titles, amounts) { Self.emitColumns(&writer, "  " + title, money.format(amount), width: width) }
                continue
            }
            row(entry.rate) { writer, start in
                var column = start
                for (index, amount) in [entry.net, entry.vat, entry.gross].enumerated() {
                    let end = first + rest * (index + 1)
                    if let amounts = asciiMoney, amounts.width(amount) <= rest - 1 {
                        writer.moveRight(from: column, to: end - amounts.width(amount))
                        writer.appendPrintableASCII { amounts.append(amount, to: &$0) }
                        column = end
                        continue
                    }
                    cell(&writer, from: &column, index: index, text: money.format(amount))
                }
            }
        }
    }

    // MARK: Column helpers (one Character = one column)

    /// Left text and a right-aligned value on one line; a long left text wraps while the value stays in its column.
    static func columns(_ left: String, _ right: String, width: Int) -> [Line] {
        let rightWidth = ESCPOSWriter.columnCount(right)
        guard rightWidth < width - 1 else { return wrap(left, width: width).map { [(0, $0)] } + [[(width - rightWidth, right)]] }
        let wrapped = wrap(left, width: width - rightWidth - 1)
        var lines: [Line] = [[(0, wrapped[0]), (width - rightWidth, right)]]
        for part in wrapped.dropFirst() { lines.append([(0, part)]) }
        return lines
    }

    /// Writes `columns(left, right)`; the common single-line case goes straight to the writer.
    static func emitColumns(_ writer: inout ESCPOSWriter, _ left: String, _ right: String, width: Int) {
        let rightWidth = ESCPOSWriter.columnCount(right)
        let leftWidth = ESCPOSWriter.columnCount(left)
        if leftWidth + rightWidth < width, !ESCPOSWriter.containsNewline(left) {
            writer.text(left)
            writer.moveRight(from: leftWidth, to: width - rightWidth)
            writer.text(right)
            writer.newline()
            return
        }
        for line in columns(left, right, width: width) { writer.line(segments: line) }
    }

    /// `columns` as padded text, for previews and tests.
    public static func columnsLine(_ left: String, _ right: String, width: Int) -> [String] {
        columns(left, right, width: width).map { line in
            var text = ""
            for segment in line {
                let pad = segment.column - text.count
                if pad > 0 { text += String(repeating: " ", count: pad) }
                text += segment.text
            }
            return text
        }
    }

    /// Word-wraps to `width` columns; words longer than a line are broken. Leading spaces (indentation) are kept.
    public static func wrap(_ text: String, width: Int) -> [String] {
        let width = max(1, width)
        if text.utf8.count <= width, !ESCPOSWriter.containsNewline(text) { return [text] }
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let indent = String(paragraph.prefix { $0 == " " }.prefix(width / 2))
            var current = indent
            // Lengths are kept as counts, never recounted: one unbroken 1 MB word is cut in linear time.
            var currentCount = indent.count
            var hasWord = false
            for piece in paragraph.split(separator: " ") {
                var word = Substring(piece)
                var wordCount = word.count
                if hasWord, currentCount + 1 + wordCount > width {
                    lines.append(current)
                    current = ""
                    currentCount = 0
                    hasWord = false
                }
                while !hasWord, currentCount + wordCount > width {
                    let room = width - currentCount
                    let cut = word.index(word.startIndex, offsetBy: room)
                    lines.append(current + word[..<cut])
                    word = word[cut...]
                    wordCount -= room
                    current = ""
                    currentCount = 0
                }
                if !word.isEmpty {
                    current += hasWord ? " " + word : word
                    currentCount += hasWord ? 1 + wordCount : wordCount
                    hasWord = true
                }
            }
            lines.append(current)
        }
        return lines
    }

}
