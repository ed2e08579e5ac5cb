import Foundation

/// Where the terminal's identity comes from: the machine, or a terminal-ID / fiscal module.
public protocol TerminalIdentitySource: Sendable {
    /// A stable identifier of the physical device.
    func machineIdentity() throws(SessionError) -> String
}

/// The machine's own identity: `/etc/machine-id` (systemd), else `/var/lib/dbus/machine-id`.
/// `KASSA_MACHINE_ID_FILE` points elsewhere, for appliances whose identity comes from a terminal-ID module's file.
public struct MachineIdentity: TerminalIdentitySource {
    public init() {}

    public func machineIdentity() throws(SessionError) -> String {
        var candidates = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        if let explicit = ProcessInfo.processInfo.environment["KASSA_MACHINE_ID_FILE"] { candidates.insert(explicit, at: 0) }
        for path in candidates {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                let identity = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if identity.count >= 8 { return identity }
            }
        }
        throw .invalid("This machine has no identity (/etc/machine-id is missing); run `systemd-machine-id-setup` as root.")
    }
}

/// A fixed identity, for tests and for terminal-ID modules that report one.
public struct FixedIdentity: TerminalIdentitySource {
    public let identity: String
    public init(_ identity: String) { self.identity = identity }
    public func machineIdentity() throws(SessionError) -> String { identity }
}

/// The engine's notion of time, injected so tests control it.
public protocol EngineClock: Sendable {
    func now() -> Date
}

public struct SystemClock: EngineClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock tests move by hand.
public final class ManualClock: EngineClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    public init(_ start: Date) { current = start }
    public func now() -> Date { lock.withLock { current } }
    public func advance(_ seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }
    public func set(_ date: Date) { lock.withLock { current = date } }
}
