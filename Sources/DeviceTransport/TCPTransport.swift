#if canImport(Glibc)
import Glibc
#endif

/// POLLRDHUP (Linux, needs _GNU_SOURCE in C): the peer shut down its side.
let pollReadHangUp: Int16 = 0x2000

/// A network printer on a raw TCP port (usually 9100). One connection per job: open, send, close.
public final class TCPTransport: Transport {
    public let host: String
    public let port: UInt16
    public let connectTimeout: Duration
    private var fd: Int32 = -1

    public var name: String { "tcp://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
    public var canRead: Bool { true }

    public init(host: String, port: UInt16, connectTimeout: Duration = .seconds(4)) {
        self.host = host
        self.port = port
        self.connectTimeout = connectTimeout
    }

    deinit { close() }

    public func open() throws(TransportError) {
        guard fd < 0 else { return }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .unreachable(device: name, detail: "the host name does not resolve: \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError: TransportError = .unreachable(device: name, detail: "no address")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let socketFD = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard socketFD >= 0 else {
                lastError = .io(device: name, operation: "socket", errno: errno)
                continue
            }
            var one: Int32 = 1
            setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(socketFD, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
            // A printer that vanished without closing (power cut, cable pulled) leaves a half-open connection:
            // probe after 5 s idle, every 2 s, give up after 3 probes; and fail unacknowledged data after 10 s.
            var idle: Int32 = 5, interval: Int32 = 2, count: Int32 = 3, userTimeout: Int32 = 10_000
            setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, &userTimeout, socklen_t(MemoryLayout<Int32>.size))
            let result = connect(socketFD, info.pointee.ai_addr, info.pointee.ai_addrlen)
            if result == 0 || errno == EINPROGRESS {
                switch FileDescriptorIO.pollFor(socketFD, events: Int16(POLLOUT), timeoutMilliseconds: connectTimeout.milliseconds) {
                case .ready:
                    var code: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(socketFD, SOL_SOCKET, SO_ERROR, &code, &length)
                    if code == 0 {
                        fd = socketFD
                        return
                    }
                    lastError = mapConnect(code)
                case .timedOut:
                    lastError = .timedOut(device: name, operation: "connecting", milliseconds: connectTimeout.milliseconds)
                case .failed(let code):
                    lastError = mapConnect(code)
                }
            } else {
                lastError = mapConnect(errno)
            }
            Glibc.close(socketFD)
        }
        throw lastError
    }

    private func mapConnect(_ code: Int32) -> TransportError {
        switch code {
        case ECONNREFUSED: return .connectionRefused(device: name)
        case ETIMEDOUT: return .timedOut(device: name, operation: "connecting", milliseconds: connectTimeout.milliseconds)
        case EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN:
            return .unreachable(device: name, detail: String(cString: strerror(code)))
        default: return .io(device: name, operation: "connect", errno: code)
        }
    }

    /// True when the peer has closed or reset the connection (a half-open or stale connection), checked without
    /// blocking before each job.
    public var peerHasClosed: Bool {
        guard fd >= 0 else { return true }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN) | pollReadHangUp, revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return false }
        if descriptor.revents & (pollReadHangUp | Int16(POLLHUP) | Int16(POLLERR)) != 0 { return true }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) == 0
    }

    public func write(_ bytes: [UInt8], timeout: Duration) throws(TransportError) {
        guard fd >= 0 else { throw .disconnected(device: name, detail: "not connected") }
        if peerHasClosed {
            close()
            throw .disconnected(device: name, detail: "the printer closed the connection")
        }
        do {
            try FileDescriptorIO.writeAll(fd, bytes, timeout: timeout, device: name) { fd, pointer, count in
                send(fd, pointer, count, Int32(MSG_NOSIGNAL))
            }
        } catch {
            close()  // a half-written job leaves the connection unusable; the next job reconnects
            throw error
        }
    }

    public func read(maxCount: Int, timeout: Duration) throws(TransportError) -> [UInt8] {
        guard fd >= 0 else { throw .disconnected(device: name, detail: "not connected") }
        do {
            return try FileDescriptorIO.read(fd, maxCount: maxCount, timeout: timeout, device: name)
        } catch {
            if case .disconnected = error { close() }
            throw error
        }
    }

    public func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }
}
