import Foundation

/// The words printed on receipts, pro-forma bills and X/Z reports, one table per language (`locale` setting: sv, de,
/// en, nb). The layout code asks for a `Label`; it never holds a word of its own. Every table has every label (a test
/// checks), so a missing translation cannot fall back in silence.
public enum Label: String, CaseIterable, Sendable {
    // Receipts
    case receipt, refundOfReceipt, trainingReceipt, startReceipt, nullReceipt, stornoReceipt
    case total, totalRefund, change, vatTotal
    case date, register, receiptNumber, zPeriod, cashier
    case grandTotalSales, grandTotalReturns, grandTotalNet, signature, signatureNumber
    case copyMarking, trainingMarking, notAReceiptMarking
    case organisationNumber
    // Payment methods
    case cash, card
    // VAT table and discounts
    case vatRateColumn, netColumn, vatColumn, grossColumn, discount
    // Pro-forma bills
    case proFormaTitle, toPay, proFormaNumber
    // Reports
    case xReport, zReport, produced, shift, businessDay, rescueShift, rescueShiftNote
    case openedBy, cashiers, closedBy, forceClosedBy, openingFloat, openingFloatCounted
    case totalSales, productGroups, notUsed, goodsSold, servicesSold, receiptCount, returns, discounts, copies, trainingReceipts
    case priceOverrides, unfinishedSales, otherReductions, proFormaReceipts, drawerOpenings, cashIn, cashOut, ofWhichCorrections
    case expectedCash, counted, difference, approvedBy, cashLeft, receipts, none
}

/// A language's table.
public struct ReceiptText: Sendable {
    public let locale: String
    let table: [Label: String]

    /// The languages with a table.
    public static let locales = ["sv", "de", "en", "nb"]

    /// The table of `locale` (`sv`, `de`, `en`, `nb`); nil for another.
    public init?(locale: String) {
        switch locale {
        case "sv": table = Self.swedish
        case "de": table = Self.german
        case "en": table = Self.english
        case "nb": table = Self.norwegian
        default: return nil
        }
        self.locale = locale
    }

    /// The table's word for `label` (every table has every label; English stands in only if one were missing).
    public subscript(_ label: Label) -> String { table[label] ?? Self.english[label] ?? label.rawValue }

    /// Whether this table has a word for every label.
    public var isComplete: Bool { Label.allCases.allSatisfy { table[$0] != nil } }

    /// A payment method's printed name: the table's for the built-in ones, as given (capitalised) for the rest.
    public func paymentMethod(_ method: String) -> String {
        switch method.lowercased() {
        case "cash": return self[.cash]
        case "card": return self[.card]
        case "swish": return "Swish"
        default: return method.capitalized
        }
    }
}
