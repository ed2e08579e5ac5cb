import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

extension Kassa {
    struct Fiscal: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fiscal",
            abstract: "The terminal's fiscal device and keys: the control unit's status and identity, the RKSV AES key, a replacement fiscal module.",
            subcommands: [Status.self, Info.self, X.self, ATKey.self, ReplaceModule.self])

        struct ATKey: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "at-key", abstract: "The register's RKSV AES key (rksv-aes.key).", subcommands: [Backup.self, Restore.self])

            struct Backup: ParsableCommand {
                static let configuration = CommandConfiguration(abstract: "Copy the AES key to FILE (mode 0600); prints its fingerprint.")
                @OptionGroup var global: GlobalOptions
                @OptionGroup var options: SessionOptions
                @Option(name: .long, help: "Where to write the backup.") var to: String

                func run() throws {
                    try runReporting(json: global.json) { () throws(RuntimeError) in
                        let environment = try global.environment()
                        let engine = try options.engine(environment, readOnly: true)
                        let report = try environment.backupAESKey(engine: engine, database: options.database, to: to)
                        if global.json { printJSON(report) } else {
                            print("Wrote the AES key to \(report.path) (SHA-256 \(report.fingerprint)). Keep it offline, with the FinanzOnline registration.")
                        }
                    }
                }
            }

            struct Restore: ParsableCommand {
                static let configuration = CommandConfiguration(
                    abstract: "Put a backed-up AES key back as rksv-aes.key (needs settings.manage); only the register's own key is accepted.")
                @OptionGroup var global: GlobalOptions
                @OptionGroup var options: SessionOptions
                @Argument(help: "The backup file.") var file: String

                func run() throws {
                    try runReporting(json: global.json) { () throws(RuntimeError) in
                        let environment = try global.environment()
                        let engine = try options.engine(environment, readOnly: true)
                        let report = try environment.restoreAESKey(engine: engine, database: options.database, from: file, user: try options.actor())
                        if global.json { printJSON(report) } else { print("Restored the AES key as \(report.path) (SHA-256 \(report.fingerprint)).") }
                    }
                }
            }
        }

        struct ReplaceModule: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "replace-module",
                abstract: "Put a new fiscal module in service when the old one's key is lost for good (journaled; needs settings.manage).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Option(name: .long, help: "Why (kept in the journal).") var reason: String

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let report = try global.environment().replaceFiscalModule(database: options.database, reason: reason, user: try options.actor())
                    if global.json { printJSON(report) } else {
                        print("Fiscal module \(report.new) is in service" + (report.old.map { " in place of \($0)" } ?? "") + "."
                            + (report.retiredKey.map { " The old key file was kept as \($0)." } ?? ""))
                    }
                }
            }
        }
    }
}
