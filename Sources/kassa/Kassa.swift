import ArgumentParser
import Foundation
import KassaRuntime
import Logging

@main
struct Kassa: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kassa",
        abstract: "Kassa: receipt printers, cash drawers and the till's session engine, from the command line.",
        discussion: "Exit codes are listed in Docs/CLI.md. Every command takes --json for machine-readable output.",
        version: KassaVersion.string,
        subcommands: [Print.self, Status.self, Drawer.self, Devices.self, Doctor.self, Profiles.self, Logo.self, Udev.self, Terminal.self, User.self, SettingsCommand.self, Session.self, Sale.self, Park.self, Refund.self, Receipt.self, Report.self, JournalCommand.self, Version.self]
    )

    static func main() {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["KASSA_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? .warning
            return handler
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

enum KassaVersion {
    static let string = "0.1.0"
}
