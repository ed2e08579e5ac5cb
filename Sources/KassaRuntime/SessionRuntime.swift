import DeviceTransport
import ESCPOS
import Foundation
import ReceiptLayout
import SessionEngine
import SoftwareFiscalModule
import VirtualPrinter

extension KassaEnvironment {
    /// The terminal's database: `--database PATH`, else `HOME/kassa.sqlite`.
    public func databasePath(_ explicit: String?) -> String {
        explicit ?? home.root.appendingPathComponent("kassa.sqlite").path
    }

    /// The software fiscal module's key: `fiscal-module.key` in the database's folder.
    public func fiscalKeyPath(_ database: String?) -> String {
        URL(fileURLWithPath: databasePath(database)).deletingLastPathComponent().appendingPathComponent("fiscal-module.key").path
    }

    /// Opens the session engine for this machine's terminal (creating the database on first use).
    /// `KASSA_CRASH_AT=<step>` (a `FinalizeStep` raw value) kills this process with SIGKILL at that step of finalizing a
    /// receipt, so crash tests can prove that numbers stay gap-free. Unset in normal use.
    public static var crashStep: FinalizeStep? {
        ProcessInfo.processInfo.environment["KASSA_CRASH_AT"].flatMap(FinalizeStep.init(rawValue:))
    }

    /// Kills the process if `KASSA_CRASH_AT` names this step.
    public static func faultPoint(_ step: FinalizeStep) {
        if crashStep == step { kill(getpid(), SIGKILL) }
    }

    public func sessionEngine(database: String?, readOnly: Bool = false) throws(RuntimeError) -> SessionEngine {
        try home.ensure(home.root)
        do {
            let store = try SessionStore.open(path: databasePath(database))
            var faultPoint: (@Sendable (FinalizeStep) -> Void)?
            if Self.crashStep != nil { faultPoint = { @Sendable step in KassaEnvironment.faultPoint(step) } }
            // The software fiscal module signs the journal; its key lives beside the database (fiscal-module.key, 0600).
            let module = readOnly ? nil : try SoftwareFiscalModule.load(path: fiscalKeyPath(database))
            return try SessionEngine(store: store, readOnly: readOnly, logger: logger, fiscalModule: module, faultPoint: faultPoint)
        } catch let error as FiscalModuleError {
            throw .session(.fiscalModuleFailed(serial: "software", code: error.code, message: error.message))
        } catch let error as SessionError {
            throw .session(error)
        } catch {
            throw .session(.invalid("\(error)"))
        }
    }

    /// The printed name of a payment method: Swedish for the built-in ones, as given for the rest.
    static func paymentLabel(_ method: String) -> String {
        switch method.lowercased() {
        case "cash": return "Kontant"
        case "card": return "Kort"
        case "swish": return "Swish"
        default: return method.capitalized
        }
    }

