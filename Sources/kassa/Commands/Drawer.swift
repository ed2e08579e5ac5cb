import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

extension Kassa {
    struct Drawer: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open the cash drawer, or read its signal.",
            subcommands: [Open.self, State.self]
        )

        struct Open: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Pulse the drawer connector (ESC p, always the full 5-byte form).",
                discussion: "Pin and times default to the device's [devices.NAME.drawer] settings in kassa.toml, else pin 2, 50 ms on, 500 ms off. "
                    + "On a till (a terminal database exists), the opening is recorded first, as `session no-sale` does: it needs --user "
                    + "(permission drawer.open_no_sale), is counted in the open shift's X and Z reports, and journaled."
            )

            @OptionGroup var global: GlobalOptions
            @OptionGroup var target: DeviceOptions
            @OptionGroup var options: SessionOptions
            @Option(name: .long, help: "Why the drawer is opened (recorded on a till).") var reason: String?

            @Option(name: .long, help: "Connector pin: 2 or 5.")
            var pin: Int?

            @Option(name: .long, help: "Pulse on time in ms (2-510).")
            var on: Int?

            @Option(name: .long, help: "Pulse off time in ms (2-510; never shorter than the on time).")
            var off: Int?

            func validate() throws {
                if let pin, pin != 2, pin != 5 { throw ValidationError("--pin is 2 or 5 (the drawer connector's pins), not \(pin).") }
                if let on, !(2...510).contains(on) { throw ValidationError("--on is 2 to 510 ms, not \(on).") }
                if let off, !(2...510).contains(off) { throw ValidationError("--off is 2 to 510 ms, not \(off).") }
            }

            func run() throws {
                try runReporting(json: global.json) { () throws(RuntimeError) in
                    let environment = try global.environment()
                    let device = try target.resolve(in: environment)
                    // On a till every opening outside a sale is counted and journaled, before the drawer opens.
                    var recorded: DrawerOpening?
                    if FileManager.default.fileExists(atPath: environment.databasePath(options.database)) {
                        guard options.user != nil else {
                            throw .session(.invalid("This terminal is a till: a drawer opening outside a sale is counted and journaled. "
                                + "Say who opens it: --user ID (permission drawer.open_no_sale)."))
                        }
                        let engine = try options.engine(environment)
                        let user = try options.actor()
                        recorded = try session { () throws(SessionError) in
                            try engine.recordDrawerOpening(commandID: options.command, user: user, reason: reason)
                        }
                    }
                    let outcome = try environment.openDrawer(device, pin: pin, onMilliseconds: on, offMilliseconds: off)
                    if global.json {
                        struct Output: Encodable {
                            var drawer: DrawerOutcome
                            var recorded: DrawerOpening?
                        }
                        if let recorded { printJSON(Output(drawer: outcome, recorded: recorded)) } else { printJSON(outcome) }
                    } else {
                        if let recorded {
                            print(recorded.session.map { "Recorded as a drawer opening without a sale in shift \($0)." }
                                ?? "Recorded in the journal (no shift is open).")
                        }
                        var text = "Pulsed pin \(outcome.pin) (\(outcome.onMilliseconds) ms on, \(outcome.offMilliseconds) ms off) on \(outcome.device)."
                        if let open = outcome.drawerOpen { text += " The drawer reports \(open ? "open" : "closed")." }
                        if let note = outcome.note { text += "\nnote: \(note)" }
                        print(text)
                    }
                }
            }
        }

        struct State: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "status",
                abstract: "Read the drawer signal (DLE EOT 1, bit 2) with the configured polarity."
            )

            @OptionGroup var global: GlobalOptions
            @OptionGroup var target: DeviceOptions

            func run() throws {
                do {
                    let environment = try global.environment()
                    let report = try environment.status(of: try target.resolve(in: environment))
                    if global.json {
                        struct Drawer: Encodable {
                            var device: String
                            var open: Bool?
                            var signalHigh: Bool?
                        }
                        printJSON(Drawer(device: report.device, open: report.drawerOpen, signalHigh: report.status.drawerSignalHigh))
                    } else {
                        print("Drawer on \(report.device): " + (report.drawerOpen.map { $0 ? "open" : "closed" } ?? "unknown"))
                    }
                } catch {
                    throw fail(error, json: global.json)
                }
            }
        }
    }
}
