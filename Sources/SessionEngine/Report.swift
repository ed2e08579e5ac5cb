import Foundation

/// An X (interim) or Z (closing) report, computed from the shift's running totals — never from a scan of history.
public struct ShiftReport: Sendable, Equatable, Codable {
    public struct Amount: Sendable, Equatable, Codable {
        public var count: Int64
        public var amount: Int64
    }

    public struct VATLine: Sendable, Equatable, Codable {
        public var rate: VATRate
        public var gross: Int64
        public var vat: Int64
        public var net: Int64
    }

    public struct Named: Sendable, Equatable, Codable {
        public var name: String
        public var count: Int64
        public var amount: Int64
    }

    public var kind: String
    /// The signature counter and module of the Z's journal entry (set when the Z is made or reprinted; not part of the
    /// stored report, which the entry signs).
    public var signatureCounter: Int64? = nil
    public var signedBy: String? = nil
    public var terminal: String
    public var currency: String
    public var session: String
    public var sessionSequence: Int64
    public var zNumber: Int64?
    public var businessDate: String
    public var printedAt: Date
    public var openedBy: String
    public var participants: [String]
    public var closedBy: String?
    public var forceClosed: Bool
    public var openingFloat: Int64
    public var openingCounted: Int64?
    public var sales: Amount
    public var returns: Amount
    public var discounts: Amount
    public var copies: Amount
    public var training: Amount
    public var priceOverrides: Amount
    public var noSaleOpenings: Int64
    public var cashIn: Amount
    public var cashOut: Amount
    /// Of the cash in and out, the reversals of movements entered by mistake (nil when there were none).
    public var cashReversals: Amount?
    public var vat: [VATLine]
    public var payments: [Named]
    public var cashiers: [Named]
    public var expectedCash: Int64
    public var countedCash: Int64?
    public var difference: Int64?
    public var cashLeft: Int64?
    public var differenceApprovedBy: String?
    public var firstReceipt: Int64?
    public var lastReceipt: Int64?
    public var receiptCount: Int64
    /// The float counted by denomination at opening, when it was counted that way (largest first).
    public var openingCount: [DenominationCount] = []
    /// The drawer counted by denomination at closing, when it was counted that way (largest first).
    public var closingCount: [DenominationCount] = []
    /// The shift is a rescue shift (late facts), outside drawer reconciliation.
    public var isRescue: Bool = false
    public var grandTotalSales: Int64
    public var grandTotalReturns: Int64
    public var grandTotalNet: Int64 { grandTotalSales - grandTotalReturns }
    public var isCopy: Bool = false
    /// Goods sold: whole units of the sold lines (a weighed line counts as one).
    public var goodsSold: Int64 = 0
    /// Services sold, counted the same way.
    public var servicesSold: Int64 = 0
    /// Sales that were started and not finished (voided parked receipts), with their amount.
    public var unfinished: Amount = Amount(count: 0, amount: 0)
    /// Lines removed or reduced on parked receipts before their sale ("other reductions"): lines and their gross.
    public var reductions: Amount = Amount(count: 0, amount: 0)
    /// Pro-forma bills printed (EJ KVITTO), with the amount they showed.
    public var proForma: Amount = Amount(count: 0, amount: 0)
}
