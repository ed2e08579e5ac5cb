import ChildProcess
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension KassaEnvironment {
    /// The systemd unit's places (`make install` writes `<prefix>/lib/systemd/system`), in systemd's order.
    static let unitDirectories = ["/etc/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"]

    /// `kassa doctor`'s checks of `kassa serve`: the systemd unit, the port, and the token file.
    func serviceChecks(unitDirectories: [String] = Self.unitDirectories) -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        func add(_ name: String, _ result: DoctorCheck.Result, _ detail: String, fix: String? = nil) {
            checks.append(DoctorCheck(name: name, result: result, detail: detail, fix: fix))
        }

        // The unit: installed, and running where systemd runs.
        if let unit = unitDirectories.map({ $0 + "/kassa.service" }).first(where: { FileManager.default.fileExists(atPath: $0) }) {
            if FileManager.default.fileExists(atPath: "/run/systemd/system"), let state = Self.command("/usr/bin/systemctl", ["is-active", "kassa.service"]) {
                if state == "active" {
                    add("service unit", .pass, "\(unit) is installed and active")
                } else {
                    add("service unit", .warn, "\(unit) is installed but \(state.isEmpty ? "not active" : state)",
                        fix: "sudo systemctl enable --now kassa; journalctl -u kassa says why it stopped")
                }
            } else {
                add("service unit", .pass, "\(unit) is installed (systemd is not running here, so its state is unknown)")
            }
        } else {
            add("service unit", .warn, "kassa.service is not installed: the service runs only when started by hand (kassa serve)",
                fix: "make install PREFIX=/usr/local, then sudo systemctl enable --now kassa")
        }

        // The port: is it kassa serve that answers there?
        let listen = config.serve.listen
        if let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), port > 0 {
            var host = String(listen[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            if host == "0.0.0.0" { host = "127.0.0.1" } else if host == "::" { host = "::1" }
            switch Self.health(host: host, port: port) {
            case .answered(let version):
                add("service port", .pass, "kassa serve \(version) answers on \(listen)")
            case .refused:
                add("service port", .warn, "nothing listens on \(listen): web front ends cannot print",
                    fix: "start the service: sudo systemctl start kassa (or kassa serve)")
            case .other(let what):
                add("service port", .fail, "\(listen) is taken by something that is not kassa serve (\(what))",
                    fix: "stop that program, or choose another port: [serve] listen in kassa.toml")
            }
        }

        // The token file: present, the user's own, and readable by nobody else.
        let tokens = home.root.appendingPathComponent("serve-tokens.json").path
        var info = stat()
        if stat(tokens, &info) != 0 {
            add("service tokens", .warn, "no tokens yet (\(tokens)): every request but /v1/health is refused",
                fix: "kassa serve token add --user USER --scope print,drawer")
        } else if info.st_mode & 0o077 != 0 {
            add("service tokens", .fail, "\(tokens) has mode \(String(info.st_mode & 0o777, radix: 8)): other users can read the token hashes",
                fix: "chmod 600 \(tokens)")
        } else if info.st_uid != getuid() {
            add("service tokens", .warn, "\(tokens) belongs to uid \(info.st_uid), not to this user (\(getuid())): the service may not read it",
                fix: "run kassa as the service's user (sudo -u kassa kassa …), or chown it")
        } else {
            add("service tokens", .pass, "\(tokens) is 0600 and this user's own")
        }
        return checks
    }

    enum HealthAnswer: Equatable {
        case answered(version: String)
        case refused
        case other(String)
    }

    /// `GET /v1/health` over a plain socket, 2 s at most.
    static func health(host: String, port: Int) -> HealthAnswer {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return .other("\(host) does not resolve") }
        defer { freeaddrinfo(list) }
        let socket = Glibc.socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return .other("no socket: errno \(errno)") }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(socket, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            return errno == ECONNREFUSED ? .refused : .other("connect: errno \(errno)")
        }
        let request = Array("GET /v1/health HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        guard Glibc.send(socket, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return .other("the request could not be sent") }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while answer.count < 65536 {
            let count = Glibc.recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        let text = String(decoding: answer, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 200"), let start = text.range(of: "\r\n\r\n"),
              let json = try? JSONSerialization.jsonObject(with: Data(text[start.upperBound...].utf8)) as? [String: Any],
              let version = json["version"] as? String
        else { return .other(text.isEmpty ? "no answer" : String(text.prefix(40)).replacingOccurrences(of: "\r\n", with: " ")) }
        return .answered(version: version)
    }

    /// A command's first line of output, nil when it cannot run (or does not end within 5 s).
    static func command(_ path: String, _ arguments: [String]) -> String? {
        guard FileManager.default.isExecutableFile(atPath: path),
              let outcome = try? ChildProcess.run(path, arguments, stderr: .discard, timeout: .seconds(5))
        else { return nil }
        return String(decoding: outcome.stdout, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    }
}
