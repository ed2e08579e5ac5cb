import Foundation
import ReceiptLayout
import ReceiptText
import SessionEngine

/// The till's printed documents — receipts, pro-forma bills, X and Z reports — built from the engine's records in the
/// language of the `locale` setting (words from `ReceiptText`'s tables, none here), the amounts in the record's currency
/// and the times in the `time-zone` setting's zone, the same zone the fiscal profile sends to a control unit.
extension KassaEnvironment {
    /// The words for `settings` (its locale; Swedish without settings).
    static func text(_ settings: Settings?) -> ReceiptText {
        ReceiptText(locale: settings?.locale ?? "sv") ?? ReceiptText(locale: "sv")!
    }

    /// The words of the mandatory markings: under the Swedish profile always Swedish (SKVFS 2014:9 names them: KOPIA,
    /// ÖVNING, EJ KVITTO), otherwise the locale's.
    static func markingText(_ settings: Settings?) -> ReceiptText {
        settings?.fiscalProfile == "se" ? ReceiptText(locale: "sv")! : text(settings)
    }

    /// A date and time in the terminal's zone (the `time-zone` setting), `yyyy-MM-dd HH:mm:ss`.
    static func localTime(_ date: Date, _ settings: Settings?) -> String {
        let zone = settings.flatMap { TimeZone(identifier: $0.timeZone) } ?? .current
        return ISO8601DateFormatter.string(from: date, timeZone: zone,
                                           formatOptions: [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime])
    }

    /// The header the Swedish lists start with: company name, organisation number, the point of sale's address.
    static func header(_ settings: Settings?, _ text: ReceiptText) -> [Block] {
        var blocks: [Block] = [.text(TextBlock(settings?.companyName ?? "Kassa", align: .center, bold: true, size: .init(width: 2, height: 2)))]
        if let number = settings?.regime["se-org-number"], number.count == 10 {
            blocks.append(.text(TextBlock("\(text[.organisationNumber]) \(number.prefix(6))-\(number.suffix(4))", align: .center)))
        }
        for line in (settings?.shopAddress ?? "").split(separator: ";") {
            blocks.append(.text(TextBlock(line.trimmingCharacters(in: .whitespaces), align: .center)))
        }
        return blocks
    }

    /// The height of the total amount's line (the layout prints it double height): the markings print at twice that.
    public static let totalHeight = 2

    /// A marking the Swedish rules want at least twice the height of the amounts, the total's included: four times the
    /// normal height (the total prints at two), twice the width so that the longest one still fits 32 columns.
    static func marking(_ text: String) -> Block {
        .text(TextBlock(text, align: .center, bold: true, size: .init(width: 2, height: totalHeight * 2)))
    }

    static func vatLabels(_ text: ReceiptText) -> [String: String] {
        ["rate": text[.vatRateColumn], "net": text[.netColumn], "vat": text[.vatColumn], "gross": text[.grossColumn], "discount": text[.discount]]
    }

    static func items(_ lines: [ReceiptRecord.Line]) -> [Item] {
        lines.map { line -> Item in
            var item = Item(name: line.name, quantity: Quantity(parsing: line.quantity.description) ?? .one,
                            unitPrice: line.unitPrice, amount: line.amount, vat: line.vatRate.label)
            if line.discount != 0 { item.discount = Item.Discount(amount: line.discount, reason: line.discountReason) }
            return item
        }
    }

    /// The VAT table, and the receipt's total VAT below it when it has several rates.
    static func vatBlocks(_ lines: [ReceiptRecord.VATLine], _ text: ReceiptText) -> [Block] {
        var blocks: [Block] = [.vat(lines.map { VATRow(rate: $0.rate.label, net: $0.net, vat: $0.vat, gross: $0.gross) })]
        if lines.count > 1 {
            blocks.append(.keyValue(KeyValueBlock(label: text[.vatTotal], amount: lines.reduce(0) { $0 + $1.vat })))
        }
        return blocks
    }

