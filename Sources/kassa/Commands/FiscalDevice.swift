import ArgumentParser
import Foundation
import KassaRuntime

extension Kassa.Fiscal {
    /// `kassa fiscal status`: the fiscal device's state now, and the terminal's side of it.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the fiscal device now: the control unit (state, storage, the terminal's binding, pending registrations) or, with --printer, the fiscal printer.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: SessionOptions
        @Flag(name: .long, help: "The fiscal printer of [fiscal.printer] instead of the control unit.") var printer = false

        func run() throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                if printer {
                    let report = try global.environment().fiscalPrinterReport()
                    if global.json { printJSON(report) } else { printPrinter(report) }
                    if !report.operational {
                        throw .session(.invalid("The fiscal printer cannot register a document now: "
                            + (report.errors + (report.fiscalReceiptOpen ? ["a fiscal receipt is open"] : [])).joined(separator: ", ") + "."))
                    }
                    return
                }
                let report = try global.environment().fiscalDeviceReport(database: options.database)
                if global.json { printJSON(report); return }
                print("Control unit \(report.unitID) at \(report.connection)\(report.simulated ? " (simulator, not a certified unit)" : "")")
                print("  state:    \(report.state) (severity \(report.severity))\(report.operational ? "" : ": no receipt can be registered")")
                print("  storage:  \(report.storage ?? "not reported yet (the unit reports it with each registration)")")
                print("  terminal: " + (report.boundUnit.isEmpty ? "not bound yet (bound at the next shift's start)"
                    : report.boundMatches ? "bound to this unit" : "bound to \(report.boundUnit), NOT this unit: sales are refused"))
                print("  serial:   last registration \(report.lastSerial)")
                print("  pending:  " + (report.pendingRegistrations.isEmpty ? "none"
                    : report.pendingRegistrations.map { "\($0.key) (sent \($0.sent)×)" }.joined(separator: ", ")))
                if !report.operational || !report.boundMatches {
                    throw .session(.controlUnitFailed(code: 6, message: "the control unit cannot register receipts now (see above)"))
                }
            }
        }
    }

    /// `kassa fiscal info`: who the fiscal device is.
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The fiscal device's identity: unit id, protocol, firmware, connection (--printer: the fiscal printer's).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: SessionOptions
        @Flag(name: .long, help: "The fiscal printer of [fiscal.printer] instead of the control unit.") var printer = false

        func run() throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                if printer {
                    let report = try global.environment().fiscalPrinterReport()
                    if global.json { printJSON(report) } else { printPrinter(report) }
                    return
                }
                let report = try global.environment().fiscalDeviceReport(database: options.database)
                if global.json { printJSON(report); return }
                print("device:     control unit (CleanCash protocol \(report.protocolVersion))")
                print("unit id:    \(report.unitID)")
                print("firmware:   \(report.firmware)")
                print("connection: \(report.connection)\(report.simulated ? " (in-process simulator, not a certified unit)" : "")")
                print("bound:      \(report.boundUnit.isEmpty ? "not yet" : report.boundUnit)")
            }
        }
    }
}

/// The fiscal printer's report, for people.
func printPrinter(_ report: FiscalPrinterReport) {
    print("Fiscal printer (Datecs X protocol) at \(report.connection)")
    print("  status:        \(report.statusBytes)\(report.fiscalized ? ", fiscalized" : ", NOT fiscalized")")
    print("  errors:        \(report.errors.isEmpty ? "none" : report.errors.joined(separator: ", "))")
    print("  warnings:      \(report.warnings.isEmpty ? "none" : report.warnings.joined(separator: ", "))")
    print("  receipt open:  \(report.fiscalReceiptOpen ? "yes" : "no")")
    print("  last document: \(report.lastDocument)")
}

extension Kassa.Fiscal {
    /// `kassa fiscal x`: an X report printed by the fiscal printer.
    struct X: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "x", abstract: "Print an X report on the fiscal printer ([fiscal.printer]): its totals per VAT group since the last Z, nothing zeroed.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                let report = try global.environment().fiscalPrinterXReport()
                if global.json { printJSON(report); return }
                print("X report \(report.reportNumber) printed by the fiscal printer at \(report.connection)")
                for (group, total) in report.totals.sorted(by: { $0.key < $1.key }) where total != 0 {
                    print("  group \(group): \(total)")
                }
            }
        }
    }
}
