import ArgumentParser
import Foundation
import KassaRuntime

extension Kassa {
    struct Udev: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check or install Kassa's udev rules (group access to POS printers and USB-serial adapters).",
            subcommands: [Check.self, Install.self]
        )

        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Parse the shipped rules and report what they cover.")
            @OptionGroup var global: GlobalOptions

            func run() throws {
                do {
                    let environment = try global.environment()
                    let (_, rules) = try environment.loadUdevRules()
                    let ids = rules.usbIDs.sorted()
                    if global.json {
                        struct Report: Encodable { var file: String; var rules: Int; var usbIDs: [String] }
                        printJSON(Report(file: environment.udevRulesFile.path, rules: rules.rules.count, usbIDs: ids))
                    } else {
                        print("\(environment.udevRulesFile.path): \(rules.rules.count) rules, valid.")
                        print("USB vendor:product pairs: " + ids.joined(separator: " "))
                    }
                } catch {
                    throw fail(error, json: global.json)
                }
            }
        }

        struct Install: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Install the rules (needs root), create the 'kassa' group and reload udev.")
            @OptionGroup var global: GlobalOptions

            @Option(name: .long, help: "Where to install the rules.")
            var dest: String = "/etc/udev/rules.d"

            @Flag(name: .long, help: "Do not create the 'kassa' group.")
            var noGroup = false

            @Flag(name: .long, help: "Do not ask udev to reload.")
            var noReload = false

            func run() throws {
                do {
                    let environment = try global.environment()
                    let outcome = try environment.installUdevRules(
                        into: URL(fileURLWithPath: dest), createGroup: !noGroup, reload: !noReload)
                    if global.json {
                        printJSON(outcome)
                    } else {
                        print("Installed \(outcome.installedPath).")
                        if outcome.groupCreated { print("Created the group 'kassa'.") }
                        if outcome.reloaded { print("udev reloaded and re-triggered.") }
                        for note in outcome.notes { print("note: \(note)") }
                    }
                } catch {
                    throw fail(error, json: global.json)
                }
            }
        }
    }
}
