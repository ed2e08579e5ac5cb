import DeviceDiscovery

/// A discovered device with the profile Kassa would use for it.
public struct DeviceListing: Sendable, Codable {
    public var device: DiscoveredDevice
    public var id: String
    public var url: String
    /// The profile matched through `Hardware/usb-ids.json`, if any.
    public var profile: String?
    /// The configured name in `kassa.toml` whose URL points at this device.
    public var configuredAs: String?
}

extension KassaEnvironment {
    var knownPrinterIDs: Set<String> { Set(catalog.usbIDs.map { "\($0.vendor.lowercased()):\($0.product.lowercased())" }) }

    public func listing(for device: DiscoveredDevice) -> DeviceListing {
        var profile: String?
        if let vendor = device.vendorID.flatMap({ UInt16($0, radix: 16) }),
            let product = device.productID.flatMap({ UInt16($0, radix: 16) }), device.kind == .usbPrinter || device.kind == .lpPort
        {
            profile = catalog.profile(vendor: vendor, product: product)?.id
        }
        let configured = config.devices.values.first { configured in
            configured.url == device.url || (device.devnode.map { configured.url.contains($0) } ?? false)
        }
        return DeviceListing(device: device, id: device.stableID, url: device.url, profile: profile, configuredAs: configured?.name)
    }

    public func discoverDevices() throws(RuntimeError) -> [DeviceListing] {
        do {
            return try DeviceDiscovery.enumerate(knownPrinters: knownPrinterIDs).map(listing(for:))
        } catch {
            throw .discovery(error.description)
        }
    }

    public func deviceMonitor() throws(RuntimeError) -> DeviceMonitor {
        do {
            return try DeviceMonitor(knownPrinters: knownPrinterIDs)
        } catch {
            throw .discovery(error.description)
        }
    }
}
