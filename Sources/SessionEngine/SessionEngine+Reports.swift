import Foundation
import GRDB

extension SessionEngine {
    /// The X report of the open shift: an interim report that resets nothing.
    public func xReport(user: String) throws(SessionError) -> ShiftReport {
        let now = clock.now()
        // A write: the X report is a fiscal fact of its own and goes into the journal.
        return try journaled { db in
            try self.require(.reportX, user: user, db)
            guard let session = try self.activeShiftID(db) else { throw SessionError.noOpenSession }
            let report = try self.report(session: session, kind: "X", now: now, db)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try self.journal("x_report", ref: session, body: .object([
                "session": .string(session), "by": .string(user), "report": .string(String(decoding: try encoder.encode(report), as: UTF8.self)),
            ]), shift: session, now: now, db)
            return report
        }
    }

    /// A Z report as it was written at the close; a reprint is marked as a copy.
    public func zReport(number: Int64, user: String) throws(SessionError) -> ShiftReport {
        try store.read { db in
            try self.require(.reportZ, user: user, db)
            guard let json = try String.fetchOne(db.cachedStatement(sql: "SELECT report_json FROM z_report WHERE terminal_id = ? AND z_no = ?"), arguments: [self.terminalID, number])
            else { throw SessionError.notFound("Z report \(number)") }
            var report = try JSONDecoder().decode(ShiftReport.self, from: Data(json.utf8))
            report.isCopy = true
            if let signed = try self.journalSignature(kind: "z_report", ref: "Z\(number)", db) {
                (report.signatureCounter, report.signedBy) = (signed.counter, signed.module)
            }
            return report
        }
    }

    /// One function for X and Z, from the shift's running totals (cost independent of the history's size).
    func report(session: String, kind: String, now: Date, _ db: Database) throws -> ShiftReport {
        let record = try shift(session, db)
        var totals: [String: (count: Int64, amount: Int64)] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT key, count, amount FROM session_total WHERE session_id = ?"), arguments: [session]) {
            totals[row["key"]] = (row["count"], row["amount"])
        }
        func amount(_ key: String) -> ShiftReport.Amount {
            ShiftReport.Amount(count: totals[key]?.count ?? 0, amount: totals[key]?.amount ?? 0)
        }
        var vat: [ShiftReport.VATLine] = []
        for key in totals.keys where key.hasPrefix("vat_gross:") {
            let basisPoints = Int64(key.dropFirst("vat_gross:".count)) ?? 0
            let gross = totals[key]!.amount
            let tax = totals["vat_tax:\(basisPoints)"]?.amount ?? 0
            vat.append(ShiftReport.VATLine(rate: VATRate(basisPoints: basisPoints), gross: gross, vat: tax, net: gross - tax))
        }
        func named(_ prefix: String) -> [ShiftReport.Named] {
            totals.keys.filter { $0.hasPrefix(prefix) }.sorted().map {
                ShiftReport.Named(name: String($0.dropFirst(prefix.count)), count: totals[$0]!.count, amount: totals[$0]!.amount)
            }
        }
        // Cash is reported net of the change given back.
        var payments = named("method:")
        if let cash = payments.firstIndex(where: { $0.name == "cash" }) { payments[cash].amount -= totals["change"]?.amount ?? 0 }
        let range = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT MIN(receipt_no) AS first, MAX(receipt_no) AS last, COUNT(*) AS count FROM receipt
            WHERE session_id = ? AND kind != 'training'
            """), arguments: [session])
        func count(_ phase: String) throws -> [DenominationCount] {
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT denomination, quantity FROM cash_count WHERE session_id = ? AND phase = ? ORDER BY denomination DESC
                """), arguments: [session, phase]).map { DenominationCount(denomination: $0["denomination"], quantity: $0["quantity"]) }
        }
        // The shift's currency: its receipts', else the one in use (it cannot change while a shift is open).
        let shiftCurrency = try String.fetchOne(db.cachedStatement(sql: "SELECT currency FROM receipt WHERE session_id = ? LIMIT 1"),
                                                arguments: [session]) ?? Settings.load(db).currency(terminal: currency)
        return ShiftReport(
            kind: kind, terminal: terminalID, currency: shiftCurrency,
            session: session, sessionSequence: record.sequence, zNumber: record.zNumber, businessDate: record.businessDate,
            printedAt: now, openedBy: record.openedBy, participants: record.participants, closedBy: record.closedBy,
            forceClosed: record.forceClosed, openingFloat: record.openingExpected, openingCounted: record.openingCounted,
            sales: amount("sales"), returns: amount("returns"), discounts: amount("discounts"), copies: amount("copies"),
            training: amount("training"), priceOverrides: amount("price_overrides"), noSaleOpenings: totals["cash_no_sale"]?.count ?? 0,
            cashIn: amount("cash_in"), cashOut: amount("cash_out"), cashReversals: totals["cash_reversals"].map { _ in amount("cash_reversals") },
            vat: vat.sorted { $0.rate < $1.rate },
            payments: payments, cashiers: named("cashier:"), expectedCash: try expectedCash(session, db),
            countedCash: record.countedCash, difference: record.difference, cashLeft: record.cashLeft,
            differenceApprovedBy: record.differenceApprovedBy, firstReceipt: range?["first"], lastReceipt: range?["last"],
            receiptCount: range?["count"] ?? 0, openingCount: try count("open"), closingCount: try count("close"), isRescue: record.isRescue, grandTotalSales: try counter("gt_sales", db),
            grandTotalReturns: try counter("gt_returns", db), goodsSold: totals["goods"]?.count ?? 0, servicesSold: totals["services"]?.count ?? 0, unfinished: amount("unfinished"), reductions: amount("reductions"),
            proForma: amount("proforma"))
    }
}
