internal import CPosixShims

#if canImport(Glibc)
import Glibc
#endif

/// A character device (`/dev/usb/lp0`, a serial port used raw) or a plain file that collects the bytes.
/// Plain files are appended to, never truncated, so no earlier job is lost.
public final class FileTransport: Transport {
    public let path: String
    private var fd: Int32 = -1
    private var isCharacterDevice = false

    public var name: String { "file:\(path)" }
    public var canRead: Bool { isCharacterDevice }

    public init(path: String) { self.path = path }

    deinit { close() }

    public func open() throws(TransportError) {
        guard fd < 0 else { return }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFCHR {
            isCharacterDevice = true
            let descriptor = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
            guard descriptor >= 0 else {
                let code = errno
                if code == EBUSY { throw .busy(device: name, holder: DeviceHolders.describe(holding: path)) }
                throw TransportError.fromOpen(code, device: name)
            }
            fd = descriptor
            return
        }
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            throw .unsupported(device: name, reason: "\(path) is a directory; give a file or device path")
        }
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw TransportError.fromOpen(errno, device: name) }
        fd = descriptor
    }

    public func write(_ bytes: [UInt8], timeout: Duration) throws(TransportError) {
        guard fd >= 0 else { throw .disconnected(device: name, detail: "not open") }
        try FileDescriptorIO.writeAll(fd, bytes, timeout: timeout, device: name) { fd, pointer, count in
            Glibc.write(fd, pointer, count)
        }
    }

    public func read(maxCount: Int, timeout: Duration) throws(TransportError) -> [UInt8] {
        guard fd >= 0, isCharacterDevice else { throw .cannotRead(device: name) }
        return try FileDescriptorIO.read(fd, maxCount: maxCount, timeout: timeout, device: name)
    }

    public func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }
}

extension FileTransport: PortStatusReporting {
    public func portStatus() throws(TransportError) -> PortStatus? {
        guard fd >= 0, isCharacterDevice else { return nil }
        var status: Int32 = 0
        guard kassa_lp_get_status(fd, &status) == 0 else {
            let code = errno
            if code == ENOTTY || code == EINVAL { return nil }
            throw TransportError.fromTransfer(code, device: name, operation: "LPGETSTATUS")
        }
        return PortStatus(raw: UInt8(truncatingIfNeeded: status))
    }
}
