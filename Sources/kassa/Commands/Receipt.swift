import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

extension Kassa {
    struct Receipt: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a receipt, or print its one copy.", subcommands: [Show.self, Copy.self, PrintOriginal.self])

        /// What printing a recorded receipt did: the print's outcome or why it failed, the drawer, and notes.
        struct Printing {
            var outcome: PrintOutcome?
            var error: String?
            var drawer: DrawerReport?
            var notes: [String] = []
        }

        /// Whether the drawer opened for a cash receipt: `opened` (read back where the printer reports the drawer signal),
        /// `pulsed` (sent, no read-back), or `failed` with the reason.
        struct DrawerReport: Encodable {
            var result: String
            var detail: String?
        }

        /// Prints after the commit; a failure is reported, never undoes the receipt (decision 0017):
        ///
        /// - a replayed command prints nothing and opens no drawer: its receipt was printed (or tried) the first time;
        /// - the original's or the copy's print is claimed first, and recorded as confirmed, sent or failed; only a
        ///   failed one may be tried again;
        /// - a cash receipt's drawer pulse is its own job, sent even when the receipt could not print.
        static func printReceipt(_ receipt: ReceiptRecord, form: PrintedForm, engine: SessionEngine, environment: KassaEnvironment,
                                 target: DeviceOptions, enabled: Bool, opensDrawer: Bool = true, claimed: Bool = false,
                                 settings: Settings? = nil) -> Printing
        {
            var result = Printing()
            guard enabled else { return result }
            if receipt.replayed == true {
                let state = try? engine.printState(.original, receiptID: receipt.id)
                result.notes.append("receipt \(receipt.number) was already recorded under this id: nothing was printed and the drawer "
                    + "did not open again" + (state == .failed || state == nil
                        ? "; its original did not print: print it with `kassa receipt print \(receipt.number)`" : ""))
                return result
            }
            // The first print of a new receipt's original is claimed here; a copy or a late original (`claimed`) was claimed
            // in the transaction that recorded it.
            if !claimed {
                guard (try? engine.beginOriginalPrint(receiptID: receipt.id)) == true else {
                    result.notes.append("receipt \(receipt.number)'s original was being printed by another command: not printed again")
                    return result
                }
            }
            let device: ResolvedDevice
            do {
                device = try target.resolve(in: environment)
            } catch {
                try? engine.endPrint(form, receiptID: receipt.id, .failed)
                result.error = "\(error) " + retryAdvice(receipt, form: form)
                return result
            }
            do {
                let outcome = try environment.printDocument(environment.receiptDocument(receipt, settings: settings), on: device)
                try? engine.endPrint(form, receiptID: receipt.id, outcome.delivery == "confirmed" ? .confirmed : .sent)
                KassaEnvironment.faultPoint(.printed)
                result.outcome = outcome
            } catch {
                try? engine.endPrint(form, receiptID: receipt.id, .failed)
                result.error = "\(error) " + retryAdvice(receipt, form: form)
            }
            if opensDrawer, receipt.payments.contains(where: \.isCash), !receipt.isCopy, form == .original, receipt.kind != "training",
               device.profile.features.drawerPulse {
                do {
                    let drawer = try environment.openDrawer(device, pin: nil, onMilliseconds: nil, offMilliseconds: nil)
                    result.drawer = DrawerReport(result: drawer.drawerOpen == true ? "opened" : drawer.drawerOpen == false ? "failed" : "pulsed",
                                                 detail: drawer.drawerOpen == false ? "the pulse was sent but the drawer signal says it is closed" : drawer.note)
                } catch {
                    result.drawer = DrawerReport(result: "failed", detail: "\(error)")
                }
            }
            return result
        }

