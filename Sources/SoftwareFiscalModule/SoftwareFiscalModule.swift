@preconcurrency import Crypto
import Foundation
import PrivateFiles
import SessionEngine
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The default fiscal module: ECDSA P-256 (ES256) in software with swift-crypto.
///
/// The private key is generated on first start and kept in `fiscal-module.key` (PEM, mode 0600) in the terminal's home.
/// The serial is `SW-` and the first 16 hex digits of SHA-256 over the public key, so a new key is a new module. The
/// signature counter lives in the journal: the engine hands it back at start (`resume`), so it never goes back.
public final class SoftwareFiscalModule: FiscalModule {
    public let serial: String
    public let algorithm = "ES256"
    public let publicKey: [UInt8]
    /// The key and the signature counter, used by one signer at a time.
    private let state: Mutex<(key: P256.Signing.PrivateKey, counter: Int64)>

    public init(key: sending P256.Signing.PrivateKey) {
        let publicKey = [UInt8](key.publicKey.x963Representation)
        self.publicKey = publicKey
        serial = "SW-" + SHA256.hash(data: publicKey).prefix(8).map { String(format: "%02x", $0) }.joined()
        state = Mutex((key, 0))
    }

    /// A module with a new key that lives only in memory (tests, demos on a throw-away database).
    public static func ephemeral() -> SoftwareFiscalModule { SoftwareFiscalModule(key: P256.Signing.PrivateKey()) }

    /// The anchor file beside the key (`fiscal-module.counter`): the highest signature counter known to be committed in
    /// the journal, as `SERIAL COUNTER`. Nil for a module that lives only in memory.
    public var anchorPath: String? { anchor.withLock { $0.path } }
    /// The anchor's file and the counter last written to it.
    private let anchor = Mutex<(path: String?, written: Int64, mapping: UnsafeMutableRawPointer?)>((nil, 0, nil))

    deinit {
        anchor.withLock { if let mapping = $0.mapping { munmap(mapping, Self.anchorSize) } }
    }

    /// The anchor file of the key at `keyPath`.
    public static func anchorPath(forKey keyPath: String) -> String {
        (keyPath as NSString).deletingPathExtension + ".counter"
    }

