import ESCPOS

/// The document's values checked before anything is laid out, each refusal naming its field by path
/// (`blocks[2].size.width`, `items[0].unitPrice`): what a printer would misprint, or what would overflow the layout's
/// arithmetic, is refused here instead of being clamped or trapping later. Docs/document-format.md, "Bounds".
extension Document {
    /// The largest amount a document may carry, in minor units (as the session engine's bound).
    public static let maxAmount: Int64 = 999_999_999_999

    public func validate() throws(LayoutError) {
        if let blocks {
            for (index, block) in blocks.enumerated() { try Self.validate(block, at: "blocks[\(index)]", itemsPath: "blocks[\(index)].items") }
            return
        }
        if let logo { try Self.validate(.image(logo), at: "logo", itemsPath: "") }
        for (index, line) in (header ?? []).enumerated() { try Self.validate(.text(line), at: "header[\(index)]", itemsPath: "") }
        if let items { try Self.validate(.items(items), at: "items", itemsPath: "items") }
        if let totals { try Self.validate(.totals(totals), at: "totals", itemsPath: "") }
        if let payments { try Self.validate(.payments(payments), at: "payments", itemsPath: "payments") }
        if let vat { try Self.validate(.vat(vat), at: "vat", itemsPath: "vat") }
        for (index, line) in (footer ?? []).enumerated() { try Self.validate(.text(line), at: "footer[\(index)]", itemsPath: "") }
        if let barcode { try Self.validate(.barcode(barcode), at: "barcode", itemsPath: "") }
        if let qr { try Self.validate(.qr(qr), at: "qr", itemsPath: "") }
    }

    static func amount(_ value: Int64, _ path: String) throws(LayoutError) {
        guard (-maxAmount...maxAmount).contains(value) else {
            throw .invalid("\(path) is \(value), beyond ±999,999,999,999 minor units")
        }
    }

    static func range(_ value: Int, _ allowed: ClosedRange<Int>, _ path: String, _ what: String) throws(LayoutError) {
        guard allowed.contains(value) else {
            throw .invalid("\(path) is \(value); \(what) is \(allowed.lowerBound) to \(allowed.upperBound)")
        }
    }

    // swiftlint:disable:next cyclomatic_complexity
    static func validate(_ block: Block, at path: String, itemsPath: String) throws(LayoutError) {
        switch block {
        case .text(let text):
            if let size = text.size {
                try range(size.width, 1...8, "\(path).size.width", "a character width")
                try range(size.height, 1...8, "\(path).size.height", "a character height")
            }
            if let underline = text.underline { try range(underline, 0...2, "\(path).underline", "the underline (0 none, 1 thin, 2 thick)") }
        case .keyValue(let pair):
            if let value = pair.amount { try amount(value, "\(path).amount") }
        case .items(let items):
            for (index, item) in items.enumerated() {
                let at = "\(itemsPath)[\(index)]"
                if let price = item.unitPrice { try amount(price, "\(at).unitPrice") }
                if let value = item.amount { try amount(value, "\(at).amount") }
                if let discount = item.discount { try amount(discount.amount, "\(at).discount.amount") }
                if let quantity = item.quantity {
                    let whole = Int128(quantity.units) / Int128(Quantity.powerOfTen(quantity.scale))
                    guard whole.magnitude <= 999_999_999_999 else {
                        throw .invalid("\(at).quantity is \(quantity), beyond ±999,999,999,999")
                    }
                }
                if item.amount == nil, let price = item.unitPrice {
                    guard let line = (item.quantity ?? .one).timesChecked(price), (-maxAmount...maxAmount).contains(line) else {
                        throw .invalid("\(at): quantity × unitPrice is beyond ±999,999,999,999 minor units")
                    }
                }
            }
        case .totals(let totals):
            for (index, line) in (totals.lines ?? []).enumerated() { try amount(line.amount, "\(path).lines[\(index)].amount") }
            try amount(totals.total, "\(path).total")
        case .vat(let rows):
            for (index, row) in rows.enumerated() {
                try amount(row.net, "\(itemsPath)[\(index)].net")
                try amount(row.vat, "\(itemsPath)[\(index)].vat")
                try amount(row.gross, "\(itemsPath)[\(index)].gross")
            }
        case .payments(let payments):
            for (index, payment) in payments.enumerated() { try amount(payment.amount, "\(itemsPath)[\(index)].amount") }
        case .qr(let qr):
            guard !qr.data.isEmpty else { throw .invalid("\(path).data is empty; a QR code needs data") }
            if let size = qr.moduleSize { try range(size, 1...16, "\(path).moduleSize", "a QR module size (dots)") }
        case .barcode(let barcode):
            guard !barcode.data.isEmpty else { throw .invalid("\(path).data is empty; a barcode needs data") }
            if let height = barcode.height { try range(height, 1...255, "\(path).height", "a barcode height (dots)") }
            if let width = barcode.moduleWidth { try range(width, 2...6, "\(path).moduleWidth", "a barcode module width") }
        case .image(let image):
            if let width = image.width { try range(width, 1...4096, "\(path).width", "an image width (dots)") }
        case .feed(let feed):
            try range(feed.lines, 0...255, "\(path).lines", "a feed (lines)")
        case .cut(let cut):
            if let kind = cut.kind, kind != "full", kind != "partial" {
                throw .invalid("\(path).kind is '\(kind)'; a cut is \"full\" or \"partial\"")
            }
        case .separator(let separator):
            if let character = separator.character, character.count != 1 {
                throw .invalid("\(path).character is '\(character)'; a separator is one character")
            }
        }
    }
}

extension Quantity {
    static func powerOfTen(_ n: Int) -> Int64 {
        var value: Int64 = 1
        for _ in 0..<min(max(n, 0), 18) { value *= 10 }
        return value
    }

    /// Quantity × unit price, rounded half away from zero to whole minor units; nil beyond the range of an amount.
    public func timesChecked(_ unitPrice: Int64) -> Int64? {
        let product = Int128(units) * Int128(unitPrice)
        let divisor = Int128(Self.powerOfTen(scale))
        let half = divisor / 2
        let rounded = product >= 0 ? (product + half) / divisor : -((-product + half) / divisor)
        return Int64(exactly: rounded)
    }
}
