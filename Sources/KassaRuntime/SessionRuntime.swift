import DeviceTransport
import ESCPOS
import Foundation
import ReceiptLayout
import FiscalProfiles
import PrivateFiles
import RKSV
import SessionEngine
import SoftwareFiscalModule
import VirtualPrinter

extension KassaEnvironment {
    /// The terminal's database: `--database PATH`, else `HOME/kassa.sqlite`.
    public func databasePath(_ explicit: String?) -> String {
        explicit ?? home.root.appendingPathComponent("kassa.sqlite").path
    }

    /// The fiscal profiles this terminal can run (the `fiscal-profile` setting picks one): Austria, with its AES key in
    /// `rksv-aes.key` beside the database (made on the first Austrian receipt), and Sweden, with the control unit.
    /// No driver for a real control unit exists yet: the simulator stands in and prints `SIMULATOR-…` as the unit's number.
    /// `KASSA_CONTROL_UNIT=down` makes it stop answering (tests, demos of the failure).
    public func fiscalProfiles(_ database: String?) -> [any FiscalProfile] {
        let folder = URL(fileURLWithPath: databasePath(database)).deletingLastPathComponent()
        let unit = ControlUnitSimulator()
        if ProcessInfo.processInfo.environment["KASSA_CONTROL_UNIT"] == "down" { unit.setAnswering(false) }
        return [AustrianProfile(keyPath: folder.appendingPathComponent("rksv-aes.key").path), SwedishProfile(unit: unit)]
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

    /// The fiscal modules' anchors beside the database (`fiscal-module.counter`), for `journal verify` and `export`.
    public func journalAnchors(_ database: String?) throws(RuntimeError) -> [(serial: String, counter: Int64)] {
        let path = SoftwareFiscalModule.anchorPath(forKey: fiscalKeyPath(database))
        do {
            return try SoftwareFiscalModule.readAnchor(path).map { [$0] } ?? []
        } catch {
            throw .session(.fiscalModuleFailed(serial: "software", code: error.code, message: error.message))
        }
    }

    /// The marker beside a database that says a terminal was created in it (`kassa.sqlite.terminal`).
    public func terminalMarkerPath(_ database: String?) -> String { databasePath(database) + ".terminal" }

    public func sessionEngine(database: String?, readOnly: Bool = false, replacingModule: Bool = false) throws(RuntimeError) -> SessionEngine {
        try home.ensure(home.root)
        let path = databasePath(database)
        let marker = terminalMarkerPath(database)
        // A terminal is never started anew in silence: once its marker exists, a missing, empty or replaced database is
        // refused (its counters and grand totals would restart at 0 beside the existing fiscal key).
        // Witnesses: the marker; and for the home's own database also the fiscal module's anchor (it signed committed
        // facts) and the Austrian AES key (made with the first Austrian receipt), which belong to the folder's terminal.
        var witness: String? = FileManager.default.fileExists(atPath: marker) ? marker : nil
        if witness == nil, database == nil {
            let anchorPath = SoftwareFiscalModule.anchorPath(forKey: fiscalKeyPath(nil))
            let aesKey = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("rksv-aes.key").path
            if ((try? SoftwareFiscalModule.readAnchor(anchorPath))??.counter ?? 0) > 0 {
                witness = anchorPath
            } else if FileManager.default.fileExists(atPath: aesKey) {
                witness = aesKey
            }
        }
        if let witness {
            var status = stat()
            if stat(path, &status) != 0 || status.st_size == 0 { throw .terminalDatabaseLost(database: path, marker: witness) }
        }
        do {
            let store = try SessionStore.open(path: path)
            var faultPoint: (@Sendable (FinalizeStep) -> Void)?
            if Self.crashStep != nil { faultPoint = { @Sendable step in KassaEnvironment.faultPoint(step) } }
            // The software fiscal module signs the journal; its key lives beside the database (fiscal-module.key, 0600).
            // On an existing terminal a missing key is refused (never made anew), and a key other than the registered
            // module's is refused by the engine (decision 0018); `replace-module` puts a new one in service on purpose.
            var module: (any FiscalModule)? = readOnly ? nil
                : try SoftwareFiscalModule.load(path: fiscalKeyPath(database), mayCreate: witness == nil || replacingModule)
            if let base = module, ProcessInfo.processInfo.environment["KASSA_SIGNATURE_DEVICE"] == "down" { module = SignatureDeviceDown(base) }
            let engine = try SessionEngine(store: store, readOnly: readOnly, logger: logger, fiscalModule: module,
                                           profiles: fiscalProfiles(database), faultPoint: faultPoint, createTerminal: witness == nil,
                                           acceptNewFiscalModule: witness == nil || replacingModule)
            if !FileManager.default.fileExists(atPath: marker), !readOnly {
                // SQLite creates the database (and its -wal and -shm) 0644 less the umask; the terminal's history is
                // the till user's alone, as the home folder is.
                for suffix in ["", "-wal", "-shm"] { _ = chmod(path + suffix, 0o600) }
                // Written after the terminal committed, before any command of it can make a fact: from now on the
                // database cannot silently be replaced by an empty one.
                let text = (try? JSONEncoder().encode(["terminal": engine.terminalID, "database": path])) ?? Data()
                do {
                    try PrivateFiles.write(Array(text) + [0x0A], to: marker, durable: true)
                } catch {
                    throw RuntimeError.homeNotWritable(path: marker, reason: error.message)
                }
            }
            return engine
        } catch let error as RuntimeError {
            throw error
        } catch SessionError.noTerminal where witness != nil {
            throw .terminalDatabaseLost(database: path, marker: witness ?? marker)
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

    /// The header the Swedish lists start with: company name, organisation number, the point of sale's address.
    static func header(_ settings: Settings?) -> [Block] {
        var blocks: [Block] = [.text(TextBlock(settings?.companyName ?? "Kassa", align: .center, bold: true, size: .init(width: 2, height: 2)))]
        if let number = settings?.regime["se-org-number"], number.count == 10 {
            blocks.append(.text(TextBlock("Org.nr \(number.prefix(6))-\(number.suffix(4))", align: .center)))
        }
        for line in (settings?.shopAddress ?? "").split(separator: ";") {
            blocks.append(.text(TextBlock(line.trimmingCharacters(in: .whitespaces), align: .center)))
        }
        return blocks
    }

    /// A marking the Swedish rules want at least twice the height of the amounts (amounts print at normal size).
    static func marking(_ text: String) -> Block {
        .text(TextBlock(text, align: .center, bold: true, size: .init(width: 3, height: 3)))
    }

    /// A finalized receipt as a printable document: every item the Swedish list asks for (SKVFS 2014:9 7 kap. 1 §), the
    /// terminal's stamps, the fiscal profile's code (control code, or the RKSV QR code), and KOPIA / ÖVNING in large text.
    public func receiptDocument(_ receipt: ReceiptRecord, settings: Settings? = nil) -> Document {
        var blocks: [Block] = []
        if receipt.isCopy { blocks.append(Self.marking("KOPIA")) }
        if receipt.kind == "training" { blocks.append(Self.marking("ÖVNING")) }
        blocks += Self.header(settings)
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
        let register = settings?.regime["se-pos-id"].flatMap { $0.isEmpty ? nil : $0 } ?? receipt.terminal
        for (label, value) in [
            ("Datum", date), ("Kassabeteckning", register), ("Kvittonr", String(receipt.number)), ("Z-period", String(receipt.zPeriod)),
            ("Kassör", receipt.cashier),
        ] {
            blocks.append(.keyValue(KeyValueBlock(label: label, value: value)))
        }
        if receipt.kind != "training" {
            blocks.append(.keyValue(KeyValueBlock(label: "Grand total försäljning", amount: receipt.grandTotalSales)))
            blocks.append(.keyValue(KeyValueBlock(label: "Grand total retur", amount: receipt.grandTotalReturns)))
            blocks.append(.keyValue(KeyValueBlock(label: "Grand total netto", amount: receipt.grandTotalNet)))
        }
        if let counter = receipt.signatureCounter, let module = receipt.signedBy {
            // The fiscal module's signature counter of this receipt's journal entry (Docs/journal-format.md).
            blocks.append(.keyValue(KeyValueBlock(label: "Signatur", value: "\(module) nr \(counter)")))
        }
        if let code = receipt.fiscalCode {
            blocks.append(.separator(SeparatorBlock()))
            for line in code.lines { blocks.append(.text(TextBlock(line, align: .center))) }
            if !code.qr.isEmpty { blocks.append(.qr(QRBlock(data: code.qr, moduleSize: 3, errorCorrection: "L"))) }
        }
        if receipt.isCopy { blocks.append(Self.marking("KOPIA")) }
        if receipt.kind == "training" { blocks.append(Self.marking("ÖVNING")) }
        var document = Document(currency: receipt.currency, blocks: blocks)
        document.labels = ["rate": "Moms%", "net": "Netto", "vat": "Moms", "gross": "Brutto", "discount": "Rabatt"]
        return document
    }

    /// A pro-forma bill of a parked receipt (shown before paying): not a receipt, marked EJ KVITTO at both ends, priced by
    /// the engine exactly as the sale will be, with its own series number and, in Sweden, the control unit's code.
    public func proFormaDocument(_ bill: ProFormaRecord, settings: Settings? = nil) -> Document {
        var blocks: [Block] = [Self.marking("EJ KVITTO")]
        blocks += Self.header(settings)
        blocks.append(.text(TextBlock("Proformakvitto P\(bill.number) · \(bill.label ?? bill.parked)", align: .center)))
        blocks.append(.separator(SeparatorBlock()))
        let items = bill.lines.map { line -> Item in
            var item = Item(name: line.name, quantity: Quantity(parsing: line.quantity.description) ?? .one,
                            unitPrice: line.unitPrice, amount: line.amount, vat: line.vatRate.label)
            if line.discount != 0 { item.discount = Item.Discount(amount: line.discount, reason: line.discountReason) }
            return item
        }
        blocks.append(.items(items))
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.totals(Totals(label: "ATT BETALA", total: bill.total)))
        blocks.append(.separator(SeparatorBlock()))
        blocks.append(.vat(bill.vatLines.map { VATRow(rate: $0.rate.label, net: $0.net, vat: $0.vat, gross: $0.gross) }))
        blocks.append(.separator(SeparatorBlock()))
        let date = ISO8601DateFormatter.string(from: bill.createdAt, timeZone: .current, formatOptions: [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime])
        let register = settings?.regime["se-pos-id"].flatMap { $0.isEmpty ? nil : $0 } ?? bill.terminal
        for (label, value) in [("Datum", date), ("Kassabeteckning", register), ("Proformanr", "P\(bill.number)"), ("Kassör", bill.user)] {
            blocks.append(.keyValue(KeyValueBlock(label: label, value: value)))
        }
        if let code = bill.fiscalCode {
            blocks.append(.separator(SeparatorBlock()))
            for line in code.lines { blocks.append(.text(TextBlock(line, align: .center))) }
        }
        blocks.append(Self.marking("EJ KVITTO"))
        var document = Document(currency: bill.currency, blocks: blocks)
        document.labels = ["rate": "Moms%", "net": "Netto", "vat": "Moms", "gross": "Brutto", "discount": "Rabatt"]
        return document
    }

    /// An X or Z report as a printable document: the 22 items of SKVFS 2014:9 7 kap. 2 § (and 3 § for the Z).
    public func reportDocument(_ report: ShiftReport, settings: Settings? = nil) -> Document {
        func money(_ value: Int64) -> KeyValueBlock.Value { .amount(value) }
        var blocks: [Block] = []
        if report.isCopy { blocks.append(Self.marking("KOPIA")) }
        blocks += Self.header(settings)
        let title = report.kind == "Z" ? "Z-DAGRAPPORT \(report.zNumber ?? 0)" : "X-DAGRAPPORT"
        blocks.append(.text(TextBlock(title, align: .center, bold: true, size: .init(width: 2, height: 2))))
        let produced = ISO8601DateFormatter.string(from: report.printedAt, timeZone: .current,
                                                   formatOptions: [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime])
        blocks.append(.text(TextBlock("Framställd \(produced)", align: .center)))
        let register = settings?.regime["se-pos-id"].flatMap { $0.isEmpty ? nil : $0 } ?? report.terminal
        blocks.append(.text(TextBlock("Kassabeteckning \(register) · Skift \(report.sessionSequence)", align: .center)))
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
        pair("Total försäljning (\(report.sales.count))", money(report.sales.amount), bold: true)
        pair("Varugrupper", .text("används ej"))
        pair("Antal sålda varor", .text(String(report.goodsSold)))
        pair("Antal sålda tjänster", .text(String(report.servicesSold)))
        pair("Antal kassakvitton", .text(String(report.receiptCount)))
        pair("Returer (\(report.returns.count))", money(-report.returns.amount))
        pair("Rabatter (\(report.discounts.count))", money(report.discounts.amount))
        pair("Kopior (\(report.copies.count))", money(report.copies.amount))
        pair("Övningskvitton (\(report.training.count))", money(report.training.amount))
        pair("Prisändringar (\(report.priceOverrides.count))", money(report.priceOverrides.amount))
        pair("Ej slutförda köp (\(report.unfinished.count))", money(report.unfinished.amount))
        pair("Proformakvitton (\(report.proForma.count))", money(report.proForma.amount))
        pair("Lådöppningar utan köp", .text(String(report.noSaleOpenings)))
        pair("Insättningar (\(report.cashIn.count))", money(report.cashIn.amount))
        pair("Uttag (\(report.cashOut.count))", money(report.cashOut.amount))
        if let reversals = report.cashReversals { pair("varav rättelser (\(reversals.count))", money(reversals.amount)) }
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
        if let counter = report.signatureCounter, let module = report.signedBy { pair("Signatur", .text("\(module) nr \(counter)")) }
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
        var printer = VirtualPrinter(profile: profile, fonts: nil, storesDots: false)
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

/// What `kassa journal export` wrote for Austria.
public struct RKSVExportFiles: Sendable, Encodable {
    public var dep: String
    public var container: String
    public var receipts: Int
}

extension KassaEnvironment {
    /// The DEP export and the cryptographic material container of this terminal's Austrian receipts (closed system:
    /// key ids `<at-company-id>-K<n>`, public keys instead of certificates, one DEP group; Docs/fiscal-at.md). The
    /// container maps every key id the receipts name (and every registered module's) to its key. Nil when the terminal
    /// made none.
    public func exportRKSV(engine: SessionEngine, database: String?, to directory: String) throws(RuntimeError) -> RKSVExportFiles? {
        let codes: [FiscalCode]
        let settings: Settings
        let modules: [(serial: String, publicKey: [UInt8])]
        let aesKey: [UInt8]
        do {
            codes = try engine.fiscalCodes(profile: "at")
            guard !codes.isEmpty, let profile = fiscalProfiles(database).compactMap({ $0 as? AustrianProfile }).first else { return nil }
            settings = try engine.settings()
            modules = try engine.fiscalModulesInOrder()
            aesKey = try profile.aesKey(mayCreate: false, fingerprint: settings.regime[AustrianProfile.fingerprintSetting])
        } catch {
            throw .session(error)
        }
        let company = settings.regime["at-company-id"] ?? ""
        var publicKeys: [String: [UInt8]] = [:]
        for (index, module) in modules.enumerated() { publicKeys[AustrianProfile.keyID(company: company, module: index + 1)] = module.publicKey }
        // Key ids as the receipts name them: `…-K<n>`, or, before decision 0018, `…-<module serial>`.
        for code in codes {
            guard let keyID = try? RKSVReceipt(jws: code.code).keyID, publicKeys[keyID] == nil else { continue }
            if let range = keyID.range(of: #"-K\d+$"#, options: .regularExpression), let number = Int(keyID[range].dropFirst(2)),
               (1...modules.count).contains(number) {
                publicKeys[keyID] = modules[number - 1].publicKey
            } else if let module = modules.first(where: { keyID.hasSuffix("-" + $0.serial) }) {
                publicKeys[keyID] = module.publicKey
            }
        }
        let container: Data
        do {
            container = try RKSVExport.container(aesKey: aesKey, publicKeys: publicKeys)
        } catch {
            throw .session(.invalid("RKSV: \(error)"))
        }
        let depPath = directory + "/dep-export.json"
        let containerPath = directory + "/cryptographicMaterialContainer.json"
        do {
            try PrivateFiles.write(Array(RKSVExport.dep(RKSVExport.groups(codes.map { (code: FiscalCode) in code.code }))), to: depPath)
            try PrivateFiles.write(Array(container), to: containerPath)
        } catch {
            throw .session(.invalid("Cannot write the RKSV export into \(directory): \(error.message) Check its permissions and free space."))
        }
        return RKSVExportFiles(dep: depPath, container: containerPath, receipts: codes.count)
    }
}
