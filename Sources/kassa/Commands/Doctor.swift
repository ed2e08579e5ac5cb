import ArgumentParser
import Foundation
import KassaRuntime

extension Kassa {
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the whole chain — libraries, udev rules, permissions, devices, status, drawers — with a fix for each failure.",
            discussion: "Exit 0 when nothing failed (warnings allowed), 8 when a check failed."
        )

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: "Where udev rules are installed.")
        var rulesDir: String = "/etc/udev/rules.d"

        @Flag(name: .long, help: "Also print a test page (profile, national characters, styles, QR) on --device.")
        var testPage = false

        @OptionGroup var target: DeviceOptions

        @Option(name: .long, help: "The terminal's database, for the fiscal checks (default HOME/kassa.sqlite).")
        var database: String?

        func run() throws {
            let report: DoctorReport
            var testPageOutcome: PrintOutcome?
            do {
                let environment = try global.environment()
                report = environment.doctor(rulesDirectory: URL(fileURLWithPath: rulesDir), database: database)
                if testPage {
                    let device = try target.resolve(in: environment)
                    let layout = try environment.layout(environment.testPage(for: device), profile: device.profile, baseDirectory: nil)
                    testPageOutcome = try environment.send(layout.bytes, copies: 1, device: device, previewPath: nil,
                                                           warnings: layout.warnings)
                }
            } catch {
                throw fail(error, json: global.json)
            }
            if global.json {
                struct Output: Encodable {
                    var ok: Bool
                    var checks: [DoctorCheck]
                    var testPage: PrintOutcome?
                }
                printJSON(Output(ok: report.ok, checks: report.checks, testPage: testPageOutcome))
            } else {
                for check in report.checks {
                    let mark = ["pass": "PASS", "warn": "WARN", "fail": "FAIL"][check.result.rawValue]!
                    print("\(mark)  \(check.name): \(check.detail)")
                    if let fix = check.fix, check.result != .pass { print("      fix: \(fix)") }
                }
                if let outcome = testPageOutcome {
                    print("Test page sent to \(outcome.device)" + (outcome.previewPNG.map { "; preview: \($0)" } ?? "") + ".")
                }
                print(report.ok ? "No problems found." : "Some checks failed: see the fixes above.")
            }
            if !report.ok { throw ExitCode(8) }
        }
    }
}
