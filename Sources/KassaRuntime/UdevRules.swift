import Foundation

/// Kassa's udev rules file: checked line by line, and installed by `kassa udev install`.
public struct UdevRules: Sendable {
    public struct Rule: Sendable, Equatable {
        public var line: Int
        public var matches: [(key: String, op: String, value: String)]
        public var assignments: [(key: String, op: String, value: String)]

        public static func == (a: Rule, b: Rule) -> Bool {
            a.line == b.line && a.matches.map { "\($0)" } == b.matches.map { "\($0)" }
                && a.assignments.map { "\($0)" } == b.assignments.map { "\($0)" }
        }
    }

    public static let fileName = "60-kassa.rules"
    public let rules: [Rule]

    /// Keys udev accepts (with or without a `{attribute}` part), see udev(7).
    static let knownKeys: Set<String> = [
        "ACTION", "DEVPATH", "KERNEL", "KERNELS", "NAME", "SYMLINK", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER", "DRIVERS",
        "ATTR", "ATTRS", "SYSCTL", "ENV", "CONST", "TAG", "TAGS", "TEST", "PROGRAM", "RESULT", "OWNER", "GROUP", "MODE",
        "SECLABEL", "RUN", "LABEL", "GOTO", "IMPORT", "OPTIONS",
    ]

    /// Parses the rules, rejecting anything udev would not read or that would make a device world-writable.
    public init(text: String, source: String) throws(RuntimeError) {
        var rules: [Rule] = []
        var labels = Set<String>()
        var gotos: [(String, Int)] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var rule = Rule(line: number, matches: [], assignments: [])
            var rest = Substring(line)
            while !rest.isEmpty {
                rest = rest.drop { $0 == " " || $0 == "," }
                if rest.isEmpty { break }
                guard let opStart = rest.firstIndex(where: { "=!+-:".contains($0) }) else {
                    throw .config(path: source, line: number, reason: "expected KEY==\"value\" or KEY=\"value\"")
                }
                let key = String(rest[..<opStart])
                var afterKey = rest[opStart...]
                let op = ["==", "!=", "+=", "-=", ":=", "="].first { afterKey.hasPrefix($0) } ?? ""
                guard !op.isEmpty else { throw .config(path: source, line: number, reason: "unknown operator after \(key)") }
                afterKey = afterKey.dropFirst(op.count)
                guard afterKey.hasPrefix("\""), let close = afterKey.dropFirst().firstIndex(of: "\"") else {
                    throw .config(path: source, line: number, reason: "the value of \(key) must be in double quotes")
                }
                let value = String(afterKey[afterKey.index(after: afterKey.startIndex)..<close])
                rest = afterKey[afterKey.index(after: close)...]
                let baseKey = String(key.prefix { $0 != "{" })
                guard Self.knownKeys.contains(baseKey) else {
                    throw .config(path: source, line: number, reason: "unknown key \(key)")
                }
                if op == "==" || op == "!=" { rule.matches.append((key, op, value)) } else { rule.assignments.append((key, op, value)) }
                if baseKey == "MODE" {
                    guard let mode = Int(value, radix: 8), mode & 0o007 == 0 else {
                        throw .config(path: source, line: number, reason: "MODE=\"\(value)\" gives every user access; use 0660 and a group")
                    }
                }
                if baseKey == "LABEL" { labels.insert(value) }
                if baseKey == "GOTO" { gotos.append((value, number)) }
            }
            rules.append(rule)
        }
        for (label, line) in gotos where !labels.contains(label) {
            throw .config(path: source, line: line, reason: "GOTO \"\(label)\" has no LABEL")
        }
        self.rules = rules
    }

    /// The vendor:product pairs the rules grant access to.
    public var usbIDs: Set<String> {
        var result = Set<String>()
        for rule in rules {
            let vendor = rule.matches.first { $0.key.hasSuffix("{idVendor}") }?.value
            let product = rule.matches.first { $0.key.hasSuffix("{idProduct}") }?.value
            if let vendor, let product { result.insert("\(vendor):\(product)") }
        }
        return result
    }
}

/// What `kassa udev install` did.
public struct UdevInstallOutcome: Sendable, Codable {
    public var installedPath: String
    public var groupCreated: Bool
    public var reloaded: Bool
    public var notes: [String]
}

extension KassaEnvironment {
    /// The rules file shipped beside `Hardware/`.
    public var udevRulesFile: URL {
        hardware.deletingLastPathComponent().appendingPathComponent("udev").appendingPathComponent(UdevRules.fileName)
    }

    public func loadUdevRules() throws(RuntimeError) -> (text: String, rules: UdevRules) {
        guard let data = FileManager.default.contents(atPath: udevRulesFile.path) else {
            throw .inputUnreadable(path: udevRulesFile.path, reason: "the udev rules are missing from this installation")
        }
        let text = String(decoding: data, as: UTF8.self)
        return (text, try UdevRules(text: text, source: udevRulesFile.path))
    }

    /// Copies the rules into `directory`, creates the `kassa` group and asks udev to reload, as far as allowed.
    public func installUdevRules(into directory: URL, createGroup: Bool, reload: Bool) throws(RuntimeError) -> UdevInstallOutcome {
        let (text, _) = try loadUdevRules()
        let target = directory.appendingPathComponent(UdevRules.fileName)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: target, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target.path)
        } catch {
            throw .homeNotWritable(path: target.path, reason: "\((error as NSError).localizedDescription); run it with sudo")
        }
        var outcome = UdevInstallOutcome(installedPath: target.path, groupCreated: false, reloaded: false, notes: [])
        if createGroup {
            if Self.runTool("/usr/bin/getent", ["group", "kassa"]) == 0 {
                outcome.notes.append("the group 'kassa' exists")
            } else if Self.runTool("/usr/sbin/groupadd", ["--system", "kassa"]) == 0 {
                outcome.groupCreated = true
            } else {
                outcome.notes.append("could not create the group 'kassa': run `sudo groupadd --system kassa`")
            }
            outcome.notes.append("add the till's user to it: sudo usermod -aG kassa USER (then log in again)")
        }
        if reload {
            let udevadm = ["/usr/bin/udevadm", "/bin/udevadm", "/sbin/udevadm"].first { FileManager.default.isExecutableFile(atPath: $0) }
            if let udevadm, Self.runTool(udevadm, ["control", "--reload"]) == 0 {
                _ = Self.runTool(udevadm, ["trigger", "--subsystem-match=usb", "--subsystem-match=usbmisc", "--subsystem-match=tty"])
                outcome.reloaded = true
            } else {
                outcome.notes.append("udev was not reloaded (no running udev here); replug the printer or reboot")
            }
        }
        return outcome
    }

    static func runTool(_ path: String, _ arguments: [String]) -> Int32 {
        guard FileManager.default.isExecutableFile(atPath: path) else { return 127 }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return 126
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
