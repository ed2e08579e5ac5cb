import Foundation

/// An exact quantity in thousandths (weighed goods to the gram): `"0.456"` is 456.
public struct MilliQuantity: Sendable, Equatable, Codable, CustomStringConvertible {
    public var milli: Int64

    public init(milli: Int64) { self.milli = milli }

    public init(parsing text: String) throws(SessionError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: ".")
        let negative = trimmed.hasPrefix("-")
        let body = negative ? String(trimmed.dropFirst()) : trimmed
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            parts.count == 1 || (1...3).contains(parts[1].count), parts[0].count <= 9
        else {
            throw .invalid("'\(text)' is not a quantity: write a whole number or up to three decimals, e.g. \"0.456\"")
        }
        let fraction = parts.count == 2 ? String(parts[1]) + String(repeating: "0", count: 3 - parts[1].count) : "000"
        let value = Int64(parts[0])! * 1000 + Int64(fraction)!
        milli = negative ? -value : value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let whole = try? container.decode(Int64.self) {
            let (value, overflow) = whole.multipliedReportingOverflow(by: 1000)
            guard !overflow else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(whole) is beyond the largest quantity (999999.999)")
            }
            milli = value
            return
        }
        guard let text = try? container.decode(String.self) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription:
                "a quantity is a whole number, or a string with up to three decimals such as \"0.456\" (never a JSON fraction)")
        }
        do {
            self = try MilliQuantity(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var description: String {
        let sign = milli < 0 ? "-" : ""
        let magnitude = milli.magnitude
        let fraction = magnitude % 1000
        if fraction == 0 { return sign + String(magnitude / 1000) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(sign)\(magnitude / 1000).\(digits)"
    }
}

/// Rounds `numerator / denominator` half away from zero. Integer only.
/// The quotient's magnitude is at most the numerator's, so the result always fits (the sum is taken in 128 bits).
func roundedDivision(_ numerator: Int64, _ denominator: Int64) -> Int64 {
    Int64(roundedDivision128(Int128(numerator), Int128(denominator)))
}

/// A percentage written as a whole number (`25`) or a string with up to two decimals (`"12.5"`, `"12,5 %"`), in basis
/// points, from 0 to `maximum` percent.
func decodeBasisPoints(_ decoder: any Decoder, maximum: Int64, what: String) throws -> Int64 {
    let container = try decoder.singleValueContainer()
    if let whole = try? container.decode(Int64.self) {
        guard (0...maximum).contains(whole) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(what) is a percentage from 0 to \(maximum), not \(whole)")
        }
        return whole * 100
    }
    guard let text = try? container.decode(String.self).replacingOccurrences(of: "%", with: "") else {
        throw DecodingError.dataCorruptedError(in: container, debugDescription:
            "\(what) is a whole number or a string such as \"12.5\" (never a JSON fraction)")
    }
    guard let quantity = try? MilliQuantity(parsing: text), quantity.milli >= 0, quantity.milli % 10 == 0, quantity.milli <= maximum * 1000 else {
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(what) is a percentage from 0 to \(maximum) such as \"25\" or \"12.5\"")
    }
    return quantity.milli / 10
}

/// A VAT rate in basis points: "25" → 2500, "12.5" → 1250.
public struct VATRate: Sendable, Equatable, Hashable, Codable, Comparable {
    public var basisPoints: Int64

    public init(basisPoints: Int64) { self.basisPoints = basisPoints }

    public init(from decoder: any Decoder) throws {
        basisPoints = try decodeBasisPoints(decoder, maximum: 100, what: "a VAT rate")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(label)
    }

    public var label: String {
        basisPoints % 100 == 0 ? "\(basisPoints / 100)%" : "\(basisPoints / 100).\(String(format: "%02d", basisPoints % 100).replacingOccurrences(of: "0$", with: "", options: .regularExpression))%"
    }

    /// The VAT contained in a gross amount.
    /// The VAT contained in a gross amount (the product in 128 bits; the result is at most the gross, so it fits).
    public func vat(inGross gross: Int64) -> Int64 {
        Int64(roundedDivision128(Int128(gross) * Int128(basisPoints), Int128(10_000 + basisPoints)))
    }

    public static func < (a: VATRate, b: VATRate) -> Bool { a.basisPoints < b.basisPoints }
}

/// A discount as an amount in minor units or a percentage, with the reason (required).
public struct DiscountRequest: Sendable, Equatable, Codable {
    public var amount: Int64?
    public var percent: Percent?
    public var reason: String

    public init(amount: Int64? = nil, percent: Percent? = nil, reason: String) {
        self.amount = amount
        self.percent = percent
        self.reason = reason
    }