    /// A finalized receipt as a printable document: every item the Swedish list asks for (SKVFS 2014:9 7 kap. 1 §), the
    /// terminal's stamps, the fiscal profile's code (control code, or the RKSV QR code), and the markings in large text.
    /// A start, null or storno receipt says so in its headline.
    public func receiptDocument(_ receipt: ReceiptRecord, settings: Settings? = nil) -> Document {
        let text = Self.text(settings)
        let marks = Self.markingText(settings)
        var blocks: [Block] = []
        if receipt.isCopy { blocks.append(Self.marking(marks[.copyMarking])) }
        if receipt.kind == "training" { blocks.append(Self.marking(marks[.trainingMarking])) }
        blocks += Self.header(settings, text)
        let number = String(receipt.number)
        let headline: String
        switch (receipt.fiscalCode?.fiscalType, receipt.kind) {
        case ("start", _): headline = "\(text[.startReceipt]) \(number)"
        case ("null", _): headline = "\(text[.nullReceipt]) \(number)"
        case ("storno", "refund"): headline = "\(text[.stornoReceipt]) \(number) · \(text[.refundOfReceipt]) \(receipt.refundOf ?? 0)"
        case ("storno", _): headline = "\(text[.stornoReceipt]) \(number)"
        case (_, "refund"): headline = "\(text[.refundOfReceipt]) \(receipt.refundOf ?? 0) \(number)"
        case (_, "training"): headline = "\(text[.trainingReceipt]) \(number)"
        default: headline = "\(text[.receipt]) \(number)"
        }
        blocks.append(.text(TextBlock(headline, align: .center, bold: receipt.fiscalCode?.fiscalType != nil)))
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.items(Self.items(receipt.lines)))
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.totals(Totals(label: receipt.total < 0 ? text[.totalRefund] : text[.total], total: receipt.total)))
        var payments = receipt.payments.map { Payment(method: text.paymentMethod($0.method), amount: $0.amount) }
        if receipt.change > 0 { payments.append(Payment(method: text[.change], amount: -receipt.change)) }
        blocks.append(.payments(payments))
        blocks.append(.separator(SeparatorBlock()))
        blocks += Self.vatBlocks(receipt.vatLines, text)
        blocks.append(.separator(SeparatorBlock()))
        let register = settings?.regime["se-pos-id"].flatMap { $0.isEmpty ? nil : $0 }
            ?? settings?.regime["at-cashbox-id"].flatMap { $0.isEmpty ? nil : $0 } ?? receipt.terminal
        for (label, value) in [
            (text[.date], Self.localTime(receipt.createdAt, settings)), (text[.register], register), (text[.receiptNumber], String(receipt.number)),
            (text[.zPeriod], String(receipt.zPeriod)), (text[.cashier], receipt.cashier),
        ] {
            blocks.append(.keyValue(KeyValueBlock(label: label, value: value)))
        }
        if receipt.kind != "training" {
            blocks.append(.keyValue(KeyValueBlock(label: text[.grandTotalSales], amount: receipt.grandTotalSales)))
            blocks.append(.keyValue(KeyValueBlock(label: text[.grandTotalReturns], amount: receipt.grandTotalReturns)))
            blocks.append(.keyValue(KeyValueBlock(label: text[.grandTotalNet], amount: receipt.grandTotalNet)))
        }
        if let counter = receipt.signatureCounter, let module = receipt.signedBy {
            // The fiscal module's signature counter of this receipt's journal entry (Docs/journal-format.md).
            blocks.append(.keyValue(KeyValueBlock(label: text[.signature], value: "\(module) \(text[.signatureNumber]) \(counter)")))
        }
        if let code = receipt.fiscalCode {
            blocks.append(.separator(SeparatorBlock()))
            for line in code.lines { blocks.append(.text(TextBlock(line, align: .center))) }
            if !code.qr.isEmpty { blocks.append(.qr(QRBlock(data: code.qr, moduleSize: 3, errorCorrection: "L"))) }
        }
        if receipt.isCopy { blocks.append(Self.marking(marks[.copyMarking])) }
        if receipt.kind == "training" { blocks.append(Self.marking(marks[.trainingMarking])) }
        var document = Document(currency: receipt.currency, blocks: blocks)
        document.labels = Self.vatLabels(text)
        return document
    }

    /// A pro-forma bill of a parked receipt (shown before paying): not a receipt, marked at both ends, priced by the
    /// engine exactly as the sale will be, with its own series number and, in Sweden, the control unit's code.
    public func proFormaDocument(_ bill: ProFormaRecord, settings: Settings? = nil) -> Document {
        let text = Self.text(settings)
        let marking = Self.markingText(settings)[.notAReceiptMarking]
        var blocks: [Block] = [Self.marking(marking)]
        blocks += Self.header(settings, text)
        blocks.append(.text(TextBlock("\(text[.proFormaTitle]) P\(bill.number) · \(bill.label ?? bill.parked)", align: .center)))
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.items(Self.items(bill.lines)))
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.totals(Totals(label: text[.toPay], total: bill.total)))
        blocks.append(.separator(SeparatorBlock()))
        blocks += Self.vatBlocks(bill.vatLines, text)
        blocks.append(.separator(SeparatorBlock()))
        let register = settings?.regime["se-pos-id"].flatMap { $0.isEmpty ? nil : $0 } ?? bill.terminal
        for (label, value) in [(text[.date], Self.localTime(bill.createdAt, settings)), (text[.register], register),
                               (text[.proFormaNumber], "P\(bill.number)"), (text[.cashier], bill.user)] {
            blocks.append(.keyValue(KeyValueBlock(label: label, value: value)))
        }
        if let code = bill.fiscalCode {
            blocks.append(.separator(SeparatorBlock()))
            for line in code.lines { blocks.append(.text(TextBlock(line, align: .center))) }
        }
        blocks.append(Self.marking(marking))
        var document = Document(currency: bill.currency, blocks: blocks)
        document.labels = Self.vatLabels(text)
        return document
    }

    /// An X or Z report as a printable document: the items of SKVFS 2014:9 7 kap. 2 § (and 3 § for the Z).
    public func reportDocument(_ report: ShiftReport, settings: Settings? = nil) -> Document {
        let text = Self.text(settings)
        func money(_ value: Int64) -> KeyValueBlock.Value { .amount(value) }
        var blocks: [Block] = []
        if report.isCopy { blocks.append(Self.marking(Self.markingText(settings)[.copyMarking])) }
        blocks += Self.header(settings, text)
        let title = report.kind == "Z" ? "\(text[.zReport]) \(report.zNumber ?? 0)" : text[.xReport]
        blocks.append(.text(TextBlock(title, align: .center, bold: true, size: .init(width: 2, height: 2))))
        blocks.append(.text(TextBlock("\(text[.produced]) \(Self.localTime(report.printedAt, settings))", align: .center)))
        let register = settings?.regime["se-pos-id"].flatMap { $0.isEmpty ? nil : $0 } ?? report.terminal
        blocks.append(.text(TextBlock("\(text[.register]) \(register) · \(text[.shift]) \(report.sessionSequence)", align: .center)))
        blocks.append(.text(TextBlock("\(text[.businessDay]) \(report.businessDate)", align: .center)))
        blocks.append(.separator(SeparatorBlock(character: "=")))
        func pair(_ label: String, _ value: KeyValueBlock.Value, bold: Bool = false) {
            switch value {
            case .amount(let amount): blocks.append(.keyValue(KeyValueBlock(label: label, amount: amount, bold: bold)))
            case .text(let text): blocks.append(.keyValue(KeyValueBlock(label: label, value: text, bold: bold)))
            }
        }
        let format = MoneyFormat.standard(for: report.currency)
        if report.isRescue {
            blocks.append(.text(TextBlock(text[.rescueShift], align: .center, bold: true, size: .init(width: 2, height: 2))))
            blocks.append(.text(TextBlock(text[.rescueShiftNote], align: .center)))
        }
        pair(text[.openedBy], .text(report.openedBy))
        pair(text[.cashiers], .text(report.participants.joined(separator: ", ")))
        if let closedBy = report.closedBy { pair(report.forceClosed ? text[.forceClosedBy] : text[.closedBy], .text(closedBy)) }
        pair(text[.openingFloat], money(report.openingFloat))
        for item in report.openingCount { pair("  \(item.quantity) × \(format.format(item.denomination))", money(item.denomination * item.quantity)) }
        if let counted = report.openingCounted { pair(text[.openingFloatCounted], money(counted)) }
        blocks.append(.separator(SeparatorBlock()))
        pair("\(text[.totalSales]) (\(report.sales.count))", money(report.sales.amount), bold: true)
        pair(text[.productGroups], .text(text[.notUsed]))
        pair(text[.goodsSold], .text(String(report.goodsSold)))
        pair(text[.servicesSold], .text(String(report.servicesSold)))
        pair(text[.receiptCount], .text(String(report.receiptCount)))
        pair("\(text[.returns]) (\(report.returns.count))", money(-report.returns.amount))
        pair("\(text[.discounts]) (\(report.discounts.count))", money(report.discounts.amount))
        pair("\(text[.copies]) (\(report.copies.count))", money(report.copies.amount))
        pair("\(text[.trainingReceipts]) (\(report.training.count))", money(report.training.amount))
        pair("\(text[.priceOverrides]) (\(report.priceOverrides.count))", money(report.priceOverrides.amount))
        pair("\(text[.unfinishedSales]) (\(report.unfinished.count))", money(report.unfinished.amount))
        pair("\(text[.otherReductions]) (\(report.reductions.count))", money(report.reductions.amount))
        pair("\(text[.proFormaReceipts]) (\(report.proForma.count))", money(report.proForma.amount))
        pair(text[.drawerOpenings], .text(String(report.noSaleOpenings)))
        pair("\(text[.cashIn]) (\(report.cashIn.count))", money(report.cashIn.amount))
        pair("\(text[.cashOut]) (\(report.cashOut.count))", money(report.cashOut.amount))
        if let reversals = report.cashReversals { pair("\(text[.ofWhichCorrections]) (\(reversals.count))", money(reversals.amount)) }
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.vat(report.vat.map { VATRow(rate: $0.rate.label, net: $0.net, vat: $0.vat, gross: $0.gross) }))
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.payments(report.payments.map { Payment(method: text.paymentMethod($0.name), amount: $0.amount) }))
        blocks.append(.separator(SeparatorBlock()))
        for cashier in report.cashiers { pair("\(text[.cashier]) \(cashier.name) (\(cashier.count))", money(cashier.amount)) }
        blocks.append(.separator(SeparatorBlock()))
        pair(text[.expectedCash], money(report.expectedCash))
        for item in report.closingCount { pair("  \(item.quantity) × \(format.format(item.denomination))", money(item.denomination * item.quantity)) }
        if let counted = report.countedCash { pair(text[.counted], money(counted)) }
        if let difference = report.difference { pair(text[.difference], money(difference), bold: true) }
        if let approver = report.differenceApprovedBy { pair(text[.approvedBy], .text(approver)) }
        if let left = report.cashLeft { pair(text[.cashLeft], money(left)) }
        blocks.append(.separator(SeparatorBlock()))
        pair(text[.receipts], .text(report.receiptCount == 0 ? text[.none] : "\(report.firstReceipt ?? 0)–\(report.lastReceipt ?? 0) (\(report.receiptCount))"))
        pair(text[.grandTotalSales], money(report.grandTotalSales))
        pair(text[.grandTotalReturns], money(report.grandTotalReturns))
        pair(text[.grandTotalNet], money(report.grandTotalNet))
        if let counter = report.signatureCounter, let module = report.signedBy {
            pair(text[.signature], .text("\(module) \(text[.signatureNumber]) \(counter)"))
        }
        var document = Document(currency: report.currency, blocks: blocks)
        document.labels = Self.vatLabels(text)
        document.labels?["discount"] = nil
        return document
    }
}
