import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

extension Kassa {
    struct SettingsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "settings", abstract: "Session-engine settings.", subcommands: [Show.self, Set.self])

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show the settings.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let engine = try options.engine(try global.environment(), reading: true)
                    let settings = try session { () throws(SessionError) in try engine.settings() }
                    if global.json {
                        printJSON(settings)
                    } else {
                        // Every setting, the fiscal ones included, as stored.
                        let all = try session { () throws(SessionError) in try engine.allSettings() }
                        let width = all.map(\.key.count).max() ?? 0
                        for (key, value) in all { print(key.padding(toLength: width + 1, withPad: " ", startingAt: 0) + value) }
                    }
                }
            }
        }

        struct Set: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Change a setting (needs settings.manage).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Argument(help: "The setting.") var key: String
            @Argument(help: "The new value.") var value: String

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let engine = try options.engine(try global.environment())
                    let user = try options.actor()
                    try session { () throws(SessionError) in try engine.setSetting(key, value, by: user) }
                    if global.json { printJSON(["key": key, "value": value]) } else { print("\(key) = \(value)") }
                }
            }
        }
    }
}
