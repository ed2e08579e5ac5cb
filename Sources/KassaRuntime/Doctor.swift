import DeviceDiscovery
import DeviceTransport
import ESCPOS
import Foundation
import ReceiptLayout

#if canImport(Glibc)
import Glibc
#endif

/// One line of `kassa doctor`.
public struct DoctorCheck: Sendable, Codable {
    public enum Result: String, Sendable, Codable { case pass, warn, fail }
    public var name: String
    public var result: Result
    public var detail: String
    /// What to do about a warning or failure.
    public var fix: String?
}

public struct DoctorReport: Sendable, Codable {
    public var checks: [DoctorCheck]
    public var ok: Bool { !checks.contains { $0.result == .fail } }
}

extension KassaEnvironment {
    /// Checks the whole chain: libraries, udev rules, permissions, configuration, every device, status and drawers.
    public func doctor(rulesDirectory: URL = URL(fileURLWithPath: "/etc/udev/rules.d"), probeDevices: Bool = true, database: String? = nil)
        -> DoctorReport
    {
        var checks: [DoctorCheck] = []
        func add(_ name: String, _ result: DoctorCheck.Result, _ detail: String, fix: String? = nil) {
            checks.append(DoctorCheck(name: name, result: result, detail: detail, fix: fix))
        }

        // Libraries.
        if SystemLibraries.libusbUsable {
            add("libusb", .pass, "libusb \(SystemLibraries.libusbVersion) initialises")
        } else {
            add("libusb", .fail, "libusb cannot be initialised", fix: "sudo apt-get install libusb-1.0-0")
        }
        if SystemLibraries.udevUsable {
            add("libudev", .pass, "libudev is available")
        } else {
            add("libudev", .fail, "libudev is not available", fix: "sudo apt-get install libudev1")
        }

        // udev rules.
        // `kassa udev install` writes /etc/udev/rules.d; `make install` writes <prefix>/lib/udev/rules.d, which udev reads too.
        var ruleDirectories = [rulesDirectory]
        if rulesDirectory.path == "/etc/udev/rules.d" {
            ruleDirectories += ["/usr/local/lib/udev/rules.d", "/usr/lib/udev/rules.d", "/lib/udev/rules.d"].map { URL(fileURLWithPath: $0) }
        }
        let installed = ruleDirectories.map { $0.appendingPathComponent(UdevRules.fileName) }
            .first { FileManager.default.fileExists(atPath: $0.path) } ?? rulesDirectory.appendingPathComponent(UdevRules.fileName)
        if let shipped = try? loadUdevRules().text {
            if let present = FileManager.default.contents(atPath: installed.path) {
                let text = String(decoding: present, as: UTF8.self)
                // A rule that makes device nodes writable by every local user lets anyone print or open the drawer.
                let worldWritable = text.split(separator: "\n").filter { line in
                    !line.hasPrefix("#") && Self.ruleModes(line).contains { $0 & 0o002 != 0 }
                }
                if !worldWritable.isEmpty {
                    add("udev rules", .fail, "\(installed.path) makes devices world-writable (\(worldWritable.count) rule(s) with a MODE "
                        + "others may write, e.g. \(worldWritable[0].trimmingCharacters(in: .whitespaces).prefix(80))): any local user could print "
                        + "or open the drawer", fix: "sudo kassa udev install (0660, group kassa)")
                } else if text == shipped {
                    add("udev rules", .pass, "\(installed.path) is installed and current")
                } else {
                    add("udev rules", .warn, "\(installed.path) differs from this version's rules", fix: "sudo kassa udev install")
                }
            } else {
                add("udev rules", .fail, "\(installed.path) is not installed: printers and adapters may be root-only",
                    fix: "sudo kassa udev install")
            }
        } else {
            add("udev rules", .warn, "the shipped rules file was not found at \(udevRulesFile.path)")
        }

        // Group membership.
        let groups = Self.currentGroups()
        if getuid() == 0 {
            add("groups", .warn, "running as root: a till should run as a normal user in the 'kassa' group (root can also "
                + "roll back the journal's files, and files it creates are root's)", fix: "run kassa as the till's user; "
                + "sudo usermod -aG kassa USER")
        } else if let member = ["kassa", "lp", "dialout"].first(where: groups.contains) {
            add("groups", .pass, "this user is in the '\(member)' group (all: \(groups.sorted().joined(separator: ", ")))")
        } else {
            add("groups", .fail, "this user is in none of the groups kassa, lp, dialout",
                fix: "sudo usermod -aG kassa $USER, then log in again")
        }

        // Configuration.
        add("configuration", .pass, config.devices.isEmpty
            ? "no devices configured in \(home.root.appendingPathComponent("kassa.toml").path); the virtual printer is the default"
            : "\(config.devices.count) device(s) configured: \(config.devices.keys.sorted().joined(separator: ", "))")

        // Discovered devices: node permissions and the driver that holds them.
        var discovered: [DeviceListing] = []
        do {
            discovered = try discoverDevices()
            add("discovery", .pass, "\(discovered.count) device(s) found")
        } catch {
            add("discovery", .fail, error.description, fix: "check that /sys is mounted and libudev is installed")
        }
        for listing in discovered {
            let device = listing.device
            let label = "\(device.kind.rawValue) \(device.devnode ?? device.syspath)"
            if let node = device.devnode {
                if access(node, R_OK | W_OK) == 0 {
                    let holder = device.driver.map { " (driver: \($0))" } ?? ""
                    add(label, .pass, "readable and writable\(holder); url \(listing.url)"
                        + (listing.profile.map { "; profile \($0)" } ?? ""))
                    if let processes = DeviceHolders.describe(holding: node) {
                        add(label, .warn, "open in \(processes); Kassa cannot use it while they hold it",
                            fix: "stop those programs (for CUPS: remove the printer queue or set usb-no-reattach)")
                    }
                } else {
                    add(label, .fail, "no read/write access to \(node) (\(String(cString: strerror(errno))))", fix: Self.accessFix(device.kind))
                }
            }
            if device.kind == .usbPrinter, device.driver == "usblp" {
                add(label, .warn, "the usblp kernel driver holds the printer; Kassa detaches it for usb:// (or use file:/dev/usb/lpN)")
            }
        }

        // Configured devices: open, status, paper, drawer.
        for device in config.devices.values.sorted(by: { $0.name < $1.name }) where probeDevices {
            let label = "device '\(device.name)'"
            let resolved: ResolvedDevice
            do {
                resolved = try resolveDevice(device.name, profile: nil)
            } catch {
                add(label, .fail, error.description, fix: "fix the [devices.\(device.name)] table in kassa.toml")
                continue
            }
            do {
                let report = try status(of: resolved)
                if let problem = report.problem {
                    add(label, .fail, "\(resolved.url) opens, but \(problem)")
                } else if report.status.paper == .nearEnd {
                    add(label, .warn, "\(resolved.url) is ready; the paper is nearly out", fix: "have a new roll ready")
                } else {
                    add(label, .pass, "\(resolved.url) is online, cover closed, paper ok")
                }
            } catch {
                switch error {
                case .statusUnavailable:
                    add(label, .warn, "\(resolved.url) opens, but status is unavailable: \(error.description)")
                default:
                    add(label, .fail, error.description)
                }
            }
            let drawer = resolved.drawer
            if !resolved.profile.features.drawerPulse {
                add("\(label) drawer", .warn, "profile \(resolved.profile.id) has no drawer pulse")
            } else if drawer.offMilliseconds < drawer.onMilliseconds {
                add("\(label) drawer", .warn, "off time \(drawer.offMilliseconds) ms is shorter than on time; printers then use the on time",
                    fix: "set off >= on in [devices.\(device.name).drawer]")
            } else {
                add("\(label) drawer", .pass, "pin \(drawer.pin), \(drawer.onMilliseconds) ms on / \(drawer.offMilliseconds) ms off, "
                    + "open when the signal is \(drawer.openWhenHigh ? "high" : "low")")
            }
        }
        checks += fiscalChecks(database: database)
        checks += serviceChecks()
        return DoctorReport(checks: checks)
    }

