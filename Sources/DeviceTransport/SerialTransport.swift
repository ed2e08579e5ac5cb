internal import CPosixShims

#if canImport(Glibc)
import Glibc
#endif

/// Line settings of a serial port, from a device URL's query: `baud`, `data`, `parity`, `stop`, `flow`.
public struct SerialSettings: Sendable, Equatable {
    public enum Parity: String, Sendable { case none, even, odd }
    public enum FlowControl: String, Sendable { case none, rtscts, xonxoff }

    public static let baudRates = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]

    public var baud: Int
    public var dataBits: Int
    public var parity: Parity
    public var stopBits: Int
    public var flow: FlowControl

    public init(baud: Int = 9600, dataBits: Int = 8, parity: Parity = .none, stopBits: Int = 1, flow: FlowControl = .none) {
        self.baud = baud
        self.dataBits = dataBits
        self.parity = parity
        self.stopBits = stopBits
        self.flow = flow
    }

    /// Reads `serial:///dev/ttyUSB0?baud=115200&data=8&parity=none&stop=1&flow=rtscts`; unknown keys are errors.
    public init(parameters: [String: String], url: String) throws(TransportError) {
        self.init()
        for (key, value) in parameters {
            switch key {
            case "baud":
                guard let rate = Int(value), Self.baudRates.contains(rate) else {
                    throw .invalidURL(url, reason: "baud must be one of \(Self.baudRates.map(String.init).joined(separator: ", "))")
                }
                baud = rate
            case "data", "bits":
                guard let bits = Int(value), (5...8).contains(bits) else {
                    throw .invalidURL(url, reason: "data bits must be 5, 6, 7 or 8")
                }
                dataBits = bits
            case "parity":
                switch value.lowercased() {
                case "none", "n": parity = .none
                case "even", "e": parity = .even
                case "odd", "o": parity = .odd
                default: throw .invalidURL(url, reason: "parity must be none, even or odd")
                }
            case "stop":
                guard value == "1" || value == "2" else { throw .invalidURL(url, reason: "stop bits must be 1 or 2") }
                stopBits = Int(value)!
            case "flow":
                switch value.lowercased() {
                case "none": flow = .none
                case "rtscts", "hardware", "rts/cts": flow = .rtscts
                case "xonxoff", "software", "xon/xoff": flow = .xonxoff
                default: throw .invalidURL(url, reason: "flow must be none, rtscts or xonxoff")
                }
            default:
                throw .invalidURL(url, reason: "unknown serial setting '\(key)' (known: baud, data, parity, stop, flow)")
            }
        }
    }

    /// Seconds per byte on the wire: start bit, data bits, parity bit and stop bits.
    public var secondsPerByte: Double {
        Double(1 + dataBits + (parity == .none ? 0 : 1) + stopBits) / Double(baud)
    }
}

/// A serial port in raw mode (termios), locked for this process so two programs never interleave bytes.
public final class SerialTransport: Transport {
    public let path: String
    public let settings: SerialSettings
    private var fd: Int32 = -1

    public var name: String { "serial://\(path)" }
    public var canRead: Bool { true }

    public init(path: String, settings: SerialSettings = SerialSettings()) {
        self.path = path
        self.settings = settings
    }

    deinit { close() }

    public func open() throws(TransportError) {
        guard fd < 0 else { return }
        let descriptor = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == EBUSY { throw .busy(device: name, holder: DeviceHolders.describe(holding: path)) }
            throw TransportError.fromOpen(code, device: name)
        }
        do {
            try configure(descriptor)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        fd = descriptor
    }

    private func configure(_ descriptor: Int32) throws(TransportError) {
        // An advisory lock between Kassa processes, then TIOCEXCL so other programs' opens fail with EBUSY.
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EWOULDBLOCK {
                throw .busy(device: name, holder: DeviceHolders.describe(holding: path) ?? "another Kassa process (it holds the lock)")
            }
            throw .io(device: name, operation: "lock", errno: code)
        }
        var options = termios()
        guard tcgetattr(descriptor, &options) == 0 else {
            let code = errno
            if code == ENOTTY {
                throw .unsupported(device: name, reason: "\(path) is not a serial port; use file:\(path) for other devices")
            }
            throw .io(device: name, operation: "tcgetattr", errno: code)
        }
        _ = ioctl(descriptor, UInt(TIOCEXCL))
        cfmakeraw(&options)
        var speed: UInt32 = 0
        guard kassa_baud_constant(Int32(settings.baud), &speed) == 0 else {
            throw .invalidURL(name, reason: "unsupported baud rate \(settings.baud)")
        }
        cfsetispeed(&options, speed_t(speed))
        cfsetospeed(&options, speed_t(speed))
        options.c_cflag &= ~tcflag_t(CSIZE)
        switch settings.dataBits {
        case 5: options.c_cflag |= tcflag_t(CS5)
        case 6: options.c_cflag |= tcflag_t(CS6)
        case 7: options.c_cflag |= tcflag_t(CS7)
        default: options.c_cflag |= tcflag_t(CS8)
        }
        switch settings.parity {
        case .none: options.c_cflag &= ~tcflag_t(PARENB | PARODD)
        case .even:
            options.c_cflag |= tcflag_t(PARENB)
            options.c_cflag &= ~tcflag_t(PARODD)
        case .odd: options.c_cflag |= tcflag_t(PARENB | PARODD)
        }
        if settings.stopBits == 2 { options.c_cflag |= tcflag_t(CSTOPB) } else { options.c_cflag &= ~tcflag_t(CSTOPB) }
        options.c_cflag &= ~tcflag_t(CRTSCTS)
        options.c_iflag &= ~tcflag_t(IXON | IXOFF | IXANY)
        switch settings.flow {
        case .none: break
        case .rtscts: options.c_cflag |= tcflag_t(CRTSCTS)
        case .xonxoff: options.c_iflag |= tcflag_t(IXON | IXOFF)
        }
        options.c_cflag |= tcflag_t(CLOCAL | CREAD)
        // Reads are non-blocking; deadlines come from poll(2).
        withUnsafeMutableBytes(of: &options.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(descriptor, TCSANOW, &options) == 0 else {
            throw .io(device: name, operation: "tcsetattr", errno: errno)
        }
        _ = tcflush(descriptor, TCIOFLUSH)
        // DTR asserted, as fiscal devices (a CleanCash unit) expect; a port without modem lines (a pty) ignores it.
        var lines = Int32(TIOCM_DTR)
        _ = ioctl(descriptor, UInt(TIOCMBIS), &lines)
    }

    public func write(_ bytes: [UInt8], timeout: Duration) throws(TransportError) {
        guard fd >= 0 else { throw .disconnected(device: name, detail: "not open") }
        try FileDescriptorIO.writeAll(fd, bytes, timeout: timeout, device: name) { fd, pointer, count in
            Glibc.write(fd, pointer, count)
        }
    }

    public func read(maxCount: Int, timeout: Duration) throws(TransportError) -> [UInt8] {
        guard fd >= 0 else { throw .disconnected(device: name, detail: "not open") }
        return try FileDescriptorIO.read(fd, maxCount: maxCount, timeout: timeout, device: name)
    }

    public func close() {
        guard fd >= 0 else { return }
        _ = ioctl(fd, UInt(TIOCNXCL))
        _ = flock(fd, LOCK_UN)
        Glibc.close(fd)
        fd = -1
    }
}
