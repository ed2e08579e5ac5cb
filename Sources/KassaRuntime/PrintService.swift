import DeviceTransport
import ESCPOS
import Foundation
import PrivateFiles
import ImageCodec
import Logging
import ProfileCatalog
import Raster
import ReceiptLayout
import ReceiptPrinter
import VirtualPrinter

/// What a print command did, for people and for `--json`.
public struct PrintOutcome: Sendable, Codable {
    public var device: String
    public var profile: String
    public var bytes: Int
    public var copies: Int
    public var previewPNG: String?
    public var previewText: String?
    public var warnings: [String]
    /// Remarks from the virtual printer (commands it skipped).
    public var notes: [String]
    public var text: String?
    /// `confirmed`: the printer answered a status request sent after the job's last byte, and showed nothing that stops
    /// printing; `sent`: the connection (a file, a printer that never answers status) cannot confirm it. A job that
    /// should have been confirmed and was not is an error (`UNCONFIRMED`, exit 24), never an outcome.
    public var delivery: String = "sent"
}

/// The composition root for printing: profiles, fonts, layout, transports and previews.
public struct KassaEnvironment: Sendable {
    public let home: KassaHome
    public let hardware: URL
    public let catalog: ProfileCatalog
    public let config: KassaConfig
    public var logger: Logger

    public static let defaultProfile = "generic-80mm"

    public init(home: KassaHome, hardware: URL? = nil, logger: Logger = Logger(label: "kassa.runtime")) throws(RuntimeError) {
        guard let hardware = hardware ?? HardwareLocator.locate() else { throw .hardwareDataMissing }
        self.home = home
        self.hardware = hardware
        self.logger = logger
        do {
            catalog = try ProfileCatalog.load(hardwareDirectory: hardware, userDirectory: home.profiles)
        } catch {
            throw .profile(error)
        }
        config = try KassaConfig.load(from: home.root.appendingPathComponent("kassa.toml"))
        for problem in catalog.problems {
            logger.warning("profile file skipped", metadata: ["problem": "\(problem)"])
        }
    }

    public func profile(named name: String?) throws(RuntimeError) -> PrinterProfile {
        do {
            return try catalog.profile(named: name ?? Self.defaultProfile)
        } catch {
            throw .profile(error)
        }
    }

