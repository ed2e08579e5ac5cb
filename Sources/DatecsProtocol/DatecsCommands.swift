/// The commands Kassa sends a Datecs "X" fiscal printer, with their data as the protocol lays it out, and their
/// answers. Every answer's first field is the device's error code (0: done; negative: the device's refusal, kept as
/// its number). Field layouts follow the public description and ErpNet.FP's open driver (decision 0029).
public enum DatecsCommand: Equatable, Sendable {
    /// 48: open a fiscal receipt — operator, password, unique sale number, till.
    case openReceipt(operator: Int, password: String, uniqueSaleNumber: String, till: Int)
    /// 49: a sale line — name, VAT group (A–H), unit price and quantity in minor units and thousandths.
    case sale(name: String, group: Character, unitPrice: Int64, quantityMilli: Int64)
    /// 53: a payment (0 cash, 1 card, …) of an amount in minor units.
    case payment(mode: Int, amount: Int64)
    /// 56: close the fiscal receipt.
    case closeReceipt
    /// 60: cancel the open fiscal receipt.
    case cancelReceipt
    /// 43: open a storno (refund) document against an original — operator, password, till, reason (0 operator error,
    /// 1 refund, 2 tax-base reduction), the original's document number, date-time `dd-MM-yy HH:mm:ss` and fiscal-memory number.
    case openStorno(operator: Int, password: String, till: Int, reason: Int, original: Int64, originalTime: String, fiscalMemory: String)
    /// 69: an X (`X`) or Z (`Z`) report.
    case report(zeroing: Bool)
    /// 74: status (the eight bytes of the reply).
    case status
    /// 113: the number of the last document.
    case lastDocument

    public var code: UInt16 {
        switch self {
        case .openReceipt: return 48
        case .sale: return 49
        case .payment: return 53
        case .closeReceipt: return 56
        case .cancelReceipt: return 60
        case .openStorno: return 43
        case .report: return 69
        case .status: return 74
        case .lastDocument: return 113
        }
    }

    /// The command's data; a value the protocol cannot carry is refused before anything is sent.
    public func data() throws(DatecsCommandError) -> [UInt8] {
        func text(_ value: String, _ field: String, maximum: Int) throws(DatecsCommandError) -> String {
            guard value.utf8.count <= maximum, value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
                throw .invalid(field: field, rule: "at most \(maximum) bytes, no control characters")
            }
            return value
        }
        switch self {
        case .openReceipt(let op, let password, let number, let till):
            guard (1...30).contains(op), (1...99_999).contains(till) else { throw .invalid(field: "operator or till", rule: "operator 1–30, till 1–99999") }
            return DatecsFraming.data([String(op), try text(password, "password", maximum: 8), try text(number, "unique sale number", maximum: 21),
                                       String(till), ""])
        case .sale(let name, let group, let price, let quantity):
            guard let ascii = group.asciiValue, (UInt8(ascii: "A")...UInt8(ascii: "H")).contains(ascii) else {
                throw .invalid(field: "VAT group", rule: "A to H")
            }
            guard quantity > 0, quantity <= 99_999_999, price >= 0, price <= 9_999_999_999 else {
                throw .invalid(field: "price or quantity", rule: "price 0–99,999,999.99, quantity above 0")
            }
            return DatecsFraming.data([try text(name, "name", maximum: 72), String(ascii - UInt8(ascii: "A") + 1), Self.amount(price),
                                       Self.quantity(quantity), "0", "", "0"])
        case .payment(let mode, let amount):
            guard (0...11).contains(mode), amount >= 0, amount <= 9_999_999_999 else { throw .invalid(field: "payment", rule: "mode 0–11, amount 0 or more") }
            return DatecsFraming.data([String(mode), Self.amount(amount), "1"])
        case .closeReceipt, .cancelReceipt, .status, .lastDocument:
            return []
        case .openStorno(let op, let password, let till, let reason, let original, let time, let memory):
            guard (0...2).contains(reason), original > 0 else { throw .invalid(field: "storno", rule: "reason 0–2, the original's number above 0") }
            return DatecsFraming.data([String(op), try text(password, "password", maximum: 8), String(till), String(reason), String(original),
                                       try text(time, "original time", maximum: 17), try text(memory, "fiscal memory", maximum: 8), "", "", "", ""])
        case .report(let zeroing):
            return DatecsFraming.data([zeroing ? "Z" : "X"])
        }
    }

    /// Minor units as the device writes money: `12.50`.
    public static func amount(_ minor: Int64) -> String {
        let magnitude = minor.magnitude
        return (minor < 0 ? "-" : "") + "\(magnitude / 100)." + (magnitude % 100 < 10 ? "0" : "") + "\(magnitude % 100)"
    }

    /// Thousandths as a quantity: `2.000`.
    static func quantity(_ milli: Int64) -> String {
        let text = String(milli % 1000)
        return "\(milli / 1000)." + String(repeating: "0", count: 3 - text.count) + text
    }

    /// `12.50` back to minor units; anything else is nil.
    public static func minorUnits(_ text: String) -> Int64? {
        var digits = Substring(text)
        let negative = digits.first == "-"
        if negative { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 2, !parts[0].isEmpty, parts[0].count <= 15,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let whole = Int64(parts[0]), let cents = Int64(parts[1])
        else { return nil }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: 100)
        guard !overflow else { return nil }
        return negative ? -(scaled + cents) : scaled + cents
    }
}

/// A device's answer: its error code and the fields after it.
public struct DatecsAnswer: Equatable, Sendable {
    public var errorCode: Int
    public var values: [String]
    public var status: DatecsStatus

    /// The answer in a reply, strictly: the first field a whole number.
    public init(_ reply: DatecsReply) throws(DatecsCommandError) {
        let fields = reply.fields
        guard let first = fields.first, first.count <= 8, let code = Int(first) else {
            throw .badAnswer("the answer does not start with an error code")
        }
        errorCode = code
        values = Array(fields.dropFirst())
        status = reply.status
    }

    /// A whole number at `index`.
    public func number(_ index: Int) throws(DatecsCommandError) -> Int64 {
        guard index < values.count, values[index].count <= 18, values[index].allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = Int64(values[index]) else { throw .badAnswer("value \(index + 1) is not a whole number") }
        return value
    }

    /// Money at `index` (`12.50`).
    public func money(_ index: Int) throws(DatecsCommandError) -> Int64 {
        guard index < values.count, let value = DatecsCommand.minorUnits(values[index]) else {
            throw .badAnswer("value \(index + 1) is not an amount")
        }
        return value
    }
}

public enum DatecsCommandError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(field: String, rule: String)
    case badAnswer(String)

    public var code: String {
        switch self {
        case .invalid: return "FP_FIELD_INVALID"
        case .badAnswer: return "FP_REPLY_INVALID"
        }
    }

    public var description: String {
        switch self {
        case .invalid(let field, let rule): return "The \(field) cannot be sent to the fiscal printer (\(rule)). Nothing was sent."
        case .badAnswer(let why): return "The fiscal printer's answer is not one Kassa understands: \(why)."
        }
    }
}
