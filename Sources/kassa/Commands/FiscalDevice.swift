import ArgumentParser
import Foundation
import KassaRuntime

extension Kassa.Fiscal {
    /// `kassa fiscal status`: the fiscal device's state now, and the terminal's side of it.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the fiscal device now (the control unit): its state and storage, the terminal's binding, pending registrations.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: SessionOptions

        func run() throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
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
        static let configuration = CommandConfiguration(abstract: "The fiscal device's identity: unit id, protocol, firmware, connection.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: SessionOptions

        func run() throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
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
