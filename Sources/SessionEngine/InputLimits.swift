import Foundation

/// The bounds every input to the engine is held to (Docs/CLI.md, "Bounds"), and the checks that apply them. A value out
/// of bounds is refused with `SessionError.invalid` naming the field, before anything is written. Within these bounds no
/// sum the engine keeps can overflow Int64 for millions of receipts; every computation is checked all the same.
public enum InputLimits {
    /// The largest amount of money in any one field, in minor units: 9,999,999,999.99 in a currency with two decimals.
    /// Prices, discounts, payments, cash movements, floats, counts and a receipt's total are held to it.
    public static let maxAmount: Int64 = 999_999_999_999
    /// The largest quantity, in thousandths: 999,999.999.
    public static let maxQuantityMilli: Int64 = 999_999_999
    /// Lines on one receipt (sale, refund or parked receipt).
    public static let maxLines = 10_000
    /// Payments on one receipt.
    public static let maxPayments = 100
    /// Notes and coins of one denomination in a cash count.
    public static let maxCountQuantity: Int64 = 1_000_000
    /// Characters (Unicode scalars) in a line's name.
    public static let maxNameLength = 200
    /// Characters in a reason (discounts, price overrides, cash movements, approvals).
    public static let maxReasonLength = 500
    /// Characters in a payment method's name.
    public static let maxMethodLength = 40
    /// Bytes (UTF-8) in a command id, a user id, a parked receipt's id or a shift's id.
    public static let maxIDLength = 128

    /// Refuses C0 control characters (U+0000–U+001F, NUL included) and text beyond `limit` characters. Every other
    /// character is kept exactly as given.
    static func text(_ value: String, field: String, limit: Int) throws(SessionError) {
        var count = 0
        for scalar in value.unicodeScalars {
            if scalar.value < 0x20 {
                let code = String(format: "U+%04X", scalar.value)
                throw .invalid("\(field) contains the control character \(code) at character \(count + 1); "
                    + "names, ids and reasons are one line of text without control characters.")
            }
            count += 1
            if count > limit { throw .invalid("\(field) is longer than \(limit) characters.") }
        }
    }

    /// An id: not empty, no control characters, at most `maxIDLength` bytes.
    static func id(_ value: String, field: String) throws(SessionError) {
        guard !value.isEmpty else { throw .invalid("\(field) is empty.") }
        try text(value, field: field, limit: maxIDLength)
        guard value.utf8.count <= maxIDLength else { throw .invalid("\(field) is longer than \(maxIDLength) bytes.") }
    }

    /// An amount of money within ±`maxAmount`.
    static func amount(_ value: Int64, field: String) throws(SessionError) {
        guard value >= -maxAmount, value <= maxAmount else {
            throw .invalid("\(field) is \(value), beyond the largest amount Kassa takes (±\(maxAmount) minor units).")
        }
    }

    static func quantity(_ value: MilliQuantity, field: String) throws(SessionError) {
        guard value.milli >= -maxQuantityMilli, value.milli <= maxQuantityMilli else {
            throw .invalid("\(field) is \(value), beyond the largest quantity Kassa takes (±999999.999).")
        }
    }

    static func line(_ line: SaleLineRequest, at index: Int) throws(SessionError) {
        let field = "lines[\(index)]"
        try text(line.name, field: "\(field).name", limit: maxNameLength)
        try quantity(line.quantity, field: "\(field).quantity")
        try amount(line.unitPrice, field: "\(field).unitPrice")
        if let override = line.priceOverride {
            try amount(override.price, field: "\(field).priceOverride.price")
            try text(override.reason, field: "\(field).priceOverride.reason", limit: maxReasonLength)
        }
        if let discount = line.discount { try self.discount(discount, field: "\(field).discount") }
    }

    static func discount(_ discount: DiscountRequest, field: String) throws(SessionError) {
        if let value = discount.amount { try amount(value, field: "\(field).amount") }
        try text(discount.reason, field: "\(field).reason", limit: maxReasonLength)
    }

    static func lines(_ lines: [SaleLineRequest]) throws(SessionError) {
        guard lines.count <= maxLines else { throw .invalid("A receipt has at most \(maxLines) lines; this one has \(lines.count).") }
        for (index, line) in lines.enumerated() { try self.line(line, at: index) }
    }