        /// `receipt copy` and `receipt print`: records the form with `record`, then prints and reports it.
        static func printRecorded(global: GlobalOptions, options: SessionOptions, target: DeviceOptions, form: PrintedForm, headline: String,
                                  opensDrawer: Bool = true, _ record: (SessionEngine, String) throws(SessionError) -> ReceiptRecord) throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                let environment = try global.environment()
                let engine = try options.engine(environment)
                let user = try options.actor()
                let receipt = try session { () throws(SessionError) in try record(engine, user) }
                finish(receipt, form: form, headline: headline, engine: engine, environment: environment, target: target, print: true,
                       opensDrawer: opensDrawer, claimed: true, json: global.json, settings: try? engine.settings())
            }
        }

        static func retryAdvice(_ receipt: ReceiptRecord, form: PrintedForm) -> String {
            if receipt.isCopy { return "The copy of receipt \(receipt.number) is kept: print it again with `kassa receipt copy \(receipt.number)`." }
            return "Receipt \(receipt.number) is saved; print its original with `kassa receipt print \(receipt.number)`, or its copy with "
                + "`kassa receipt copy \(receipt.number)`."
        }

        /// After a receipt is committed: print it (and open the drawer for cash), then report it — JSON with any print
        /// error, or a line of text starting with `headline`. Used by `sale`, `refund`, `park finalize`, `receipt copy` and
        /// `receipt print`.
        static func finish(_ receipt: ReceiptRecord, form: PrintedForm = .original, headline: String, engine: SessionEngine,
                           environment: KassaEnvironment, target: DeviceOptions, print enabled: Bool, opensDrawer: Bool = true, claimed: Bool = false,
                           json: Bool, settings: Settings? = nil) {
            let printing = printReceipt(receipt, form: form, engine: engine, environment: environment, target: target, enabled: enabled,
                                        opensDrawer: opensDrawer, claimed: claimed, settings: settings)
            reportRecorded(receipt, as: "receipt", printed: printing.outcome, printError: printing.error, drawer: printing.drawer,
                           notes: printing.notes, json: json, headline: headline)
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a finalized receipt (works on another device's database too).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Argument(help: "Receipt number.") var number: Int64
            @Flag(name: .long, help: "The training series.") var training = false

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment, readOnly: true)
                    let receipt = try session { () throws(SessionError) in try engine.receipt(number: number, training: training) }
                    if global.json {
                        printJSON(receipt)
                    } else {
                        let profile = try environment.profile(named: nil)
                        let layout = try environment.layout(environment.receiptDocument(receipt, settings: try? engine.settings()), profile: profile, baseDirectory: nil)
                        print(environment.textPreview(layout.bytes, profile: profile), terminator: "")
                    }
                }
            }
        }

        struct Copy: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print the one copy of a receipt, marked KOPIA, on this terminal.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var target: DeviceOptions
            @Argument(help: "Receipt number.") var number: Int64

            func run() throws {
                // The copy is recorded before it prints; a failed print is a warning, and the same copy can be printed again.
                try Receipt.printRecorded(global: global, options: options, target: target, form: .copy,
                                          headline: "The copy of receipt \(number).") { engine, user throws(SessionError) in
                    try engine.copy(number: number, user: user)
                }
            }
        }

        struct PrintOriginal: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "print",
                abstract: "Print the original of a receipt whose original never reached the paper (once, while its shift is open; journaled).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var target: DeviceOptions
            @Argument(help: "Receipt number.") var number: Int64

            func run() throws {
                // The drawer opened (or was tried) when the sale was made: a late original does not open it again.
                try Receipt.printRecorded(global: global, options: options, target: target, form: .original,
                                          headline: "The original of receipt \(number), printed late.", opensDrawer: false) { engine, user throws(SessionError) in
                    try engine.printOriginal(number: number, user: user)
                }
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "X report (interim) or a Z report reprint.", subcommands: [X.self, Z.self])

        struct X: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print the X report of the open shift (resets nothing).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var target: DeviceOptions
            @Flag(name: .long, help: "Do not print.") var noPrint = false

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment)
                    let user = try options.actor()
                    let report = try session { () throws(SessionError) in try engine.xReport(user: user) }
                    let (printed, printError) = Kassa.Report.printReport(report, noPrint: noPrint, engine: engine, environment: environment, target: target,
                                                                 again: "kassa report x")
                    // The same shape as `session close --json`: {"report", "printed", "printError"}.
                    reportRecorded(report, as: "report", printed: printed, printError: printError, json: global.json,
                                   headline: "X report of \(report.session): sales \(report.sales.amount) in \(report.sales.count) receipts, expected cash \(report.expectedCash).")
                }
            }
        }

        struct Z: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Reprint a Z report (marked as a copy). Z reports are made by `kassa session close`.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var target: DeviceOptions
            @Option(name: .long, help: "The Z number (default: the last).") var number: Int64?
            @Flag(name: .long, help: "Do not print.") var noPrint = false

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment, reading: true)
                    let user = try options.actor()
                    let last = try session { () throws(SessionError) in try engine.counters().zNumber }
                    let report = try session { () throws(SessionError) in try engine.zReport(number: number ?? last, user: user) }
                    let (printed, printError) = Kassa.Report.printReport(report, noPrint: noPrint, engine: engine, environment: environment, target: target,
                                                                 again: "kassa report z --number \(report.zNumber ?? 0)")
                    reportRecorded(report, as: "report", printed: printed, printError: printError, json: global.json,
                                   headline: "Z report \(report.zNumber ?? 0) (copy): sales \(report.sales.amount), difference \(report.difference.map(String.init) ?? "-").")
                }
            }
        }
    }
}

extension Kassa.Report {
    /// Prints a report after it was recorded; a failed print is a warning with how to print it again.
    static func printReport(_ report: ShiftReport, noPrint: Bool, engine: SessionEngine, environment: KassaEnvironment, target: DeviceOptions,
                            again: String) -> (PrintOutcome?, String?) {
        guard !noPrint else { return (nil, nil) }
        do {
            return (try environment.printDocument(environment.reportDocument(report, settings: try? engine.settings()), on: try target.resolve(in: environment)), nil)
        } catch {
            return (nil, "\(error) The report is recorded; print it again with `\(again)`.")
        }
    }
}
