import Foundation
import GRDB

extension SessionEngine {
    /// Finalizes a sale: computes lines, discounts and VAT, checks payments, takes the next receipt number (or the next
    /// training number), stamps Z period and grand totals, and commits — all in one transaction. Printing comes after.
    public func finalizeSale(_ request: SaleRequest, user: String) throws(SessionError) -> ReceiptRecord {
        try asCommand(PendingCommand(kind: "sale", user: user, sale: request)) { () throws(SessionError) in
            try finalizeSale(request, user: user, alsoInTransaction: nil)
        }
    }

    /// `alsoInTransaction` runs in the receipt's transaction after the receipt is written (or found, on a replay), so
    /// what it changes commits with the receipt or not at all (a parked receipt's state).
    func finalizeSale(_ request: SaleRequest, user: String, alsoInTransaction: ((Database, ReceiptRecord) throws -> Void)?)
        throws(SessionError) -> ReceiptRecord
    {
        guard !request.lines.isEmpty else { throw .invalid("A sale needs at least one line.") }
        try InputLimits.sale(request)
        let digest = Self.digest(request, user: user)
        let now = clock.now()
        let receipt = try journaled { db in
            let receipt = try self.onceReceipt(request.id, kinds: ["sale", "training"], request: digest, db) {
                self.faultPoint?(.transactionBegun)
                let training = request.training ?? false
                // One read of the counters serves the number, the grand totals and the configuration revision.
                let counters = try self.counterValues(db)
                let revision = counters.configRevision
                let permissions = try self.permissions(user, revision: revision, db)
                if training, !permissions.contains(.training) { throw SessionError.permissionDenied(user: user, permission: .training) }
                if request.discount != nil || request.lines.contains(where: { $0.discount != nil }), !permissions.contains(.discount) {
                    throw SessionError.permissionDenied(user: user, permission: .discount)
                }
                if request.lines.contains(where: { $0.priceOverride != nil }), !permissions.contains(.priceOverride) {
                    throw SessionError.permissionDenied(user: user, permission: .priceOverride)
                }
                if request.lines.contains(where: { $0.quantity.milli < 0 }), !permissions.contains(.refund) {
                    throw SessionError.permissionDenied(user: user, permission: .refund)
                }
                let session = try self.sessionForSale(request.session, late: request.late ?? false, user: user, now: now, db)
                let settings = try self.settings(revision: revision, db)
                let (lines, total, vatLines) = try self.price(request, settings: settings)
                let payments = request.payments ?? [PaymentRequest(method: "cash", amount: total)]
                let change = try self.change(total: total, payments: payments)
                let vatTotal = try Checked.sum(vatLines.lazy.map(\.vat), "the receipt's VAT")
                if let type = request.fiscalType {
                    guard ["start", "null", "storno"].contains(type) else { throw SessionError.invalid("fiscalType is start, null or storno.") }
                    guard settings.fiscalProfile != "none" else {
                        throw SessionError.invalid("A \(type) receipt belongs to a fiscal profile; set fiscal-profile first.")
                    }
                    if type != "storno", let line = lines.first(where: { $0.amount != 0 }) {
                        // RKSV's start and null receipts carry no value at all: +5 at one rate and −5 at another would
                        // give a zero total, yet a code that hides both amounts.
                        throw SessionError.invalid("A \(type) receipt has no lines of value, but line \(line.lineNumber) (\(line.name)) comes to "
                            + "\(line.amount); give it one line at price 0 (e.g. {\"name\":\"Nullbeleg\",\"quantity\":1,\"unitPrice\":0,\"vatRate\":\"0\"}).")
                    }
                }
                let recovered = try self.recoverySignature(id: request.id, fiscalType: request.fiscalType, session: session, user: user, now: now, settings: settings, db)
                return try self.insertReceipt(
                    kind: training ? "training" : "sale", id: request.id, session: session, origin: request.session, user: user, now: now, lines: lines,
                    payments: payments, total: total, vatTotal: vatTotal, vatLines: vatLines, change: change,
                    discountTotal: try Checked.sum(lines.lazy.map(\.discount), "the receipt's discounts"), refundOf: nil, settings: settings,
                    counters: recovered ? nil : counters, fiscalType: request.fiscalType, requestDigest: digest, db)
            }
            try alsoInTransaction?(db, receipt)
            return receipt
        }
        faultPoint?(.committed)
        return receipt
    }

