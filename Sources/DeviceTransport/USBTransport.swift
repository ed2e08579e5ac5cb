internal import CLibUSB
internal import CUdev

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A USB printer through libusb: the printer-class interface and its bulk endpoints are found in the descriptors,
/// a kernel driver (usblp) is detached explicitly and reattached on close.
public final class USBTransport: Transport {
    public let vendor: UInt16
    public let product: UInt16
    public let serial: String?
    public let port: String?
    private var context: OpaquePointer?
    private var handle: OpaquePointer?
    private var interfaceNumber: Int32 = 0
    private var endpointOut: UInt8 = 0
    private var endpointIn: UInt8?
    private var maxPacketIn = 64
    private var detachedKernelDriver = false
    private var pendingIn: [UInt8] = []
    /// Bytes per bulk OUT transfer; each has its own share of the deadline.
    public var chunkSize = 4096

    public var name: String {
        let query = [serial.map { "serial=\($0)" }, port.map { "port=\($0)" }].compactMap { $0 }.joined(separator: "&")
        return "usb://" + hex4(vendor) + ":" + hex4(product) + (query.isEmpty ? "" : "?" + query)
    }
    public var canRead: Bool { endpointIn != nil || handle == nil }

    public init(vendor: UInt16, product: UInt16, serial: String? = nil, port: String? = nil) {
        self.vendor = vendor
        self.product = product
        self.serial = serial
        self.port = port
    }

    deinit { close() }

    static func errorName(_ code: Int32) -> String {
        libusb_error_name(code).map { String(cString: $0) } ?? "LIBUSB_ERROR_\(code)"
    }

    private func failure(_ code: Int32, _ operation: String) -> TransportError {
        let device = name
        switch code {
        case Int32(LIBUSB_ERROR_ACCESS.rawValue): return .permissionDenied(device: device)
        case Int32(LIBUSB_ERROR_NO_DEVICE.rawValue):
            return handle == nil ? .notFound(device: device) : .disconnected(device: device, detail: "the device was unplugged")
        case Int32(LIBUSB_ERROR_NOT_FOUND.rawValue): return .notFound(device: device)
        case Int32(LIBUSB_ERROR_BUSY.rawValue):
            return .busy(device: device, holder: "another program or a kernel driver that could not be detached")
        case Int32(LIBUSB_ERROR_TIMEOUT.rawValue): return .timedOut(device: device, operation: operation, milliseconds: 0)
        case Int32(LIBUSB_ERROR_PIPE.rawValue): return .stalled(device: device)
        default: return .usb(device: device, operation: operation, code: code, name: Self.errorName(code))
        }
    }

    public func open() throws(TransportError) {
        guard handle == nil else { return }
        var context: OpaquePointer?
        let status = libusb_init(&context)
        guard status == 0 else { throw failure(status, "libusb_init") }
        self.context = context
        do {
            try openDevice()
        } catch {
            close()
            throw error
        }
    }

