import Foundation

/// Where a device is, as the user writes it. See README "Device URLs".
public enum DeviceURL: Sendable, Equatable, CustomStringConvertible {
    /// The virtual printer; `simulate` holds conditions to report, e.g. `virtual:?paper=out`.
    case virtual(simulate: [String: String] = [:])
    case tcp(host: String, port: UInt16)
    case file(path: String)
    /// A USB printer by vendor:product, optionally narrowed by serial number or USB port path (e.g. `1-1.4`).
    case usb(vendor: UInt16, product: UInt16, serial: String? = nil, port: String? = nil)
    case serial(path: String, parameters: [String: String])

    public static let defaultTCPPort: UInt16 = 9100

    public init(parsing text: String) throws(TransportError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "virtual:" || trimmed == "virtual" || trimmed == "virtual://" {
            self = .virtual()
            return
        }
        if trimmed.hasPrefix("virtual:?") {
            self = .virtual(simulate: try Self.query(String(trimmed.dropFirst("virtual:?".count)), url: text))
            return
        }
        if trimmed.hasPrefix("file:") {
            var path = String(trimmed.dropFirst("file:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { throw .invalidURL(text, reason: "file: needs a path, e.g. file:/dev/usb/lp0") }
            self = .file(path: path)
            return
        }
        if trimmed.hasPrefix("tcp://") {
            let rest = String(trimmed.dropFirst("tcp://".count)).split(separator: "/").first.map(String.init) ?? ""
            var host = rest
            var port = Self.defaultTCPPort
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { throw .invalidURL(text, reason: "unclosed '[' in IPv6 address") }
                host = String(rest[rest.index(after: rest.startIndex)..<close])
                let after = rest[rest.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let value = UInt16(after.dropFirst()), value > 0 else { throw .invalidURL(text, reason: "the port is not a number from 1 to 65535") }
                    port = value
                }
            } else if let colon = rest.lastIndex(of: ":") {
                host = String(rest[..<colon])
                guard let value = UInt16(rest[rest.index(after: colon)...]), value > 0 else {
                    throw .invalidURL(text, reason: "the port is not a number from 1 to 65535")
                }
                port = value
            }
            guard !host.isEmpty else { throw .invalidURL(text, reason: "the host is missing") }
            self = .tcp(host: host, port: port)
            return
        }
        if trimmed.hasPrefix("usb://") {
            let rest = trimmed.dropFirst("usb://".count)
            let parts = rest.split(separator: "?", maxSplits: 1)
            let ids = parts.first?.split(separator: ":") ?? []
            guard ids.count == 2, let vendor = UInt16(ids[0], radix: 16), let product = UInt16(ids[1], radix: 16) else {
                throw .invalidURL(text, reason: "USB devices are written usb://VID:PID in hexadecimal, e.g. usb://04b8:0202")
            }
            let query = parts.count > 1 ? try Self.query(String(parts[1]), url: text) : [:]
            if let unknown = query.keys.first(where: { $0 != "serial" && $0 != "port" }) {
                throw .invalidURL(text, reason: "unknown USB setting '\(unknown)' (known: serial, port)")
            }
            self = .usb(vendor: vendor, product: product, serial: query["serial"], port: query["port"])
            return
        }
        if trimmed.hasPrefix("serial://") {
            let rest = trimmed.dropFirst("serial://".count)
            let parts = rest.split(separator: "?", maxSplits: 1)
            guard let path = parts.first, path.hasPrefix("/") else {
                throw .invalidURL(text, reason: "serial ports are written serial:///dev/ttyUSB0?baud=9600")
            }
            self = .serial(path: String(path), parameters: parts.count > 1 ? try Self.query(String(parts[1]), url: text) : [:])
            return
        }
        if trimmed.hasPrefix("/") {
            self = .file(path: trimmed)
            return
        }
        throw .invalidURL(text, reason: "unknown scheme")
    }

    /// `key=value&key=value`: every key named once and not empty (a value may be empty); percent-escapes decoded.
    static func query(_ text: String, url: String) throws(TransportError) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: false) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = kv.first, !key.isEmpty else {
                throw .invalidURL(url, reason: "a setting after '?' is written key=value, and settings are joined with '&'")
            }
            let value = kv.count > 1 ? String(kv[1]) : ""
            guard result[String(key)] == nil else { throw .invalidURL(url, reason: "the setting '\(key)' is given twice") }
            result[String(key)] = value.removingPercentEncoding ?? value
        }
        return result
    }

    public var description: String {
        switch self {
        case .virtual(let simulate):
            let query = simulate.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
            return "virtual:" + (query.isEmpty ? "" : "?" + query)
        case .tcp(let host, let port): return "tcp://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        case .file(let path): return "file:\(path)"
        case .usb(let vendor, let product, let serial, let port):
            let query = [serial.map { "serial=\($0)" }, port.map { "port=\($0)" }].compactMap { $0 }.joined(separator: "&")
            return String(format: "usb://%04x:%04x", vendor, product) + (query.isEmpty ? "" : "?" + query)
        case .serial(let path, let parameters):
            let query = parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
            return "serial://\(path)" + (query.isEmpty ? "" : "?" + query)
        }
    }
}
