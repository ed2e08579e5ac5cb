import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

extension Kassa {
    struct Park: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parked receipts: several open sales at once, named, versioned, finalized once.",
            subcommands: [New.self, List.self, Show.self, Open.self, Release.self, ProForma.self, Update.self, Pay.self, Finalize.self, Void.self, Presets.self])

        static func describe(_ parked: ParkedReceipt) -> String {
            "\(parked.id)  \(parked.label ?? "-")  \(parked.state)  v\(parked.version)  \(parked.lines.count) line(s)"
                + "  owner \(parked.owner) (\(parked.visibility))"
                + (parked.leaseHolder.map { holder in "  open for editing by \(holder) until \(parked.leaseUntil.map { ISO8601DateFormatter().string(from: $0) } ?? "?")" } ?? "")
        }

        static func output(_ parked: ParkedReceipt, json: Bool) {
            if json { printJSON(parked) } else { print(describe(parked)) }
        }

        /// Runs one change to a parked receipt as `--user` and prints the result.
        static func change(global: GlobalOptions, options: SessionOptions,
                           _ body: (SessionEngine, String) throws(SessionError) -> ParkedReceipt) throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                let engine = try options.engine(try global.environment())
                let user = try options.actor()
                output(try session { () throws(SessionError) in try body(engine, user) }, json: global.json)
            }
        }

        struct New: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Park a sale (same JSON as `kassa sale`; its id names the parked receipt).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Argument(help: "The sale, as JSON ('-' for standard input); payments are ignored.") var file: String
            @Option(name: .long, help: "A name, e.g. a table (default: the first free preset name).") var name: String?
            @Option(name: .long, help: "own, role or all (default from the settings).") var visibility: String?

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    var request = try loadSaleRequest(file)
                    if let id = options.commandID { request.id = id }
                    let engine = try options.engine(environment)
                    let user = try options.actor()
                    let parked = try session { () throws(SessionError) in
                        try engine.park(id: request.id, user: user, lines: request.lines, discount: request.discount, label: name, visibility: visibility)
                    }
                    output(parked, json: global.json)
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "The parked receipts this user may see.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment)
                    let user = try options.actor()
                    let list = try session { () throws(SessionError) in try engine.parkedReceipts(user: user) }
                    if global.json {
                        printJSON(list)
                    } else if list.isEmpty {
                        print("No parked receipts.")
                    } else {
                        list.forEach { print(describe($0)) }
                    }
                }
            }
        }

        struct Open: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Open a parked receipt for editing: nobody else may change it until the lease (parked-lease-seconds) runs out.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Argument(help: "The parked receipt's id.") var parked: String
            func run() throws { try Park.change(global: global, options: options) { engine, user throws(SessionError) in try engine.openParked(id: parked, user: user) } }
        }

        struct Release: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Give up the lease on a parked receipt you opened for editing.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Argument(help: "The parked receipt's id.") var parked: String
            func run() throws { try Park.change(global: global, options: options) { engine, user throws(SessionError) in try engine.releaseParked(id: parked, user: user) } }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Open a parked receipt (it stays parked).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Argument(help: "The parked receipt's id.") var parked: String

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment)
                    let user = try options.actor()
                    let found = try session { () throws(SessionError) in try engine.parkedReceipt(id: parked, user: user) }
                    if global.json {
                        printJSON(found)
                    } else {
                        print(describe(found))
                        for (index, line) in found.lines.enumerated() {
                            print("  \(index + 1). \(line.name)  \(line.quantity)  × \(line.unitPrice)")
                        }
                    }
                }
            }
        }

        struct ProForma: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "proforma",
                abstract: "Print a parked receipt's pro-forma bill, marked EJ KVITTO: priced as the sale will be, numbered P1, P2 …, counted in X/Z, journaled; not a receipt.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var target: DeviceOptions
            @Argument(help: "The parked receipt's id.") var parked: String

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment)
                    let user = try options.actor()
                    let device = try target.resolve(in: environment)
                    let bill = try session { () throws(SessionError) in try engine.proForma(commandID: options.command, parkedID: parked, user: user) }
                    // The bill is recorded before it prints; a failed print is reported, and printing again makes bill P(n+1).
                    var printed: PrintOutcome?
                    var printError: String?
                    do {
                        printed = try environment.printDocument(environment.proFormaDocument(bill, settings: try? engine.settings()), on: device)
                    } catch {
                        printError = "\(error) Pro-forma bill P\(bill.number) is recorded; print a new one with `kassa park proforma \(parked)`."
                    }
                    reportRecorded(bill, as: "proForma", printed: printed, printError: printError, json: global.json,
                                   headline: "Pro-forma bill P\(bill.number) of \(bill.label ?? bill.parked) (EJ KVITTO): total \(bill.total), shift \(bill.session).")
                }
            }
        }

        struct Update: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Replace a parked receipt's lines; --version must be the one you opened, or the edit is refused (exit 34).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Argument(help: "The parked receipt's id.") var parked: String
            @Argument(help: "The new content, as sale JSON ('-' for standard input).") var file: String
            @Option(name: .long, help: "The version you opened (from `kassa park show`).") var version: Int

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let request = try loadSaleRequest(file)
                    let engine = try options.engine(environment)
                    let user = try options.actor()
                    let updated = try session { () throws(SessionError) in
                        try engine.updateParked(id: parked, user: user, expectedVersion: version, lines: request.lines, discount: request.discount)
                    }
                    output(updated, json: global.json)
                }
            }
        }

        struct Pay: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Mark a payment as running (card terminal busy); the shift cannot close until it is finalized.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Argument(help: "The parked receipt's id.") var parked: String

            func run() throws {
                try Park.change(global: global, options: options) { engine, user throws(SessionError) in
                    try engine.startPayment(id: parked, user: user)
                }
            }
        }

        struct Finalize: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Finalize a parked receipt: numbered once (a repeat returns the same receipt), then printed.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @OptionGroup var target: DeviceOptions
            @Argument(help: "The parked receipt's id.") var parked: String
            @Option(name: .long, parsing: .upToNextOption, help: "METHOD=AMOUNT in minor units, e.g. cash=5000 card=1200 (default: all cash, exact).")
            var pay: [String] = []
            @Flag(name: .long, help: "Do not print.") var noPrint = false

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment)
                    let user = try options.actor()
                    var payments: [PaymentRequest] = []
                    for item in pay {
                        guard let pair = keyValue(item), let amount = Int64(pair.value), amount >= 0 else {
                            throw .session(.invalid("--pay takes METHOD=AMOUNT in minor units, e.g. cash=5000; not '\(item)'"))
                        }
                        payments.append(PaymentRequest(method: pair.key, amount: amount))
                    }
                    try refuseNoPrint(noPrint, engine: engine)
                    let receipt = try session { () throws(SessionError) in
                        try engine.finalizeParked(id: parked, user: user, payments: payments.isEmpty ? nil : payments)
                    }
                    Receipt.finish(receipt, headline: Sale.headline(receipt), engine: engine, environment: environment, target: target, print: !noPrint,
                                   json: global.json, settings: try? engine.settings())
                }
            }
        }

        struct Void: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Void a parked receipt: it never gets a number; the record stays.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Argument(help: "The parked receipt's id.") var parked: String

            func run() throws {
                try Park.change(global: global, options: options) { engine, user throws(SessionError) in
                    try engine.voidParked(id: parked, user: user)
                }
            }
        }

        struct Presets: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Show or set the default names (e.g. 'Sale 1' or tables); a store's own list replaces the default list.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Option(name: .long, help: "Comma-separated names to set (needs settings.manage).") var set: String?
            @Option(name: .long, help: "'default' for all stores, or a store id (default: 'default').") var scope = "default"

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment)
                    if let set {
                        let user = try options.actor()
                        let names = set.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                        try session { () throws(SessionError) in try engine.setParkedNamePresets(names, scope: scope, by: user) }
                    }
                    let presets = try session { () throws(SessionError) in try engine.parkedNamePresets() }
                    if global.json { printJSON(presets) } else { presets.forEach { print($0) } }
                }
            }
        }
    }
}
