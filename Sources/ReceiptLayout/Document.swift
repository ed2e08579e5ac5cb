import ESCPOS
import Foundation
import QRCode
import Raster

/// A receipt or report as the POS front end describes it: the `kassa.document/1` JSON format
/// (see Docs/document-format.md). Money is in integer minor units of `currency`.
public struct Document: Sendable, Codable, Equatable {
    public static let formatIdentifier = "kassa.document/1"

    public var format: String?
    public var currency: String
    public var moneyFormat: MoneyFormat?
    /// Explicit block list. When absent, blocks are built from the convenience fields below in receipt order.
    public var blocks: [Block]?
    public var logo: ImageBlock?
    public var header: [TextBlock]?
    public var items: [Item]?
    public var totals: Totals?
    public var vat: [VATRow]?
    public var payments: [Payment]?
    public var footer: [TextBlock]?
    public var qr: QRBlock?
    public var barcode: BarcodeBlock?
    /// Cut the paper at the end (default true).
    public var cut: Bool?
    /// Words the layout prints itself, to translate them: `total`, `rate`, `net`, `vat`, `gross`, `discount`.
    public var labels: [String: String]?

    public init(currency: String, blocks: [Block]) {
        self.currency = currency
        self.blocks = blocks
        self.format = Self.formatIdentifier
    }

    /// The blocks to print, in order.
    public var resolvedBlocks: [Block] {
        if let blocks { return blocks }
        var result: [Block] = []
        if let logo { result.append(.image(logo)) }
        for line in header ?? [] { result.append(.text(line)) }
        if let items, !items.isEmpty {
            result.append(.separator(SeparatorBlock()))
            result.append(.items(items))
        }
        if let totals {
            result.append(.separator(SeparatorBlock()))
            result.append(.totals(totals))
        }
        if let payments, !payments.isEmpty { result.append(.payments(payments)) }
        if let vat, !vat.isEmpty {
            result.append(.separator(SeparatorBlock()))
            result.append(.vat(vat))
        }
        if let footer, !footer.isEmpty {
            result.append(.separator(SeparatorBlock()))
            for line in footer { result.append(.text(line)) }
        }
        if let barcode { result.append(.barcode(barcode)) }
        if let qr { result.append(.qr(qr)) }
        return result
    }
}

public struct TextBlock: Sendable, Codable, Equatable {
    public var text: String
    public var align: Alignment?
    public var bold: Bool?
    public var underline: Int?
    public var reverse: Bool?
    public var font: TextStyle.Font?
    /// Width and height multipliers (1...8), e.g. `{"width": 2, "height": 2}`.
    public var size: Size?

    public struct Size: Sendable, Codable, Equatable {
        public var width: Int
        public var height: Int
        public init(width: Int, height: Int) {
            self.width = width
            self.height = height
        }
    }

    public init(
        _ text: String, align: Alignment? = nil, bold: Bool? = nil, size: Size? = nil, font: TextStyle.Font? = nil,
        underline: Int? = nil, reverse: Bool? = nil
    ) {
        self.text = text
        self.align = align
        self.bold = bold
        self.size = size
        self.font = font
        self.underline = underline
        self.reverse = reverse
    }

    public init(from decoder: any Decoder) throws {
        // A bare string is a plain left-aligned line.
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            self.init(text)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            try c.decode(String.self, forKey: .text), align: try c.decodeIfPresent(Alignment.self, forKey: .align),
            bold: try c.decodeIfPresent(Bool.self, forKey: .bold), size: try c.decodeIfPresent(Size.self, forKey: .size),
            font: try c.decodeIfPresent(TextStyle.Font.self, forKey: .font),
            underline: try c.decodeIfPresent(Int.self, forKey: .underline),
            reverse: try c.decodeIfPresent(Bool.self, forKey: .reverse))
    }

    var style: TextStyle {
        TextStyle(
            bold: bold ?? false, underline: TextStyle.Underline(rawValue: UInt8(clamping: underline ?? 0)) ?? .none,
            width: size?.width ?? 1, height: size?.height ?? 1, reverse: reverse ?? false, font: font ?? .a)
    }
}

