import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

extension Kassa {
    struct Sale: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Finalize a sale from a JSON file (Docs/CLI.md), print the receipt and open the drawer for cash.",
            discussion: "The receipt is committed before it prints; if printing fails, it stays valid and can be printed as a copy.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: SessionOptions
        @OptionGroup var target: DeviceOptions
        @Argument(help: "The sale, as JSON ('-' for standard input).") var file: String
        @Flag(name: .long, help: "Do not print (the receipt is still finalized).") var noPrint = false

        static func headline(_ receipt: ReceiptRecord) -> String {
            "Receipt \(receipt.number) (\(receipt.kind)): total \(receipt.total), change \(receipt.change), Z period \(receipt.zPeriod)."
        }
        @Flag(name: .long, help: "The sale already happened (e.g. printed by a fiscal printer) and its shift has closed: record it in the rescue shift.")
        var late = false
        @Option(name: .long, help: "A fiscal profile's special receipt: start (Austria's signed zero start receipt), null (a zero receipt) or storno.")
        var fiscalType: String?

        func run() throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                let environment = try global.environment()
                var request = try loadSaleRequest(file)
                if let id = options.commandID { request.id = id }
                if late { request.late = true }
                if let fiscalType { request.fiscalType = fiscalType }
                let engine = try options.engine(environment)
                let user = try options.actor()
                try refuseNoPrint(noPrint, engine: engine)
                let receipt = try session { () throws(SessionError) in try engine.finalizeSale(request, user: user) }
                Receipt.finish(receipt, headline: Sale.headline(receipt), engine: engine, environment: environment, target: target, print: !noPrint,
                               json: global.json, settings: try? engine.settings())
            }
        }
    }

    struct Refund: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refund lines of an earlier receipt (never more than was sold).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var options: SessionOptions
        @OptionGroup var target: DeviceOptions
        @Option(name: .long, help: "The original receipt's number.") var receipt: Int64
        @Option(name: .long, parsing: .upToNextOption, help: "LINE=QUANTITY, e.g. 1=2 or 3=0.5 (default: every line in full).")
        var line: [String] = []
        @Option(name: .long, help: "How the money goes back (default cash).") var method: String?
        @Flag(name: .long, help: "Do not print.") var noPrint = false

        func run() throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                let environment = try global.environment()
                let engine = try options.engine(environment)
                let user = try options.actor()
                var lines: [RefundRequest.Line] = []
                for item in line {
                    guard let pair = keyValue(item), let number = Int(pair.key) else {
                        throw .session(.invalid("--line takes LINE=QUANTITY, e.g. 1=2; not '\(item)'"))
                    }
                    let quantity = try session { () throws(SessionError) in try MilliQuantity(parsing: pair.value) }
                    lines.append(.init(line: number, quantity: quantity))
                }
                if lines.isEmpty {
                    let original = try session { () throws(SessionError) in try engine.receipt(number: receipt) }
                    lines = original.lines.map { .init(line: $0.lineNumber, quantity: $0.quantity) }
                }
                let request = RefundRequest(id: options.command, receiptNumber: receipt, lines: lines, method: method)
                try refuseNoPrint(noPrint, engine: engine)
                let record = try session { () throws(SessionError) in try engine.refund(request, user: user) }
                Receipt.finish(record, headline: "Refund receipt \(record.number) for receipt \(receipt): \(record.total).",
                               engine: engine, environment: environment, target: target, print: !noPrint, json: global.json,
                               settings: try? engine.settings())
            }
        }
    }
}
