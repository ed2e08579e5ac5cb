#if canImport(Glibc)
import Glibc
#endif

/// Write-all and read-with-deadline on a non-blocking descriptor, shared by the file and TCP transports.
enum FileDescriptorIO {
    enum PollOutcome { case ready, timedOut, failed(Int32) }

    static func pollFor(_ fd: Int32, events: Int16, timeoutMilliseconds: Int) -> PollOutcome {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let result = poll(&descriptor, 1, Int32(clamping: timeoutMilliseconds))
            if result < 0 {
                if errno == EINTR { continue }
                return .failed(errno)
            }
            if result == 0 { return .timedOut }
            if descriptor.revents & Int16(POLLNVAL) != 0 { return .failed(EBADF) }
            if descriptor.revents & Int16(POLLERR) != 0, events & Int16(POLLOUT) != 0 {
                var code: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0, code != 0 { return .failed(code) }
                return .failed(EPIPE)
            }
            return .ready
        }
    }

    /// Writes all of `bytes`; handles EINTR, EAGAIN and partial writes. `send` picks write(2) or send(2).
    static func writeAll(
        _ fd: Int32, _ bytes: [UInt8], timeout: Duration, device: String,
        send: (Int32, UnsafeRawPointer, Int) -> Int
    ) throws(TransportError) {
        let deadline = ContinuousClock.now + timeout
        var offset = 0
        while offset < bytes.count {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw .timedOut(device: device, operation: "sending \(bytes.count - offset) of \(bytes.count) bytes",
                                milliseconds: timeout.milliseconds)
            }
            switch pollFor(fd, events: Int16(POLLOUT), timeoutMilliseconds: max(1, remaining.milliseconds)) {
            case .failed(let code): throw TransportError.fromTransfer(code, device: device, operation: "write")
            case .timedOut: continue
            case .ready: break
            }
            let written = bytes.withUnsafeBytes { raw in send(fd, raw.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN || code == EWOULDBLOCK { continue }
                throw TransportError.fromTransfer(code, device: device, operation: "write")
            }
            offset += written
        }
    }

    static func read(_ fd: Int32, maxCount: Int, timeout: Duration, device: String) throws(TransportError) -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        // A zero timeout looks once without waiting (draining what is already there).
        var once = timeout <= .zero
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero || once else {
                throw .timedOut(device: device, operation: "waiting for an answer", milliseconds: timeout.milliseconds)
            }
            let wait = once ? 0 : max(1, remaining.milliseconds)
            once = false
            switch pollFor(fd, events: Int16(POLLIN), timeoutMilliseconds: wait) {
            case .failed(let code): throw TransportError.fromTransfer(code, device: device, operation: "read")
            case .timedOut: continue
            case .ready: break
            }
            var buffer = [UInt8](repeating: 0, count: max(1, maxCount))
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN || code == EWOULDBLOCK { continue }
                throw TransportError.fromTransfer(code, device: device, operation: "read")
            }
            if count == 0 { throw .disconnected(device: device, detail: "the other side closed the connection") }
            return Array(buffer.prefix(count))
        }
    }
}
