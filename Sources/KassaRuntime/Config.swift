import DeviceTransport
import Foundation
import StrictDecoding

/// `HOME/kassa.toml`: named devices, their profiles and their cash drawers.
///
/// ```toml
/// [devices.front]
/// url = "tcp://10.0.0.5:9100"
/// profile = "TM-T20III"
/// default = true
///
/// [devices.front.drawer]
/// pin = 2            # 2 or 5
/// on = 50            # ms
/// off = 500          # ms
/// open-when = "high" # the drawer signal level that means "open"
/// ```
public struct KassaConfig: Sendable, Equatable {
    public struct Drawer: Sendable, Equatable {
        public var pin: Int = 2
        public var onMilliseconds: Int = 50
        public var offMilliseconds: Int = 500
        /// Whether a high connector signal means the drawer is open (drawers differ).
        public var openWhenHigh: Bool = true
        public init() {}
    }

    public struct Device: Sendable, Equatable {
        public var name: String
        public var url: String
        public var profile: String?
        public var isDefault = false
        public var drawer = Drawer()
    }

    public var devices: [String: Device] = [:]
    /// `[serve]`: the local service (`kassa serve`; Docs/CLI.md).
    public struct Serve: Sendable, Equatable {
        /// `HOST:PORT`; loopback by default.
        public var listen: String = "127.0.0.1:8723"
        /// Origins a browser may call the API from (`*`: any); comma-separated in the file.
        public var allowedOrigins: [String] = []
        public var bodyLimit: Int = 10 * 1024 * 1024
        /// How often an idle device's status is read.
        public var pollMilliseconds: Int = 2000
        /// How long a print job may wait (held or queued) before it expires.
        public var jobMaxAgeSeconds: Int = 3600
        /// How long a drawer kick may wait: a drawer never opens long after the click.
        public var drawerMaxAgeSeconds: Int = 12
        /// How long an idle connection is kept.
        public var idleTimeoutSeconds: Int = 60
        /// How many print jobs a device owner may have sent and not yet seen confirmed (printers that answer the
        /// process-ID request); 1 sends each job only after the one before it printed (decision 0022).
        public var pipeline: Int = 4
        /// How long a device owner keeps the printer's connection open after its last job (network printers often
        /// take one client at a time, so it is not held for ever).
        public var lingerMilliseconds: Int = 2000
        /// How long a finished job stays in the spool (its state, error and payload; its idempotency key is
        /// remembered that long).
        public var keepDays: Int = 30
        /// HTTPS: the server certificate chain (PEM) and its key (`kassa serve cert` makes both); relative paths
        /// are taken from the Kassa home.
        public var tlsCertificate: String?
        public var tlsKey: String?
        /// The drop-in endpoints (Odoo `hw_proxy`, Epson ePOS-Print; Docs/compat.md): an extra listener for them alone
        /// (`HOST:PORT`, e.g. 127.0.0.1:8069, Odoo's default port), the machines beyond loopback that may call them
        /// (addresses or CIDR ranges), how long an identical receipt is answered from the job it made instead of printed
        /// again, how long an Odoo print waits for its outcome, and whether ePOS `<command>` (raw bytes) is allowed.
        public var odooListen: String?
        public var compatClients: [String] = []
        public var dedupeSeconds: Int = 10
        public var odooTimeoutSeconds: Int = 30
        public var eposCommand: Bool = false
    }
    public var serve = Serve()

    /// `[fiscal.control-unit]`: the Swedish control unit on a serial port (Docs/fiscal-devices.md). Without it the
    /// in-process simulator stands in (and prints `SIMULATOR-…` as the unit's id).
    public struct ControlUnit: Sendable, Equatable {
        /// `serial:///dev/ttyUSB0?baud=9600` (8N1 unless the URL says otherwise).
        public var url: String = ""
        /// How long one reply is awaited.
        public var timeoutMilliseconds: Int = 1000
        /// How many times one request is sent (the same frame each time).
        public var attempts: Int = 3
    }
    public var controlUnit: ControlUnit?
    /// `[fiscal.printer]`: a Datecs "X" fiscal printer on a serial port (same keys; a reply is awaited 500 ms by default).
    public var fiscalPrinter: ControlUnit?

