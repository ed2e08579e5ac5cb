import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

extension Kassa {
    struct Session: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shifts: open, continue, cash in and out, close with a Z report, force-close, list.",
            subcommands: [Open.self, Confirm.self, Cancel.self, Continue.self, CashIn.self, CashOut.self, CashReverse.self, NoSale.self, Close.self, ForceClose.self, CloseRescue.self, StartClose.self, Resume.self, Post.self, List.self])

        struct Open: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Open a shift with the counted float.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Option(name: .long, help: "The counted float, in minor units.") var float: Int64?
            @Option(name: .long, parsing: .upToNextOption, help: "The float counted by denomination: DENOMINATION=QUANTITY …, e.g. 10000=2 2000=5.")
            var count: [String] = []

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let engine = try options.engine(try global.environment())
                    let user = try options.actor()
                    let shift = try session { () throws(SessionError) in
                        try engine.openShift(commandID: options.command, user: user, countedFloat: float, count: parseCount(count))
                    }
                    if global.json { printJSON(shift) } else {
                        print("Opened shift \(shift.id) for \(shift.businessDate); float expected \(shift.openingExpected), counted \(shift.openingCounted.map(String.init) ?? "-").")
                    }
                }
            }
        }

        struct Continue: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Join the open shift to sell in it.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let engine = try options.engine(try global.environment())
                    let user = try options.actor()
                    let shift = try session { () throws(SessionError) in try engine.continueShift(user: user) }
                    if global.json { printJSON(shift) } else { print("\(user) sells in shift \(shift.id) (\(shift.participants.joined(separator: ", ")))") }
                }
            }
        }

        /// `DENOMINATION=QUANTITY` items; nil when none were given.
        static func parseCount(_ items: [String]) throws(SessionError) -> [DenominationCount]? {
            guard !items.isEmpty else { return nil }
            var count: [DenominationCount] = []
            for item in items {
                guard let pair = keyValue(item), let denomination = Int64(pair.key), let quantity = Int64(pair.value) else {
                    throw .invalid("--count takes DENOMINATION=QUANTITY in minor units, e.g. 10000=2; not '\(item)'.")
                }
                count.append(DenominationCount(denomination: denomination, quantity: quantity))
            }
            return count
        }

        struct Movement: ParsableArguments {
            @Option(name: .long, help: "Amount in minor units.") var amount: Int64
            @Option(name: .long, help: "Why.") var reason: String?
        }

        static func movement(_ type: String, global: GlobalOptions, options: SessionOptions, movement: Movement) throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                let engine = try options.engine(try global.environment())
                let user = try options.actor()
                let result = try session { () throws(SessionError) in
                    try engine.cashMovement(commandID: options.command, user: user, type: type, amount: movement.amount, reason: movement.reason)
                }
                report(result, json: global.json)
            }
        }

        /// The movement on stdout (or as JSON); a cash-out beyond the expected drawer is flagged on stderr.
        static func report(_ result: CashMovementResult, json: Bool) {
            if json {
                printJSON(result)
            } else {
                let reverses = result.reverses.map { ", reversing \($0)" } ?? ""
                let expected = result.expectedCashAfter.map { " The drawer should now hold \($0)." } ?? ""
                print("Cash \(result.type) \(result.amount) in shift \(result.session) (movement \(result.id)\(reverses)).\(expected)")
            }
            if result.exceedsExpected == true {
                FileHandle.standardError.write(Data("""
                    kassa: warning: this takes out more cash than the drawer should hold (expected now: \(result.expectedCashAfter ?? 0)). \
                    It is recorded; count the drawer, or reverse the movement if it was a mistake (kassa session cash-reverse \(result.id)).

                    """.utf8))
            }
        }

        struct CashReverse: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "cash-reverse", abstract: "Reverse a cash movement of the open shift that was entered by mistake.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Argument(help: "The movement's id (the --id it was made with, or `id` in its --json output).") var movement: String
            @Option(name: .long, help: "Why.") var reason: String?
            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let engine = try options.engine(try global.environment())
                    let user = try options.actor()
                    let result = try session { () throws(SessionError) in
                        try engine.reverseCashMovement(commandID: options.command, user: user, movement: movement, reason: reason)
                    }
                    Session.report(result, json: global.json)
                }
            }
        }

        struct CashIn: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "cash-in", abstract: "Put cash into the drawer.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var movement: Movement
            func run() throws { try Session.movement("in", global: global, options: options, movement: movement) }
        }

        struct CashOut: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "cash-out", abstract: "Take cash out of the drawer.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var movement: Movement
            func run() throws { try Session.movement("out", global: global, options: options, movement: movement) }
        }

        struct Closing: ParsableArguments {
            @Option(name: .long, help: "The counted cash in the drawer, minor units.") var counted: Int64?
            @Option(name: .long, help: "The float left for the next shift, minor units.") var left: Int64?
            @Option(name: .long, parsing: .upToNextOption, help: "The drawer counted by denomination: DENOMINATION=QUANTITY …, e.g. 50000=1 100=12.")
            var count: [String] = []
            @Option(name: .long, help: "The manager who approves a difference over the limit.") var approvedBy: String?
            @Flag(name: .long, help: "Do not print the Z report.") var noPrint = false
            @OptionGroup var target: DeviceOptions
        }

        static func close(force: Bool, rescue: Bool = false, global: GlobalOptions, options: SessionOptions, closing: Closing) throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                let environment = try global.environment()
                let engine = try options.engine(environment)
                let user = try options.actor()
                let report = try session { () throws(SessionError) in
                    try engine.closeShift(commandID: options.command, user: user, countedCash: closing.counted, cashLeft: closing.left,
                                          approvedBy: closing.approvedBy, force: force, rescue: rescue, count: parseCount(closing.count))
                }
                var printed: PrintOutcome?
                var printError: String?
                if !closing.noPrint {
                    do {
                        printed = try environment.printDocument(environment.reportDocument(report, settings: try? engine.settings()), on: try closing.target.resolve(in: environment))
                    } catch {
                        printError = "\(error) The Z report is saved; reprint it with `kassa report z --number \(report.zNumber ?? 0)`."
                    }
                }
                reportRecorded(report, as: "report", printed: printed, printError: printError, json: global.json,
                               headline: "Closed shift \(report.session) with Z \(report.zNumber ?? 0): sales \(report.sales.amount), expected cash \(report.expectedCash), counted \(report.countedCash.map(String.init) ?? "-"), difference \(report.difference.map(String.init) ?? "-").")
            }
        }

        struct Close: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Close the open shift with the counted drawer; prints the Z report.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var closing: Closing
            func run() throws { try Session.close(force: false, global: global, options: options, closing: closing) }
        }

        struct ForceClose: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "force-close", abstract: "Close another user's shift (recorded as a force close).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var closing: Closing
            func run() throws { try Session.close(force: true, global: global, options: options, closing: closing) }
        }

        struct NoSale: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "no-sale",
                abstract: "Open the drawer without a sale: recorded first (counted on the X and Z reports), then the drawer opens.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var target: DeviceOptions
            @Option(name: .long, help: "Why (e.g. change for a customer).") var reason: String?

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment)
                    let user = try options.actor()
                    let result = try session { () throws(SessionError) in
                        try engine.cashMovement(commandID: options.command, user: user, type: "no_sale", amount: 0, reason: reason)
                    }
                    var drawerError: String?
                    do {
                        _ = try environment.openDrawer(try target.resolve(in: environment), pin: nil, onMilliseconds: nil, offMilliseconds: nil)
                    } catch {
                        drawerError = "\(error) The opening is recorded; open the drawer with its key."
                    }
                    if global.json {
                        struct Output: Encodable { var movement: CashMovementResult; var drawerError: String? }
                        printJSON(Output(movement: result, drawerError: drawerError))
                    } else {
                        print("Drawer opened without a sale in shift \(result.session)." + (drawerError.map { "\nwarning: \($0)" } ?? ""))
                    }
                }
            }
        }

        /// Runs a state change and prints the shift.
        static func transition(global: GlobalOptions, options: SessionOptions,
                               _ body: (SessionEngine, String) throws(SessionError) -> ShiftRecord) throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                let engine = try options.engine(try global.environment())
                let user = try options.actor()
                let shift = try session { () throws(SessionError) in try body(engine, user) }
                if global.json { printJSON(shift) } else { print("Shift \(shift.id) is \(shift.state).") }
            }
        }

        struct Confirm: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Count the float of a shift that is opening; it opens for sales.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Option(name: .long, help: "The counted float, in minor units.") var float: Int64?
            @Option(name: .long, parsing: .upToNextOption, help: "The float counted by denomination: DENOMINATION=QUANTITY ….")
            var count: [String] = []
            func run() throws {
                try Session.transition(global: global, options: options) { engine, user throws(SessionError) in
                    try engine.confirmOpening(commandID: options.command, user: user, countedFloat: float, count: parseCount(count))
                }
            }
        }

        struct Cancel: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Cancel a shift that is still opening (nothing happened in it).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            func run() throws {
                try Session.transition(global: global, options: options) { engine, user throws(SessionError) in
                    try engine.cancelOpening(commandID: options.command, user: user)
                }
            }
        }

        struct StartClose: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "start-close", abstract: "Stop sales while the drawer is counted; then `session close` (or `session resume`).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            func run() throws {
                try Session.transition(global: global, options: options) { engine, user throws(SessionError) in
                    try engine.startClose(commandID: options.command, user: user)
                }
            }
        }

        struct Resume: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Go back from closing to selling (no Z was written).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            func run() throws {
                try Session.transition(global: global, options: options) { engine, user throws(SessionError) in
                    try engine.resumeShift(commandID: options.command, user: user)
                }
            }
        }

        struct Post: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Mark a closed shift as posted (its Z handed to accounting).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Option(name: .long, help: "The shift's Z number.") var z: Int64
            func run() throws {
                try Session.transition(global: global, options: options) { engine, user throws(SessionError) in
                    try engine.postShift(commandID: options.command, user: user, zNumber: z)
                }
            }
        }

        struct CloseRescue: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "close-rescue",
                abstract: "Close the rescue shift (late receipts recorded after their shift closed) with its own Z; managers only.",
                discussion: "A rescue shift has no drawer: --counted and --left are ignored.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var closing: Closing
            func run() throws { try Session.close(force: false, rescue: true, global: global, options: options, closing: closing) }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Shift history with totals, filtered by date and user.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Option(name: .long, help: "From business date YYYY-MM-DD.") var from: String?
            @Option(name: .long, help: "To business date YYYY-MM-DD.") var to: String?
            @Option(name: .customLong("for"), help: "Only shifts this user took part in.") var forUser: String?

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let engine = try options.engine(try global.environment(), reading: true)
                    let user = try options.actor()
                    let shifts = try session { () throws(SessionError) in try engine.shifts(user: user, onlyUser: forUser, from: from, to: to) }
                    if global.json { printJSON(shifts); return }
                    for shift in shifts {
                        print("\(shift.id)\t\(shift.businessDate)\t\(shift.state)\(shift.isRescue ? " RESCUE for \(shift.rescueFor ?? "-")" : "")\topened by \(shift.openedBy)\tZ \(shift.zNumber.map(String.init) ?? "-")\tcash \(shift.countedCash.map(String.init) ?? "-")/\(shift.expectedCash.map(String.init) ?? "-")")
                    }
                }
            }
        }
    }
}
