import FiscalProfiles
import Foundation
import PrivateFiles
import RKSV
import SessionEngine
import SoftwareFiscalModule

#if canImport(Glibc)
import Glibc
#endif

/// What `kassa fiscal at-key backup|restore` did.
public struct AESKeyReport: Sendable, Encodable {
    public var path: String
    /// The key's SHA-256, hex: the same as the `at-aes-key-sha256` setting once the register made its first receipt.
    public var fingerprint: String
    public var matchesRegister: Bool?
}

/// What `kassa fiscal replace-module` did.
public struct ModuleReplacement: Sendable, Encodable {
    public var old: String?
    public var new: String
    public var retiredKey: String?
}

/// What `kassa journal verify-dep` found.
public struct DEPVerification: Sendable, Encodable {
    public var ok: Bool
    public var receipts: Int
    public var failureSigned: Int
    public var problem: String?
    public var receiptIndex: Int?
}

/// The terminal's fiscal keys and exports outside the database: the RKSV AES key's backup and restore, putting a new
/// fiscal module in service, and checking a DEP export (Docs/fiscal-at.md, decision 0018).
extension KassaEnvironment {
    /// `rksv-aes.key` beside the database.
    public func aesKeyPath(_ database: String?) -> String {
        URL(fileURLWithPath: databasePath(database)).deletingLastPathComponent().appendingPathComponent("rksv-aes.key").path
    }

    /// Reads an AES key file: 32 bytes in base64.
    static func readAESKey(_ path: String) throws(RuntimeError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .session(.invalid("Cannot read \(path): \(String(cString: strerror(errno))). Give the path of the key's backup."))
        }
        guard let text = String(data: data, encoding: .utf8), let key = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
              key.count == 32
        else { throw .session(.invalid("\(path) is not an RKSV AES key (32 bytes in base64).")) }
        return [UInt8](key)
    }

    /// Copies the register's AES key to `destination` (mode 0600, written whole and fsynced). A key that is not the one
    /// the register recorded is refused: a backup of the wrong key is worse than none.
    public func backupAESKey(engine: SessionEngine, database: String?, to destination: String) throws(RuntimeError) -> AESKeyReport {
        let source = aesKeyPath(database)
        guard FileManager.default.fileExists(atPath: source) else {
            throw .session(.invalid("\(source) does not exist: the key is made with the register's first RKSV receipt (or restore it first)."))
        }
        let key = try Self.readAESKey(source)
        let recorded = try session { () throws(SessionError) in try engine.settings() }.regime[AustrianProfile.fingerprintSetting] ?? ""
        let fingerprint = AustrianProfile.fingerprint(key)
        if !recorded.isEmpty, recorded != fingerprint {
            throw .session(.invalid("\(source) is not the key this register recorded (\(recorded.prefix(16))…); restore the right one first."))
        }
        do {
            try PrivateFiles.write(Array((Data(key).base64EncodedString() + "\n").utf8), to: destination, mode: 0o600, durable: true)
        } catch {
            throw .session(.invalid("Cannot write \(destination): \(error.message)"))
        }
        return AESKeyReport(path: destination, fingerprint: fingerprint, matchesRegister: recorded.isEmpty ? nil : true)
    }

    /// Puts a backed-up AES key back as `rksv-aes.key`. Once the register made receipts, only the key whose fingerprint
    /// it recorded is accepted; before, any valid key (for instance one registered with FinanzOnline beforehand).
    public func restoreAESKey(engine: SessionEngine, database: String?, from source: String, user: String) throws(RuntimeError) -> AESKeyReport {
        try session { () throws(SessionError) in try engine.requirePermission(.manageSettings, user: user) }
        let key = try Self.readAESKey(source)
        let fingerprint = AustrianProfile.fingerprint(key)
        let recorded = try session { () throws(SessionError) in try engine.settings() }.regime[AustrianProfile.fingerprintSetting] ?? ""
        if !recorded.isEmpty, recorded != fingerprint {
            throw .session(.invalid("\(source) is not this register's AES key: its SHA-256 begins \(fingerprint.prefix(16)), the register's "
                + "\(recorded.prefix(16)). Nothing was changed; find the backup whose fingerprint matches (kassa settings show)."))
        }
        let destination = aesKeyPath(database)
        do {
            try PrivateFiles.write(Array((Data(key).base64EncodedString() + "\n").utf8), to: destination, mode: 0o600, durable: true)
        } catch {
            throw .session(.invalid("Cannot write \(destination): \(error.message)"))
        }
        return AESKeyReport(path: destination, fingerprint: fingerprint, matchesRegister: recorded.isEmpty ? nil : true)
    }

    /// Puts a new software fiscal module in service when the old one's key is lost for good: the old key file (if any)
    /// and its anchor are kept aside as `….retired-<time>`, a new key is made, registered (the module's next number:
    /// RKSV key id `K<n+1>`), and the replacement is journaled with its reason.
    public func replaceFiscalModule(database: String?, reason: String, user: String) throws(RuntimeError) -> ModuleReplacement {
        // The permission first, on the database as it is (read-only: the lost module need not load).
        let reader = try sessionEngine(database: database, readOnly: true)
        try session { () throws(SessionError) in try reader.requirePermission(.manageSettings, user: user) }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw .session(.invalid("Say why the module is replaced: --reason TEXT.")) }
        let modules = try session { () throws(SessionError) in try reader.fiscalModulesInOrder() }
        let keyPath = fiscalKeyPath(database)
        let anchorPath = SoftwareFiscalModule.anchorPath(forKey: keyPath)
        var retired: String?
        let stamp = String(Int(Date().timeIntervalSince1970))
        for path in [keyPath, anchorPath] where FileManager.default.fileExists(atPath: path) {
            let target = path + ".retired-" + stamp
            guard rename(path, target) == 0 else {
                throw .session(.invalid("Cannot move \(path) aside: \(String(cString: strerror(errno))). Nothing was changed."))
            }
            if path == keyPath { retired = target }
        }
        let engine = try sessionEngine(database: database, replacingModule: true)
        try session { () throws(SessionError) in try engine.journalModuleReplacement(old: modules.last?.serial, reason: reason, by: user) }
        let serial = try session { () throws(SessionError) in try engine.fiscalModulesInOrder() }.last?.serial ?? ""
        return ModuleReplacement(old: modules.last?.serial, new: serial, retiredKey: retired)
    }

    /// Runs Kassa's RKSV verifier on an exported DEP (`dep-export.json`) and its container
    /// (`cryptographicMaterialContainer.json`) in `directory`, or on the two files given.
    public func verifyDEP(directory: String, dep: String? = nil, container: String? = nil) throws(RuntimeError) -> DEPVerification {
        let depPath = dep ?? directory + "/dep-export.json"
        let containerPath = container ?? directory + "/cryptographicMaterialContainer.json"
        guard let depData = FileManager.default.contents(atPath: depPath) else {
            throw .session(.invalid("Cannot read \(depPath): \(String(cString: strerror(errno))). Export it with `kassa journal export --to DIR`."))
        }
        guard let containerData = FileManager.default.contents(atPath: containerPath) else {
            throw .session(.invalid("Cannot read \(containerPath): \(String(cString: strerror(errno))). It is written beside the DEP by the export."))
        }
        let result = RKSVVerifier.verify(dep: depData, container: containerData)
        return DEPVerification(ok: result.problem == nil, receipts: result.receipts, failureSigned: result.failureSigned,
                               problem: result.problem?.message, receiptIndex: result.problem.map { $0.index + 1 })
    }
}

