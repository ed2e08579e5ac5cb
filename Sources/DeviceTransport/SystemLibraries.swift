internal import CLibUSB
internal import CUdev

/// Versions and availability of the C libraries the device layer uses, for `kassa version` and diagnostics.
public enum SystemLibraries {
    /// libusb's version, e.g. "1.0.26".
    public static var libusbVersion: String {
        guard let version = libusb_get_version() else { return "unknown" }
        return "\(version.pointee.major).\(version.pointee.minor).\(version.pointee.micro)"
    }

    /// Whether a libusb context can be created (false in containers without /dev/bus/usb is still fine: it succeeds).
    public static var libusbUsable: Bool {
        var context: OpaquePointer?
        guard libusb_init(&context) == 0 else { return false }
        libusb_exit(context)
        return true
    }

    /// Whether libudev can enumerate devices here.
    public static var udevUsable: Bool {
        guard let udev = udev_new() else { return false }
        udev_unref(udev)
        return true
    }
}
