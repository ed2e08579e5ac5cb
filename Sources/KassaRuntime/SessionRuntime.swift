import CleanCashDriver
import DeviceTransport
import ESCPOS
import Foundation
import ReceiptLayout
import FiscalProfiles
import PrivateFiles
import RKSV
import SessionEngine
import SoftwareFiscalModule
import VirtualPrinter

extension KassaEnvironment {
    /// The terminal's database: `--database PATH`, else `HOME/kassa.sqlite`.
    public func databasePath(_ explicit: String?) -> String {
        explicit ?? home.root.appendingPathComponent("kassa.sqlite").path
    }

    /// The fiscal profiles this terminal can run (the `fiscal-profile` setting picks one): Austria, with its AES key in
    /// `rksv-aes.key` beside the database (made on the first Austrian receipt), and Sweden, with the control unit of
    /// `[fiscal.control-unit]` in kassa.toml (a CleanCash unit on a serial port). Without one, the in-process simulator
    /// stands in and prints `SIMULATOR-…` as the unit's id; `KASSA_CONTROL_UNIT=down` makes it stop answering (tests,
    /// demos of the failure).
    public func fiscalProfiles(_ database: String?) -> [any FiscalProfile] {
        let folder = URL(fileURLWithPath: databasePath(database)).deletingLastPathComponent()
        return [AustrianProfile(keyPath: folder.appendingPathComponent("rksv-aes.key").path), SwedishProfile(unit: controlUnit(database))]
    }

    /// The control unit: the configured one, else the simulator (its memory beside the database, as a unit keeps it
    /// across power cycles).
    public func controlUnit(_ database: String?) -> any ControlUnit {
        if let configured = config.controlUnit {
            let url = configured.url, timeout = Duration.milliseconds(configured.timeoutMilliseconds), attempts = configured.attempts
            do {
                return try CleanCashControlUnit(url: url, replyTimeout: timeout, attempts: attempts)
            } catch {
                // kassa.toml's check refuses such a url; should one get here, the unit fails every call with the reason
                // (never the simulator in its place).
                return CleanCashControlUnit(connection: url, clock: ContinuousClock()) { () throws(TransportError) -> any Transport in throw error }
            }
        }
        let folder = URL(fileURLWithPath: databasePath(database)).deletingLastPathComponent()
        let unit = ControlUnitSimulator(memoryPath: folder.appendingPathComponent("control-unit-simulator.json").path)
        if ProcessInfo.processInfo.environment["KASSA_CONTROL_UNIT"] == "down" { unit.setAnswering(false) }
        return unit
    }

    /// The software fiscal module's key: `fiscal-module.key` in the database's folder.
    public func fiscalKeyPath(_ database: String?) -> String {
        URL(fileURLWithPath: databasePath(database)).deletingLastPathComponent().appendingPathComponent("fiscal-module.key").path
    }

    /// Opens the session engine for this machine's terminal (creating the database on first use).
    /// `KASSA_CRASH_AT=<step>` (a `FinalizeStep` raw value) kills this process with SIGKILL at that step of finalizing a
    /// receipt, so crash tests can prove that numbers stay gap-free. Unset in normal use.
    public static var crashStep: FinalizeStep? {
        ProcessInfo.processInfo.environment["KASSA_CRASH_AT"].flatMap(FinalizeStep.init(rawValue:))
    }

    /// Kills the process if `KASSA_CRASH_AT` names this step.
    public static func faultPoint(_ step: FinalizeStep) {
        if crashStep == step { kill(getpid(), SIGKILL) }
    }

    /// The fiscal modules' anchors beside the database (`fiscal-module.counter`), for `journal verify` and `export`.
    public func journalAnchors(_ database: String?) throws(RuntimeError) -> [(serial: String, counter: Int64)] {
        let path = SoftwareFiscalModule.anchorPath(forKey: fiscalKeyPath(database))
        do {
            return try SoftwareFiscalModule.readAnchor(path).map { [$0] } ?? []
        } catch {
            throw .session(.fiscalModuleFailed(serial: "software", code: error.code, message: error.message))
        }
    }