    static func payments(_ payments: [PaymentRequest]) throws(SessionError) {
        guard payments.count <= maxPayments else {
            throw .invalid("A receipt has at most \(maxPayments) payments; this one has \(payments.count).")
        }
        for (index, payment) in payments.enumerated() {
            try text(payment.method, field: "payments[\(index)].method", limit: maxMethodLength)
            try amount(payment.amount, field: "payments[\(index)].amount")
        }
    }

    static func sale(_ request: SaleRequest) throws(SessionError) {
        try id(request.id, field: "The command id")
        try lines(request.lines)
        if let discount = request.discount { try self.discount(discount, field: "discount") }
        if let payments = request.payments { try self.payments(payments) }
        if let session = request.session { try id(session, field: "session") }
        if let type = request.fiscalType { try text(type, field: "fiscalType", limit: 16) }
    }

    static func refund(_ request: RefundRequest) throws(SessionError) {
        try id(request.id, field: "The command id")
        guard request.lines.count <= maxLines else {
            throw .invalid("A refund has at most \(maxLines) lines; this one has \(request.lines.count).")
        }
        for (index, line) in request.lines.enumerated() { try quantity(line.quantity, field: "lines[\(index)].quantity") }
        if let method = request.method { try text(method, field: "method", limit: maxMethodLength) }
    }

    static func count(_ items: [DenominationCount]?, field: String) throws(SessionError) {
        for (index, item) in (items ?? []).enumerated() {
            try amount(item.denomination, field: "\(field)[\(index)].denomination")
            guard item.quantity >= 0, item.quantity <= maxCountQuantity else {
                throw .invalid("\(field)[\(index)].quantity is \(item.quantity); a count is 0 to \(maxCountQuantity) pieces.")
            }
        }
    }
}

/// Checked arithmetic on money: a result beyond Int64 — or beyond `InputLimits.maxAmount` where a field is held to it —
/// is an `invalid` error naming the field, never a trap.
enum Checked {
    static func add(_ a: Int64, _ b: Int64, _ field: @autoclosure () -> String) throws(SessionError) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw .invalid("\(field()) is beyond the range of an amount (it would pass \(Int64.max)).") }
        return sum
    }

    static func subtract(_ a: Int64, _ b: Int64, _ field: @autoclosure () -> String) throws(SessionError) -> Int64 {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        guard !overflow else { throw .invalid("\(field()) is beyond the range of an amount (it would pass \(Int64.max)).") }
        return difference
    }

    static func multiply(_ a: Int64, _ b: Int64, _ field: @autoclosure () -> String) throws(SessionError) -> Int64 {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw .invalid("\(field()) is beyond the range of an amount (it would pass \(Int64.max)).") }
        return product
    }

    static func sum<S: Sequence>(_ values: S, _ field: @autoclosure () -> String) throws(SessionError) -> Int64 where S.Element == Int64 {
        var total: Int64 = 0
        for value in values { total = try add(total, value, field()) }
        return total
    }

    /// `a × b / c`, rounded half away from zero, with the product in 128 bits.
    static func mulDiv(_ a: Int64, _ b: Int64, _ c: Int64, _ field: @autoclosure () -> String) throws(SessionError) -> Int64 {
        guard let result = Int64(exactly: roundedDivision128(Int128(a) * Int128(b), Int128(c))) else {
            throw .invalid("\(field()) is beyond the range of an amount.")
        }
        return result
    }

    /// `a × b / c`, truncated toward zero, with the product in 128 bits.
    static func mulDivTruncating(_ a: Int64, _ b: Int64, _ c: Int64, _ field: @autoclosure () -> String) throws(SessionError) -> Int64 {
        guard let result = Int64(exactly: Int128(a) * Int128(b) / Int128(c)) else {
            throw .invalid("\(field()) is beyond the range of an amount.")
        }
        return result
    }

    /// A value held to ±`InputLimits.maxAmount`.
    static func bounded(_ value: Int64, _ field: @autoclosure () -> String) throws(SessionError) -> Int64 {
        try InputLimits.amount(value, field: field())
        return value
    }
}

func roundedDivision128(_ numerator: Int128, _ denominator: Int128) -> Int128 {
    let half = denominator / 2
    return numerator >= 0 ? (numerator + half) / denominator : -((-numerator + half) / denominator)
}
