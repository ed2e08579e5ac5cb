import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

extension Kassa {
    struct User: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Users and their roles.", subcommands: [Add.self, List.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Add a user (the first user may be added without --user; make it a manager).")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions
            @Argument(help: "The new user's id.") var id: String
            @Option(name: .long, help: "Display name.") var name: String?
            @Option(name: .long, help: "Role: cashier, supervisor or manager.") var role: String = "cashier"

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let engine = try options.engine(try global.environment())
                    let user = try session { () throws(SessionError) in
                        try engine.addUser(id: id, name: name ?? id, role: role, by: options.user)
                    }
                    if global.json { printJSON(user) } else { print("Added \(user.id) (\(user.name)) as \(user.role).") }
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List users.")
            @OptionGroup var global: GlobalOptions
            @OptionGroup var options: SessionOptions

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let engine = try options.engine(try global.environment(), reading: true)
                    let users = try session { () throws(SessionError) in try engine.users() }
                    if global.json { printJSON(users) } else { users.forEach { print("\($0.id)\t\($0.role)\t\($0.name)") } }
                }
            }
        }
    }
}
