extension ReceiptText {
    /// Svenska (SKVFS 2014:9's own words for the markings and report items).
    static let swedish: [Label: String] = [
        .receipt: "Kvitto", .refundOfReceipt: "Retur av kvitto", .trainingReceipt: "Övningskvitto", .startReceipt: "Startkvitto",
        .nullReceipt: "Nollkvitto", .stornoReceipt: "Makuleringskvitto",
        .total: "TOTALT", .totalRefund: "ATT ÅTERFÅ", .change: "Växel", .vatTotal: "Moms totalt",
        .date: "Datum", .register: "Kassabeteckning", .receiptNumber: "Kvittonr", .zPeriod: "Z-period", .cashier: "Kassör",
        .grandTotalSales: "Grand total försäljning", .grandTotalReturns: "Grand total retur", .grandTotalNet: "Grand total netto",
        .signature: "Signatur", .signatureNumber: "nr",
        .copyMarking: "KOPIA", .trainingMarking: "ÖVNING", .notAReceiptMarking: "EJ KVITTO", .organisationNumber: "Org.nr",
        .cash: "Kontant", .card: "Kort",
        .vatRateColumn: "Moms%", .netColumn: "Netto", .vatColumn: "Moms", .grossColumn: "Brutto", .discount: "Rabatt",
        .proFormaTitle: "Proformakvitto", .toPay: "ATT BETALA", .proFormaNumber: "Proformanr",
        .xReport: "X-DAGRAPPORT", .zReport: "Z-DAGRAPPORT", .produced: "Framställd", .shift: "Skift", .businessDay: "Affärsdag",
        .rescueShift: "RÄDDNINGSPASS", .rescueShiftNote: "Sena kvitton, utanför kassaavstämning",
        .openedBy: "Öppnad av", .cashiers: "Kassörer", .closedBy: "Stängd av", .forceClosedBy: "Tvångsstängd av",
        .openingFloat: "Växelkassa", .openingFloatCounted: "Växelkassa räknad",
        .totalSales: "Total försäljning", .productGroups: "Varugrupper", .notUsed: "används ej", .goodsSold: "Antal sålda varor",
        .servicesSold: "Antal sålda tjänster", .receiptCount: "Antal kassakvitton", .returns: "Returer", .discounts: "Rabatter",
        .copies: "Kopior", .trainingReceipts: "Övningskvitton", .priceOverrides: "Prisändringar", .unfinishedSales: "Ej slutförda köp",
        .otherReductions: "Andra reduceringar", .proFormaReceipts: "Proformakvitton", .drawerOpenings: "Lådöppningar utan köp",
        .cashIn: "Insättningar", .cashOut: "Uttag", .ofWhichCorrections: "varav rättelser",
        .expectedCash: "Förväntat i kassan", .counted: "Räknat", .difference: "Differens", .approvedBy: "Godkänd av",
        .cashLeft: "Kvar i kassan", .receipts: "Kvitton", .none: "inga",
    ]
}