    /// Reads an anchor file: the module's serial and the counter it recorded; nil when there is none. A file that is
    /// not an anchor is an error (it was damaged or replaced).
    public static func readAnchor(_ path: String) throws(FiscalModuleError) -> (serial: String, counter: Int64)? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\0" })
        guard parts.count == 2, let counter = Int64(parts[1]), counter >= 0 else {
            throw FiscalModuleError(code: 4, message: "The anchor \(path) is not `SERIAL COUNTER`; it was damaged or replaced.")
        }
        return (String(parts[0]), counter)
    }

    public func committed(counter: Int64) {
        // Only forward, and not fsynced: after a power cut the anchor may lag the journal, which is harmless, but it is
        // only written after the commit, so it never leads it. The file is mapped into memory once and the line written
        // there: a store, no system call, and no inode change per receipt for the file system to journal with the
        // database's fsync (a pwrite per receipt cost about 0.02 of the signing-cost ratio). The kernel writes the page back.
        let line = Array((serial + " " + String(repeating: "0", count: max(0, 19 - String(counter).count)) + String(counter) + "\n").utf8)
        anchor.withLock { state in
            guard let path = state.path, counter > state.written, line.count <= Self.anchorSize else { return }
            if state.mapping == nil {
                let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
                guard descriptor >= 0 else { return }
                defer { close(descriptor) }
                _ = fchmod(descriptor, 0o600)
                var status = stat()
                guard fstat(descriptor, &status) == 0, status.st_size == Self.anchorSize || ftruncate(descriptor, off_t(Self.anchorSize)) == 0,
                      let mapped = mmap(nil, Self.anchorSize, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), mapped != MAP_FAILED
                else { return }
                state.mapping = mapped
            }
            guard let mapping = state.mapping else { return }
            line.withUnsafeBytes { bytes in
                let target = mapping.assumingMemoryBound(to: UInt8.self)
                for index in 0..<Self.anchorSize { target[index] = index < bytes.count ? bytes[index] : 0x20 }
            }
            state.written = counter
        }
    }

    /// The anchor file's fixed size: `SERIAL COUNTER\n`, padded with spaces.
    static let anchorSize = 64

    /// Loads the key from `path`, or creates it (mode 0600, written to a temporary file, fsynced and renamed, so a power cut
    /// never leaves half a key). A key file readable by others is refused.
    ///
    /// `mayCreate` false (a terminal that already exists): a missing key file is refused, never made anew; a new key would
    /// be another module, and the terminal's journal and RKSV receipts would name a module whose key is gone.
    public static func load(path: String, mayCreate: Bool = true) throws(FiscalModuleError) -> SoftwareFiscalModule {
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & 0o077 == 0 else {
                throw FiscalModuleError(code: 1, message: "The key file \(path) may be read by other users (mode "
                    + String(status.st_mode & 0o777, radix: 8) + "); run `chmod 600 \(path)`.")
            }
            guard let data = FileManager.default.contents(atPath: path), let pem = String(data: data, encoding: .utf8) else {
                throw FiscalModuleError(code: errno, message: "Cannot read the key file \(path): \(String(cString: strerror(errno))).")
            }
            do {
                let module = SoftwareFiscalModule(key: try P256.Signing.PrivateKey(pemRepresentation: pem))
                try module.attachAnchor(anchorPath(forKey: path))
                return module
            } catch let error as FiscalModuleError {
                throw error
            } catch {
                throw FiscalModuleError(code: 2, message: "The key file \(path) is not a P-256 private key in PEM (\(error)); restore it from the backup.")
            }
        }
        guard errno == ENOENT else {
            throw FiscalModuleError(code: errno, message: "Cannot read the key file \(path): \(String(cString: strerror(errno))).")
        }
        guard mayCreate else {
            throw FiscalModuleError(code: 7, message: "The fiscal module's key file \(path) is missing, and this terminal's journal is signed "
                + "with it: restore it from the backup. A new key would be a new module; if the old one is lost for good, put a new one "
                + "in service with `kassa fiscal replace-module --reason TEXT --user MANAGER` (it is journaled).")
        }
        let key = P256.Signing.PrivateKey()
        do {
            try PrivateFiles.write(Array(key.pemRepresentation.utf8), to: path, mode: 0o600, durable: true)
        } catch {
            throw FiscalModuleError(code: error.code, message: error.message)
        }
        let module = SoftwareFiscalModule(key: key)
        try module.attachAnchor(anchorPath(forKey: path))
        return module
    }

    /// Uses the anchor at `path`: it must belong to this key (another key's anchor is refused), and it is never moved back.
    private func attachAnchor(_ path: String) throws(FiscalModuleError) {
        if let anchor = try Self.readAnchor(path) {
            guard anchor.serial == serial else {
                throw FiscalModuleError(code: 5, message: "The key file was replaced: it holds module \(serial), but the anchor \(path) "
                    + "belongs to module \(anchor.serial). Restore \(anchor.serial)'s key from the backup; if it is lost for good, put a new "
                    + "module in service with `kassa fiscal replace-module --reason TEXT --user MANAGER` (it is journaled).")
            }
            self.anchor.withLock { $0.written = anchor.counter }
        }
        self.anchor.withLock { $0.path = path }
    }

    public func sign(_ message: [UInt8]) throws(FiscalModuleError) -> (signature: [UInt8], counter: Int64) {
        try state.withLock { (state: inout (key: P256.Signing.PrivateKey, counter: Int64)) throws(FiscalModuleError) -> (signature: [UInt8], counter: Int64) in
            let next = state.counter + 1
            // ES256 over the signed data: its SHA-256, computed without concatenating message and counter.
            let digest = Journal.signedDigest(message: message, counter: next)
            do {
                let signature = try state.key.signature(for: digest)
                state.counter = next
                return ([UInt8](signature.rawRepresentation), next)
            } catch {
                throw FiscalModuleError(code: 3, message: "Signing failed: \(error)")
            }
        }
    }

    public func signRaw(_ data: [UInt8]) throws(FiscalModuleError) -> [UInt8] {
        try state.withLock { (state: inout (key: P256.Signing.PrivateKey, counter: Int64)) throws(FiscalModuleError) -> [UInt8] in
            do {
                let signature = try state.key.signature(for: data)
                state.counter += 1
                return [UInt8](signature.rawRepresentation)
            } catch {
                throw FiscalModuleError(code: 3, message: "Signing failed: \(error)")
            }
        }
    }

    public func signatureCount() -> Int64 { state.withLock { $0.counter } }

    public func resume(afterCounter last: Int64) {
        state.withLock { $0.counter = max($0.counter, last) }
    }
}

/// A documented fault switch around a fiscal module (`KASSA_SIGNATURE_DEVICE=down`, Docs/fiscal-at.md): the module's
/// regime signatures (`signRaw`, RKSV's signature creation) fail with code 6, as a signature card that stopped answering,
/// while the journal keeps being signed. It lets the failure path (the failure marker, the Sammelbeleg) be run from the
/// CLI and in tests. Not a simulator: the wrapped module is the real one.
public final class SignatureDeviceDown: FiscalModule {
    let base: any FiscalModule
    public init(_ base: any FiscalModule) { self.base = base }
    public var serial: String { base.serial }
    public var algorithm: String { base.algorithm }
    public var publicKey: [UInt8] { base.publicKey }
    public func sign(_ message: [UInt8]) throws(FiscalModuleError) -> (signature: [UInt8], counter: Int64) { try base.sign(message) }
    public func signRaw(_ data: [UInt8]) throws(FiscalModuleError) -> [UInt8] {
        throw FiscalModuleError(code: 6, message: "the signature device does not answer (KASSA_SIGNATURE_DEVICE=down)")
    }
    public func signatureCount() -> Int64 { base.signatureCount() }
    public func resume(afterCounter counter: Int64) { base.resume(afterCounter: counter) }
    public func committed(counter: Int64) { base.committed(counter: counter) }
}