    /// What a sale asks for, for its idempotency check (the id itself is the key, not content).
    /// Written by hand, not through JSONEncoder, which cost a receipt about a hundred microseconds: each value in a fixed
    /// order, strings with their length, so that no two different requests give the same bytes.
    static func digest(_ request: SaleRequest, user: String) -> RequestDigest {
        func text(_ value: String?, _ out: inout [UInt8]) {
            guard let value else { return out.append(0) }
            out.append(1)
            Canonical.writeInt(Int64(value.utf8.count), to: &out)
            out.append(0x3A)
            out.append(contentsOf: value.utf8)
        }
        func int(_ value: Int64?, _ out: inout [UInt8]) {
            guard let value else { return out.append(0) }
            out.append(1)
            Canonical.writeInt(value, to: &out)
            out.append(0x3B)
        }
        func discount(_ value: DiscountRequest?, _ out: inout [UInt8]) {
            guard let value else { return out.append(0) }
            out.append(1)
            int(value.amount, &out)
            int(value.percent?.basisPoints, &out)
            text(value.reason, &out)
        }
        var lines: [UInt8] = []
        lines.reserveCapacity(64 * request.lines.count)
        for line in request.lines {
            text(line.name, &lines)
            int(line.quantity.milli, &lines)
            int(line.unitPrice, &lines)
            int(line.vatRate.basisPoints, &lines)
            discount(line.discount, &lines)
            int(line.priceOverride?.price, &lines)
            text(line.priceOverride?.reason, &lines)
            int(line.service.map { $0 ? 1 : 0 }, &lines)
        }
        var payments: [UInt8]?
        if let given = request.payments {
            var out: [UInt8] = []
            for payment in given {
                text(payment.method, &out)
                int(payment.amount, &out)
            }
            payments = out
        }
        func field(_ write: (inout [UInt8]) -> Void) -> [UInt8] {
            var out: [UInt8] = []
            write(&out)
            return out
        }
        return RequestDigest(raw: [
            "lines": lines, "payments": payments,
            "discount": request.discount.map { value in field { discount(value, &$0) } },
            "training": request.training.map { [$0 ? 1 : 0] }, "late": request.late.map { [$0 ? 1 : 0] },
            "session": request.session.map { Array($0.utf8) }, "fiscalType": request.fiscalType.map { Array($0.utf8) },
            "user": Array(user.utf8),
        ])
    }

    /// A sale's lines, total and VAT per rate, as the receipt will carry them (a pro-forma bill is priced the same way).
    func price(_ request: SaleRequest, settings: Settings) throws -> (lines: [ReceiptRecord.Line], total: Int64, vatLines: [ReceiptRecord.VATLine]) {
        var lines = try computeLines(request, settings: settings)
        let vatLines = try self.vatLines(lines, settings: settings)
        if settings.vatRounding == "receipt" {
            for index in lines.indices { lines[index].vat = lines[index].vatRate.vat(inGross: lines[index].amount) }
        }
        let total = try Checked.bounded(Checked.sum(lines.lazy.map(\.amount), "the receipt's total"), "the receipt's total")
        return (lines, total, vatLines)
    }

    /// The shift a sale goes into: the open one. A sale addressed to a closed shift is refused with the open shift's id.
    /// With session management off, a shift is opened implicitly.
    /// A late fact (`late`) whose shift has closed, or that arrives with no shift open, goes to the rescue shift instead.
    func sessionForSale(_ addressed: String?, late: Bool, user: String, now: Date, _ db: Database) throws -> String {
        let open = try openShiftID(db)
        if open == nil, !late, let active = try activeShiftID(db), addressed == nil || addressed == active {
            let state = try shift(active, db).state
            throw SessionError.shiftState(id: active, state: state, wanted: "open")
        }
        if let addressed, addressed != open {
            guard late else { throw SessionError.sessionClosed(id: addressed, current: open) }
            return try rescueShift(for: addressed, user: user, now: now, db)
        }
        if open == nil, late {
            return try rescueShift(for: addressed, user: user, now: now, db)
        }
        if let open {
            try ensureParticipant(open, user, now, db)
            return open
        }
        let settings = try Settings.load(db)
        guard !settings.sessionManagement else { throw SessionError.noOpenSession }
        return try insertShift(user: user, countedFloat: nil, rescue: false, now: now, settings: settings, db).id
    }

