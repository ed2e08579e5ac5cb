import DeviceTransport
import ESCPOS
import ImageCodec
import ProfileCatalog
import ReceiptLayout
import ReceiptPrinter
import SessionEngine
import StrictDecoding

/// Everything that can stop a Kassa command, with the exit code the CLI uses for it.
public enum RuntimeError: Error, CustomStringConvertible {
    case homeNotWritable(path: String, reason: String)
    case hardwareDataMissing
    case inputUnreadable(path: String, reason: String)
    case invalidUTF8(source: String, offset: Int)
    case invalidDocument(source: String, reason: String)
    /// A JSON input (a document to print, a sale, a parked receipt) that strict decoding refused.
    case invalidInput(source: String, kind: InputKind, StrictDecodingError)
    case layout(LayoutError)
    case profile(ProfileCatalogError)
    case transport(TransportError)
    case image(source: String, ImageCodecError)
    case printerNotReady(device: String, problem: String)
    case previewNotWritable(path: String, reason: String)
    case font(String)
    case config(path: String, line: Int, reason: String)
    case statusUnavailable(device: String, reason: String)
    case garbledStatus(device: String, detail: String)
    case unknownDevice(String, configured: [String])
    case discovery(String)
    case session(SessionError)
    /// `journal export` on a journal that fails verification (without `--force`).
    case journalBroken(String)
    /// `kassa serve` could not start or run (its configuration, token file or spool); the message says what to do.
    case service(String)
    /// A TLS certificate or key cannot be made or used (`kassa serve cert`, `--tls-cert`); `code` is one of the `TLS_…` codes.
    case tls(code: String, message: String)
    /// A job was sent but the printer did not confirm it.
    case unconfirmed(device: String, reason: String)
    /// The terminal's marker shows a terminal was created in this database, but the file is missing, empty or holds none.
    case terminalDatabaseLost(database: String, marker: String)

    /// What a JSON input was meant to be, for the message and its pointer to the format's documentation.
    public enum InputKind: Sendable {
        case document, sale

        var name: String { self == .document ? "Kassa document" : "sale" }
        var consequence: String { self == .document ? "Nothing was printed." : "Nothing was recorded." }
        var reference: String { self == .document ? "Docs/document-format.md" : "Docs/CLI.md, \"Sale JSON\"" }
    }

    /// Maps the printer driver's errors onto the runtime's.
    public init(_ error: ReceiptPrinterError) {
        switch error {
        case .transport(let transport): self = .transport(transport)
        case .statusUnavailable(let device, let reason): self = .statusUnavailable(device: device, reason: reason)
        case .garbledStatus(let device, let detail): self = .garbledStatus(device: device, detail: detail.description)
        case .notReady(let device, let problem): self = .printerNotReady(device: device, problem: problem)
        case .unconfirmed(let device, let reason): self = .unconfirmed(device: device, reason: reason)
        case .encoding(let escpos): self = .layout(.escpos(escpos))
        }
    }

