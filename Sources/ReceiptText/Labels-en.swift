extension ReceiptText {
    /// English.
    static let english: [Label: String] = [
        .receipt: "Receipt", .refundOfReceipt: "Refund of receipt", .trainingReceipt: "Training receipt", .startReceipt: "Start receipt",
        .nullReceipt: "Null receipt", .stornoReceipt: "Cancellation receipt",
        .total: "TOTAL", .totalRefund: "TO REFUND", .change: "Change", .vatTotal: "VAT total",
        .date: "Date", .register: "Register", .receiptNumber: "Receipt no.", .zPeriod: "Z period", .cashier: "Cashier",
        .grandTotalSales: "Grand total sales", .grandTotalReturns: "Grand total returns", .grandTotalNet: "Grand total net",
        .signature: "Signature", .signatureNumber: "no.",
        .copyMarking: "COPY", .trainingMarking: "TRAINING", .notAReceiptMarking: "NOT A RECEIPT", .organisationNumber: "Org. no.",
        .cash: "Cash", .card: "Card",
        .vatRateColumn: "VAT%", .netColumn: "Net", .vatColumn: "VAT", .grossColumn: "Gross", .discount: "Discount",
        .proFormaTitle: "Pro-forma bill", .toPay: "TO PAY", .proFormaNumber: "Pro-forma no.",
        .xReport: "X REPORT", .zReport: "Z REPORT", .produced: "Produced", .shift: "Shift", .businessDay: "Business day",
        .rescueShift: "RESCUE SHIFT", .rescueShiftNote: "Late receipts, outside the cash reconciliation",
        .openedBy: "Opened by", .cashiers: "Cashiers", .closedBy: "Closed by", .forceClosedBy: "Force-closed by",
        .openingFloat: "Opening float", .openingFloatCounted: "Opening float counted",
        .totalSales: "Total sales", .productGroups: "Product groups", .notUsed: "not used", .goodsSold: "Goods sold",
        .servicesSold: "Services sold", .receiptCount: "Receipts issued", .returns: "Returns", .discounts: "Discounts",
        .copies: "Copies", .trainingReceipts: "Training receipts", .priceOverrides: "Price changes", .unfinishedSales: "Unfinished sales",
        .otherReductions: "Other reductions", .proFormaReceipts: "Pro-forma bills", .drawerOpenings: "Drawer openings without sale",
        .cashIn: "Cash in", .cashOut: "Cash out", .ofWhichCorrections: "of which corrections",
        .expectedCash: "Expected in drawer", .counted: "Counted", .difference: "Difference", .approvedBy: "Approved by",
        .cashLeft: "Left in drawer", .receipts: "Receipts", .none: "none",
    ]
}
