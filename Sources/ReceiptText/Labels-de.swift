extension ReceiptText {
    /// Deutsch (Österreich: the RKSV's receipt types by their names).
    static let german: [Label: String] = [
        .receipt: "Beleg", .refundOfReceipt: "Rückgabe zu Beleg", .trainingReceipt: "Trainingsbeleg", .startReceipt: "Startbeleg",
        .nullReceipt: "Nullbeleg", .stornoReceipt: "Stornobeleg",
        .total: "SUMME", .totalRefund: "RÜCKGABE", .change: "Rückgeld", .vatTotal: "USt gesamt",
        .date: "Datum", .register: "Kassen-ID", .receiptNumber: "Beleg-Nr.", .zPeriod: "Z-Periode", .cashier: "Kassier",
        .grandTotalSales: "Gesamtumsatz Verkäufe", .grandTotalReturns: "Gesamtumsatz Rückgaben", .grandTotalNet: "Gesamtumsatz netto",
        .signature: "Signatur", .signatureNumber: "Nr.",
        .copyMarking: "KOPIE", .trainingMarking: "TRAINING", .notAReceiptMarking: "KEIN BELEG", .organisationNumber: "Org.-Nr.",
        .cash: "Bar", .card: "Karte",
        .vatRateColumn: "USt%", .netColumn: "Netto", .vatColumn: "USt", .grossColumn: "Brutto", .discount: "Rabatt",
        .proFormaTitle: "Proforma-Rechnung", .toPay: "ZU ZAHLEN", .proFormaNumber: "Proforma-Nr.",
        .xReport: "X-BERICHT", .zReport: "Z-BERICHT", .produced: "Erstellt", .shift: "Schicht", .businessDay: "Geschäftstag",
        .rescueShift: "NACHERFASSUNG", .rescueShiftNote: "Späte Belege, außerhalb der Kassenabrechnung",
        .openedBy: "Geöffnet von", .cashiers: "Kassiere", .closedBy: "Geschlossen von", .forceClosedBy: "Zwangsweise geschlossen von",
        .openingFloat: "Wechselgeld", .openingFloatCounted: "Wechselgeld gezählt",
        .totalSales: "Umsatz gesamt", .productGroups: "Warengruppen", .notUsed: "nicht verwendet", .goodsSold: "Verkaufte Waren",
        .servicesSold: "Verkaufte Leistungen", .receiptCount: "Anzahl Belege", .returns: "Rückgaben", .discounts: "Rabatte",
        .copies: "Kopien", .trainingReceipts: "Trainingsbelege", .priceOverrides: "Preisänderungen", .unfinishedSales: "Nicht abgeschlossene Verkäufe",
        .otherReductions: "Andere Minderungen", .proFormaReceipts: "Proforma-Rechnungen", .drawerOpenings: "Ladenöffnungen ohne Verkauf",
        .cashIn: "Einlagen", .cashOut: "Entnahmen", .ofWhichCorrections: "davon Korrekturen",
        .expectedCash: "Soll-Bestand", .counted: "Gezählt", .difference: "Differenz", .approvedBy: "Genehmigt von",
        .cashLeft: "Verbleibt in der Kasse", .receipts: "Belege", .none: "keine",
    ]
}
