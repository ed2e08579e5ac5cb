import ArgumentParser
import DeviceTransport
import ESCPOS
import Foundation
import KassaRuntime
import ReceiptLayout

extension Kassa {
    struct Print: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a receipt document, raw ESC/POS bytes, or plain text from standard input.",
            discussion: """
                kassa print --demo                 print the demo receipt
                kassa print RECEIPT.json           print a kassa.document/1 file (Docs/document-format.md)
                kassa print --raw FILE             send a file of ESC/POS bytes unchanged
                echo "Hello" | kassa print -       print UTF-8 text through the profile's code pages
                With no --device, Kassa prints on the virtual printer and writes a PNG and a text preview.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A JSON document, or '-' for UTF-8 text on standard input.")
        var input: String?

        @Flag(name: .long, help: "Print the built-in demo receipt.")
        var demo = false

        @Option(name: .long, help: "Send this file's bytes unchanged.")
        var raw: String?

        @OptionGroup var target: DeviceOptions

        @Option(name: .long, help: "Where to write the virtual printer's PNG preview (a .txt is written beside it).")
        var preview: String?

        @Option(name: .long, help: "Number of copies (1-20).")
        var copies: Int = 1

        @Option(name: .long, help: "Body font: a or b.")
        var font: TextStyle.Font = .a

        @Flag(name: .long, help: "Send without asking the printer's status first.")
        var noStatusCheck = false

        func validate() throws {
            let sources = [demo, raw != nil, input != nil].filter { $0 }.count
            guard sources == 1 else {
                throw ValidationError("Give exactly one of: --demo, --raw FILE, a document file, or '-' for standard input.")
            }
            guard (1...20).contains(copies) else { throw ValidationError("--copies must be between 1 and 20.") }
        }

        func run() throws {
            do {
                let outcome = try perform()
                report(outcome)
            } catch {
                throw fail(error, json: global.json)
            }
        }

        func perform() throws(RuntimeError) -> PrintOutcome {
            let environment = try global.environment()
            let target = try self.target.resolve(in: environment)
            let printerProfile = target.profile
            let job: LayoutResult
            if demo {
                job = try environment.layout(DemoReceipt.document(), profile: printerProfile, font: font, baseDirectory: nil)
            } else if let raw {
                job = LayoutResult(bytes: try readFile(raw), warnings: [])
            } else if input == "-" {
                let bytes = try readStandardInput()
                let text = try InputDecoding.text(bytes, source: "standard input")
                job = environment.textJob(text, profile: printerProfile, font: font)
            } else {
                let path = input!
                let document = try InputDecoding.document(try readFile(path), source: path)
                let base = URL(fileURLWithPath: path).deletingLastPathComponent()
                job = try environment.layout(document, profile: printerProfile, font: font, baseDirectory: base)
            }
            return try environment.send(
                job.bytes, copies: copies, device: target, previewPath: preview, warnings: job.warnings,
                checkStatus: !noStatusCheck)
        }

        func readFile(_ path: String) throws(RuntimeError) -> [UInt8] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw .inputUnreadable(path: path, reason: "no such file")
            }
            guard !isDirectory.boolValue else { throw .inputUnreadable(path: path, reason: "it is a directory") }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .inputUnreadable(path: path, reason: "permission denied")
            }
            return Array(data)
        }

        func report(_ outcome: PrintOutcome) {
            if global.json {
                printJSON(outcome)
                return
            }
            var lines: [String] = []
            let copiesText = outcome.copies > 1 ? " (\(outcome.copies) copies)" : ""
            lines.append("Printed \(outcome.bytes) bytes on \(outcome.device) with profile \(outcome.profile)\(copiesText).")
            for warning in outcome.warnings { lines.append("warning: \(warning)") }
            for note in outcome.notes { lines.append("note: \(note)") }
            if let png = outcome.previewPNG {
                lines.append("Preview: \(png)")
                if let text = outcome.previewText { lines.append("Text preview: \(text)") }
            }
            print(lines.joined(separator: "\n"))
        }
    }
}

extension TextStyle.Font: ExpressibleByArgument {}
