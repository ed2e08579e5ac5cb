import ArgumentParser
import ESCPOS
import Foundation
import KassaRuntime

extension Kassa {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the printer for its status (DLE EOT 1-4): online, cover, paper, drawer signal, errors.",
            discussion: "Exit 0 when the printer is ready, 22 when it reports a problem, 4 when status cannot be read."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var target: DeviceOptions

        func run() throws {
            let report: StatusReport
            do {
                let environment = try global.environment()
                report = try environment.status(of: try target.resolve(in: environment))
            } catch {
                throw fail(error, json: global.json)
            }
            if global.json {
                printJSON(report)
            } else {
                print(Self.describe(report))
            }
            if !report.ready { throw ExitCode(22) }
        }

        static func describe(_ report: StatusReport) -> String {
            let s = report.status
            func yesNo(_ value: Bool?, _ yes: String, _ no: String) -> String { value.map { $0 ? yes : no } ?? "unknown" }
            var lines = ["\(report.device) (\(report.profile))"]
            lines.append("  online:  " + yesNo(s.online, "yes", "no (offline)"))
            lines.append("  cover:   " + yesNo(s.coverOpen, "open", "closed"))
            lines.append("  paper:   " + (s.paper.map { $0 == .ok ? "ok" : ($0 == .nearEnd ? "near end" : "out") } ?? "unknown"))
            lines.append("  drawer:  " + yesNo(report.drawerOpen, "open", "closed")
                + (s.drawerSignalHigh.map { " (signal \($0 ? "high" : "low"))" } ?? ""))
            let errors = s.errors.map { $0.isEmpty ? "none" : $0.map(\.rawValue).joined(separator: ", ") } ?? "unknown"
            lines.append("  errors:  " + errors)
            lines.append(report.problem.map { "Not ready: \($0)." } ?? "Ready.")
            return lines.joined(separator: "\n")
        }
    }
}