    func value(of gross: Int64, field: String = "discount") throws(SessionError) -> Int64 {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalid("\(field) needs a reason.") }
        if amount != nil, percent != nil { throw .invalid("\(field) has both an amount and a percent; give one.") }
        if let amount {
            guard amount >= 0 else { throw .invalid("\(field).amount is negative (\(amount)); a discount is a positive amount.") }
            guard amount.magnitude <= gross.magnitude else { throw .invalid("\(field).amount (\(amount)) is more than the amount \(gross).") }
            return gross >= 0 ? amount : -amount
        }
        if let percent {
            guard percent.basisPoints <= 10_000 else {
                throw .invalid("\(field).percent is \(percent.label); a discount is at most 100%.")
            }
            return Int64(roundedDivision128(Int128(gross) * Int128(percent.basisPoints), 10_000))
        }
        throw .invalid("\(field) needs an amount or a percent.")
    }
}

/// A percentage in basis points (a discount's): `10` → 1000, `"12.5"` → 1250. Bounds are checked where it is used.
public struct Percent: Sendable, Equatable, Hashable, Codable {
    public var basisPoints: Int64

    public init(basisPoints: Int64) { self.basisPoints = basisPoints }

    public init(from decoder: any Decoder) throws {
        // Decoded up to 10,000 % so that a discount over 100 % is refused by the discount, naming its field.
        basisPoints = try decodeBasisPoints(decoder, maximum: 10_000, what: "a percentage")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(label)
    }

    public var label: String { VATRate(basisPoints: basisPoints).label }
}

/// One line of a sale as the POS sends it.
public struct SaleLineRequest: Sendable, Equatable, Codable {
    public var name: String
    public var quantity: MilliQuantity
    public var unitPrice: Int64
    public var vatRate: VATRate
    public var discount: DiscountRequest?
    /// A price other than the list price, with the reason.
    public var priceOverride: PriceOverride?
    /// A service rather than goods (the Swedish reports count them apart).
    public var service: Bool?

    public struct PriceOverride: Sendable, Equatable, Codable {
        public var price: Int64
        public var reason: String
        public init(price: Int64, reason: String) {
            self.price = price
            self.reason = reason
        }
    }

    public init(name: String, quantity: MilliQuantity = MilliQuantity(milli: 1000), unitPrice: Int64, vatRate: VATRate,
                discount: DiscountRequest? = nil, priceOverride: PriceOverride? = nil, service: Bool? = nil) {
        self.service = service
        self.name = name
        self.quantity = quantity
        self.unitPrice = unitPrice
        self.vatRate = vatRate
        self.discount = discount
        self.priceOverride = priceOverride
    }
}

public struct PaymentRequest: Sendable, Equatable, Codable {
    /// `cash`, `card`, or any other method name.
    public var method: String
    public var amount: Int64
    public init(method: String, amount: Int64) {
        self.method = method
        self.amount = amount
    }
    public var isCash: Bool { method.lowercased() == "cash" }
}

/// A sale to finalize: `kassa sale FILE.json`.
public struct SaleRequest: Sendable, Equatable, Codable {
    /// Client-generated command id: replaying it returns the stored receipt, never a second one.
    public var id: String
    public var lines: [SaleLineRequest]
    public var discount: DiscountRequest?
    public var payments: [PaymentRequest]?
    public var training: Bool?
    /// The shift the POS believes is open; a sale for a closed shift is refused with the current shift's id.
    public var session: String?
    /// The sale already happened (e.g. a fiscal printer printed it while Kassa was unreachable) and must be recorded even
    /// though its shift has closed or none is open: it lands in the visible rescue shift, never in a closed Z.
    public var late: Bool?
    /// A regime's special receipt: `start` (Austria's signed zero start receipt), `null` (a zero receipt), `storno`
    /// (a cancellation). Nil for an ordinary sale.
    public var fiscalType: String?

    public init(id: String, lines: [SaleLineRequest], payments: [PaymentRequest]? = nil, discount: DiscountRequest? = nil,
                training: Bool? = nil, session: String? = nil, fiscalType: String? = nil) {
        self.fiscalType = fiscalType
        self.id = id
        self.lines = lines
        self.payments = payments
        self.discount = discount
        self.training = training
        self.session = session
    }
}

/// A refund of lines of an earlier receipt: `kassa refund`.
public struct RefundRequest: Sendable, Equatable, Codable {
    public var id: String
    public var receiptNumber: Int64
    public var lines: [Line]
    /// How the money goes back; default cash.
    public var method: String?

    public struct Line: Sendable, Equatable, Codable {
        public var line: Int
        public var quantity: MilliQuantity
        public init(line: Int, quantity: MilliQuantity) {
            self.line = line
            self.quantity = quantity
        }
    }