public struct SeparatorBlock: Sendable, Codable, Equatable {
    public var character: String?
    public init(character: String? = nil) { self.character = character }
}

public struct Item: Sendable, Codable, Equatable {
    public var name: String
    public var quantity: Quantity?
    /// Unit of measure printed after the quantity, e.g. "kg".
    public var unit: String?
    public var unitPrice: Int64?
    /// Line amount in minor units; computed as quantity × unit price when absent.
    public var amount: Int64?
    public var discount: Discount?
    /// VAT label or rate printed after the amount, e.g. "A" or "25%".
    public var vat: String?

    public struct Discount: Sendable, Codable, Equatable {
        public var amount: Int64
        public var reason: String?
        public init(amount: Int64, reason: String? = nil) {
            self.amount = amount
            self.reason = reason
        }
    }

    public init(name: String, quantity: Quantity? = nil, unitPrice: Int64? = nil, amount: Int64? = nil, vat: String? = nil) {
        self.name = name
        self.quantity = quantity
        self.unitPrice = unitPrice
        self.amount = amount
        self.vat = vat
    }

    public var lineAmount: Int64? {
        if let amount { return amount }
        guard let unitPrice else { return nil }
        return (quantity ?? .one).timesChecked(unitPrice)
    }
}

public struct Totals: Sendable, Codable, Equatable {
    public struct Line: Sendable, Codable, Equatable {
        public var label: String
        public var amount: Int64
        public init(label: String, amount: Int64) {
            self.label = label
            self.amount = amount
        }
    }
    /// Subtotal, discounts, rounding … printed before the total.
    public var lines: [Line]?
    public var label: String?
    public var total: Int64

    public init(lines: [Line]? = nil, label: String? = nil, total: Int64) {
        self.lines = lines
        self.label = label
        self.total = total
    }
}

public struct VATRow: Sendable, Codable, Equatable {
    /// Rate as printed, e.g. "25%" or "A 20%".
    public var rate: String
    public var net: Int64
    public var vat: Int64
    public var gross: Int64
    public init(rate: String, net: Int64, vat: Int64, gross: Int64) {
        self.rate = rate
        self.net = net
        self.vat = vat
        self.gross = gross
    }
}

public struct Payment: Sendable, Codable, Equatable {
    public var method: String
    public var amount: Int64
    public init(method: String, amount: Int64) {
        self.method = method
        self.amount = amount
    }
}

public struct KeyValueBlock: Sendable, Codable, Equatable {
    public var label: String
    /// Money in minor units, or `value` for free text.
    public var amount: Int64?
    public var value: String?
    public var bold: Bool?
    public init(label: String, amount: Int64? = nil, value: String? = nil, bold: Bool? = nil) {
        self.label = label
        self.amount = amount
        self.value = value
        self.bold = bold
    }
}

public struct QRBlock: Sendable, Codable, Equatable {
    public var data: String
    public var moduleSize: Int?
    /// "L", "M", "Q" or "H".
    public var errorCorrection: String?
    public var align: Alignment?
    public init(data: String, moduleSize: Int? = nil, errorCorrection: String? = nil) {
        self.data = data
        self.moduleSize = moduleSize
        self.errorCorrection = errorCorrection
    }

    var level: QRCode.ErrorCorrection? {
        switch (errorCorrection ?? "M").uppercased() {
        case "L": return .low
        case "M": return .medium
        case "Q": return .quartile
        case "H": return .high
        default: return nil
        }
    }
}

public struct BarcodeBlock: Sendable, Codable, Equatable {
    public var symbology: BarcodeSymbology
    public var data: String
    public var height: Int?
    public var moduleWidth: Int?
    public var hri: BarcodeOptions.HRIPosition?
    public var align: Alignment?
    public init(symbology: BarcodeSymbology, data: String) {
        self.symbology = symbology
        self.data = data
    }
}

