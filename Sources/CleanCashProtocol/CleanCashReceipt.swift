/// A receipt as the control unit registers it: the fields in the order the protocol carries them, each checked against
/// the format the unit accepts before anything is sent (decision 0028). Pure values; the session engine's money is
/// formatted by the caller (sv-SE, `0,00`).
///
/// Fields, in order: date `yyyyMMddHHmm`, receipt id (digits, at most 12), POS id (at most 16 letters and digits),
/// organisation number (10 digits), total `0,00` (may be negative), the absolute value of the returns `0,00`, the
/// receipt type, and four fixed VAT slots `25,00;x` `12,00;x` `6,00;x` `0,00;x`.
public struct CleanCashReceipt: Equatable, Sendable {
    public enum Kind: String, Equatable, Sendable, CaseIterable {
        case normal, copy = "kopia", training = "ovning", proForma = "profo"

        /// Whether the unit answers this type with a control code (normal receipts and copies).
        public var hasControlCode: Bool { self == .normal || self == .copy }
    }

    /// The four VAT rates of the slots, in order, in the unit's format.
    public static let vatRates = ["25,00", "12,00", "6,00", "0,00"]

    public let dateTime: String
    public let receiptID: String
    public let posID: String
    public let organisationNumber: String
    public let total: String
    public let negativeTotal: String
    public let kind: Kind
    /// Exactly four `rate;amount` slots, in the rates' order.
    public let vat: [String]

    public init(dateTime: String, receiptID: String, posID: String, organisationNumber: String, total: String,
                negativeTotal: String, kind: Kind, vat: [String]) throws(CleanCashReceiptError) {
        func digits(_ text: String) -> Bool { !text.isEmpty && text.utf8.allSatisfy { (0x30...0x39).contains($0) } }
        guard dateTime.utf8.count == 12, digits(dateTime) else { throw .invalid(field: "date", value: dateTime, rule: "yyyyMMddHHmm") }
        guard receiptID.utf8.count <= 12, digits(receiptID) else {
            throw .invalid(field: "receipt id", value: receiptID, rule: "1 to 12 digits")
        }
        guard !posID.isEmpty, posID.utf8.count <= 16,
              posID.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
        else { throw .invalid(field: "POS id", value: posID, rule: "1 to 16 letters A–Z and digits") }
        guard organisationNumber.utf8.count == 10, digits(organisationNumber) else {
            throw .invalid(field: "organisation number", value: organisationNumber, rule: "10 digits")
        }
        guard Self.isAmount(total, signed: true) else { throw .invalid(field: "total", value: total, rule: "0,00, may be negative") }
        guard Self.isAmount(negativeTotal, signed: false) else {
            throw .invalid(field: "negative total", value: negativeTotal, rule: "0,00, not negative")
        }
        guard vat.count == 4 else { throw .invalid(field: "VAT", value: "\(vat.count) slots", rule: "exactly four slots") }
        for (index, slot) in vat.enumerated() {
            let parts = slot.split(separator: ";", omittingEmptySubsequences: false)
            guard parts.count == 2, String(parts[0]) == Self.vatRates[index], Self.isAmount(String(parts[1]), signed: true) else {
                throw .invalid(field: "VAT slot \(index + 1)", value: slot, rule: "\(Self.vatRates[index]);0,00")
            }
        }
        self.dateTime = dateTime
        self.receiptID = receiptID
        self.posID = posID
        self.organisationNumber = organisationNumber
        self.total = total
        self.negativeTotal = negativeTotal
        self.kind = kind
        self.vat = vat
    }

    /// The fields in the protocol's order (without the message type).
    public var fields: [String] {
        [dateTime, receiptID, posID, organisationNumber, total, negativeTotal, kind.rawValue] + vat
    }

    /// `0,00`: digits, a comma, two digits; a minus first when `signed`; no leading zeros beyond one.
    static func isAmount(_ text: String, signed: Bool) -> Bool {
        var bytes = Array(text.utf8)[...]
        if signed, bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        guard bytes.count >= 4, bytes.count <= 18, bytes[bytes.endIndex - 3] == UInt8(ascii: ",") else { return false }
        let whole = bytes[bytes.startIndex..<(bytes.endIndex - 3)], cents = bytes[(bytes.endIndex - 2)...]
        let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        guard whole.allSatisfy(isDigit), cents.allSatisfy(isDigit) else { return false }
        return whole.count == 1 || whole.first != UInt8(ascii: "0")
    }
}

public enum CleanCashReceiptError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(field: String, value: String, rule: String)

    public var code: String { "CU_RECEIPT_INVALID" }
    public var description: String {
        switch self {
        case .invalid(let field, let value, let rule):
            return "The receipt's \(field) \"\(value.prefix(40))\" is not one the control unit accepts (\(rule)). Nothing was sent."
        }
    }
}
