extension ReceiptText {
    /// Norsk bokmål.
    static let norwegian: [Label: String] = [
        .receipt: "Kvittering", .refundOfReceipt: "Retur av kvittering", .trainingReceipt: "Treningskvittering", .startReceipt: "Startkvittering",
        .nullReceipt: "Nullkvittering", .stornoReceipt: "Annulleringskvittering",
        .total: "TOTALT", .totalRefund: "TIL GODE", .change: "Vekslepenger", .vatTotal: "MVA totalt",
        .date: "Dato", .register: "Kassenummer", .receiptNumber: "Kvitteringsnr.", .zPeriod: "Z-periode", .cashier: "Kasserer",
        .grandTotalSales: "Grand total salg", .grandTotalReturns: "Grand total retur", .grandTotalNet: "Grand total netto",
        .signature: "Signatur", .signatureNumber: "nr.",
        .copyMarking: "KOPI", .trainingMarking: "TRENING", .notAReceiptMarking: "IKKE KVITTERING", .organisationNumber: "Org.nr.",
        .cash: "Kontant", .card: "Kort",
        .vatRateColumn: "MVA%", .netColumn: "Netto", .vatColumn: "MVA", .grossColumn: "Brutto", .discount: "Rabatt",
        .proFormaTitle: "Foreløpig regning", .toPay: "Å BETALE", .proFormaNumber: "Foreløpig nr.",
        .xReport: "X-RAPPORT", .zReport: "Z-RAPPORT", .produced: "Laget", .shift: "Skift", .businessDay: "Forretningsdag",
        .rescueShift: "ETTERREGISTRERING", .rescueShiftNote: "Sene kvitteringer, utenfor kasseoppgjøret",
        .openedBy: "Åpnet av", .cashiers: "Kasserere", .closedBy: "Lukket av", .forceClosedBy: "Tvangslukket av",
        .openingFloat: "Vekselkasse", .openingFloatCounted: "Vekselkasse telt",
        .totalSales: "Totalt salg", .productGroups: "Varegrupper", .notUsed: "brukes ikke", .goodsSold: "Antall solgte varer",
        .servicesSold: "Antall solgte tjenester", .receiptCount: "Antall kvitteringer", .returns: "Returer", .discounts: "Rabatter",
        .copies: "Kopier", .trainingReceipts: "Treningskvitteringer", .priceOverrides: "Prisendringer", .unfinishedSales: "Ufullførte salg",
        .otherReductions: "Andre reduksjoner", .proFormaReceipts: "Foreløpige regninger", .drawerOpenings: "Skuffåpninger uten salg",
        .cashIn: "Innskudd", .cashOut: "Uttak", .ofWhichCorrections: "herav rettelser",
        .expectedCash: "Forventet i kassen", .counted: "Telt", .difference: "Differanse", .approvedBy: "Godkjent av",
        .cashLeft: "Igjen i kassen", .receipts: "Kvitteringer", .none: "ingen",
    ]
}