public struct ImageBlock: Sendable, Codable, Equatable {
    /// Path of a PNG or PBM file, relative to the document's folder.
    public var file: String?
    /// The image itself, base64-encoded PNG or PBM.
    public var base64: String?
    /// Width in dots; default: the image's own width, shrunk to the paper.
    public var width: Int?
    public var dithering: Dithering?
    public var align: Alignment?
    /// Print the logo stored in printer memory under this two-character key instead of sending the image.
    public var storedKey: String?

    public init(file: String? = nil, base64: String? = nil, width: Int? = nil) {
        self.file = file
        self.base64 = base64
        self.width = width
    }
}

public struct FeedBlock: Sendable, Codable, Equatable {
    public var lines: Int
    public init(lines: Int) { self.lines = lines }
}

public struct CutBlock: Sendable, Codable, Equatable {
    public var kind: String?
    public init(kind: String? = nil) { self.kind = kind }
}

/// One element of a document.
public enum Block: Sendable, Equatable, Codable {
    case text(TextBlock)
    case separator(SeparatorBlock)
    case keyValue(KeyValueBlock)
    case items([Item])
    case totals(Totals)
    case vat([VATRow])
    case payments([Payment])
    case qr(QRBlock)
    case barcode(BarcodeBlock)
    case image(ImageBlock)
    case feed(FeedBlock)
    case cut(CutBlock)

    private enum TypeKey: String, CodingKey { case type, items, rows, payments }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: TypeKey.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "text": self = .text(try TextBlock(from: decoder))
        case "separator": self = .separator(try SeparatorBlock(from: decoder))
        case "keyValue": self = .keyValue(try KeyValueBlock(from: decoder))
        case "items": self = .items(try c.decode([Item].self, forKey: .items))
        case "totals": self = .totals(try Totals(from: decoder))
        case "vat": self = .vat(try c.decode([VATRow].self, forKey: .rows))
        case "payments": self = .payments(try c.decode([Payment].self, forKey: .payments))
        case "qr": self = .qr(try QRBlock(from: decoder))
        case "barcode": self = .barcode(try BarcodeBlock(from: decoder))
        case "image", "logo": self = .image(try ImageBlock(from: decoder))
        case "feed": self = .feed(try FeedBlock(from: decoder))
        case "cut": self = .cut(try CutBlock(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c,
                debugDescription: "unknown block type '\(type)'; known: text, separator, keyValue, items, totals, vat, "
                    + "payments, qr, barcode, image, feed, cut")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: TypeKey.self)
        switch self {
        case .text(let block): try c.encode("text", forKey: .type); try block.encode(to: encoder)
        case .separator(let block): try c.encode("separator", forKey: .type); try block.encode(to: encoder)
        case .keyValue(let block): try c.encode("keyValue", forKey: .type); try block.encode(to: encoder)
        case .items(let items): try c.encode("items", forKey: .type); try c.encode(items, forKey: .items)
        case .totals(let block): try c.encode("totals", forKey: .type); try block.encode(to: encoder)
        case .vat(let rows): try c.encode("vat", forKey: .type); try c.encode(rows, forKey: .rows)
        case .payments(let rows): try c.encode("payments", forKey: .type); try c.encode(rows, forKey: .payments)
        case .qr(let block): try c.encode("qr", forKey: .type); try block.encode(to: encoder)
        case .barcode(let block): try c.encode("barcode", forKey: .type); try block.encode(to: encoder)
        case .image(let block): try c.encode("image", forKey: .type); try block.encode(to: encoder)
        case .feed(let block): try c.encode("feed", forKey: .type); try block.encode(to: encoder)
        case .cut(let block): try c.encode("cut", forKey: .type); try block.encode(to: encoder)
        }
    }
}
