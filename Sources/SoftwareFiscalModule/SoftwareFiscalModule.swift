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

    /// Loads the key from `path`, or creates it (mode 0600, written to a temporary file, fsynced and renamed, so a power cut
    /// never leaves half a key). A key file readable by others is refused.
    public static func load(path: String) throws(FiscalModuleError) -> SoftwareFiscalModule {
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
                return SoftwareFiscalModule(key: try P256.Signing.PrivateKey(pemRepresentation: pem))
            } catch {
                throw FiscalModuleError(code: 2, message: "The key file \(path) is not a P-256 private key in PEM (\(error)); restore it from the backup.")
            }
        }
        guard errno == ENOENT else {
            throw FiscalModuleError(code: errno, message: "Cannot read the key file \(path): \(String(cString: strerror(errno))).")
        }
        let key = P256.Signing.PrivateKey()
        do {
            try PrivateFiles.write(Array(key.pemRepresentation.utf8), to: path, mode: 0o600, durable: true)
        } catch {
            throw FiscalModuleError(code: error.code, message: error.message)
        }
        return SoftwareFiscalModule(key: key)
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
