import KassaRuntime

#if canImport(Glibc)
import Glibc
#endif

/// Standard input to its end. Foundation's `readDataToEndOfFile()` traps on a read error (a terminal hung up, EIO);
/// here EINTR is retried and any other error is `INPUT_UNREADABLE`, as is input beyond `limit` bytes.
func readStandardInput(limit: Int = 64 << 20) throws(RuntimeError) -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if count == 0 { return bytes }
        if count < 0 {
            if errno == EINTR || errno == EAGAIN {
                if errno == EAGAIN {  // a non-blocking descriptor handed over by the caller: wait for it
                    var descriptor = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
                    _ = poll(&descriptor, 1, -1)
                }
                continue
            }
            throw .inputUnreadable(path: "standard input", reason: String(cString: strerror(errno)))
        }
        guard bytes.count + count <= limit else {
            throw .inputUnreadable(path: "standard input", reason: "it is larger than \(limit >> 20) MiB")
        }
        bytes += chunk[0..<count]
    }
}