    public init() {}

    public var defaultDevice: Device? {
        devices.values.first(where: \.isDefault) ?? (devices.count == 1 ? devices.values.first : nil)
    }

    /// Reads the file; a missing file is an empty configuration.
    public static func load(from url: URL) throws(RuntimeError) -> KassaConfig {
        guard FileManager.default.fileExists(atPath: url.path) else { return KassaConfig() }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .config(path: url.path, line: 0, reason: "the file cannot be read (permission denied)")
        }
        guard InputDecoding.firstInvalidUTF8Offset(Array(data)) == nil else {
            throw .config(path: url.path, line: 0, reason: "the file is not UTF-8")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: url.path)
    }

    /// The subset of TOML Kassa uses: `[tables]` with dotted names, `key = "string" | integer | true | false`, comments.
    public static func parse(_ text: String, path: String) throws(RuntimeError) -> KassaConfig {
        var config = KassaConfig()
        var table: [String] = []
        var seen: Set<String> = []
        if let control = text.unicodeScalars.first(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" && $0 != "\r" }) {
            throw .config(path: path, line: 0, reason: String(format: "the file contains the control character U+%04X", control.value))
        }
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = stripComment(String(rawLine)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), !line.hasPrefix("[[") else {
                    throw .config(path: path, line: number, reason: "a table header is written [devices.NAME]")
                }
                table = line.dropFirst().dropLast().split(separator: ".").map { $0.trimmingCharacters(in: .whitespaces) }
                if table == ["serve"] { continue }
                if table == ["fiscal", "control-unit"] {
                    if config.controlUnit == nil { config.controlUnit = ControlUnit() }
                    continue
                }
                if table == ["fiscal", "printer"] {
                    if config.fiscalPrinter == nil {
                        var printer = ControlUnit()
                        printer.timeoutMilliseconds = 500
                        config.fiscalPrinter = printer
                    }
                    continue
                }
                guard table.count >= 2, table[0] == "devices", !table[1].isEmpty, table.count == 2 || (table.count == 3 && table[2] == "drawer") else {
                    throw .config(path: path, line: number, reason: "unknown table [\(table.joined(separator: "."))]; "
                        + "use [devices.NAME], [devices.NAME.drawer], [serve], [fiscal.control-unit] and [fiscal.printer]")
                }
                let name = table[1]
                if config.devices[name] == nil { config.devices[name] = Device(name: name, url: "") }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw .config(path: path, line: number, reason: "expected key = value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard !seen.contains("\(table.joined(separator: ".")).\(key)") else {
                throw .config(path: path, line: number, reason: "'\(key)' is given twice in [\(table.joined(separator: "."))]")
            }
            seen.insert("\(table.joined(separator: ".")).\(key)")
            let value = try parseValue(line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces), path: path, line: number)
            if table == ["serve"] {
                try config.serve.set(key, value, path: path, line: number)
                continue
            }
            if table == ["fiscal", "control-unit"] {
                try config.controlUnit?.set(key, value, path: path, line: number)
                continue
            }
            if table == ["fiscal", "printer"] {
                try config.fiscalPrinter?.set(key, value, path: path, line: number, table: "fiscal.printer")
                continue
            }
            guard table.count >= 2, var device = config.devices[table[1]] else {
                throw .config(path: path, line: number, reason: "'\(key)' must be inside a [devices.NAME] table")
            }
            func string() throws(RuntimeError) -> String {
                guard case .string(let text) = value else { throw .config(path: path, line: number, reason: "'\(key)' must be a string") }
                return text
            }
            func integer(_ range: ClosedRange<Int>) throws(RuntimeError) -> Int {
                guard case .integer(let number) = value, range.contains(number) else {
                    throw .config(path: path, line: number, reason: "'\(key)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
                }
                return number
            }
            switch (table.count == 3, key) {
            case (false, "url"): device.url = try string()
            case (false, "profile"): device.profile = try string()
            case (false, "default"):
                guard case .bool(let flag) = value else { throw .config(path: path, line: number, reason: "'default' must be true or false") }
                device.isDefault = flag
            case (true, "pin"):
                let pin = try integer(2...5)
                guard pin == 2 || pin == 5 else { throw .config(path: path, line: number, reason: "the drawer pin is 2 or 5") }
                device.drawer.pin = pin
            case (true, "on"): device.drawer.onMilliseconds = try integer(2...510)
            case (true, "off"): device.drawer.offMilliseconds = try integer(2...510)
            case (true, "open-when"):
                switch try string() {
                case "high": device.drawer.openWhenHigh = true
                case "low": device.drawer.openWhenHigh = false
                default: throw .config(path: path, line: number, reason: "'open-when' is \"high\" or \"low\"")
                }
            default:
                let known: Set<String> = table.count == 3 ? ["pin", "on", "off", "open-when"] : ["url", "profile", "default"]
                let hint = StrictJSONDecoder.closest(to: key, in: known).map { "; did you mean '\($0)'?" }
                    ?? "; known keys: \(known.sorted().joined(separator: ", "))"
                throw .config(path: path, line: number, reason: "unknown key '\(key)' in [\(table.joined(separator: "."))]\(hint)")
            }
            config.devices[table[1]] = device
        }
        for device in config.devices.values where device.url.isEmpty {
            throw .config(path: path, line: 0, reason: "device '\(device.name)' has no url")
        }
        if let unit = config.controlUnit, unit.url.isEmpty {
            throw .config(path: path, line: 0, reason: "[fiscal.control-unit] has no url (serial:///dev/ttyUSB0?baud=9600)")
        }
        if let printer = config.fiscalPrinter, printer.url.isEmpty {
            throw .config(path: path, line: 0, reason: "[fiscal.printer] has no url (serial:///dev/ttyUSB0?baud=115200)")
        }
        if config.devices.values.filter(\.isDefault).count > 1 {
            throw .config(path: path, line: 0, reason: "more than one device says default = true")
        }
        return config
    }

    enum Value {
        case string(String), integer(Int), bool(Bool)

        /// A whole number within `range`, or the error that names the key and the range.
        func integer(_ key: String, _ range: ClosedRange<Int>, path: String, line: Int) throws(RuntimeError) -> Int {
            guard case .integer(let number) = self, range.contains(number) else {
                throw .config(path: path, line: line, reason: "'\(key)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
    }
}

extension KassaConfig.Serve {
    mutating func set(_ key: String, _ value: KassaConfig.Value, path: String, line: Int) throws(RuntimeError) {
        func integer(_ range: ClosedRange<Int>) throws(RuntimeError) -> Int { try value.integer(key, range, path: path, line: line) }
        func string() throws(RuntimeError) -> String {
            guard case .string(let text) = value else { throw .config(path: path, line: line, reason: "'\(key)' must be a string") }
            return text
        }
        switch key {
        case "listen": listen = try string()
        case "allowed-origins":
            allowedOrigins = try string().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case "body-limit": bodyLimit = try integer(1024...(256 * 1024 * 1024))
        case "poll-ms": pollMilliseconds = try integer(100...600_000)
        case "job-max-age": jobMaxAgeSeconds = try integer(1...604_800)
        case "drawer-max-age": drawerMaxAgeSeconds = try integer(1...60)
        case "idle-timeout": idleTimeoutSeconds = try integer(1...3600)
        case "pipeline": pipeline = try integer(1...32)
        case "linger-ms": lingerMilliseconds = try integer(0...600_000)
        case "keep-days": keepDays = try integer(1...3650)
        case "tls-cert": tlsCertificate = try string()
        case "tls-key": tlsKey = try string()
        case "odoo-listen": odooListen = try string()
        case "compat-clients":
            compatClients = try string().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case "dedupe-seconds": dedupeSeconds = try integer(0...300)
        case "odoo-timeout": odooTimeoutSeconds = try integer(1...300)
        case "epos-command":
            guard case .bool(let flag) = value else { throw .config(path: path, line: line, reason: "'epos-command' must be true or false") }
            eposCommand = flag
        default:
            let known: Set<String> = ["listen", "allowed-origins", "body-limit", "poll-ms", "job-max-age", "drawer-max-age", "idle-timeout",
                                      "tls-cert", "tls-key", "pipeline", "linger-ms", "keep-days", "odoo-listen", "compat-clients",
                                      "dedupe-seconds", "odoo-timeout", "epos-command"]
            let hint = StrictJSONDecoder.closest(to: key, in: known).map { "; did you mean '\($0)'?" } ?? "; known keys: \(known.sorted().joined(separator: ", "))"
            throw .config(path: path, line: line, reason: "unknown key '\(key)' in [serve]\(hint)")
        }
    }
}

extension KassaConfig.ControlUnit {
    mutating func set(_ key: String, _ value: KassaConfig.Value, path: String, line: Int, table: String = "fiscal.control-unit") throws(RuntimeError) {
        func integer(_ range: ClosedRange<Int>) throws(RuntimeError) -> Int { try value.integer(key, range, path: path, line: line) }
        switch key {
        case "url":
            guard case .string(let text) = value else { throw .config(path: path, line: line, reason: "'url' must be a string") }
            do {
                guard case .serial(_, let parameters) = try DeviceURL(parsing: text) else {
                    throw RuntimeError.config(path: path, line: line, reason: "a fiscal device is on a serial port: url = \"serial:///dev/ttyUSB0?baud=9600\"")
                }
                _ = try SerialSettings(parameters: parameters, url: text)
            } catch let error as RuntimeError {
                throw error
            } catch {
                throw .config(path: path, line: line, reason: "\(error)")
            }
            url = text
        case "timeout-ms": timeoutMilliseconds = try integer(100...10_000)
        case "attempts": attempts = try integer(1...10)
        default:
            let known: Set<String> = ["url", "timeout-ms", "attempts"]
            let hint = StrictJSONDecoder.closest(to: key, in: known).map { "; did you mean '\($0)'?" } ?? "; known keys: \(known.sorted().joined(separator: ", "))"
            throw .config(path: path, line: line, reason: "unknown key '\(key)' in [\(table)]\(hint)")
        }
    }
}

extension KassaConfig {

    static func parseValue(_ text: String, path: String, line: Int) throws(RuntimeError) -> Value {
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        if let number = Int(text.replacingOccurrences(of: "_", with: "")) { return .integer(number) }
        guard text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") else {
            throw .config(path: path, line: line, reason: "a value is a \"string\", a whole number, true or false")
        }
        var result = ""
        var escaped = false
        for character in text.dropFirst().dropLast() {
            if escaped {
                switch character {
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "\\": result.append("\\")
                case "\"": result.append("\"")
                default: throw .config(path: path, line: line, reason: "unknown escape \\\(character)")
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                throw .config(path: path, line: line, reason: "a quote inside a string must be written \\\"")
            } else {
                result.append(character)
            }
        }
        return .string(result)
    }

    /// Drops a `#` comment that is not inside a string.
    static func stripComment(_ line: String) -> String {
        var inString = false
        var previous: Character = " "
        for (offset, character) in line.enumerated() {
            if character == "\"" && previous != "\\" { inString.toggle() }
            if character == "#" && !inString { return String(line.prefix(offset)) }
            previous = character
        }
        return line
    }
}
