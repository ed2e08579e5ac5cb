internal import CPosixShims

#if canImport(Glibc)
import Glibc
#endif

/// A pseudo-terminal pair for simulated serial devices (simulators, tests, benchmarks): the master is the "device",
/// `slavePath` is what Kassa opens as a serial port.
public final class PseudoTerminal {
    public let master: Int32
    public let slavePath: String

    public init() throws(TransportError) {
        var name = [CChar](repeating: 0, count: 128)
        let fd = kassa_open_pty_master(&name, 128)
        guard fd >= 0 else { throw .io(device: "pty", operation: "posix_openpt", errno: errno) }
        master = fd
        slavePath = String(cString: name)
    }

    deinit { Glibc.close(master) }
}