    public init(id: String, receiptNumber: Int64, lines: [Line], method: String? = nil) {
        self.id = id
        self.receiptNumber = receiptNumber
        self.lines = lines
        self.method = method
    }
}

/// A finalized receipt, as stored and as printed.
public struct ReceiptRecord: Sendable, Equatable, Codable {
    public struct Line: Sendable, Equatable, Codable {
        public var lineNumber: Int
        public var name: String
        public var quantity: MilliQuantity
        public var unitPrice: Int64
        public var listPrice: Int64
        public var priceOverrideReason: String?
        public var discount: Int64
        public var discountReason: String?
        public var amount: Int64
        public var vatRate: VATRate
        public var vat: Int64
        public var refundOfLine: Int?
        public var service: Bool = false
    }

    public struct VATLine: Sendable, Equatable, Codable {
        public var rate: VATRate
        public var gross: Int64
        public var vat: Int64
        public var net: Int64 { gross - vat }
    }

    public var id: String
    public var kind: String
    public var terminal: String
    public var number: Int64
    public var zPeriod: Int64
    public var session: String
    public var cashier: String
    public var createdAt: Date
    public var businessDate: String
    public var currency: String
    public var lines: [Line]
    public var payments: [PaymentRequest]
    public var total: Int64
    public var vatTotal: Int64
    public var discountTotal: Int64
    public var change: Int64
    public var vatLines: [VATLine]
    public var grandTotalSales: Int64
    public var grandTotalReturns: Int64
    public var grandTotalNet: Int64 { grandTotalSales - grandTotalReturns }
    public var refundOf: Int64?
    /// A late receipt recorded in the rescue shift: the (closed) shift it was made for.
    public var originSession: String? = nil
    /// The fiscal profile's code (RKSV signature, Swedish control code), when a profile is on.
    public var fiscalCode: FiscalCode? = nil
    public var isCopy: Bool = false
    /// True when the command id had been seen: the stored receipt is returned, and nothing may print or open the drawer
    /// again for it (decision 0017).
    public var replayed: Bool? = nil
    /// The fiscal module's signature counter of the journal entry that recorded this receipt (or this copy), printed on
    /// it: the number an auditor holds against the module's own counter. Nil when not known (a stored receipt read back).
    public var signatureCounter: Int64? = nil
    /// The module that signed it.
    public var signedBy: String? = nil
}

/// A shift as listed and reported.
public struct ShiftRecord: Sendable, Equatable, Codable {
    public var id: String
    public var terminal: String
    public var sequence: Int64
    public var state: String
    public var isRescue: Bool
    public var businessDate: String
    public var openedBy: String
    public var openedAt: Date
    public var openingExpected: Int64
    public var openingCounted: Int64?
    public var closedBy: String?
    public var closedAt: Date?
    public var expectedCash: Int64?
    public var countedCash: Int64?
    public var difference: Int64?
    public var cashLeft: Int64?
    public var differenceApprovedBy: String?
    public var forceClosed: Bool
    public var zNumber: Int64?
    public var participants: [String]
    /// For a rescue shift: the shift whose late facts it holds (nil when none was open).
    public var rescueFor: String?
}

public struct CashMovementResult: Sendable, Equatable, Codable {
    public var id: String
    public var session: String
    public var type: String
    public var amount: Int64
    public var reason: String?
    public var user: String
    /// The movement this one reverses (`kassa session cash-reverse`).
    public var reverses: String?
    /// The cash the drawer should hold after this movement (nil in results stored before it was reported).
    public var expectedCashAfter: Int64?
    /// True when a cash-out takes more than the drawer should hold: allowed (the count decides), but flagged.
    public var exceedsExpected: Bool?
}

/// Notes or coins of one denomination counted in the drawer.
public struct DenominationCount: Sendable, Equatable, Codable {
    /// The note or coin, in minor units (one of the `denominations` setting).
    public var denomination: Int64
    public var quantity: Int64
    public init(denomination: Int64, quantity: Int64) {
        self.denomination = denomination
        self.quantity = quantity
    }
}

/// A shift open longer than `warn-open-hours` (`SessionEngine.shiftOpenTooLong()`).
public struct LongOpenShift: Sendable, Equatable {
    public var id: String
    public var openedAt: Date
    public var openedBy: String
    public var hours: Double
    public var limit: Int
}

/// A drawer opening outside a sale, as recorded: in `session` (counted there) or, with no shift open, only journaled.
public struct DrawerOpening: Sendable, Equatable, Codable {
    public var id: String
    public var session: String?
    public var user: String
}
