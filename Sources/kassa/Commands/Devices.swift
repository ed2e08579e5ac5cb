import ArgumentParser
import DeviceDiscovery
import Foundation
import KassaRuntime

extension Kassa {
    struct Devices: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List USB printers, usblp ports, USB-serial adapters and serial ports, with a URL for each.",
            discussion: "--watch prints attach and detach events as they happen (one JSON object per line with --json)."
        )

        @OptionGroup var global: GlobalOptions

        @Flag(name: .long, help: "Follow hot-plug events until interrupted.")
        var watch = false

        @Option(name: .long, help: "With --watch: stop after this many seconds (default: run until interrupted).")
        var seconds: Int?

        @Option(name: .long, help: "With --watch: stop after this many events.")
        var events: Int?

        func run() throws {
            do {
                try perform()
            } catch {
                throw fail(error, json: global.json)
            }
        }

        func perform() throws(RuntimeError) {
                let environment = try global.environment()
                if watch {
                    try follow(environment)
                    return
                }
                let listings = try environment.discoverDevices()
                if global.json {
                    printJSON(listings)
                    return
                }
                if listings.isEmpty {
                    print("No printers, USB-serial adapters or serial ports found.")
                    return
                }
                for listing in listings {
                    let d = listing.device
                    let name = [d.manufacturer, d.product].compactMap { $0 }.joined(separator: " ")
                    let ids = [d.vendorID, d.productID].compactMap { $0 }.joined(separator: ":")
                    var line = "\(d.kind.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) \(d.devnode ?? d.syspath)"
                    if !ids.isEmpty { line += "  \(ids)" }
                    if !name.isEmpty { line += "  \(name)" }
                    if let serial = d.serial { line += "  serial \(serial)" }
                    print(line)
                    print("            url: \(listing.url)" + (listing.profile.map { "  profile: \($0)" } ?? "")
                        + (listing.configuredAs.map { "  configured as '\($0)'" } ?? ""))
                }
        }

        /// Writes one line unbuffered, so a pipe sees each event as it happens.
        func emit(_ line: String) {
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }

        func follow(_ environment: KassaEnvironment) throws(RuntimeError) {
            let monitor = try environment.deviceMonitor()
            if !global.json { emit("Watching for devices (Ctrl-C stops)…") }
            let deadline = seconds.map { ContinuousClock.now + .seconds($0) }
            var seen = 0
            while deadline.map({ ContinuousClock.now < $0 }) ?? true {
                guard let event = monitor.next(timeoutMilliseconds: 250) else { continue }
                let listing = environment.listing(for: event.device)
                if global.json {
                    struct Line: Encodable { var action: String; var device: DeviceListing }
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    if let data = try? encoder.encode(Line(action: event.action.rawValue, device: listing)) {
                        emit(String(decoding: data, as: UTF8.self))
                    }
                } else {
                    emit("\(event.action.rawValue) \(event.device.kind.rawValue) \(event.device.devnode ?? event.device.syspath) \(listing.url)")
                }
                seen += 1
                if let events, seen >= events { return }
            }
        }
    }
}
