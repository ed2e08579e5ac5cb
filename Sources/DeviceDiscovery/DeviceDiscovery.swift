internal import CUdev

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A device Kassa can talk to, found through udev.
public struct DiscoveredDevice: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// A USB device with a printer-class interface, or a known printer's vendor:product.
        case usbPrinter = "usb-printer"
        /// The usblp driver's node for a USB printer (`/dev/usb/lpN`).
        case lpPort = "lp"
        /// A USB-serial adapter (`ttyUSB*`, `ttyACM*`).
        case usbSerial = "usb-serial"
        /// A built-in serial port with a UART behind it (`ttyS*`).
        case serialPort = "serial"
    }

    public var kind: Kind
    public var syspath: String
    public var devnode: String?
    public var vendorID: String?
    public var productID: String?
    public var manufacturer: String?
    public var product: String?
    public var serial: String?
    /// The USB port path (e.g. `1-1.4`), stable while the cable stays in the same socket.
    public var portPath: String?
    /// Kernel driver bound to the device or its printer interface, when udev knows it.
    public var driver: String?
    /// `/dev/serial/by-id/…` and other stable links.
    public var links: [String]

    /// Identity that survives re-plugging and `/dev` renumbering: vendor, product and serial, else the port path.
    public var stableID: String {
        let ids = [vendorID, productID].compactMap { $0 }.joined(separator: ":")
        if let serial, !serial.isEmpty { return "\(kind.rawValue):\(ids):\(serial)" }
        if let portPath { return "\(kind.rawValue):\(ids)@\(portPath)" }
        return "\(kind.rawValue):\(devnode ?? syspath)"
    }

    /// A URL for `--device`.
    public var url: String {
        switch kind {
        case .usbPrinter:
            var text = "usb://\(vendorID ?? "????"):\(productID ?? "????")"
            if let serial, !serial.isEmpty { text += "?serial=\(serial)" }
            return text
        case .lpPort: return "file:\(devnode ?? syspath)"
        case .usbSerial, .serialPort:
            let stable = links.first { $0.hasPrefix("/dev/serial/by-id/") || $0.hasPrefix("/dev/kassa/") }
            return "serial://\(stable ?? devnode ?? syspath)?baud=9600"
        }
    }
}

public enum DiscoveryError: Error, Equatable, Sendable, CustomStringConvertible {
    case udevUnavailable(String)

    public var description: String {
        switch self {
        case .udevUnavailable(let reason):
            return "udev is not available (\(reason)); device discovery needs libudev and a readable /sys."
        }
    }
}

/// Finds printers, USB-serial adapters and serial ports through libudev.
public enum DeviceDiscovery {
    /// Every device of interest. `knownPrinters` holds `vvvv:pppp` pairs that count as printers even without a
    /// printer-class interface.
    public static func enumerate(knownPrinters: Set<String> = []) throws(DiscoveryError) -> [DiscoveredDevice] {
        guard let udev = udev_new() else { throw .udevUnavailable("udev_new failed") }
        defer { udev_unref(udev) }
        var found: [DiscoveredDevice] = []
        var printerParents = Set<String>()
        forEach(udev, subsystem: "usb") { device in
            guard devtype(device) == "usb_interface", attribute(device, "bInterfaceClass") == "07",
                let parent = udev_device_get_parent_with_subsystem_devtype(device, "usb", "usb_device"),
                let path = udev_device_get_syspath(parent)
            else { return }
            printerParents.insert(String(cString: path))
        }
        forEach(udev, subsystem: "usb") { device in
            guard devtype(device) == "usb_device", let entry = describe(device, kind: .usbPrinter) else { return }
            let pair = "\(entry.vendorID ?? ""):\(entry.productID ?? "")"
            guard printerParents.contains(entry.syspath) || knownPrinters.contains(pair) else { return }
            found.append(entry)
        }
        forEach(udev, subsystem: "usbmisc") { device in
            guard sysname(device).hasPrefix("lp"), let entry = describeChild(device, kind: .lpPort) else { return }
            found.append(entry)
        }
        // Only the names Kassa uses: libudev then skips the dozens of virtual consoles (tty0…tty63, ptys) without
        // building a device for each (measured: ~2,000 fewer path lookups per `kassa devices`).
        forEach(udev, subsystem: "tty", sysnames: ["ttyUSB*", "ttyACM*", "ttyS*"]) { device in
            let name = sysname(device)
            if name.hasPrefix("ttyUSB") || name.hasPrefix("ttyACM") {
                if let entry = describeChild(device, kind: .usbSerial) { found.append(entry) }
            } else if name.hasPrefix("ttyS"), let type = attribute(device, "type"), type != "0" {
                if let entry = describeChild(device, kind: .serialPort) { found.append(entry) }
            }
        }
        return found.sorted { ($0.kind.rawValue, $0.devnode ?? $0.syspath) < ($1.kind.rawValue, $1.devnode ?? $1.syspath) }
    }