    /// A finalized receipt as a printable document: every item the Swedish list asks for, the terminal's stamps, and
    /// KOPIA / ÖVNING markings in large text.
    public func receiptDocument(_ receipt: ReceiptRecord, shopName: String = "Kassa") -> Document {
        var blocks: [Block] = []
        if receipt.isCopy {
            blocks.append(.text(TextBlock("KOPIA", align: .center, bold: true, size: .init(width: 3, height: 3))))
        }
        if receipt.kind == "training" {
            blocks.append(.text(TextBlock("ÖVNING", align: .center, bold: true, size: .init(width: 3, height: 3))))
        }
        blocks.append(.text(TextBlock(shopName, align: .center, bold: true, size: .init(width: 2, height: 2))))
        let title = receipt.kind == "refund" ? "Retur av kvitto \(receipt.refundOf ?? 0)" : (receipt.kind == "training" ? "Övningskvitto" : "Kvitto")
        blocks.append(.text(TextBlock("\(title) \(receipt.number)", align: .center)))
        blocks.append(.separator(SeparatorBlock()))
        let items = receipt.lines.map { line -> Item in
            var item = Item(name: line.name, quantity: Quantity(parsing: line.quantity.description) ?? .one,
                            unitPrice: line.unitPrice, amount: line.amount, vat: line.vatRate.label)
            if line.discount != 0 { item.discount = Item.Discount(amount: line.discount, reason: line.discountReason) }
            return item
        }
        blocks.append(.items(items))
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.totals(Totals(label: receipt.total < 0 ? "ATT ÅTERFÅ" : "TOTALT", total: receipt.total)))
        var payments = receipt.payments.map { Payment(method: Self.paymentLabel($0.method), amount: $0.amount) }
        if receipt.change > 0 { payments.append(Payment(method: "Växel", amount: -receipt.change)) }
        blocks.append(.payments(payments))
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.vat(receipt.vatLines.map { VATRow(rate: $0.rate.label, net: $0.net, vat: $0.vat, gross: $0.gross) }))
        blocks.append(.separator(SeparatorBlock()))
        let date = ISO8601DateFormatter.string(from: receipt.createdAt, timeZone: .current, formatOptions: [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime])
        for (label, value) in [
            ("Datum", date), ("Kassa", receipt.terminal), ("Kvittonr", String(receipt.number)), ("Z-period", String(receipt.zPeriod)),
            ("Kassör", receipt.cashier),
        ] {
            blocks.append(.keyValue(KeyValueBlock(label: label, value: value)))
        }
        if receipt.kind != "training" {
            blocks.append(.keyValue(KeyValueBlock(label: "Grand total försäljning", amount: receipt.grandTotalSales)))
            blocks.append(.keyValue(KeyValueBlock(label: "Grand total retur", amount: receipt.grandTotalReturns)))
            blocks.append(.keyValue(KeyValueBlock(label: "Grand total netto", amount: receipt.grandTotalNet)))
        }
        if receipt.isCopy {
            blocks.append(.text(TextBlock("KOPIA", align: .center, bold: true, size: .init(width: 3, height: 3))))
        }
        var document = Document(currency: receipt.currency, blocks: blocks)
        document.labels = ["rate": "Moms%", "net": "Netto", "vat": "Moms", "gross": "Brutto", "discount": "Rabatt"]
        return document
    }

    /// An X or Z report as a printable document.
    public func reportDocument(_ report: ShiftReport) -> Document {
        func money(_ value: Int64) -> KeyValueBlock.Value { .amount(value) }
        var blocks: [Block] = []
        if report.isCopy { blocks.append(.text(TextBlock("KOPIA", align: .center, bold: true, size: .init(width: 3, height: 3)))) }
        let title = report.kind == "Z" ? "Z-RAPPORT \(report.zNumber ?? 0)" : "X-RAPPORT"
        blocks.append(.text(TextBlock(title, align: .center, bold: true, size: .init(width: 2, height: 2))))
        blocks.append(.text(TextBlock("Kassa \(report.terminal) · Skift \(report.sessionSequence)", align: .center)))
        blocks.append(.text(TextBlock("Affärsdag \(report.businessDate)", align: .center)))
        blocks.append(.separator(SeparatorBlock(character: "=")))
        func pair(_ label: String, _ value: KeyValueBlock.Value, bold: Bool = false) {
            switch value {
            case .amount(let amount): blocks.append(.keyValue(KeyValueBlock(label: label, amount: amount, bold: bold)))
            case .text(let text): blocks.append(.keyValue(KeyValueBlock(label: label, value: text, bold: bold)))
            }
        }
        if report.isRescue {
            blocks.append(.text(TextBlock("RÄDDNINGSPASS", align: .center, bold: true, size: .init(width: 2, height: 2))))
            blocks.append(.text(TextBlock("Sena kvitton, utanför kassaavstämning", align: .center)))
        }
        pair("Öppnad av", .text(report.openedBy))
        pair("Kassörer", .text(report.participants.joined(separator: ", ")))
        if let closedBy = report.closedBy { pair(report.forceClosed ? "Tvångsstängd av" : "Stängd av", .text(closedBy)) }
        pair("Växelkassa", money(report.openingFloat))
        for item in report.openingCount {
            pair("  \(item.quantity) × \(MoneyFormat.standard(for: report.currency).format(item.denomination))", money(item.denomination * item.quantity))
        }
        if let counted = report.openingCounted { pair("Växelkassa räknad", money(counted)) }
        blocks.append(.separator(SeparatorBlock()))
        pair("Försäljning (\(report.sales.count))", money(report.sales.amount), bold: true)
        pair("Returer (\(report.returns.count))", money(-report.returns.amount))
        pair("Rabatter (\(report.discounts.count))", money(report.discounts.amount))
        pair("Kopior (\(report.copies.count))", money(report.copies.amount))
        pair("Övningskvitton (\(report.training.count))", money(report.training.amount))
        pair("Prisändringar (\(report.priceOverrides.count))", money(report.priceOverrides.amount))
        pair("Lådöppningar utan köp", .text(String(report.noSaleOpenings)))
        pair("Insättningar (\(report.cashIn.count))", money(report.cashIn.amount))
        pair("Uttag (\(report.cashOut.count))", money(report.cashOut.amount))
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.vat(report.vat.map { VATRow(rate: $0.rate.label, net: $0.net, vat: $0.vat, gross: $0.gross) }))
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.payments(report.payments.map { Payment(method: Self.paymentLabel($0.name), amount: $0.amount) }))
        blocks.append(.separator(SeparatorBlock()))
        for cashier in report.cashiers { pair("Kassör \(cashier.name) (\(cashier.count))", money(cashier.amount)) }
        blocks.append(.separator(SeparatorBlock()))
        pair("Förväntat i kassan", money(report.expectedCash))
        for item in report.closingCount {
            pair("  \(item.quantity) × \(MoneyFormat.standard(for: report.currency).format(item.denomination))", money(item.denomination * item.quantity))
        }
        if let counted = report.countedCash { pair("Räknat", money(counted)) }
        if let difference = report.difference { pair("Differens", money(difference), bold: true) }
        if let approver = report.differenceApprovedBy { pair("Godkänd av", .text(approver)) }
        if let left = report.cashLeft { pair("Kvar i kassan", money(left)) }
        blocks.append(.separator(SeparatorBlock()))
        pair("Kvitton", .text(report.receiptCount == 0 ? "inga" : "\(report.firstReceipt ?? 0)–\(report.lastReceipt ?? 0) (\(report.receiptCount))"))
        pair("Grand total försäljning", money(report.grandTotalSales))
        pair("Grand total retur", money(report.grandTotalReturns))
        pair("Grand total netto", money(report.grandTotalNet))
        var document = Document(currency: report.currency, blocks: blocks)
        document.labels = ["rate": "Moms%", "net": "Netto", "vat": "Moms", "gross": "Brutto"]
        return document
    }

    /// Prints a document on a device, after the fact it records was committed. A failure here leaves the fact valid:
    /// the caller reports it and the receipt can be printed again as a copy.
    public func printDocument(_ document: Document, on device: ResolvedDevice, previewPath: String? = nil) throws(RuntimeError) -> PrintOutcome {
        let layout = try self.layout(document, profile: device.profile, baseDirectory: nil)
        return try send(layout.bytes, copies: 1, device: device, previewPath: previewPath, warnings: layout.warnings)
    }
}

extension KassaEnvironment {
    /// How the bytes would look on paper, as text (the virtual printer without fonts).
    public func textPreview(_ bytes: [UInt8], profile: PrinterProfile) -> String {
        var printer = VirtualPrinter(profile: profile, fonts: nil)
        printer.receive(bytes)
        printer.finish()
        return printer.textPreview()
    }
}

extension KeyValueBlock {
    enum Value {
        case amount(Int64)
        case text(String)
    }
}
