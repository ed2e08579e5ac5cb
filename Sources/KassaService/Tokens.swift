import Crypto
import Foundation
import LocalCertificates
import PrivateFiles
import Synchronization

/// The API's bearer tokens (`kassa serve token add|list|revoke`). A token belongs to an engine user and has scopes
/// (`print`, `drawer`, `till`, `admin`). Only its SHA-256 is stored, in `HOME/serve-tokens.json` (mode 0600); the token
/// itself is shown once, when it is made.
public final class TokenStore: Sendable {
    public enum Scope: String, Sendable, Codable, CaseIterable { case print, drawer, till, admin }

    public struct Entry: Sendable, Codable, Equatable {
        public var id: String
        public var user: String
        public var scopes: [Scope]
        /// Hex SHA-256 of the token.
        public var hash: String
        public var created: Date
    }

    /// Who a request acts as.
    public struct Identity: Sendable, Equatable {
        public var tokenID: String
        public var user: String
        public var scopes: Set<Scope>
    }

    public let path: String
    private let entries: Mutex<[Entry]>

    public init(path: String) throws(ServiceError) {
        self.path = path
        entries = Mutex(try Self.read(path))
    }

    static func read(_ path: String) throws(ServiceError) -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode([Entry].self, from: data)
        } catch {
            throw .tokens("\(path) is not a token file (\(error)); move it away and make the tokens again.")
        }
    }

    func write(_ list: [Entry]) throws(ServiceError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try PrivateFiles.write(Array(try encoder.encode(list)) + [0x0A], to: path, mode: 0o600, durable: true)
        } catch let error as PrivateFileError {
            throw .tokens("Cannot write \(path): \(error.message)")
        } catch {
            throw .tokens("Cannot write \(path): \(error)")
        }
    }

    static func hash(_ token: String) -> String {
        hexString(SHA256.hash(data: Array(token.utf8)))
    }

    /// Makes a token for `user` with `scopes`; returns the token (shown once) and its entry.
    public func add(user: String, scopes: [Scope], now: Date = Date()) throws(ServiceError) -> (token: String, entry: Entry) {
        var random = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in random.indices { random[index] = generator.next() }
        let token = "kst_" + Data(random).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let entry = Entry(id: "tok-" + String(Self.hash(token).prefix(8)), user: user, scopes: scopes, hash: Self.hash(token), created: now)
        var list = try Self.read(path)
        list.append(entry)
        try write(list)
        entries.withLock { $0 = list }
        return (token, entry)
    }

    public func list() throws(ServiceError) -> [Entry] { try Self.read(path) }

    /// Revokes a token by id; false when there is none.
    public func revoke(id: String) throws(ServiceError) -> Bool {
        var list = try Self.read(path)
        let before = list.count
        list.removeAll { $0.id == id }
        guard list.count != before else { return false }
        try write(list)
        entries.withLock { $0 = list }
        return true
    }

    /// Re-reads the file (a token added or revoked by `kassa serve token` while the service runs).
    public func reload() {
        if let list = try? Self.read(path) { entries.withLock { $0 = list } }
    }

    /// The identity of a presented token, or nil.
    public func identify(_ token: String) -> Identity? {
        let hash = Self.hash(token)
        return entries.withLock { list in
            list.first { constantTimeEqual($0.hash, hash) }.map { Identity(tokenID: $0.id, user: $0.user, scopes: Set($0.scopes)) }
        }
    }
}

func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for index in x.indices { difference |= x[index] ^ y[index] }
    return difference == 0
}

/// Why the service could not start or do something outside a request.
public enum ServiceError: Error, Sendable, CustomStringConvertible {
    case tokens(String)
    case configuration(String)
    case spool(String)
    /// The TLS certificate or key cannot be used; the code (`TLS_…`) is documented in Docs/CLI.md.
    case tls(LocalCertificateError)

    public var description: String {
        switch self {
        case .tokens(let message), .configuration(let message), .spool(let message): return message
        case .tls(let error): return error.message
        }
    }
}

/// Lower-case hexadecimal, two digits a byte (token hashes, spool keys).
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var hex: [UInt8] = []
    hex.reserveCapacity(64)
    for byte in bytes {
        hex.append(digits[Int(byte >> 4)])
        hex.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: hex, as: UTF8.self)
}
