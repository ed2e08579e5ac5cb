import DeviceTransport
import ESCPOS

/// A device as a command will use it: where it is, which profile it has, and its drawer.
public struct ResolvedDevice: Sendable {
    /// The configured name, when the device came from `kassa.toml`.
    public var name: String?
    public var url: DeviceURL
    public var profile: PrinterProfile
    public var drawer: KassaConfig.Drawer
}

extension KassaEnvironment {
    /// `--device NAME|URL` and `--profile`: a configured name wins, then a URL; with neither, the configured default
    /// device, else the virtual printer. `--profile` overrides the configured profile.
    public func resolveDevice(_ nameOrURL: String?, profile explicitProfile: String?) throws(RuntimeError) -> ResolvedDevice {
        var configured: KassaConfig.Device?
        if let nameOrURL {
            configured = config.devices[nameOrURL]
        } else {
            configured = config.defaultDevice
        }
        let text = configured?.url ?? nameOrURL ?? "virtual:"
        let url: DeviceURL
        do {
            url = try DeviceURL(parsing: text)
        } catch {
            if let nameOrURL, !nameOrURL.contains(":"), !nameOrURL.hasPrefix("/") {
                throw .unknownDevice(nameOrURL, configured: config.devices.keys.sorted())
            }
            throw .transport(error)
        }
        let profileName = explicitProfile ?? configured?.profile
        return ResolvedDevice(
            name: configured?.name, url: url, profile: try profile(named: profileName),
            drawer: configured?.drawer ?? KassaConfig.Drawer())
    }
}