    private func openDevice() throws(TransportError) {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context, &list)
        guard count >= 0, let list else { throw failure(Int32(count), "listing USB devices") }
        defer { libusb_free_device_list(list, 1) }
        var chosen: OpaquePointer?
        for index in 0..<count {
            guard let device = list[index] else { continue }
            var descriptor = libusb_device_descriptor()
            guard libusb_get_device_descriptor(device, &descriptor) == 0,
                descriptor.idVendor == vendor, descriptor.idProduct == product
            else { continue }
            if serial != nil || port != nil {
                let identity = Self.udevIdentity(bus: libusb_get_bus_number(device), address: libusb_get_device_address(device))
                if let serial, identity?.serial != serial { continue }
                if let port, identity?.port != port { continue }
            }
            chosen = device
            break
        }
        guard let device = chosen else { throw .notFound(device: name) }
        try findEndpoints(device)
        var opened: OpaquePointer?
        let status = libusb_open(device, &opened)
        guard status == 0, let opened else { throw failure(status, "open") }
        handle = opened
        if libusb_kernel_driver_active(opened, interfaceNumber) == 1 {
            let detach = libusb_detach_kernel_driver(opened, interfaceNumber)
            guard detach == 0 else {
                throw .busy(device: name, holder: "the usblp kernel driver (detaching it failed: \(Self.errorName(detach)))")
            }
            detachedKernelDriver = true
        }
        let claim = libusb_claim_interface(opened, interfaceNumber)
        guard claim == 0 else { throw failure(claim, "claiming interface \(interfaceNumber)") }
    }

    /// The first interface with printer class 7 (else any with a bulk OUT endpoint) and its bulk endpoints.
    private func findEndpoints(_ device: OpaquePointer) throws(TransportError) {
        var configuration: UnsafeMutablePointer<libusb_config_descriptor>?
        let status = libusb_get_active_config_descriptor(device, &configuration)
        guard status == 0, let configuration else { throw failure(status, "reading the configuration descriptor") }
        defer { libusb_free_config_descriptor(configuration) }
        var best: (number: Int32, out: UInt8, input: UInt8?, packet: Int, printer: Bool)?
        for i in 0..<Int(configuration.pointee.bNumInterfaces) {
            let interface = configuration.pointee.interface[i]
            guard interface.num_altsetting > 0 else { continue }
            let setting = interface.altsetting[0]
            var out: UInt8?
            var input: UInt8?
            var packet = 64
            for e in 0..<Int(setting.bNumEndpoints) {
                let endpoint = setting.endpoint[e]
                guard endpoint.bmAttributes & 0x03 == UInt8(LIBUSB_TRANSFER_TYPE_BULK.rawValue) else { continue }
                if endpoint.bEndpointAddress & 0x80 != 0 {
                    if input == nil {
                        input = endpoint.bEndpointAddress
                        packet = Int(endpoint.wMaxPacketSize)
                    }
                } else if out == nil {
                    out = endpoint.bEndpointAddress
                }
            }
            guard let out else { continue }
            let isPrinter = setting.bInterfaceClass == 7
            if best == nil || (isPrinter && best?.printer == false) {
                best = (Int32(setting.bInterfaceNumber), out, input, max(1, packet), isPrinter)
            }
        }
        guard let best else {
            throw .unsupported(device: name, reason: "the device has no interface with a bulk OUT endpoint; it is not a printer")
        }
        interfaceNumber = best.number
        endpointOut = best.out
        endpointIn = best.input
        maxPacketIn = best.packet
    }

    /// The USB serial number and port path as udev reads them from sysfs (no control transfer needed).
    static func udevIdentity(bus: UInt8, address: UInt8) -> (serial: String?, port: String)? {
        guard let udev = udev_new() else { return nil }
        defer { udev_unref(udev) }
        guard let enumerate = udev_enumerate_new(udev) else { return nil }
        defer { udev_enumerate_unref(enumerate) }
        udev_enumerate_add_match_subsystem(enumerate, "usb")
        udev_enumerate_add_match_property(enumerate, "DEVTYPE", "usb_device")
        udev_enumerate_scan_devices(enumerate)
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            defer { entry = udev_list_entry_get_next(current) }
            guard let path = udev_list_entry_get_name(current), let device = udev_device_new_from_syspath(udev, path) else { continue }
            defer { udev_device_unref(device) }
            func value(_ name: String) -> String? {
                udev_device_get_sysattr_value(device, name).map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            guard value("busnum").flatMap({ Int($0) }) == Int(bus), value("devnum").flatMap({ Int($0) }) == Int(address) else {
                continue
            }
            return (value("serial"), udev_device_get_sysname(device).map { String(cString: $0) } ?? "")
        }
        return nil
    }

    public func write(_ bytes: [UInt8], timeout: Duration) throws(TransportError) {
        guard let handle else { throw .disconnected(device: name, detail: "not open") }
        let deadline = ContinuousClock.now + timeout
        var offset = 0
        var buffer = bytes
        while offset < buffer.count {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw .timedOut(device: name, operation: "sending \(buffer.count - offset) of \(buffer.count) bytes",
                                milliseconds: timeout.milliseconds)
            }
            let length = min(chunkSize, buffer.count - offset)
            var transferred: Int32 = 0
            let status = buffer.withUnsafeMutableBufferPointer { pointer in
                libusb_bulk_transfer(handle, endpointOut, pointer.baseAddress! + offset, Int32(length), &transferred,
                                     UInt32(max(1, remaining.milliseconds)))
            }
            offset += Int(transferred)
            if status == Int32(LIBUSB_ERROR_TIMEOUT.rawValue) {
                throw .timedOut(device: name, operation: "sending \(buffer.count - offset) of \(buffer.count) bytes",
                                milliseconds: timeout.milliseconds)
            }
            if status == Int32(LIBUSB_ERROR_PIPE.rawValue) { _ = libusb_clear_halt(handle, endpointOut) }
            guard status == 0 else { throw failure(status, "bulk OUT") }
        }
    }

    public func read(maxCount: Int, timeout: Duration) throws(TransportError) -> [UInt8] {
        guard let handle else { throw .disconnected(device: name, detail: "not open") }
        guard let endpointIn else { throw .cannotRead(device: name) }
        if pendingIn.isEmpty {
            // Always ask for a whole packet: a shorter request can overflow when the printer sends more.
            var buffer = [UInt8](repeating: 0, count: maxPacketIn)
            var transferred: Int32 = 0
            let status = libusb_bulk_transfer(handle, endpointIn, &buffer, Int32(maxPacketIn), &transferred,
                                              UInt32(max(1, timeout.milliseconds)))
            if status == Int32(LIBUSB_ERROR_TIMEOUT.rawValue) {
                throw .timedOut(device: name, operation: "waiting for an answer", milliseconds: timeout.milliseconds)
            }
            guard status == 0 else { throw failure(status, "bulk IN") }
            pendingIn = Array(buffer.prefix(Int(transferred)))
            if pendingIn.isEmpty {
                throw .timedOut(device: name, operation: "waiting for an answer", milliseconds: timeout.milliseconds)
            }
        }
        let answer = Array(pendingIn.prefix(max(1, maxCount)))
        pendingIn.removeFirst(answer.count)
        return answer
    }

    public func close() {
        if let handle {
            _ = libusb_release_interface(handle, interfaceNumber)
            if detachedKernelDriver { _ = libusb_attach_kernel_driver(handle, interfaceNumber) }
            libusb_close(handle)
            self.handle = nil
            detachedKernelDriver = false
        }
        if let context {
            libusb_exit(context)
            self.context = nil
        }
    }
}

func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