    func computeLines(_ request: SaleRequest, settings: Settings) throws -> [ReceiptRecord.Line] {
        var lines: [ReceiptRecord.Line] = []
        lines.reserveCapacity(request.lines.count)
        for (index, line) in request.lines.enumerated() {
            let field = "lines[\(index)]"
            guard line.name.contains(where: { !$0.isWhitespace }) else { throw SessionError.invalid("Line \(index + 1) (\(field).name) has no name.") }
            guard line.quantity.milli != 0 else { throw SessionError.invalid("Line \(index + 1) (\(field).quantity) has quantity 0.") }
            guard line.unitPrice >= 0 else { throw SessionError.invalid("Line \(index + 1) (\(field).unitPrice) has a negative price; return goods with a negative quantity.") }
            let price = line.priceOverride?.price ?? line.unitPrice
            if let override = line.priceOverride {
                guard override.price >= 0, !override.reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw SessionError.invalid("A price override on line \(index + 1) (\(field).priceOverride) needs a price and a reason.")
                }
            }
            let gross = try Checked.bounded(Checked.mulDiv(line.quantity.milli, price, 1000, "\(field): quantity × price"),
                                            "\(field): quantity × price")
            let discount = try line.discount?.value(of: gross, field: "\(field).discount") ?? 0
            lines.append(ReceiptRecord.Line(
                lineNumber: index + 1, name: line.name, quantity: line.quantity, unitPrice: price, listPrice: line.unitPrice,
                priceOverrideReason: line.priceOverride?.reason, discount: discount, discountReason: line.discount?.reason,
                amount: gross - discount, vatRate: line.vatRate, vat: 0, refundOfLine: nil, service: line.service ?? false))
        }
        if let receiptDiscount = request.discount {
            // Spread over the lines in proportion to their amounts; the rounding remainder goes to the largest line.
            let base = try Checked.bounded(Checked.sum(lines.lazy.map(\.amount), "the receipt's total before its discount"),
                                           "the receipt's total before its discount")
            let value = try receiptDiscount.value(of: base)
            var given: Int64 = 0
            for index in lines.indices where base != 0 {
                let share = try Checked.mulDivTruncating(value, lines[index].amount, base, "discount's share of line \(index + 1)")
                lines[index].discount = try Checked.add(lines[index].discount, share, "lines[\(index)] discount")
                lines[index].amount = try Checked.bounded(Checked.subtract(lines[index].amount, share, "lines[\(index)] amount"),
                                                          "lines[\(index)] after the receipt's discount")
                given = try Checked.add(given, share, "the receipt's discount")
            }
            if let largest = lines.indices.max(by: { lines[$0].amount.magnitude < lines[$1].amount.magnitude }) {
                let rest = try Checked.subtract(value, given, "the receipt's discount")
                lines[largest].discount = try Checked.add(lines[largest].discount, rest, "lines[\(largest)] discount")
                lines[largest].amount = try Checked.subtract(lines[largest].amount, rest, "lines[\(largest)] amount")
                lines[largest].discountReason = [lines[largest].discountReason, receiptDiscount.reason].compactMap { $0 }.joined(separator: "; ")
            }
        }
        for index in lines.indices { lines[index].vat = lines[index].vatRate.vat(inGross: lines[index].amount) }
        return lines
    }

    /// VAT per rate: the sum of line VAT (per-line rounding) or computed once from the rate's gross (per receipt).
    func vatLines(_ lines: [ReceiptRecord.Line], settings: Settings) throws(SessionError) -> [ReceiptRecord.VATLine] {
        var gross: [VATRate: Int64] = [:]
        var vat: [VATRate: Int64] = [:]
        for line in lines {
            gross[line.vatRate] = try Checked.add(gross[line.vatRate] ?? 0, line.amount, "the gross at \(line.vatRate.label) VAT")
            vat[line.vatRate] = try Checked.add(vat[line.vatRate] ?? 0, line.vat, "the VAT at \(line.vatRate.label)")
        }
        return gross.keys.sorted().map { rate in
            ReceiptRecord.VATLine(rate: rate, gross: gross[rate]!,
                                  vat: settings.vatRounding == "receipt" ? rate.vat(inGross: gross[rate]!) : vat[rate]!)
        }
    }

    /// Change is given in cash only; payments must cover the total exactly when money goes back.
    func change(total: Int64, payments: [PaymentRequest]) throws -> Int64 {
        guard payments.allSatisfy({ !$0.method.isEmpty }) else { throw SessionError.invalid("A payment needs a method.") }
        let paid = try Checked.sum(payments.lazy.map(\.amount), "the sum of the payments")
        if total < 0 || payments.contains(where: { $0.amount < 0 }) {
            guard paid == total else { throw SessionError.paymentsDoNotCover(total: total, paid: paid) }
            return 0
        }
        guard paid >= total else { throw SessionError.paymentsDoNotCover(total: total, paid: paid) }
        let change = paid - total
        let cash = try Checked.sum(payments.lazy.filter(\.isCash).map(\.amount), "the cash payments")
        guard change <= cash else {
            throw SessionError.invalid("Change of \(change) can only be given from cash; the card payments exceed the total.")
        }
        return change
    }

    // swiftlint:disable:next function_parameter_count
    func insertReceipt(
        kind: String, id: String, session: String, origin: String? = nil, user: String, now: Date, lines: [ReceiptRecord.Line],
        payments: [PaymentRequest], total: Int64, vatTotal: Int64, vatLines: [ReceiptRecord.VATLine], change: Int64,
        discountTotal: Int64, refundOf: (id: String, number: Int64)?, settings: Settings, counters: CounterValues? = nil,
        fiscalType: String? = nil, requestDigest: RequestDigest? = nil, _ db: Database
    ) throws -> ReceiptRecord {
        let training = kind == "training"
        let positive = try Checked.sum(lines.lazy.filter { $0.amount > 0 }.map(\.amount), "the receipt's sales")
        let negative = try Checked.subtract(0, Checked.sum(lines.lazy.filter { $0.amount < 0 }.map(\.amount), "the receipt's returns"),
                                            "the receipt's returns")
        // The number and the grand totals move in one statement (training receipts leave the grand totals alone). `counters`
        // were read earlier in this transaction, which holds the write lock, so nobody else moved them since.
        let values = try counters ?? counterValues(db)
        let number = (training ? values.trainingNumber : values.receiptNumber) + 1
        let zNumber = values.zNumber
        let gtSales = try Checked.add(values.grandTotalSales, training ? 0 : positive, "The grand total of sales")
        let gtReturns = try Checked.add(values.grandTotalReturns, training ? 0 : negative, "The grand total of returns")
        if training {
            try bump("training_no", by: 1, db)
        } else {
            try db.cachedStatement(sql: """
                UPDATE terminal_counters SET receipt_no = receipt_no + 1, gt_sales = gt_sales + ?, gt_returns = gt_returns + ?
                WHERE terminal_id = ?
                """).execute(arguments: [positive, negative, terminalID])
        }
        let zPeriod = zNumber + 1
        faultPoint?(.numberTaken)
        guard let businessDate = try String.fetchOne(db.cachedStatement(sql: "SELECT business_date FROM pos_session WHERE id = ?"),
                                                     arguments: [session])
        else { throw SessionError.notFound("Shift \(session)") }
        var record = ReceiptRecord(
            id: id, kind: kind, terminal: terminalID, number: number, zPeriod: zPeriod, session: session, cashier: user,
            createdAt: now, businessDate: businessDate, currency: settings.currency(terminal: currency),
            lines: lines, payments: payments, total: total, vatTotal: vatTotal, discountTotal: discountTotal, change: change,
            vatLines: vatLines, grandTotalSales: gtSales, grandTotalReturns: gtReturns, refundOf: refundOf?.number,
            originSession: origin == session ? nil : origin)
        let createdAt = Self.timestamp(now)
        try db.cachedStatement(sql: """
            INSERT INTO receipt (id, terminal_id, session_id, kind, receipt_no, z_period, cashier, created_at, business_date, total,
              vat_total, discount_total, change_given, grand_total_sales, grand_total_returns, refund_of, currency, origin_session_id,
              request_digest)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [id, terminalID, session, kind, number, zPeriod, user, createdAt, record.businessDate, total,
                             vatTotal, discountTotal, change, gtSales, gtReturns, refundOf?.id, record.currency,
                             origin == session ? nil : origin, requestDigest.map { Data($0.bytes) }])
        try claimOriginalForSpool(receipt: id, now: now, db)
        // Lines and payments in one statement each (the SQL differs only by row count, so it stays cached).
        var lineArguments: StatementArguments = []
        for line in lines {
            lineArguments += [id, line.lineNumber, line.name, line.quantity.milli, line.unitPrice, line.listPrice,
                              line.priceOverrideReason, line.discount, line.discountReason, line.amount,
                              line.vatRate.basisPoints, line.vat, line.refundOfLine, line.service]
        }
        try db.cachedStatement(sql: """
            INSERT INTO receipt_line (receipt_id, line_no, name, quantity_milli, unit_price, list_price, price_override_reason,
              discount, discount_reason, amount, vat_rate_bp, vat_amount, refund_of_line, service)
            VALUES \(Self.placeholders(rows: lines.count, columns: 14))
            """).execute(arguments: lineArguments)
        if !payments.isEmpty {
            var paymentArguments: StatementArguments = []
            for (index, payment) in payments.enumerated() { paymentArguments += [id, index + 1, payment.method.lowercased(), payment.amount] }
            try db.cachedStatement(sql: "INSERT INTO payment (receipt_id, seq, method, amount) VALUES \(Self.placeholders(rows: payments.count, columns: 4))")
                .execute(arguments: paymentArguments)
        }
        // Running totals for X and Z reports.
        var totals: [(key: String, count: Int64, amount: Int64)] = []
        if training {
            totals.append(("training", 1, total))
        } else {
            if positive > 0 {
                totals.append(("sales", 1, positive))
                func units(_ line: ReceiptRecord.Line) -> Int64 { line.quantity.milli % 1000 == 0 ? line.quantity.milli / 1000 : 1 }
                let sold = lines.filter { $0.amount > 0 }
                let goods = sold.filter { !$0.service }.reduce(Int64(0)) { $0 + units($1) }
                let services = sold.filter(\.service).reduce(Int64(0)) { $0 + units($1) }
                if goods > 0 { totals.append(("goods", goods, 0)) }
                if services > 0 { totals.append(("services", services, 0)) }
            }
            if negative > 0 { totals.append(("returns", 1, negative)) }
            if discountTotal != 0 { totals.append(("discounts", 1, discountTotal)) }
            let overrides = lines.filter { $0.priceOverrideReason != nil }
            if !overrides.isEmpty {
                totals.append(("price_overrides", Int64(overrides.count),
                               try Checked.sum(overrides.map { line throws(SessionError) in
                                   try Checked.mulDiv(line.quantity.milli, line.listPrice - line.unitPrice, 1000, "a price override")
                               }, "the price overrides")))
            }
            for line in vatLines {
                totals.append(("vat_gross:\(line.rate.basisPoints)", 1, line.gross))
                totals.append(("vat_tax:\(line.rate.basisPoints)", 1, line.vat))
            }
            for payment in payments { totals.append(("method:\(payment.method.lowercased())", 1, payment.amount)) }
            if change > 0 { totals.append(("change", 1, change)) }
            totals.append(("cashier:\(user)", 1, total))
            totals.append(("receipts", 1, total))
        }
        try addTotals(session, totals, db)
        if settings.fiscalProfile != "none" {
            record.fiscalCode = try fiscalCode(for: record, fiscalType: fiscalType, turnoverAfter: gtSales - gtReturns, now: now, settings: settings, db)
        }
        if fiscalModule != nil {
            // The body is built from the values just written, exactly as `journal verify` rebuilds it from the rows.
            let facts = ReceiptFacts(
                id: id, kind: kind, number: number, zPeriod: zPeriod, session: session, cashier: user, createdAt: createdAt,
                businessDate: record.businessDate, currency: record.currency, total: total, vatTotal: vatTotal, discountTotal: discountTotal,
                change: change, grandTotalSales: gtSales, grandTotalReturns: gtReturns, refundOf: refundOf?.id,
                originSession: origin == session ? nil : origin,
                lines: lines.map { line in
                    ReceiptFacts.Line(line: Int64(line.lineNumber), name: line.name, quantityMilli: line.quantity.milli, unitPrice: line.unitPrice,
                                      listPrice: line.listPrice, priceOverrideReason: line.priceOverrideReason, discount: line.discount,
                                      discountReason: line.discountReason, amount: line.amount, vatRateBP: line.vatRate.basisPoints,
                                      vat: line.vat, refundOfLine: line.refundOfLine.map(Int64.init), service: line.service)
                },
                payments: payments.map { (method: $0.method.lowercased(), amount: $0.amount) }, fiscalCode: record.fiscalCode?.code)
            // The entry stores the body by reference: the receipt's rows are the body (decision 0011).
            try journal(kind == "sale" ? "receipt" : kind, ref: id, bodyBytes: facts.canonicalBytes(), storeBody: false, shift: session,
                        grandTotals: training ? (0, 0) : (positive, negative), now: now, db)
            record.signatureCounter = lastSignedCounter.withLock { $0 }
            record.signedBy = fiscalModule?.serial
        }
        faultPoint?(.written)
        logger.info("receipt finalized", metadata: ["receipt.id": "\(id)", "number": "\(number)", "kind": "\(kind)"])
        return record
    }

    /// The signature counter and module of the last journal entry of `kind` about `ref` (searched from the newest
    /// entry back: reprints are usually of recent facts).
    public func journalSignature(kind: String, ref: String) throws(SessionError) -> (counter: Int64, module: String)? {
        try store.read { db in try self.journalSignature(kind: kind, ref: ref, db) }
    }

    func journalSignature(kind: String, ref: String, _ db: Database) throws -> (counter: Int64, module: String)? {
        try Row.fetchOne(db.cachedStatement(sql: """
            SELECT signature_counter, module_serial FROM journal WHERE ref = ? AND kind = ? ORDER BY seq DESC LIMIT 1
            """), arguments: [ref, kind]).map { (try $0.decode(Int64.self, atIndex: 0), try $0.decode(String.self, atIndex: 1)) }
    }

    /// Reads a finalized receipt by number (or the training series with `training`).
    public func receipt(number: Int64, training: Bool = false) throws(SessionError) -> ReceiptRecord {
        try store.read { db in
            guard let id = try String.fetchOne(db.cachedStatement(sql: """
                SELECT id FROM receipt WHERE terminal_id = ? AND receipt_no = ? AND (kind = 'training') = ?
                """), arguments: [self.terminalID, number, training])
            else { throw SessionError.notFound("Receipt \(number)") }
            return try self.receipt(id: id, db)
        }
    }

    func receipt(id: String, _ db: Database) throws -> ReceiptRecord {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM receipt WHERE id = ?"), arguments: [id]) else {
            throw SessionError.notFound("Receipt \(id)")
        }
        let lines = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM receipt_line WHERE receipt_id = ? ORDER BY line_no"), arguments: [id]).map { line in
            ReceiptRecord.Line(
                lineNumber: line["line_no"], name: line["name"], quantity: MilliQuantity(milli: line["quantity_milli"]),
                unitPrice: line["unit_price"], listPrice: line["list_price"], priceOverrideReason: line["price_override_reason"],
                discount: line["discount"], discountReason: line["discount_reason"], amount: line["amount"],
                vatRate: VATRate(basisPoints: line["vat_rate_bp"]), vat: line["vat_amount"], refundOfLine: line["refund_of_line"],
                service: line["service"])
        }
        let payments = try Row.fetchAll(db.cachedStatement(sql: "SELECT method, amount FROM payment WHERE receipt_id = ? ORDER BY seq"), arguments: [id])
            .map { PaymentRequest(method: $0["method"], amount: $0["amount"]) }
        var grossByRate: [VATRate: Int64] = [:]
        var vatByRate: [VATRate: Int64] = [:]
        for line in lines {
            grossByRate[line.vatRate, default: 0] += line.amount
            vatByRate[line.vatRate, default: 0] += line.vat
        }
        let vatTotal: Int64 = row["vat_total"]
        var vatLines = grossByRate.keys.sorted().map { ReceiptRecord.VATLine(rate: $0, gross: grossByRate[$0]!, vat: vatByRate[$0]!) }
        // Per-receipt rounding stored the receipt's VAT total; recompute per rate the same way when the sums differ.
        if vatLines.reduce(0, { $0 + $1.vat }) != vatTotal {
            vatLines = vatLines.map { ReceiptRecord.VATLine(rate: $0.rate, gross: $0.gross, vat: $0.rate.vat(inGross: $0.gross)) }
        }
        let refundOf: Int64? = try (row["refund_of"] as String?).flatMap {
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT receipt_no FROM receipt WHERE id = ?"), arguments: [$0])
        }
        let code = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM receipt_code WHERE receipt_id = ?"), arguments: [id]).map(Self.fiscalCode(row:))
        return ReceiptRecord(
            id: id, kind: row["kind"], terminal: row["terminal_id"], number: row["receipt_no"], zPeriod: row["z_period"],
            session: row["session_id"], cashier: row["cashier"], createdAt: Self.date(row["created_at"]) ?? Date(timeIntervalSince1970: 0),
            businessDate: row["business_date"], currency: row["currency"], lines: lines, payments: payments, total: row["total"],
            vatTotal: vatTotal, discountTotal: row["discount_total"], change: row["change_given"], vatLines: vatLines,
            grandTotalSales: row["grand_total_sales"], grandTotalReturns: row["grand_total_returns"], refundOf: refundOf,
            originSession: row["origin_session_id"], fiscalCode: code)
    }

    /// A refund of lines of an earlier receipt of this terminal; never more than was sold, across all refunds.
    public func refund(_ request: RefundRequest, user: String) throws(SessionError) -> ReceiptRecord {
        try asCommand(PendingCommand(kind: "refund", user: user, refund: request)) { () throws(SessionError) in try refundOnce(request, user: user) }
    }

    func refundOnce(_ request: RefundRequest, user: String) throws(SessionError) -> ReceiptRecord {
        guard !request.lines.isEmpty else { throw .invalid("A refund needs at least one line.") }
        try InputLimits.refund(request)
        let digest = RequestDigest(["receipt": request.receiptNumber, "lines": request.lines, "method": request.method, "user": user])
        let now = clock.now()
        return try journaled { db in
            try self.onceReceipt(request.id, kinds: ["refund"], request: digest, db) {
                try self.require(.refund, user: user, db)
                guard let originalID = try String.fetchOne(db.cachedStatement(sql: """
                    SELECT id FROM receipt WHERE terminal_id = ? AND receipt_no = ? AND kind = 'sale'
                    """), arguments: [self.terminalID, request.receiptNumber])
                else { throw SessionError.notFound("Sale receipt \(request.receiptNumber) on this terminal") }
                let original = try self.receipt(id: originalID, db)
                let session = try self.sessionForSale(nil, late: false, user: user, now: now, db)
                let settings = try Settings.load(db)
                var lines: [ReceiptRecord.Line] = []
                for (index, wanted) in request.lines.enumerated() {
                    guard let sold = original.lines.first(where: { $0.lineNumber == wanted.line }) else {
                        throw SessionError.notFound("Line \(wanted.line) of receipt \(request.receiptNumber)")
                    }
                    guard wanted.quantity.milli > 0 else { throw SessionError.invalid("Refund quantities are positive.") }
                    let returned = try Int64.fetchOne(db.cachedStatement(sql: """
                        SELECT COALESCE(SUM(-l.quantity_milli), 0) FROM receipt_line l JOIN receipt r ON r.id = l.receipt_id
                        WHERE r.refund_of = ? AND l.refund_of_line = ?
                        """), arguments: [originalID, wanted.line]) ?? 0
                    guard wanted.quantity.milli <= sold.quantity.milli - returned else {
                        throw SessionError.refundExceedsSale(line: wanted.line, sold: sold.quantity.milli, alreadyReturned: returned,
                                                             requested: wanted.quantity.milli)
                    }
                    // The refund gives back what was paid per unit, discount included.
                    let amount = try -Checked.mulDiv(sold.amount, wanted.quantity.milli, sold.quantity.milli, "line \(wanted.line)'s refund")
                    lines.append(ReceiptRecord.Line(
                        lineNumber: index + 1, name: sold.name, quantity: MilliQuantity(milli: -wanted.quantity.milli),
                        unitPrice: sold.unitPrice, listPrice: sold.listPrice, priceOverrideReason: nil, discount: 0,
                        discountReason: nil, amount: amount, vatRate: sold.vatRate, vat: sold.vatRate.vat(inGross: amount),
                        refundOfLine: wanted.line, service: sold.service))
                }
                let total = try Checked.sum(lines.lazy.map(\.amount), "the refund's total")
                let payments = [PaymentRequest(method: request.method ?? "cash", amount: total)]
                let vatLines = try self.vatLines(lines, settings: settings)
                // A storno after receipts signed with the failure marker is preceded by the Sammelbeleg too.
                _ = try self.recoverySignature(id: request.id, fiscalType: "storno", session: session, user: user, now: now, settings: settings, db)
                return try self.insertReceipt(
                    kind: "refund", id: request.id, session: session, user: user, now: now, lines: lines, payments: payments,
                    total: total, vatTotal: try Checked.sum(vatLines.lazy.map(\.vat), "the refund's VAT"), vatLines: vatLines, change: 0, discountTotal: 0,
                    refundOf: (originalID, original.number), settings: settings, requestDigest: digest, db)
            }
        }
    }

    /// The one copy of a receipt, on the terminal that issued it; counted in the open shift's report.
    public func copy(number: Int64, user: String) throws(SessionError) -> ReceiptRecord {
        try asCommand(PendingCommand(kind: "copy", user: user, number: number)) { () throws(SessionError) in try copyOnce(number: number, user: user) }
    }

    func copyOnce(number: Int64, user: String) throws(SessionError) -> ReceiptRecord {
        let now = clock.now()
        return try journaled { db in
            try self.require(.printCopy, user: user, db)
            let id = try self.receiptID(number: number, db)
            if let recorded = try Row.fetchOne(db.cachedStatement(sql: "SELECT fiscal_code_json FROM copy_print WHERE receipt_id = ?"), arguments: [id]) {
                // The copy was recorded; it is printed again only when its print failed (the right is used by a print that
                // reached the paper, decision 0017), as the same copy: same code, same journal entry. A copy
                // without a print state (recorded before they were kept) counts as printed.
                let state = try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM print_state WHERE receipt_id = ? AND form = 'copy'"),
                                                arguments: [id])
                guard state == PrintState.failed.rawValue else { throw SessionError.copyAlreadyPrinted(receiptNumber: number) }
                try self.claimPrint(.copy, receipt: id, number: number, now: now, db)
                var record = try self.receipt(id: id, db)
                if let json: String = recorded[0], let code = try? JSONDecoder().decode(FiscalCode.self, from: Data(json.utf8)) {
                    record.fiscalCode = code
                }
                record.isCopy = true
                if let signed = try self.journalSignature(kind: "copy", ref: id, db) { (record.signatureCounter, record.signedBy) = (signed.counter, signed.module) }
                return record
            }
            guard let session = try self.openShiftID(db) else { throw SessionError.noOpenSession }
            var record = try self.receipt(id: id, db)
            try self.addTotal(session, "copies", amount: record.total, db)
            let settings = try Settings.load(db)
            if let profile = self.profiles[settings.fiscalProfile], profile.registersCopies {
                // The copy is registered as a copy (Sweden: RECEIPT_COPY) and printed with its own control code; it
                // carries its original's date, as the unit wants it.
                record.fiscalCode = try self.profileCode(profile, ProfileReceipt(
                    id: id, kind: record.kind, fiscalType: nil, number: record.number, terminal: self.terminalID, cashier: user,
                    localTime: Self.localTime(record.createdAt, timeZone: settings.timeZone),
                    grossByRate: Dictionary(record.vatLines.map { ($0.rate.basisPoints, $0.gross) }, uniquingKeysWith: +),
                    vatByRate: Dictionary(record.vatLines.map { ($0.rate.basisPoints, $0.vat) }, uniquingKeysWith: +), total: record.total,
                    negativeTotal: -record.lines.filter { $0.amount < 0 }.reduce(0) { $0 + $1.amount }, turnoverAfter: 0, isCopy: true),
                    previous: nil, settings: settings, db)
            }
            try self.journal("copy", ref: id, body: .object([
                "receipt": .string(id), "number": .int(number), "session": .string(session), "user": .string(user),
                "total": .int(record.total), "created_at": .string(Self.timestamp(now)), "fiscal_code": (record.fiscalCode?.code).canonical,
            ]), shift: session, now: now, db)
            // The copy's code (its own under a profile that registers copies) is kept, so that a failed print can be repeated.
            let codeJSON = try record.fiscalCode.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
            try db.cachedStatement(sql: "INSERT INTO copy_print (receipt_id, session_id, user_id, created_at, fiscal_code_json) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [id, session, user, Self.timestamp(now), codeJSON])
            try self.claimPrint(.copy, receipt: id, number: number, now: now, db)
            record.isCopy = true
            record.signatureCounter = self.lastSignedCounter.withLock { $0 }
            record.signedBy = self.fiscalModule?.serial
            return record
        }
    }
}

extension SessionEngine {
    static func fiscalCode(row: Row) -> FiscalCode {
        FiscalCode(profile: row["profile"], code: row["code"], qr: row["qr"],
                   lines: (row["lines"] as String).split(separator: "\n", omittingEmptySubsequences: true).map(String.init),
                   signatureFailed: row["signature_failed"], fiscalType: row["fiscal_type"])
    }

    /// The signing module's place among the terminal's registered modules, from 1 (RKSV key id `K<n>`).
    /// The engine's module is fixed for its life, and its registration never changes: read once.
    func moduleNumber(_ db: Database) throws -> Int {
        if let known = moduleNumberCache.withLock({ $0 }) { return known }
        guard let serial = fiscalModule?.serial else { return 1 }
        let number = try Int.fetchOne(db.cachedStatement(sql: """
            SELECT COUNT(*) FROM fiscal_module WHERE rowid <= (SELECT rowid FROM fiscal_module WHERE serial = ?)
            """), arguments: [serial]) ?? 1
        moduleNumberCache.withLock { $0 = number }
        return number
    }

    /// Stores what a profile asked to keep (read-only regime settings such as the AES key's fingerprint), journaled as
    /// settings by `kassa`.
    func keepProfileFacts(_ code: FiscalCode, _ db: Database) throws {
        for (key, value) in (code.keep ?? [:]).sorted(by: { $0.key < $1.key }) {
            try db.cachedStatement(sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .execute(arguments: [key, value])
            try journal("setting", ref: key, body: .object(["key": .string(key), "value": .string(value), "by": .string("kassa")]), now: clock.now(), db)
        }
    }

    func lastFiscalCode(_ profile: String, _ db: Database) throws -> FiscalCode? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM receipt_code WHERE profile = ? ORDER BY seq DESC LIMIT 1"), arguments: [profile])
            .map(Self.fiscalCode(row:))
    }

    /// The active profile's code for a receipt just written, chained to the profile's previous code and stored with it.
    func fiscalCode(for record: ReceiptRecord, fiscalType: String?, turnoverAfter: Int64, now: Date, settings: Settings,
                    _ db: Database) throws -> FiscalCode {
        guard let profile = profiles[settings.fiscalProfile] else {
            throw SessionError.invalid("The fiscal profile '\(settings.fiscalProfile)' is not available on this terminal; "
                + "set fiscal-profile to one it has (kassa settings show).")
        }
        var gross: [Int64: Int64] = [:]
        var vat: [Int64: Int64] = [:]
        for line in record.vatLines {
            gross[line.rate.basisPoints, default: 0] += line.gross
            vat[line.rate.basisPoints, default: 0] += line.vat
        }
        let receipt = ProfileReceipt(
            id: record.id, kind: record.kind, fiscalType: fiscalType, number: record.number, terminal: terminalID, cashier: record.cashier,
            localTime: Self.localTime(now, timeZone: settings.timeZone), grossByRate: gross, vatByRate: vat, total: record.total,
            negativeTotal: -record.lines.filter { $0.amount < 0 }.reduce(0) { $0 + $1.amount }, turnoverAfter: turnoverAfter, isCopy: false,
            moduleNumber: try moduleNumber(db))
        var code = try profileCode(profile, receipt, previous: try lastFiscalCode(profile.name, db), settings: settings, db)
        if code.fiscalType == nil, let fiscalType { code.fiscalType = fiscalType }
        if record.kind == "refund", profile.name == "at" { code.fiscalType = "storno" }
        try keepProfileFacts(code, db)
        try db.cachedStatement(sql: """
            INSERT INTO receipt_code (receipt_id, profile, code, qr, lines, signature_failed, fiscal_type) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [record.id, code.profile, code.code, code.qr, code.lines.joined(separator: "\n"), code.signatureFailed,
                                     code.fiscalType])
        if code.signatureFailed {
            logger.error("receipt signed with the failure marker: the signature device failed", metadata: ["receipt.id": "\(record.id)"])
        }
        return code
    }

    /// After receipts signed with the failure marker, RKSV wants a signed zero receipt (Sammelbeleg) once the device works
    /// again. Before the next sale, one is tried in a savepoint: kept when it could be signed, dropped when the device
    /// still fails. True when one was made (the counters moved).
    func recoverySignature(id: String, fiscalType: String?, session: String, user: String, now: Date, settings: Settings, _ db: Database) throws -> Bool {
        guard settings.fiscalProfile == "at", fiscalType != "null", fiscalType != "start",
              let last = try lastFiscalCode("at", db), last.signatureFailed else { return false }
        var made = false
        try db.inSavepoint {
            let zero = [ReceiptRecord.Line(lineNumber: 1, name: "Sammelbeleg", quantity: MilliQuantity(milli: 1000), unitPrice: 0, listPrice: 0,
                                           priceOverrideReason: nil, discount: 0, discountReason: nil, amount: 0,
                                           vatRate: VATRate(basisPoints: 0), vat: 0, refundOfLine: nil)]
            let recovery = try insertReceipt(
                kind: "sale", id: id + "-sammelbeleg", session: session, user: user, now: now, lines: zero,
                payments: [PaymentRequest(method: "cash", amount: 0)], total: 0, vatTotal: 0,
                vatLines: [ReceiptRecord.VATLine(rate: VATRate(basisPoints: 0), gross: 0, vat: 0)], change: 0, discountTotal: 0,
                refundOf: nil, settings: settings, fiscalType: "null", db)
            made = recovery.fiscalCode?.signatureFailed == false
            return made ? .commit : .rollback
        }
        return made
    }

    /// `yyyy-MM-ddTHH:mm:ss` in the terminal's time zone.
    static func localTime(_ date: Date, timeZone: String) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? .current
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!)
    }
}

extension SessionEngine {
    /// Every code the profile gave, in order (for the DEP export and the verifiers).
    public func fiscalCodes(profile: String) throws(SessionError) -> [FiscalCode] {
        try store.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM receipt_code WHERE profile = ? ORDER BY seq"), arguments: [profile])
                .map(Self.fiscalCode(row:))
        }
    }

    /// The registered fiscal modules in the order they were registered (RKSV's `K1`, `K2`, …), with their public keys.
    public func fiscalModulesInOrder() throws(SessionError) -> [(serial: String, publicKey: [UInt8])] {
        try store.read { db in
            try Row.fetchAll(db, sql: "SELECT serial, public_key FROM fiscal_module ORDER BY rowid").map { row in
                (serial: row["serial"] as String, publicKey: [UInt8](row["public_key"] as Data))
            }
        }
    }

    /// The registered fiscal modules' public keys (X9.63), by serial.
    public func fiscalModuleKeys() throws(SessionError) -> [String: [UInt8]] {
        try store.read { db in
            var keys: [String: [UInt8]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT serial, public_key FROM fiscal_module") { keys[row["serial"]] = [UInt8](row["public_key"] as Data) }
            return keys
        }
    }
}