    static func currentGroups() -> Set<String> {
        var count = getgroups(0, nil)
        guard count > 0 else { return [] }
        var ids = [gid_t](repeating: 0, count: Int(count))
        count = getgroups(count, &ids)
        var names = Set<String>()
        for id in ids.prefix(Int(max(0, count))) {
            if let entry = getgrgid(id), let name = entry.pointee.gr_name { names.insert(String(cString: name)) }
        }
        return names
    }

    /// A page that shows the profile, each code page's national characters, styles and a QR code.
    public func testPage(for device: ResolvedDevice) -> Document {
        let profile = device.profile
        var blocks: [Block] = [
            .text(TextBlock("KASSA TEST PAGE", align: .center, bold: true, size: .init(width: 2, height: 2))),
            .text(TextBlock("\(profile.name) (\(profile.id))", align: .center)),
            .text(TextBlock("\(device.url)", align: .center)),
            .separator(SeparatorBlock()),
            .keyValue(KeyValueBlock(label: "Paper", value: "\(Int(profile.paper.widthMillimetres)) mm, \(profile.paper.dots) dots")),
            .keyValue(KeyValueBlock(label: "Columns", value: profile.fonts.map { "\($0.name) \($0.columns)" }.joined(separator: ", "))),
            .separator(SeparatorBlock()),
            .text(TextBlock("Svenska/Dansk/Norsk: åäö ÅÄÖ æø ÆØ")),
            .text(TextBlock("Deutsch: äöü ÄÖÜ ß")),
            .text(TextBlock("Polski: ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ")),
            .text(TextBlock("Euro: 12,50 €")),
            .separator(SeparatorBlock()),
            .text(TextBlock("Bold", bold: true)),
            .text(TextBlock("Double height", size: .init(width: 1, height: 2))),
            .text(TextBlock("Font B", font: .b)),
            .separator(SeparatorBlock()),
            .text(TextBlock("Code pages: " + profile.usableCodePages.prefix(12).map { "\($0.slot)=\($0.page.name)" }.joined(separator: " "))),
            .qr(QRBlock(data: "https://kassa.example/test?profile=\(profile.id)")),
        ]
        blocks.append(.cut(CutBlock(kind: "partial")))
        var document = Document(currency: "EUR", blocks: blocks)
        document.cut = false
        return document
    }

    /// The octal modes a udev rule line assigns (`MODE="0666"`, `MODE:="666"`).
    static func ruleModes(_ line: Substring) -> [Int] {
        var modes: [Int] = []
        var rest = line[...]
        while let range = rest.range(of: "MODE") {
            rest = rest[range.upperBound...]
            let assignment = rest.drop { $0 == ":" || $0 == "=" || $0 == " " }
            guard assignment.first == "\"" else { continue }
            let digits = assignment.dropFirst().prefix { $0 != "\"" }
            if let mode = Int(digits, radix: 8) { modes.append(mode) }
        }
        return modes
    }

    /// What gives this user access to a device node: a built-in UART is not hot-plugged and not matched by Kassa's rules
    /// (its node belongs to the 'dialout' group); USB devices get Kassa's rules, the 'kassa' group and a replug.
    public static func accessFix(_ kind: DiscoveredDevice.Kind) -> String {
        kind == .serialPort ? "sudo usermod -aG dialout $USER, then log in again"
            : "sudo kassa udev install; sudo usermod -aG kassa $USER; then replug the device"
    }
}
