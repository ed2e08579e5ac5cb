import DeviceDiscovery
import DeviceTransport
import Foundation
import Logging
import ServiceLifecycle

/// What `/v1/events` says when udev reports a configured device attached or detached.
struct HotplugEvent: Encodable, Sendable {
    var name: String
    var action: String
    var devnode: String?
    var syspath: String
}

/// Follows hot-plug (decision 0019): udev's add and remove events for USB printers, `lp` nodes and USB-serial
/// adapters are matched to the configured devices; a match is published (`device.attached` / `device.detached`) and
/// makes the device's owner read its status at once, so a printer that comes back resumes its held jobs without
/// waiting for the next poll. Without udev (a container, no netlink) the owners' polling still follows devices.
struct HotplugService: Service {
    let server: KassaServer
    let logger: Logger

    func run() async throws {
        let events: AsyncStream<DeviceEvent>
        do {
            events = try DeviceMonitor.events()
        } catch {
            logger.notice("hot-plug events unavailable; devices are followed by polling", metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        // At shutdown the iteration is cancelled, which ends the stream and stops the monitor's thread.
        try? await cancelWhenGracefulShutdown {
            for await event in events {
                await handle(event)
            }
        }
    }

    func handle(_ event: DeviceEvent) async {
        let attached: Bool
        switch event.action {
        case .add, .bind: attached = true
        case .remove, .unbind: attached = false
        case .change: return
        }
        for owner in server.owners.values where Self.matches(owner.base.url, event.device) {
            logger.info("device \(attached ? "attached" : "detached")", metadata: ["device": "\(owner.name)", "syspath": "\(event.device.syspath)"])
            await server.bus.publish(attached ? "device.attached" : "device.detached",
                                     HotplugEvent(name: owner.name, action: event.action.rawValue, devnode: event.device.devnode, syspath: event.device.syspath))
            await owner.hotplug()
        }
    }

    /// Whether a udev device is the configured one: USB by vendor:product (and serial number or port path when the URL
    /// names them), a serial port or `lp` node by its path or one of its stable links.
    static func matches(_ url: DeviceURL, _ device: DiscoveredDevice) -> Bool {
        switch url {
        case .usb(let vendor, let product, let serial, let port):
            guard device.kind == .usbPrinter, let vendorID = device.vendorID.flatMap({ UInt16($0, radix: 16) }),
                  let productID = device.productID.flatMap({ UInt16($0, radix: 16) }), vendorID == vendor, productID == product else { return false }
            if let serial, device.serial != serial { return false }
            if let port, device.portPath != port { return false }
            return true
        case .serial(let path, _), .file(let path):
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            return device.devnode == path || device.devnode == resolved || device.links.contains(path)
        case .virtual, .tcp:
            return false
        }
    }
}
