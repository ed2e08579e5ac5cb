import DeviceTransport
import ESCPOS
import Foundation
import Raster

#if canImport(Glibc)
import Glibc
#endif

/// Streams a 100 kB raster job through the serial transport to a pty, and through the TCP transport to a loopback
/// listener, and reports the time Kassa itself spends (a pty and loopback have no line speed).
enum TransportBench {
    static func rasterJob(profile: PrinterProfile) throws -> [UInt8] {
        var bitmap = MonoBitmap(width: 576, height: 1389)
        for index in bitmap.bytes.indices { bitmap.bytes[index] = UInt8(truncatingIfNeeded: index &* 2654435761 >> 7) }
        var writer = ESCPOSWriter(profile: profile)
        writer.initialize()
        try writer.image(bitmap)
        writer.cut()
        return writer.bytes
    }

    /// Drains `fd` on a thread until `expected` bytes arrived; returns a function that waits for that.
    static func drain(_ fd: Int32, expected: Int) -> () -> Void {
        let done = DispatchSemaphore(value: 0)
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            var total = 0
            while total < expected {
                var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, 1000) > 0 else { continue }
                let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count > 0 { total += count }
                if count == 0 { break }
            }
            done.signal()
        }.start()
        return { done.wait() }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func measurePTY(_ job: [UInt8], runs: Int) throws -> [Double] {
        var results: [Double] = []
        for _ in 0..<runs {
            let pty = try PseudoTerminal()
            let transport = SerialTransport(path: pty.slavePath, settings: SerialSettings(baud: 115_200))
            let wait = drain(pty.master, expected: job.count)
            let clock = ContinuousClock()
            let start = clock.now
            try transport.open()
            try transport.write(job, timeout: .seconds(30))
            wait()
            results.append(seconds(clock.now - start))
            transport.close()
        }
        return results
    }

    static func measureTCP(_ job: [UInt8], runs: Int) throws -> [Double] {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(listener, $0, length)
                _ = getsockname(listener, $0, &length)
            }
        }
        listen(listener, 8)
        let port = UInt16(bigEndian: address.sin_port)
        var results: [Double] = []
        for _ in 0..<runs {
            let received = DispatchSemaphore(value: 0)
            let expected = job.count
            Thread {
                let client = accept(listener, nil, nil)
                defer { Glibc.close(client) }
                var buffer = [UInt8](repeating: 0, count: 65536)
                var total = 0
                while total < expected {
                    let count = buffer.withUnsafeMutableBytes { Glibc.read(client, $0.baseAddress, $0.count) }
                    if count <= 0 { break }
                    total += count
                }
                received.signal()
            }.start()
            let transport = TCPTransport(host: "127.0.0.1", port: port)
            let clock = ContinuousClock()
            let start = clock.now
            try transport.open()
            try transport.write(job, timeout: .seconds(30))
            received.wait()
            results.append(seconds(clock.now - start))
            transport.close()
        }
        return results
    }

    static func run(profile: PrinterProfile) throws -> [String: Any] {
        let job = try rasterJob(profile: profile)
        let runs = 21
        let pty = try measurePTY(job, runs: runs).sorted()
        let tcp = try measureTCP(job, runs: runs).sorted()
        let lineSeconds = Double(job.count) * SerialSettings(baud: 115_200).secondsPerByte
        func summary(_ values: [Double]) -> [String: Any] {
            let median = values[values.count / 2]
            return [
                "medianMilliseconds": (median * 1e5).rounded() / 100,
                "nanosecondsPerByte": (median / Double(job.count) * 1e9).rounded(),
                "shareOf115200BaudTime": (median / lineSeconds * 1e5).rounded() / 1e5,
            ]
        }
        return ["jobBytes": job.count, "lineSecondsAt115200": (lineSeconds * 1000).rounded() / 1000,
                "pty": summary(pty), "tcpLoopback": summary(tcp), "runs": runs]
    }
}