    /// The marker beside a database that says a terminal was created in it (`kassa.sqlite.terminal`).
    public func terminalMarkerPath(_ database: String?) -> String { databasePath(database) + ".terminal" }

    public func sessionEngine(database: String?, readOnly: Bool = false, replacingModule: Bool = false) throws(RuntimeError) -> SessionEngine {
        try home.ensure(home.root)
        let path = databasePath(database)
        let marker = terminalMarkerPath(database)
        // A terminal is never started anew in silence: once its marker exists, a missing, empty or replaced database is
        // refused (its counters and grand totals would restart at 0 beside the existing fiscal key).
        // Witnesses: the marker; and for the home's own database also the fiscal module's anchor (it signed committed
        // facts) and the Austrian AES key (made with the first Austrian receipt), which belong to the folder's terminal.
        var witness: String? = FileManager.default.fileExists(atPath: marker) ? marker : nil
        if witness == nil, database == nil {
            let anchorPath = SoftwareFiscalModule.anchorPath(forKey: fiscalKeyPath(nil))
            let aesKey = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("rksv-aes.key").path
            if ((try? SoftwareFiscalModule.readAnchor(anchorPath))??.counter ?? 0) > 0 {
                witness = anchorPath
            } else if FileManager.default.fileExists(atPath: aesKey) {
                witness = aesKey
            }
        }
        if let witness {
            var status = stat()
            if stat(path, &status) != 0 || status.st_size == 0 { throw .terminalDatabaseLost(database: path, marker: witness) }
        }
        do {
            let store = try SessionStore.open(path: path)
            var faultPoint: (@Sendable (FinalizeStep) -> Void)?
            if Self.crashStep != nil { faultPoint = { @Sendable step in KassaEnvironment.faultPoint(step) } }
            // The software fiscal module signs the journal; its key lives beside the database (fiscal-module.key, 0600).
            // On an existing terminal a missing key is refused (never made anew), and a key other than the registered
            // module's is refused by the engine (decision 0018); `replace-module` puts a new one in service on purpose.
            var module: (any FiscalModule)? = readOnly ? nil
                : try SoftwareFiscalModule.load(path: fiscalKeyPath(database), mayCreate: witness == nil || replacingModule)
            if let base = module, ProcessInfo.processInfo.environment["KASSA_SIGNATURE_DEVICE"] == "down" { module = SignatureDeviceDown(base) }
            let engine = try SessionEngine(store: store, readOnly: readOnly, logger: logger, fiscalModule: module,
                                           profiles: fiscalProfiles(database), faultPoint: faultPoint, createTerminal: witness == nil,
                                           acceptNewFiscalModule: witness == nil || replacingModule)
            if !FileManager.default.fileExists(atPath: marker), !readOnly {
                // SQLite creates the database (and its -wal and -shm) 0644 less the umask; the terminal's history is
                // the till user's alone, as the home folder is.
                for suffix in ["", "-wal", "-shm"] { _ = chmod(path + suffix, 0o600) }
                // Written after the terminal committed, before any command of it can make a fact: from now on the
                // database cannot silently be replaced by an empty one.
                let text = (try? JSONEncoder().encode(["terminal": engine.terminalID, "database": path])) ?? Data()
                do {
                    try PrivateFiles.write(Array(text) + [0x0A], to: marker, durable: true)
                } catch {
                    throw RuntimeError.homeNotWritable(path: marker, reason: error.message)
                }
            }
            return engine
        } catch let error as RuntimeError {
            throw error
        } catch SessionError.noTerminal where witness != nil {
            throw .terminalDatabaseLost(database: path, marker: witness ?? marker)
        } catch let error as FiscalModuleError {
            throw .session(.fiscalModuleFailed(serial: "software", code: error.code, message: error.message))
        } catch let error as SessionError {
            throw .session(error)
        } catch {
            throw .session(.invalid("\(error)"))
        }
    }