    public var description: String {
        switch self {
        case .homeNotWritable(let path, let reason):
            return "Cannot create \(path) (\(reason)). Choose another place with --home DIR or KASSA_HOME."
        case .hardwareDataMissing:
            return "Kassa's Hardware data folder (printer profiles and fonts) was not found. "
                + "Set KASSA_HARDWARE to the Hardware folder of the Kassa checkout."
        case .inputUnreadable(let path, let reason): return "Cannot read \(path): \(reason)."
        case .invalidUTF8(let source, let offset):
            return "\(source) is not valid UTF-8 (first bad byte at offset \(offset)). Nothing was printed. "
                + "Convert the text to UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
        case .invalidDocument(let source, let reason):
            return "\(source) is not a valid Kassa document: \(reason). Nothing was printed. See Docs/document-format.md."
        case .invalidInput(let source, let kind, let error):
            let stop = [".", "?", "!"].contains(error.reason.last.map(String.init) ?? "") ? "" : "."
            return "\(source) is not a valid \(kind.name): \(error.reason)\(stop) \(kind.consequence) See \(kind.reference)."
        case .layout(let error): return error.description + " Nothing was printed."
        case .profile(let error): return error.description
        case .transport(let error): return error.description
        case .image(let source, let error): return "The image \(source): \(error.description)."
        case .printerNotReady(let device, let problem): return "\(device) is not ready: \(problem). Nothing was printed."
        case .previewNotWritable(let path, let reason): return "Cannot write the preview \(path): \(reason)."
        case .font(let reason): return "The virtual printer's font could not be loaded: \(reason)."
        case .config(let path, let line, let reason):
            return "\(path)\(line > 0 ? ":\(line)" : ""): \(reason). See Docs/CLI.md, \"Configuration\"."
        case .statusUnavailable(let device, let reason): return "Status of \(device) is unavailable: \(reason)."
        case .garbledStatus(let device, let detail):
            return "\(device) answered with garbled status (\(detail)). Check the baud rate and that nothing else reads the port."
        case .discovery(let reason): return reason
        case .unconfirmed(let device, let reason):
            return "The job was sent to \(device) but the printer did not confirm it: \(reason). It may be missing or cut short: "
                + "look at the printer before printing it again."
        case .session(let error): return error.description
        case .service(let message): return message
        case .tls(_, let message): return message
        case .journalBroken(let detail):
            return "The journal does not verify (\(detail)); nothing was exported. Keep the database as it is and call support; "
                + "`kassa journal export --force` writes the export marked as unverified, for the investigation."
        case .terminalDatabaseLost(let database, let marker):
            return "The terminal's database \(database) is missing, empty or holds no terminal, but \(marker) shows that this terminal "
                + "existed: its counters, grand totals and journal must never start again at 0. Restore kassa.sqlite (with its -wal "
                + "file) from the backup. Only to retire this terminal for good and start a new one, move the database, "
                + "kassa.sqlite.terminal, fiscal-module.key, fiscal-module.counter and rksv-aes.key away together (keep them for the auditor)."
        case .unknownDevice(let name, let configured):
            return "'\(name)' is neither a configured device nor a device URL. "
                + (configured.isEmpty ? "No devices are configured (HOME/kassa.toml)." : "Configured: \(configured.joined(separator: ", ")).")
        }
    }

    /// Documented in Docs/CLI.md.
    public var exitCode: Int32 {
        switch self {
        case .inputUnreadable, .invalidUTF8, .invalidDocument, .invalidInput, .image: return 3
        case .layout(let error):
            if case .escpos(.notSupported) = error { return 4 }
            return 3
        case .profile: return 4
        case .homeNotWritable, .previewNotWritable, .hardwareDataMissing, .font: return 5
        case .config: return 6
        case .printerNotReady: return 22
        case .statusUnavailable: return 4
        case .garbledStatus: return 23
        case .unknownDevice: return 64
        case .discovery: return 7
        case .terminalDatabaseLost: return 37
        case .journalBroken: return 39
        case .service, .tls: return 9
        case .unconfirmed: return 24
        case .session(let error):
            switch error {
            case .permissionDenied: return 30
            case .unknownUser, .invalid, .paymentsDoNotCover, .refundExceedsSale: return 31
            case .sessionAlreadyOpen, .noOpenSession, .sessionClosed, .parkedReceiptsBlockClose, .paymentInProgress, .shiftState, .sessionManagementOff, .unpostedShifts: return 32
            case .differenceNeedsApproval: return 33
            case .copyAlreadyPrinted, .staleVersion, .parkedLeased, .originalAlreadyPrinted: return 34
            case .wrongTerminal: return 35
            case .idempotencyConflict: return 40
            case .notFound, .noTerminal: return 36
            case .database, .databaseUnavailable: return 37
            case .fiscalModuleFailed, .controlUnitFailed, .controlUnitMismatch, .registrationPending, .registrationNeeded, .registrationConflict: return 38
            case .stateTampered: return 39
            }
        case .transport(let error):
            switch error {
            case .invalidURL: return 64
            case .notFound: return 10
            case .permissionDenied: return 11
            case .busy: return 12
            case .timedOut: return 20
            case .disconnected, .connectionRefused, .unreachable: return 21
            case .unsupported, .cannotRead: return 4
            case .stalled: return 21
            case .io, .usb: return 1
            }
        }
    }

