import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

extension Kassa {
    struct Receipt: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a receipt, or print its one copy.", subcommands: [Show.self, Copy.self])

        /// Prints after the commit; a failure is reported, never undoes the receipt. Cash opens the drawer.
        static func printReceipt(_ receipt: ReceiptRecord, environment: KassaEnvironment, target: DeviceOptions, enabled: Bool,
                                 settings: Settings? = nil) -> (PrintOutcome?, String?)
        {
            guard enabled else { return (nil, nil) }
            do {
                let device = try target.resolve(in: environment)
                let outcome = try environment.printDocument(environment.receiptDocument(receipt, settings: settings), on: device)
                KassaEnvironment.faultPoint(.printed)
                if receipt.payments.contains(where: \.isCash), !receipt.isCopy, receipt.kind != "training", device.profile.features.drawerPulse {
                    _ = try? environment.openDrawer(device, pin: nil, onMilliseconds: nil, offMilliseconds: nil)
                }
                return (outcome, nil)
            } catch {
                return (nil, "\(error) Receipt \(receipt.number) is saved; print it with `kassa receipt copy \(receipt.number)`.")
            }
        }

        /// After a receipt is committed: print it (and open the drawer for cash), then report it — JSON with any print
        /// error, or a line of text starting with `headline`. Used by `sale`, `refund` and `park finalize`.
        static func finish(_ receipt: ReceiptRecord, headline: String, environment: KassaEnvironment, target: DeviceOptions,
                           print enabled: Bool, json: Bool, settings: Settings? = nil) {
            let (printed, printError) = printReceipt(receipt, environment: environment, target: target, enabled: enabled, settings: settings)
            reportRecorded(receipt, as: "receipt", printed: printed, printError: printError, json: json, headline: headline)
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
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment)
                    let user = try options.actor()
                    let copy = try session { () throws(SessionError) in try engine.copy(number: number, user: user) }
                    // The copy is recorded before it prints; a failed print is a warning, as for every recorded fact.
                    Receipt.finish(copy, headline: "Printed the copy of receipt \(number).", environment: environment, target: target,
                                   print: true, json: global.json, settings: try? engine.settings())
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
                    let outcome = noPrint ? nil : try environment.printDocument(environment.reportDocument(report, settings: try? engine.settings()), on: try target.resolve(in: environment))
                    if global.json { printJSON(report) } else {
                        print("X report of \(report.session): sales \(report.sales.amount) in \(report.sales.count) receipts, expected cash \(report.expectedCash).")
                        if let png = outcome?.previewPNG { print("Preview: \(png)") }
                    }
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
                    let outcome = noPrint ? nil : try environment.printDocument(environment.reportDocument(report, settings: try? engine.settings()), on: try target.resolve(in: environment))
                    if global.json { printJSON(report) } else {
                        print("Z report \(report.zNumber ?? 0) (copy): sales \(report.sales.amount), difference \(report.difference.map(String.init) ?? "-").")
                        if let png = outcome?.previewPNG { print("Preview: \(png)") }
                    }
                }
            }
        }
    }
}
