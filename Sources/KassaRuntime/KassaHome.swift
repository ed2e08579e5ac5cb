import Foundation
import PrivateFiles

/// Where Kassa keeps its state: config, user profiles, previews (and later the database).
///
/// Chosen in this order: `--home DIR`, `$KASSA_HOME`, `$XDG_DATA_HOME/kassa`, `~/.local/share/kassa`.
public struct KassaHome: Sendable {
    public let root: URL

    public init(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let explicit, !explicit.isEmpty {
            root = URL(fileURLWithPath: explicit, isDirectory: true)
        } else if let home = environment["KASSA_HOME"], !home.isEmpty {
            root = URL(fileURLWithPath: home, isDirectory: true)
        } else if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
            root = URL(fileURLWithPath: xdg, isDirectory: true).appendingPathComponent("kassa", isDirectory: true)
        } else {
            let user = environment["HOME"] ?? NSHomeDirectory()
            root = URL(fileURLWithPath: user, isDirectory: true)
                .appendingPathComponent(".local/share/kassa", isDirectory: true)
        }
    }

    public var previews: URL { root.appendingPathComponent("previews", isDirectory: true) }
    public var profiles: URL { root.appendingPathComponent("profiles", isDirectory: true) }

    /// Creates `directory` (and parents) with mode 0700, whatever the umask, or explains why it cannot: the home
    /// holds the terminal's database, its keys and its previews, which are the till user's alone.
    public func ensure(_ directory: URL) throws(RuntimeError) {
        do {
            try PrivateFiles.makeDirectory(directory.path)
        } catch {
            throw .homeNotWritable(path: directory.path, reason: String(cString: strerror(error.code)))
        }
    }
}

/// Where the running binary is, and the data installed beside it (`make install`: `<prefix>/bin/kassa` with
/// `<prefix>/share/kassa/`).
public enum InstallLayout {
    /// The running executable, from `/proc/self/exe` (argv[0] is only a name when the binary was found on PATH).
    public static var executable: URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
    }

    /// `<prefix>/share/kassa` of an installed binary.
    public static var shareDirectory: URL {
        executable.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("share/kassa", isDirectory: true)
    }
}

/// Finds the `Hardware/` data folder (profiles, USB map, fonts).
public enum HardwareLocator {
    /// `$KASSA_HARDWARE`, then `<prefix>/share/kassa/Hardware` next to an installed binary,
    /// then the nearest `Hardware/` above the executable (a source checkout).
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        let fm = FileManager.default
        func valid(_ url: URL) -> Bool { fm.fileExists(atPath: url.appendingPathComponent("profiles").path) }
        if let explicit = environment["KASSA_HARDWARE"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit, isDirectory: true)
        }
        let executable = InstallLayout.executable
        var candidates: [URL] = []
        let binDir = executable.deletingLastPathComponent()
        candidates.append(binDir.deletingLastPathComponent().appendingPathComponent("share/kassa/Hardware"))
        var directory = binDir
        for _ in 0..<8 {
            candidates.append(directory.appendingPathComponent("Hardware"))
            directory = directory.deletingLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("Hardware"))
        candidates.append(URL(fileURLWithPath: "/usr/share/kassa/Hardware"))
        return candidates.first(where: valid)
    }
}
