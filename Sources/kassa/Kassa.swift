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
        subcommands: [Print.self, Status.self, Drawer.self, Devices.self, Doctor.self, Profiles.self, Logo.self, Udev.self, Terminal.self, User.self, SettingsCommand.self, Session.self, Sale.self, Park.self, Refund.self, Receipt.self, Report.self, JournalCommand.self, Fiscal.self, Serve.self, Version.self]
    )

    static func main() {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["KASSA_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? .warning
            return handler
        }
        let arguments = Self.globalOptionsAfterSubcommand(Array(CommandLine.arguments.dropFirst()))
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            // With --json, a wrong argument is the JSON error envelope too (code INVALID_ARGUMENTS, exit 64), not usage text;
            // --help and --version still print their text.
            let code = exitCode(for: error)
            if arguments.contains("--json"), code != .success {
                let object: [String: Any] = ["ok": false, "error": ["code": "INVALID_ARGUMENTS", "message": message(for: error)]]
                if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]) {
                    FileHandle.standardOutput.write(data + Data("\n".utf8))
                }
                Foundation.exit(code.rawValue)
            }
            exit(withError: error)
        }
        do {
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

extension Kassa {
    /// The options every command takes (`GlobalOptions`) may come before the subcommand too (`kassa --home DIR user add
    /// …`): ArgumentParser reads a subcommand's options after its name, so those given first are moved to the end
    /// (before a `--`, which ends the options).
    static func globalOptionsAfterSubcommand(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--json" || argument.hasPrefix("--home=") {
                leading.append(argument)
                index += 1
            } else if argument == "--home", index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        var rest = Array(arguments[index...])
        let end = rest.firstIndex(of: "--") ?? rest.count
        rest.insert(contentsOf: leading, at: end)
        return rest
    }
}

