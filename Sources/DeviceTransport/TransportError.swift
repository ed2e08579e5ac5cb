#if canImport(Glibc)
import Glibc
#endif

/// Why talking to a device failed. Codes from the system (errno) are kept as values.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidURL(String, reason: String)
    case notFound(device: String)
    case permissionDenied(device: String)
    case busy(device: String, holder: String?)
    case timedOut(device: String, operation: String, milliseconds: Int)
    case disconnected(device: String, detail: String)
    case connectionRefused(device: String)
    case unreachable(device: String, detail: String)
    /// Any other system error, with its errno.
    case io(device: String, operation: String, errno: Int32)
    case unsupported(device: String, reason: String)
    /// The device cannot send data back (e.g. a plain file, or a one-way cable).
    case cannotRead(device: String)
    /// The printer refused data on its endpoint (USB STALL).
    case stalled(device: String)
    /// A libusb error, with its code and name (e.g. -1 LIBUSB_ERROR_IO).
    case usb(device: String, operation: String, code: Int32, name: String)

    public var description: String {
        switch self {
        case .invalidURL(let url, let reason):
            return "'\(url)' is not a device URL Kassa understands: \(reason). "
                + "Use virtual:, tcp://HOST:PORT, file:PATH, usb://VID:PID or serial:///dev/ttyUSB0."
        case .notFound(let device):
            return "\(device) was not found. Check the cable and power, then run `kassa devices` to see what is attached."
        case .permissionDenied(let device):
            return "Permission denied opening \(device). Install Kassa's udev rules from udev/ (README, \"Permissions\") and add this "
                + "user to the 'lp' or 'kassa' group (`sudo usermod -aG lp $USER`, then log in again)."
        case .busy(let device, let holder):
            return "\(device) is busy" + (holder.map { ", held by \($0)" } ?? "")
                + ". Close the other program (or stop CUPS from holding the printer) and try again."
        case .timedOut(let device, let operation, let milliseconds):
            return "\(device) did not respond within \(milliseconds) ms while \(operation). "
                + "Check that the printer is on, online and has paper."
        case .disconnected(let device, let detail):
            return "\(device) disconnected (\(detail)). Reconnect it; the job was not completed and can be printed again."
        case .connectionRefused(let device):
            return "\(device) refused the connection. Check the printer's IP address and port (usually 9100), "
                + "and that no other computer holds the connection."
        case .unreachable(let device, let detail):
            return "\(device) cannot be reached (\(detail)). Check the network cable and the printer's IP address."
        case .io(let device, let operation, let code):
            return "\(device): \(operation) failed: \(String(cString: strerror(code))) (errno \(code))."
        case .unsupported(let device, let reason):
            return "\(device): \(reason)"
        case .cannotRead(let device):
            return "\(device) cannot send status back; status is unavailable on this connection."
        case .stalled(let device):
            return "\(device) refused the data (USB endpoint stall). Switch the printer off and on; if it persists, "
                + "check that the profile matches the printer."
        case .usb(let device, let operation, let code, let name):
            return "\(device): \(operation) failed: \(name) (libusb \(code))."
        }
    }

    /// Maps an errno from opening a device path.
    static func fromOpen(_ code: Int32, device: String) -> TransportError {
        switch code {
        case ENOENT, ENODEV, ENXIO: return .notFound(device: device)
        case EACCES, EPERM: return .permissionDenied(device: device)
        case EBUSY: return .busy(device: device, holder: nil)
        default: return .io(device: device, operation: "open", errno: code)
        }
    }

    /// Maps an errno from writing or reading an open device.
    static func fromTransfer(_ code: Int32, device: String, operation: String) -> TransportError {
        switch code {
        case EPIPE, ECONNRESET, ENODEV, ENXIO, EIO, ENOTCONN, ESHUTDOWN:
            return .disconnected(device: device, detail: String(cString: strerror(code)))
        case ETIMEDOUT:
            // A network printer that stopped acknowledging data (TCP_USER_TIMEOUT, 10 s) or keep-alive probes.
            return .timedOut(device: device, operation: operation == "write" ? "sending (the printer stopped taking data)" : operation,
                             milliseconds: 10_000)
        default: return .io(device: device, operation: operation, errno: code)
        }
    }
}
