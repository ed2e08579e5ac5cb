import Foundation

/// Which processes have a device open, read from /proc (only the processes this user may inspect).
public enum DeviceHolders {
    public struct Holder: Sendable, Equatable, Codable, CustomStringConvertible {
        public var pid: Int32
        public var command: String
        public var description: String { "\(command) (pid \(pid))" }
    }

    public static func processes(holding path: String, procRoot: String = "/proc") -> [Holder] {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: procRoot) else { return [] }
        var holders: [Holder] = []
        for entry in entries {
            guard let pid = Int32(entry) else { continue }
            let fdDirectory = "\(procRoot)/\(entry)/fd"
            guard let descriptors = try? FileManager.default.contentsOfDirectory(atPath: fdDirectory) else { continue }
            let holds = descriptors.contains { descriptor in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(descriptor)")) == target
            }
            guard holds else { continue }
            let command = (try? String(contentsOfFile: "\(procRoot)/\(entry)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            holders.append(Holder(pid: pid, command: command))
        }
        return holders.sorted { $0.pid < $1.pid }
    }

    /// "cupsd (pid 812), kassa (pid 1200)", or nil when nobody visible holds it.
    public static func describe(holding path: String) -> String? {
        let holders = processes(holding: path).filter { $0.pid != getpid() }
        return holders.isEmpty ? nil : holders.map(\.description).joined(separator: ", ")
    }
}
