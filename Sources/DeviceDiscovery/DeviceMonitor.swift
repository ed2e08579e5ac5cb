internal import CUdev

#if canImport(Glibc)
import Glibc
#endif

/// An attach or detach seen by udev.
public struct DeviceEvent: Sendable, Codable, Equatable {
    public enum Action: String, Sendable, Codable { case add, remove, change, bind, unbind }
    public var action: Action
    public var device: DiscoveredDevice
}

/// Follows hot-plug events for USB devices, tty ports and usblp nodes. Owned by one task; `next` blocks up to a
/// deadline (poll on udev's netlink socket), so callers decide how long to wait.
public final class DeviceMonitor {
    private let udev: OpaquePointer
    private let monitor: OpaquePointer
    private let knownPrinters: Set<String>

    public init(knownPrinters: Set<String> = []) throws(DiscoveryError) {
        guard let udev = udev_new() else { throw .udevUnavailable("udev_new failed") }
        guard let monitor = udev_monitor_new_from_netlink(udev, "udev") else {
            udev_unref(udev)
            throw .udevUnavailable("cannot listen to udev events (netlink)")
        }
        for subsystem in ["usb", "tty", "usbmisc"] {
            udev_monitor_filter_add_match_subsystem_devtype(monitor, subsystem, nil)
        }
        guard udev_monitor_enable_receiving(monitor) == 0 else {
            udev_monitor_unref(monitor)
            udev_unref(udev)
            throw .udevUnavailable("cannot receive udev events")
        }
        self.udev = udev
        self.monitor = monitor
        self.knownPrinters = knownPrinters
    }

    deinit {
        udev_monitor_unref(monitor)
        udev_unref(udev)
    }

    /// The next relevant event, or nil when the timeout passed without one.
    public func next(timeoutMilliseconds: Int) -> DeviceEvent? {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return nil }
            var descriptor = pollfd(fd: udev_monitor_get_fd(monitor), events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0, let device = udev_monitor_receive_device(monitor) else { continue }
            defer { udev_device_unref(device) }
            if let event = describe(device) { return event }
        }
    }

    private func describe(_ device: OpaquePointer) -> DeviceEvent? {
        guard let actionText = DeviceDiscovery.string(udev_device_get_action(device)),
            let action = DeviceEvent.Action(rawValue: actionText)
        else { return nil }
        let subsystem = DeviceDiscovery.string(udev_device_get_subsystem(device))
        let name = DeviceDiscovery.sysname(device)
        let described: DiscoveredDevice?
        switch subsystem {
        case "usb":
            guard DeviceDiscovery.devtype(device) == "usb_device" else { return nil }
            described = DeviceDiscovery.describe(device, kind: .usbPrinter)
        case "usbmisc":
            guard name.hasPrefix("lp") else { return nil }
            described = DeviceDiscovery.describeChild(device, kind: .lpPort)
        case "tty":
            guard name.hasPrefix("ttyUSB") || name.hasPrefix("ttyACM") else { return nil }
            described = DeviceDiscovery.describeChild(device, kind: .usbSerial)
        default:
            return nil
        }
        guard let described else { return nil }
        return DeviceEvent(action: action, device: described)
    }
}

extension DeviceMonitor {
    /// Hot-plug events as an async sequence, for long-running services. A dedicated thread owns the monitor and polls
    /// its socket; the thread stops when the consumer stops iterating.
    public static func events(knownPrinters: Set<String> = []) throws(DiscoveryError) -> AsyncStream<DeviceEvent> {
        let monitor = try DeviceMonitor(knownPrinters: knownPrinters)
        let box = MonitorThread(monitor)
        return AsyncStream { continuation in
            continuation.onTermination = { _ in box.stop() }
            box.start { event in continuation.yield(event) }
        }
    }
}

/// Runs a monitor on its own thread; `stop` ends the loop within one poll interval.
final class MonitorThread: @unchecked Sendable {
    private let monitor: DeviceMonitor
    private let lock = NSLockLike()
    private var running = true

    init(_ monitor: DeviceMonitor) { self.monitor = monitor }

    func start(_ deliver: @escaping @Sendable (DeviceEvent) -> Void) {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Context(owner: self, deliver: deliver)).toOpaque()
        pthread_create(&thread, nil, { raw in
            let context = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
            while context.owner.isRunning {
                if let event = context.owner.monitor.next(timeoutMilliseconds: 200) { context.deliver(event) }
            }
            return nil
        }, context)
        pthread_detach(thread)
    }

    var isRunning: Bool { lock.withLock { running } }
    func stop() { lock.withLock { running = false } }

    final class Context {
        let owner: MonitorThread
        let deliver: @Sendable (DeviceEvent) -> Void
        init(owner: MonitorThread, deliver: @escaping @Sendable (DeviceEvent) -> Void) {
            self.owner = owner
            self.deliver = deliver
        }
    }
}

/// A pthread mutex (Foundation-free, so the module stays small).
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