    /// A stable machine-readable name for `--json` output.
    public var code: String {
        switch self {
        case .service: return "SERVICE"
        case .tls(let code, _): return code
        case .homeNotWritable: return "HOME_NOT_WRITABLE"
        case .hardwareDataMissing: return "HARDWARE_DATA_MISSING"
        case .inputUnreadable: return "INPUT_UNREADABLE"
        case .invalidUTF8: return "INVALID_UTF8"
        case .invalidDocument: return "INVALID_DOCUMENT"
        case .invalidInput(_, let kind, let error):
            if error.kind == .unknownField { return "UNKNOWN_FIELD" }
            return kind == .document ? "INVALID_DOCUMENT" : "INVALID_INPUT"
        case .layout(let error):
            if case .escpos(.notSupported) = error { return "NOT_SUPPORTED" }
            return "INVALID_DOCUMENT"
        case .profile: return "UNKNOWN_PROFILE"
        case .image: return "INVALID_IMAGE"
        case .printerNotReady: return "PRINTER_NOT_READY"
        case .previewNotWritable: return "PREVIEW_NOT_WRITABLE"
        case .font: return "FONT_MISSING"
        case .config: return "CONFIG_INVALID"
        case .statusUnavailable: return "STATUS_UNAVAILABLE"
        case .garbledStatus: return "GARBLED_STATUS"
        case .unknownDevice: return "UNKNOWN_DEVICE"
        case .discovery: return "DISCOVERY_UNAVAILABLE"
        case .terminalDatabaseLost: return "DATABASE_LOST"
        case .journalBroken: return "JOURNAL_BROKEN"
        case .unconfirmed: return "UNCONFIRMED"
        case .session(let error):
            switch error {
            case .permissionDenied: return "PERMISSION"
            case .unknownUser: return "UNKNOWN_USER"
            case .invalid, .paymentsDoNotCover, .refundExceedsSale: return "INVALID"
            case .sessionAlreadyOpen: return "SESSION_ALREADY_OPEN"
            case .noOpenSession: return "NO_OPEN_SESSION"
            case .sessionClosed: return "SESSION_CLOSED"
            case .parkedReceiptsBlockClose: return "PARKED_RECEIPTS"
            case .paymentInProgress: return "PAYMENT_IN_PROGRESS"
            case .shiftState: return "SHIFT_STATE"
            case .sessionManagementOff: return "SESSION_MANAGEMENT_OFF"
            case .unpostedShifts: return "UNPOSTED_SHIFTS"
            case .differenceNeedsApproval: return "DIFFERENCE_NEEDS_APPROVAL"
            case .copyAlreadyPrinted: return "COPY_ALREADY_PRINTED"
            case .originalAlreadyPrinted: return "ORIGINAL_ALREADY_PRINTED"
            case .staleVersion: return "STALE_VERSION"
            case .parkedLeased: return "PARKED_LEASED"
            case .wrongTerminal: return "WRONG_TERMINAL"
            case .idempotencyConflict: return "IDEMPOTENCY_CONFLICT"
            case .notFound, .noTerminal: return "NOT_FOUND"
            case .database: return "DATABASE"
            case .databaseUnavailable: return "DATABASE_UNAVAILABLE"
            case .fiscalModuleFailed: return "FISCAL_MODULE"
            case .controlUnitFailed, .registrationPending, .registrationNeeded, .registrationConflict: return "CONTROL_UNIT"
            case .controlUnitMismatch: return "CONTROL_UNIT_MISMATCH"
            case .stateTampered: return "JOURNAL_BROKEN"
            }
        case .transport(let error):
            switch error {
            case .invalidURL: return "INVALID_DEVICE_URL"
            case .notFound: return "DEVICE_NOT_FOUND"
            case .permissionDenied: return "PERMISSION_DENIED"
            case .busy: return "BUSY"
            case .timedOut: return "TIMEOUT"
            case .disconnected: return "DISCONNECTED"
            case .connectionRefused, .unreachable: return "UNREACHABLE"
            case .unsupported: return "NOT_SUPPORTED"
            case .cannotRead: return "STATUS_UNAVAILABLE"
            case .stalled: return "STALLED"
            case .io, .usb: return "IO_ERROR"
            }
        }
    }
}

/// Runs a session-engine call; its refusal becomes a runtime error (for the CLI and the runtime alike).
public func session<T>(_ body: () throws(SessionError) -> T) throws(RuntimeError) -> T {
    do {
        return try body()
    } catch {
        throw .session(error)
    }
}