    public func fonts() throws(RuntimeError) -> PrinterFonts {
        func load(_ file: String) throws(RuntimeError) -> BitmapFont {
            let url = hardware.appendingPathComponent("fonts").appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw .font("\(url.path) is missing")
            }
            do {
                return try BitmapFont(bdf: String(decoding: data, as: UTF8.self))
            } catch {
                throw .font("\(url.path): \(error)")
            }
        }
        return PrinterFonts(fontA: try load("font-a-12x24.bdf"), fontB: try load("font-b-8x16.bdf"))
    }

    // MARK: Building jobs

    /// Lays out a document; image files are resolved relative to `baseDirectory`.
    /// `imageCache`: a long-running service keeps its logos dithered (`ImageCache`); the CLI lays out once.
    public func layout(_ document: Document, profile: PrinterProfile, font: TextStyle.Font = .a, baseDirectory: URL?,
                       imageCache: ImageCache? = nil) throws(RuntimeError) -> LayoutResult
    {
        let layout = ReceiptLayout(profile: profile, options: .init(font: font, imageCache: imageCache))
        do {
            return try layout.render(document) { (block: ImageBlock) throws(LayoutError) -> GrayImage in
                try Self.loadImage(block, baseDirectory: baseDirectory)
            }
        } catch {
            throw .layout(error)
        }
    }

    static func loadImage(_ block: ImageBlock, baseDirectory: URL?) throws(LayoutError) -> GrayImage {
        let bytes: [UInt8]
        let source: String
        if let base64 = block.base64 {
            source = "(base64 image)"
            guard let data = Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else {
                throw .image(source: source, reason: "the base64 text does not decode")
            }
            bytes = Array(data)
        } else if let file = block.file {
            let url = file.hasPrefix("/") ? URL(fileURLWithPath: file)
                : (baseDirectory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).appendingPathComponent(file)
            source = url.path
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw .image(source: source, reason: "the file does not exist or cannot be read")
            }
            bytes = Array(data)
        } else {
            throw .image(source: "(image block)", reason: "give 'file' or 'base64'")
        }
        do {
            return try ImageCodec.decode(bytes)
        } catch {
            throw .image(source: source, reason: error.description)
        }
    }

    /// The one-off job that stores a logo in the printer's non-volatile memory under a two-character key, so
    /// receipts can print it with a few bytes (`"storedKey"` in the document) instead of sending the image each time.
    public func storeLogoJob(imageFile: String, key: String, width: Int?, profile: PrinterProfile)
        throws(RuntimeError) -> [UInt8]
    {
        guard profile.features.storedLogo else {
            throw .layout(.escpos(.notSupported(feature: "logos stored in printer memory (GS ( L)", profile: profile.id)))
        }
        let keyBytes = Array(key.utf8)
        guard keyBytes.count == 2, keyBytes.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            throw .invalidDocument(source: "--key", reason: "the key is two printable ASCII characters, e.g. K1")
        }
        let block = ImageBlock(file: imageFile, width: width)
        let gray: GrayImage
        do {
            gray = try Self.loadImage(block, baseDirectory: nil)
        } catch {
            throw .layout(error)
        }
        let bitmap = gray.scaled(toWidth: min(width ?? gray.width, profile.paper.dots)).monochrome(.floydSteinberg)
        return ESCPOSWriter.storeLogoJob(bitmap, key: (keyBytes[0], keyBytes[1]))
    }

    /// Plain UTF-8 text, one printed line per input line, then a cut.
    public func textJob(_ text: String, profile: PrinterProfile, font: TextStyle.Font = .a) -> LayoutResult {
        var writer = ESCPOSWriter(profile: profile)
        writer.initialize()
        writer.setStyle(TextStyle(font: font))
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        let width = profile.columns(font: font)
        writer.hintText(text)
        for line in lines {
            for wrapped in ReceiptLayout.wrap(String(line).replacingOccurrences(of: "\r", with: ""), width: width) {
                writer.line(wrapped)
            }
        }
        writer.cut(.partial)
        return LayoutResult(bytes: writer.bytes, warnings: writer.warnings)
    }

    // MARK: Sending

    public func transport(for url: DeviceURL, profile: PrinterProfile) throws(RuntimeError) -> any Transport {
        switch url {
        case .virtual(let simulate):
            do {
                return try VirtualPrinterTransport(profile: profile, fonts: try fonts(), simulate: simulate)
            } catch let error as TransportError {
                throw .transport(error)
            } catch let error as RuntimeError {
                throw error
            } catch {
                throw .transport(.unsupported(device: url.description, reason: "\(error)"))
            }
        case .tcp(let host, let port): return TCPTransport(host: host, port: port)
        case .file(let path): return FileTransport(path: path)
        case .serial(let path, let parameters):
            do {
                return SerialTransport(path: path, settings: try SerialSettings(parameters: parameters, url: url.description))
            } catch {
                throw .transport(error)
            }
        case .usb(let vendor, let product, let serial, let port):
            return USBTransport(vendor: vendor, product: product, serial: serial, port: port)
        }
    }

    /// Opens the device behind a `ReceiptPrinter` driver.
    public func openPrinter(_ device: ResolvedDevice) throws(RuntimeError) -> ReceiptPrinter {
        let printer = ReceiptPrinter(
            transport: try transport(for: device.url, profile: device.profile),
            profile: device.profile,
            logger: logger.with(["device.id": "\(device.url)", "profile": "\(device.profile.id)"]))
        do {
            try printer.open()
        } catch {
            throw RuntimeError(error)
        }
        return printer
    }

    /// Sends `bytes` `copies` times, after checking the printer's status where the connection can report it
    /// (paper out or cover open stop the job before any byte is sent). For the virtual printer, writes previews.
    public func send(
        _ bytes: [UInt8], copies: Int, device: ResolvedDevice, previewPath: String?, warnings: [EncodingWarning],
        checkStatus: Bool = true
    ) throws(RuntimeError) -> PrintOutcome {
        let printer = try openPrinter(device)
        defer { printer.close() }
        var notes: [String] = []
        if checkStatus {
            do {
                switch try printer.preflight() {
                case .unknown(let reason): notes.append("status not checked: \(reason)")
                case .ready(let status):
                    if status.paper == .nearEnd { notes.append("the paper is nearly out: have a new roll ready") }
                }
            } catch {
                throw RuntimeError(error)
            }
        }
        let delivery: ReceiptPrinter.Delivery
        do {
            for copy in 1...max(1, copies) {
                printer.logger.debug("sending job", metadata: ["copy": "\(copy)", "bytes": "\(bytes.count)"])
                try printer.send(bytes)
            }
            // Written is not printed: the job counts once the printer confirms it has everything (Docs/CLI.md, "Printed").
            delivery = try printer.confirmDelivery(expectAnswer: printer.hasAnsweredStatus,
                                                   deadline: Self.confirmDeadline(bytes: bytes.count * max(1, copies)))
        } catch {
            printer.logger.error("print failed", metadata: ["error": "\(error)"])
            throw RuntimeError(error)
        }
        if delivery == .sent { notes.append("sent, not confirmed: \(printer.transport.canRead ? "the printer does not answer status" : "this connection cannot carry an answer")") }
        var outcome = PrintOutcome(
            device: device.url.description, profile: device.profile.id, bytes: bytes.count * max(1, copies),
            copies: max(1, copies), previewPNG: nil, previewText: nil, warnings: warnings.map(\.message), notes: notes,
            text: nil, delivery: delivery.rawValue)
        if let virtual = printer.transport as? VirtualPrinterTransport {
            virtual.close()
            try writePreviews(virtual.printer, explicitPNG: previewPath, into: &outcome)
        }
        return outcome
    }

    /// How long a printer may take to confirm a job: 5 s, plus 1 ms a byte (a printer takes a long job as it prints it).
    /// `KASSA_CONFIRM_TIMEOUT_MS` sets it (Docs/CLI.md).
    public static func confirmDeadline(bytes: Int) -> Duration {
        if let text = ProcessInfo.processInfo.environment["KASSA_CONFIRM_TIMEOUT_MS"], let milliseconds = Int(text), milliseconds > 0 {
            return .milliseconds(milliseconds)
        }
        return .milliseconds(5000 + bytes)
    }

    /// `yyyyMMdd-HHmmss-SSS` in local time, for preview names (libc, not a DateFormatter: no ICU on the print path).
    static func previewStamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        func digits(_ value: Int32, _ count: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, count - text.count)) + text
        }
        return digits(parts.tm_year + 1900, 4) + digits(parts.tm_mon + 1, 2) + digits(parts.tm_mday, 2) + "-" + digits(parts.tm_hour, 2)
            + digits(parts.tm_min, 2) + digits(parts.tm_sec, 2) + "-" + digits(Int32(milliseconds - Int64(seconds) * 1000), 3)
    }

    func writePreviews(_ printer: VirtualPrinter, explicitPNG: String?, into outcome: inout PrintOutcome) throws(RuntimeError) {
        let pngURL: URL
        if let explicitPNG {
            pngURL = URL(fileURLWithPath: explicitPNG)
        } else {
            try home.ensure(home.previews)
            pngURL = home.previews.appendingPathComponent("receipt-\(Self.previewStamp(Date())).png")
        }
        let textURL = pngURL.deletingPathExtension().appendingPathExtension("txt")
        let text = printer.textPreview()
        do {
            let png = try ImageCodec.encodePNG(printer.renderImage())
            try PrivateFiles.write(png, to: pngURL.path)
            try PrivateFiles.write(Array(text.utf8), to: textURL.path)
        } catch let error as ImageCodecError {
            throw .previewNotWritable(path: pngURL.path, reason: error.description)
        } catch let error as PrivateFileError {
            throw .previewNotWritable(path: error.path, reason: String(cString: strerror(error.code)))
        } catch {
            throw .previewNotWritable(path: pngURL.path, reason: (error as NSError).localizedDescription)
        }
        outcome.previewPNG = pngURL.path
        outcome.previewText = textURL.path
        outcome.notes += printer.notes
        outcome.text = text
    }
}

extension Logger {
    /// A copy with `metadata` added.
    public func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}