    /// Prints a document on a device, after the fact it records was committed. A failure here leaves the fact valid:
    /// the caller reports it and the receipt can be printed again as a copy.
    public func printDocument(_ document: Document, on device: ResolvedDevice, previewPath: String? = nil) throws(RuntimeError) -> PrintOutcome {
        let layout = try self.layout(document, profile: device.profile, baseDirectory: nil)
        return try send(layout.bytes, copies: 1, device: device, previewPath: previewPath, warnings: layout.warnings)
    }
}

extension KassaEnvironment {
    /// How the bytes would look on paper, as text (the virtual printer without fonts).
    public func textPreview(_ bytes: [UInt8], profile: PrinterProfile) -> String {
        var printer = VirtualPrinter(profile: profile, fonts: nil, storesDots: false)
        printer.receive(bytes)
        printer.finish()
        return printer.textPreview()
    }
}

extension KeyValueBlock {
    enum Value {
        case amount(Int64)
        case text(String)
    }
}

/// What `kassa journal export` wrote for Austria.
public struct RKSVExportFiles: Sendable, Encodable {
    public var dep: String
    public var container: String
    public var receipts: Int
}

extension KassaEnvironment {
    /// The DEP export and the cryptographic material container of this terminal's Austrian receipts (closed system:
    /// key ids `<at-company-id>-K<n>`, public keys instead of certificates, one DEP group; Docs/fiscal-at.md). The
    /// container maps every key id the receipts name (and every registered module's) to its key. Nil when the terminal
    /// made none.
    public func exportRKSV(engine: SessionEngine, database: String?, to directory: String) throws(RuntimeError) -> RKSVExportFiles? {
        let codes: [FiscalCode]
        let settings: Settings
        let modules: [(serial: String, publicKey: [UInt8])]
        let aesKey: [UInt8]
        do {
            codes = try engine.fiscalCodes(profile: "at")
            guard !codes.isEmpty, let profile = fiscalProfiles(database).compactMap({ $0 as? AustrianProfile }).first else { return nil }
            settings = try engine.settings()
            modules = try engine.fiscalModulesInOrder()
            aesKey = try profile.aesKey(mayCreate: false, fingerprint: settings.regime[AustrianProfile.fingerprintSetting])
        } catch {
            throw .session(error)
        }
        let company = settings.regime["at-company-id"] ?? ""
        var publicKeys: [String: [UInt8]] = [:]
        for (index, module) in modules.enumerated() { publicKeys[AustrianProfile.keyID(company: company, module: index + 1)] = module.publicKey }
        // Key ids as the receipts name them: `…-K<n>`, or, before decision 0018, `…-<module serial>`.
        for code in codes {
            guard let keyID = try? RKSVReceipt(jws: code.code).keyID, publicKeys[keyID] == nil else { continue }
            if let range = keyID.range(of: #"-K\d+$"#, options: .regularExpression), let number = Int(keyID[range].dropFirst(2)),
               (1...modules.count).contains(number) {
                publicKeys[keyID] = modules[number - 1].publicKey
            } else if let module = modules.first(where: { keyID.hasSuffix("-" + $0.serial) }) {
                publicKeys[keyID] = module.publicKey
            }
        }
        let container: Data
        do {
            container = try RKSVExport.container(aesKey: aesKey, publicKeys: publicKeys)
        } catch {
            throw .session(.invalid("RKSV: \(error)"))
        }
        let depPath = directory + "/dep-export.json"
        let containerPath = directory + "/cryptographicMaterialContainer.json"
        do {
            try PrivateFiles.write(Array(RKSVExport.dep(RKSVExport.groups(codes.map { (code: FiscalCode) in code.code }))), to: depPath)
            try PrivateFiles.write(Array(container), to: containerPath)
        } catch {
            throw .session(.invalid("Cannot write the RKSV export into \(directory): \(error.message) Check its permissions and free space."))
        }
        return RKSVExportFiles(dep: depPath, container: containerPath, receipts: codes.count)
    }
}
