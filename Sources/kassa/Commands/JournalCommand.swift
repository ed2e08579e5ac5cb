import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

extension Kassa {
    struct JournalCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "journal", abstract: "The terminal's signed, hash-chained fiscal journal.", subcommands: [Verify.self, Export.self, VerifyDEP.self])

        struct Verify: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check every link, signature and counter of the journal; name the first bad entry (exit 39).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions

            func run() throws {
                var failed = false
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment, readOnly: true)
                    let anchors = try environment.journalAnchors(options.database)
                    // On a terminal (not with --json), a progress line on stderr at most twice a second: a million entries
                    // take about a minute.
                    let showProgress = !global.json && isatty(STDERR_FILENO) == 1
                    var shown = Date.distantPast
                    let progress: (Int64, Int64) -> Void = { checked, recorded in
                        guard Date().timeIntervalSince(shown) >= 0.5 || checked >= recorded else { return }
                        shown = Date()
                        let share = recorded > 0 ? min(100, checked * 100 / recorded) : 100
                        FileHandle.standardError.write(Data("\rChecked \(checked) of \(recorded) entries (\(share) %)".utf8))
                    }
                    let result = try session { () throws(SessionError) in try engine.verifyJournal(anchors: anchors, progress: showProgress ? progress : nil) }
                    if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
                    failed = !result.ok
                    if global.json {
                        printJSON(result)
                    } else if let problem = result.problem {
                        print("Journal of terminal \(result.terminal): \(problem.kind.rawValue.uppercased().replacingOccurrences(of: "_", with: " ")) — \(problem.detail).")
                        print("Checked \(result.entries) entries before it. Keep the database as it is and call support; do not repair it by hand.")
                    } else {
                        print("Journal of terminal \(result.terminal): OK — \(result.entries) entries, \(result.receiptsChecked) receipts and "
                            + "\(result.zReportsChecked) Z reports match what was signed; modules \(result.modules.joined(separator: ", "))"
                            + (result.moduleFailures > 0 ? "; \(result.moduleFailures) recorded module failures (unsigned)." : "."))
                    }
                }
                if failed { throw ExitCode(39) }
            }
        }

        struct VerifyDEP: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "verify-dep",
                abstract: "Check an RKSV DEP export and its key container with Kassa's RKSV verifier (exit 39 when it fails).")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The folder holding dep-export.json and cryptographicMaterialContainer.json (as `journal export` writes them).")
            var directory: String
            @Option(name: .long, help: "The DEP file, when it is not DIR/dep-export.json.")
            var dep: String?
            @Option(name: .long, help: "The container file, when it is not DIR/cryptographicMaterialContainer.json.")
            var container: String?

            func run() throws {
                var failed = false
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let result = try global.environment().verifyDEP(directory: directory, dep: dep, container: container)
                    failed = !result.ok
                    if global.json {
                        printJSON(result)
                    } else if let problem = result.problem {
                        print("DEP: FAILED at receipt \(result.receiptIndex ?? 0) — \(problem).")
                    } else {
                        print("DEP: OK — \(result.receipts) receipts, chain, signatures, turnover counter and receipt types check out"
                            + (result.failureSigned > 0 ? "; \(result.failureSigned) signed with the failure marker, each run closed by a signed null receipt." : "."))
                    }
                }
                if failed { throw ExitCode(39) }
            }
        }

        struct Export: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write journal.jsonl and fiscal-modules.pem for a third-party verifier (tools/verify_journal.py).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Option(name: .long, help: "The folder to write into.")
            var to: String
            @Flag(name: .long, help: "Export even when the journal does not verify; the export is then marked as unverified.")
            var force = false

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let engine = try options.engine(environment, readOnly: true)
                    // An export is for an auditor: one of a journal that does not verify is refused, or marked.
                    let anchors = try environment.journalAnchors(options.database)
                    let verification = try session { () throws(SessionError) in try engine.verifyJournal(anchors: anchors) }
                    if let problem = verification.problem, !force { throw .journalBroken(problem.detail) }
                    let export = try session { () throws(SessionError) in
                        try engine.exportJournal(to: to, anchors: anchors, unverified: verification.problem?.detail)
                    }
                    if let problem = verification.problem {
                        FileHandle.standardError.write(Data("kassa: warning: the journal does not verify (\(problem.detail)); the export is marked as unverified.\n".utf8))
                    }
                    let rksv = try environment.exportRKSV(engine: engine, database: options.database, to: to)
                    if global.json {
                        struct Output: Encodable { var journal: JournalExport; var rksv: RKSVExportFiles? }
                        printJSON(Output(journal: export, rksv: rksv))
                    } else {
                        print("Wrote \(export.entries) entries to \(export.journal) and the keys to \(export.publicKeys).")
                        if let rksv { print("RKSV: \(rksv.receipts) receipts in \(rksv.dep), keys in \(rksv.container).") }
                    }
                }
            }
        }
    }
}
