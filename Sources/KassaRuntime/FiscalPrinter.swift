import DatecsDriver
import DatecsProtocol
import DeviceTransport
import Foundation
import PrivateFiles

/// What `kassa fiscal status --printer` and `kassa fiscal info --printer` show of a Datecs fiscal printer.
public struct FiscalPrinterReport: Sendable, Codable {
    public var device: String
    public var connection: String
    /// The eight status bytes, hexadecimal.
    public var statusBytes: String
    public var errors: [String]
    public var warnings: [String]
    public var fiscalReceiptOpen: Bool
    public var fiscalized: Bool
    /// The device's last document number (its own counter).
    public var lastDocument: Int64
    /// Whether the device can register a document now.
    public var operational: Bool
}

/// An X report the fiscal printer printed: its report number and the totals per VAT group (A–H) since the last Z.
public struct FiscalPrinterXReport: Sendable, Codable {
    public var connection: String
    public var reportNumber: Int64
    /// Minor units per group, A to H.
    public var totals: [String: Int64]
}

extension KassaEnvironment {
    /// Runs `body` on a link to the configured fiscal printer (`[fiscal.printer]`), closing the port after.
    func withFiscalPrinter<T>(_ body: (DatecsLink<ContinuousClock>, String) throws(DatecsError) -> T) throws(RuntimeError) -> T {
        guard let configured = config.fiscalPrinter else {
            throw .session(.invalid("No fiscal printer is configured: add [fiscal.printer] url = \"serial:///dev/ttyUSB0?baud=115200\" to kassa.toml."))
        }
        let transport: SerialTransport
        do throws(TransportError) {
            guard case .serial(let path, let parameters) = try DeviceURL(parsing: configured.url) else {
                throw TransportError.invalidURL(configured.url, reason: "a fiscal printer is on a serial port")
            }
            transport = SerialTransport(path: path, settings: try SerialSettings(parameters: parameters, url: configured.url))
            try transport.open()
        } catch {
            throw .transport(error)
        }
        defer { transport.close() }
        // The device answers a repeat of its last SEQ from memory, so each process continues where the last one ended
        // (`fiscal-printer.seq` in the home, read and written while the port is held). A block of 64 is reserved
        // durably before the first command, so a process that dies mid-way never hands its SEQs to the next one.
        let sequencePath = home.root.appendingPathComponent("fiscal-printer.seq").path
        let stored = FileManager.default.contents(atPath: sequencePath).flatMap { UInt8(String(decoding: $0, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) }
        let first = stored.flatMap { DatecsFraming.sequenceRange.contains($0) ? $0 : nil } ?? 0x20
        func keep(_ next: UInt8) { try? PrivateFiles.write(Array("\(next)\n".utf8), to: sequencePath, durable: true) }
        keep(UInt8(0x20 + (Int(first) - 0x20 + 64) % 224))
        let link = DatecsLink(transport: transport, firstSequence: first)
        defer { keep(link.nextSequence) }
        do {
            return try body(link, configured.url)
        } catch {
            throw .session(.invalid("The fiscal printer at \(configured.url): \(error.code): \(error.description)"))
        }
    }

    /// Reads the fiscal printer's status (74) and last document number (113).
    public func fiscalPrinterReport() throws(RuntimeError) -> FiscalPrinterReport {
        let timeout = Duration.milliseconds(config.fiscalPrinter?.timeoutMilliseconds ?? 500), attempts = config.fiscalPrinter?.attempts ?? 3
        return try withFiscalPrinter { (link, url) throws(DatecsError) -> FiscalPrinterReport in
            let status = try link.perform(.status, replyTimeout: timeout, attempts: attempts).status
            let answer = try link.perform(.lastDocument, replyTimeout: timeout, attempts: attempts)
            let last: Int64
            do throws(DatecsCommandError) { last = try answer.number(0) } catch { throw .command(error) }
            return FiscalPrinterReport(
                device: "fiscal-printer", connection: url, statusBytes: status.bytes.map { String(format: "%02X", $0) }.joined(separator: " "),
                errors: status.errors, warnings: status.warnings, fiscalReceiptOpen: status.fiscalReceiptOpen, fiscalized: status.fiscalized,
                lastDocument: last, operational: status.errors.isEmpty && !status.fiscalReceiptOpen)
        }
    }

    /// Prints an X report on the fiscal printer (69 `X`): nothing is zeroed.
    public func fiscalPrinterXReport() throws(RuntimeError) -> FiscalPrinterXReport {
        let timeout = Duration.milliseconds(config.fiscalPrinter?.timeoutMilliseconds ?? 500), attempts = config.fiscalPrinter?.attempts ?? 3
        return try withFiscalPrinter { (link, url) throws(DatecsError) -> FiscalPrinterXReport in
            let answer = try link.perform(.report(zeroing: false), replyTimeout: timeout, attempts: attempts)
            do throws(DatecsCommandError) {
                var totals: [String: Int64] = [:]
                for (index, group) in "ABCDEFGH".enumerated() where index + 1 < answer.values.count {
                    totals[String(group)] = try answer.money(index + 1)
                }
                return FiscalPrinterXReport(connection: url, reportNumber: try answer.number(0), totals: totals)
            } catch {
                throw .command(error)
            }
        }
    }
}
