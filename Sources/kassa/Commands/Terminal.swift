import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

extension Kassa {
    struct Terminal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The terminal: its id, counters and open shift.", subcommands: [Show.self], defaultSubcommand: Show.self)

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show the terminal's id, counters and open shift.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment, reading: true)
                    let counters = try session { () throws(SessionError) in try engine.counters() }
                    let shift = try session { () throws(SessionError) in try engine.currentShift() }
                    let rescue = try session { () throws(SessionError) in try engine.openRescueShift() }
                    struct Output: Encodable {
                        var terminal: String
                        var database: String
                        var currency: String
                        var counters: SessionEngine.Counters
                        var openShift: ShiftRecord?
                        var openRescueShift: ShiftRecord?
                    }
                    let output = Output(terminal: engine.terminalID, database: environment.databasePath(options.database),
                                        currency: (try? engine.activeCurrency()) ?? engine.currency, counters: counters, openShift: shift, openRescueShift: rescue)
                    if global.json {
                        printJSON(output)
                    } else {
                        print("Terminal \(output.terminal) (\(output.currency)), database \(output.database)")
                        print("Last receipt \(counters.receiptNumber), last training receipt \(counters.trainingNumber), last Z \(counters.zNumber), shifts \(counters.sessionSequence)")
                        print("Grand totals: sales \(counters.grandTotalSales), returns \(counters.grandTotalReturns), net \(counters.grandTotalNet)")
                        print(shift.map { "Open shift \($0.id), opened by \($0.openedBy), business date \($0.businessDate)" } ?? "No open shift.")
                        if let rescue {
                            print("RESCUE shift \(rescue.id) is open with late receipts for \(rescue.rescueFor ?? "no shift"); a manager closes it with `kassa session close-rescue`.")
                        }
                    }
                }
            }
        }
    }
}
