import ArgumentParser
import ESCPOS
import Foundation
import KassaRuntime

extension Kassa {
    struct Profiles: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List printer profiles, or show one.",
            discussion: "Your own profiles go in HOME/profiles/*.json (format: Docs/profile-format.md); no rebuild needed."
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Show this profile in full.")
        var name: String?

        func run() throws {
            do {
                try perform()
            } catch {
                throw fail(error, json: global.json)
            }
        }

        func perform() throws(RuntimeError) {
                let environment = try global.environment()
                if let name {
                    let profile = try environment.profile(named: name)
                    if global.json { printJSON(profile) } else { print(describe(profile)) }
                    return
                }
                let entries = environment.catalog.entries.values.sorted { $0.profile.id < $1.profile.id }
                if global.json {
                    struct Row: Encodable {
                        var id, name, vendor, origin: String
                        var dots: Int
                        var columns: [Int]
                        var nativeQR, cutter: Bool
                    }
                    printJSON(entries.map {
                        Row(id: $0.profile.id, name: $0.profile.name, vendor: $0.profile.vendor, origin: $0.origin,
                            dots: $0.profile.paper.dots, columns: $0.profile.fonts.map(\.columns),
                            nativeQR: $0.profile.features.nativeQR,
                            cutter: $0.profile.features.fullCut || $0.profile.features.partialCut)
                    })
                    return
                }
                let header = pad("PROFILE", 18) + pad("VENDOR", 16) + pad("PAPER", 14) + pad("COLUMNS", 9) + "FEATURES"
                var lines = [header]
                for entry in entries {
                    let p = entry.profile
                    var features: [String] = []
                    if p.features.nativeQR { features.append("qr") }
                    if p.features.fullCut || p.features.partialCut { features.append("cut") }
                    if p.features.drawerPulse { features.append("drawer") }
                    if p.features.rasterImage { features.append("image") }
                    if entry.origin != "builtin" { features.append("(user)") }
                    lines.append(pad(p.id, 18) + pad(p.vendor, 16) + pad("\(Int(p.paper.widthMillimetres)) mm/\(p.paper.dots)", 14)
                        + pad(p.fonts.map { String($0.columns) }.joined(separator: "/"), 9) + features.joined(separator: " "))
                }
                for problem in environment.catalog.problems { lines.append("warning: \(problem)") }
                lines.append("Add your own: \(environment.home.profiles.path)/NAME.json (see Docs/profile-format.md).")
                print(lines.joined(separator: "\n"))
        }

        func describe(_ p: PrinterProfile) -> String {
            var lines = ["\(p.id): \(p.name) (\(p.vendor))"]
            if !p.notes.isEmpty { lines.append(p.notes) }
            lines.append("Paper: \(p.paper.widthMillimetres) mm, \(p.paper.dots) dots at \(p.paper.dpi) dpi")
            lines.append("Fonts: " + p.fonts.map { "\($0.name) \($0.columns) columns" }.joined(separator: ", "))
            lines.append("Code pages: " + p.usableCodePages.map { "\($0.slot)=\($0.page.name)" }.joined(separator: " "))
            let f = p.features
            lines.append("Native QR: \(f.nativeQR)  Full cut: \(f.fullCut)  Partial cut: \(f.partialCut)  "
                + "Raster images: \(f.rasterImage)  Drawer pulse: \(f.drawerPulse)  Beeper: \(f.beeper)")
            return lines.joined(separator: "\n")
        }

        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }
    }
}