    // MARK: libudev helpers (C types stay in this file)

    /// Each device of `subsystem` whose name matches one of `sysnames` (shell globs; all when empty).
    static func forEach(_ udev: OpaquePointer, subsystem: String, sysnames: [String] = [], _ body: (OpaquePointer) -> Void) {
        guard let enumerate = udev_enumerate_new(udev) else { return }
        defer { udev_enumerate_unref(enumerate) }
        udev_enumerate_add_match_subsystem(enumerate, subsystem)
        for name in sysnames { udev_enumerate_add_match_sysname(enumerate, name) }
        udev_enumerate_scan_devices(enumerate)
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            if let path = udev_list_entry_get_name(current), let device = udev_device_new_from_syspath(udev, path) {
                body(device)
                udev_device_unref(device)
            }
            entry = udev_list_entry_get_next(current)
        }
    }

    static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        let text = String(cString: pointer).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    static func attribute(_ device: OpaquePointer, _ name: String) -> String? {
        string(udev_device_get_sysattr_value(device, name))
    }

    static func property(_ device: OpaquePointer, _ name: String) -> String? {
        string(udev_device_get_property_value(device, name))
    }

    static func devtype(_ device: OpaquePointer) -> String? { string(udev_device_get_devtype(device)) }
    static func sysname(_ device: OpaquePointer) -> String { string(udev_device_get_sysname(device)) ?? "" }

    static func links(_ device: OpaquePointer) -> [String] {
        var result: [String] = []
        var entry = udev_device_get_devlinks_list_entry(device)
        while let current = entry {
            if let name = string(udev_list_entry_get_name(current)) { result.append(name) }
            entry = udev_list_entry_get_next(current)
        }
        return result.sorted()
    }

    /// A USB device's identity from its own attributes (udev properties as a fallback).
    static func describe(_ device: OpaquePointer, kind: DiscoveredDevice.Kind) -> DiscoveredDevice? {
        guard let syspath = string(udev_device_get_syspath(device)) else { return nil }
        return DiscoveredDevice(
            kind: kind, syspath: syspath, devnode: string(udev_device_get_devnode(device)),
            vendorID: (attribute(device, "idVendor") ?? property(device, "ID_VENDOR_ID"))?.lowercased(),
            productID: (attribute(device, "idProduct") ?? property(device, "ID_MODEL_ID"))?.lowercased(),
            manufacturer: attribute(device, "manufacturer") ?? property(device, "ID_VENDOR"),
            product: attribute(device, "product") ?? property(device, "ID_MODEL"),
            serial: attribute(device, "serial") ?? property(device, "ID_SERIAL_SHORT"),
            portPath: sysname(device), driver: string(udev_device_get_driver(device)), links: links(device))
    }

    /// A node (tty, lp) described by its USB parent when it has one.
    static func describeChild(_ device: OpaquePointer, kind: DiscoveredDevice.Kind) -> DiscoveredDevice? {
        guard let syspath = string(udev_device_get_syspath(device)) else { return nil }
        var entry = DiscoveredDevice(
            kind: kind, syspath: syspath, devnode: string(udev_device_get_devnode(device)), vendorID: nil, productID: nil,
            manufacturer: nil, product: nil, serial: nil, portPath: nil, driver: nil, links: links(device))
        if let usb = udev_device_get_parent_with_subsystem_devtype(device, "usb", "usb_device"),
            let parent = describe(usb, kind: kind)
        {
            entry.vendorID = parent.vendorID
            entry.productID = parent.productID
            entry.manufacturer = parent.manufacturer
            entry.product = parent.product
            entry.serial = parent.serial
            entry.portPath = parent.portPath
        }
        entry.vendorID = entry.vendorID ?? property(device, "ID_VENDOR_ID")?.lowercased()
        entry.productID = entry.productID ?? property(device, "ID_MODEL_ID")?.lowercased()
        entry.serial = entry.serial ?? property(device, "ID_SERIAL_SHORT")
        if let parent = udev_device_get_parent(device) { entry.driver = string(udev_device_get_driver(parent)) }
        return entry
    }
}

