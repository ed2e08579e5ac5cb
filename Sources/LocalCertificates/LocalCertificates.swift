import Crypto
import Foundation
import PrivateFiles
import SwiftASN1
import X509

#if canImport(Glibc)
import Glibc
#endif

/// A refusal of the local certificate authority or of a server certificate, with a documented code (Docs/CLI.md).
public struct LocalCertificateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `TLS_FILE`, `TLS_PARSE`, `TLS_KEY_MISMATCH`, `TLS_EXPIRED`, `TLS_NOT_YET_VALID`, `TLS_NAME`, `TLS_CA_CONSTRAINED`.
    public var code: String
    public var message: String
    public var description: String { message }

    init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The till's own certificate authority for `kassa serve` over HTTPS (decision 0021): a P-256 CA whose name
/// constraints only permit local names and private addresses, so that its key, if it ever leaked, could not vouch for
/// any public site; and server certificates it issues for `localhost` and the machine's names and addresses.
///
/// Files, in one directory (HOME/tls by default): `ca.pem` (the certificate to trust), `ca.key` (0600),
/// `server.pem` (the server certificate, then the CA's: the chain a client needs) and `server.key` (0600).
public enum LocalCertificates {
    /// What `issue` made.
    public struct Issued: Sendable, Equatable {
        public var directory: String
        public var caCertificate: String
        public var caKey: String
        public var certificate: String
        public var key: String
        /// Whether a new CA was made (clients must trust it) or the existing one was kept.
        public var caCreated: Bool
        public var names: [String]
        public var addresses: [String]
        public var notAfter: Date
        public var caNotAfter: Date
        /// SHA-256 of the CA certificate (DER), as browsers show it.
        public var caFingerprint: String
    }

    /// The DNS names the CA may vouch for: `localhost` and the private-use domains (RFC 6762, RFC 8375, ICANN's
    /// `internal`, the common `lan`), plus the single-label names given when the CA was made.
    static let localDomains = ["localhost", "local", "lan", "home.arpa", "internal"]

    /// The address ranges the CA may vouch for: loopback, RFC 1918, link-local, shared address space (RFC 6598, used by
    /// overlay VPNs), and IPv6 loopback, ULA and link-local.
    static let privateRanges: [(address: String, prefix: Int)] = [
        ("127.0.0.0", 8), ("10.0.0.0", 8), ("172.16.0.0", 12), ("192.168.0.0", 16), ("169.254.0.0", 16), ("100.64.0.0", 10),
        ("::1", 128), ("fc00::", 7), ("fe80::", 10),
    ]

    public static let caCertificateFile = "ca.pem"
    public static let caKeyFile = "ca.key"
    public static let certificateFile = "server.pem"
    public static let keyFile = "server.key"

    /// Makes (or keeps) the CA in `directory` and issues a server certificate for `names` and `addresses`, valid
    /// `days` days from `now`. With `newCA` an existing CA is replaced. A name or address outside the CA's
    /// constraints is refused (`TLS_CA_CONSTRAINED`) before anything is written.
    public static func issue(in directory: String, names: [String], addresses: [String], days: Int, newCA: Bool = false,
                             now: Date = Date()) throws(LocalCertificateError) -> Issued {
        guard (1...825).contains(days) else {
            throw LocalCertificateError("TLS_NAME", "--days must be from 1 to 825 (browsers refuse longer server certificates); got \(days).")
        }
        var dnsNames: [String] = []
        for name in names {
            let lower = name.lowercased()
            guard isValidDNSName(lower) else {
                throw LocalCertificateError("TLS_NAME", "'\(name)' is not a host name: letters, digits and hyphens in dot-separated labels, "
                    + "such as till-1 or till-1.local. Give IP addresses as addresses.")
            }
            if !dnsNames.contains(lower) { dnsNames.append(lower) }
        }
        var ipAddresses: [(text: String, bytes: [UInt8])] = []
        for address in addresses {
            guard let bytes = addressBytes(address) else {
                throw LocalCertificateError("TLS_NAME", "'\(address)' is not an IPv4 or IPv6 address.")
            }
            if !ipAddresses.contains(where: { $0.bytes == bytes }) { ipAddresses.append((address, bytes)) }
        }
        guard !dnsNames.isEmpty || !ipAddresses.isEmpty else {
            throw LocalCertificateError("TLS_NAME", "Give at least one name or address for the server certificate.")
        }
        let root = URL(fileURLWithPath: directory)
        let caCertPath = root.appendingPathComponent(caCertificateFile).path
        let caKeyPath = root.appendingPathComponent(caKeyFile).path
        let certPath = root.appendingPathComponent(certificateFile).path
        let keyPath = root.appendingPathComponent(keyFile).path

        // The CA: kept when it exists (the clients that trust it keep trusting), made otherwise.
        var caCreated = false
        let caCertificate: Certificate
        let caKey: Certificate.PrivateKey
        let existing = FileManager.default.fileExists(atPath: caCertPath) || FileManager.default.fileExists(atPath: caKeyPath)
        if existing && !newCA {
            (caCertificate, caKey) = try loadCA(certificate: caCertPath, key: caKeyPath, now: now)
        } else {
            let singleLabel = dnsNames.filter { !$0.contains(".") && !localDomains.contains($0) }
            let publicAddresses = ipAddresses.filter { address in !privateRanges.contains { contains(range: $0, address.bytes) } }
            (caCertificate, caKey) = try makeCA(extraNames: singleLabel, extraAddresses: publicAddresses.map(\.bytes), now: now)
            caCreated = true
        }
        // Every name and address must fall inside the CA's constraints, or clients would refuse the certificate.
        if let constraints = try? caCertificate.extensions.nameConstraints {
            for name in dnsNames where !constraints.permittedDNSDomains.contains(where: { dnsName(name, isWithin: $0) }) {
                throw LocalCertificateError("TLS_CA_CONSTRAINED", "The local CA in \(directory) only vouches for local names and private addresses; "
                    + "'\(name)' is not one of them. Run kassa serve cert again with --new-ca (every client must then trust the new ca.pem).")
            }
            for address in ipAddresses where !constraints.permittedIPRanges.contains(where: { rangeContains($0, address.bytes) }) {
                throw LocalCertificateError("TLS_CA_CONSTRAINED", "The local CA in \(directory) only vouches for local names and private addresses; "
                    + "\(address.text) is not one of them. Run kassa serve cert again with --new-ca (every client must then trust the new ca.pem).")
            }
        }
        let notAfter = min(now.addingTimeInterval(TimeInterval(days) * 86_400), caCertificate.notValidAfter)
        let serverKey = P256.Signing.PrivateKey()
        let serverPublic = Certificate.PublicKey(serverKey.publicKey)
        let leaf: Certificate
        do {
            let subjectName = dnsNames.first ?? ipAddresses[0].text
            let subject = try DistinguishedName {
                OrganizationName("Kassa")
                CommonName(subjectName)
            }
            let alternativeNames = dnsNames.map { GeneralName.dnsName($0) } + ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice($0.bytes))) }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternativeNames)
                SubjectKeyIdentifier(hash: serverPublic)
                AuthorityKeyIdentifier(keyIdentifier: try caCertificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            }
            leaf = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: serverPublic,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: notAfter,
                issuer: caCertificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
                issuerPrivateKey: caKey)
        } catch {
            throw LocalCertificateError("TLS_PARSE", "Cannot make the server certificate: \(error).")
        }
        let caKeyText: String, caText: String, keyText: String, leafText: String
        do {
            caKeyText = try pem(caKey)
            caText = try pem(caCertificate)
            keyText = try pem(Certificate.PrivateKey(serverKey))
            leafText = try pem(leaf)
        } catch {
            throw LocalCertificateError("TLS_PARSE", "Cannot encode the certificates as PEM: \(error).")
        }
        do throws(PrivateFileError) {
            try PrivateFiles.makeDirectory(directory)
            if caCreated {
                // The CA's key first: a CA certificate without its key could issue nothing.
                try PrivateFiles.write(Array(caKeyText.utf8), to: caKeyPath, mode: 0o600, durable: true)
                try PrivateFiles.write(Array(caText.utf8), to: caCertPath, mode: 0o644, durable: true)
            }
            try PrivateFiles.write(Array(keyText.utf8), to: keyPath, mode: 0o600, durable: true)
            try PrivateFiles.write(Array((leafText + caText).utf8), to: certPath, mode: 0o644, durable: true)
        } catch {
            throw LocalCertificateError("TLS_FILE", error.message)
        }
        return Issued(directory: directory, caCertificate: caCertPath, caKey: caKeyPath, certificate: certPath, key: keyPath, caCreated: caCreated,
                      names: dnsNames, addresses: ipAddresses.map(\.text), notAfter: notAfter, caNotAfter: caCertificate.notValidAfter,
                      caFingerprint: fingerprint(caCertificate))
    }

    /// The names this machine answers to: `localhost`, its host name and the host name under `.local` (mDNS).
    public static func machineNames() -> [String] {
        var names = ["localhost"]
        var buffer = [CChar](repeating: 0, count: 256)
        if gethostname(&buffer, buffer.count - 1) == 0 {
            let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased()
            if isValidDNSName(host), host != "localhost" {
                names.append(host)
                if !host.contains(".") { names.append(host + ".local") }
            }
        }
        return names
    }

    /// The machine's addresses: loopback and every address of an interface that is up (link-local IPv6 left out:
    /// a browser cannot use it in a URL without a zone).
    public static func machineAddresses() -> [String] {
        var result = ["127.0.0.1", "::1"]
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return result }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let socketAddress = entry.pointee.ifa_addr, entry.pointee.ifa_flags & UInt32(IFF_UP) != 0 else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let family = Int32(socketAddress.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            guard getnameinfo(socketAddress, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard !text.contains("%"), !text.lowercased().hasPrefix("fe80"), let bytes = addressBytes(text) else { continue }
            if !result.contains(where: { addressBytes($0) == bytes }) { result.append(text) }
        }
        return result
    }

    // MARK: A server identity for the listener

    /// A certificate chain and key checked before the listener starts.
    public struct ServerIdentity: Sendable {
        /// The chain as PEM (the server's certificate first).
        public var certificatesPEM: [String]
        public var keyPEM: String
        public var subject: String
        public var names: [String]
        public var notAfter: Date
    }

    /// Reads and checks `--tls-cert` and `--tls-key`: readable PEM, the key matches the first certificate, the
    /// certificate is valid now, and the key file is private to its owner.
    public static func loadServerIdentity(certificate certificatePath: String, key keyPath: String, now: Date = Date())
        throws(LocalCertificateError) -> ServerIdentity {
        let certificateText = try read(certificatePath, what: "The certificate")
        let keyText = try read(keyPath, what: "The key")
        do {
            try PrivateFiles.checkSecret(keyPath, what: "The TLS key")
        } catch {
            throw LocalCertificateError("TLS_FILE", error.message)
        }
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: certificateText).filter { $0.discriminator == "CERTIFICATE" }
        } catch {
            throw LocalCertificateError("TLS_PARSE", "\(certificatePath) is not a PEM certificate (-----BEGIN CERTIFICATE-----): \(error).")
        }
        guard !documents.isEmpty else {
            throw LocalCertificateError("TLS_PARSE", "\(certificatePath) holds no PEM certificate (-----BEGIN CERTIFICATE-----).")
        }
        let chain: [Certificate]
        do {
            chain = try documents.map { try Certificate(pemDocument: $0) }
        } catch {
            throw LocalCertificateError("TLS_PARSE", "A certificate in \(certificatePath) cannot be read: \(error).")
        }
        let key: Certificate.PrivateKey
        do {
            key = try Certificate.PrivateKey(pemEncoded: keyText)
        } catch {
            throw LocalCertificateError("TLS_PARSE", "\(keyPath) is not a PEM private key (PKCS#8, SEC1 or RSA): \(error).")
        }
        let leaf = chain[0]
        guard key.publicKey == leaf.publicKey else {
            throw LocalCertificateError("TLS_KEY_MISMATCH", "The key \(keyPath) does not belong to the certificate \(certificatePath): give the "
                + "key the certificate was made for, or make both again with kassa serve cert.")
        }
        if leaf.notValidAfter < now {
            throw LocalCertificateError("TLS_EXPIRED", "The certificate \(certificatePath) expired on \(iso(leaf.notValidAfter)); renew it "
                + "(kassa serve cert keeps the local CA, so clients keep trusting it).")
        }
        if leaf.notValidBefore > now {
            throw LocalCertificateError("TLS_NOT_YET_VALID", "The certificate \(certificatePath) is valid only from \(iso(leaf.notValidBefore)); "
                + "check this machine's clock (timedatectl), or make the certificate again.")
        }
        let names = ((try? leaf.extensions.subjectAlternativeNames) ?? nil).map { list in
            list.compactMap { name -> String? in
                switch name {
                case .dnsName(let text): return text
                case .ipAddress(let octets): return addressText(Array(octets.bytes))
                default: return nil
                }
            }
        } ?? []
        do {
            return ServerIdentity(certificatesPEM: try chain.map { try pem($0) }, keyPEM: keyText, subject: leaf.subject.description,
                                  names: names, notAfter: leaf.notValidAfter)
        } catch {
            throw LocalCertificateError("TLS_PARSE", "Cannot re-encode \(certificatePath): \(error).")
        }
    }

    // MARK: Internals

    static func makeCA(extraNames: [String], extraAddresses: [[UInt8]], now: Date) throws(LocalCertificateError) -> (Certificate, Certificate.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let privateKey = Certificate.PrivateKey(key)
        let publicKey = Certificate.PublicKey(key.publicKey)
        do {
            var host = "this till"
            if let name = machineNames().dropFirst().first { host = name }
            let name = try DistinguishedName {
                OrganizationName("Kassa")
                CommonName("Kassa local CA (\(host), \(String(iso(now).prefix(10))))")
            }
            var ranges = privateRanges.map { rangeBytes($0.address, $0.prefix) }
            ranges += extraAddresses.map { $0 + [UInt8](repeating: 0xFF, count: $0.count) }
            let constraints = NameConstraints(permittedDNSDomains: localDomains + extraNames,
                                              permittedIPRanges: ranges.map { ASN1OctetString(contentBytes: ArraySlice($0)) })
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                Critical(constraints)
                SubjectKeyIdentifier(hash: publicKey)
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
                issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: privateKey)
            return (certificate, privateKey)
        } catch {
            throw LocalCertificateError("TLS_PARSE", "Cannot make the local CA: \(error).")
        }
    }

    static func loadCA(certificate path: String, key keyPath: String, now: Date) throws(LocalCertificateError) -> (Certificate, Certificate.PrivateKey) {
        guard FileManager.default.fileExists(atPath: path), FileManager.default.fileExists(atPath: keyPath) else {
            throw LocalCertificateError("TLS_FILE", "The local CA is incomplete (\(path) and \(keyPath) belong together); make a new one with --new-ca.")
        }
        do {
            try PrivateFiles.checkSecret(keyPath, what: "The local CA's key")
        } catch {
            throw LocalCertificateError("TLS_FILE", error.message)
        }
        let certificate: Certificate
        let key: Certificate.PrivateKey
        do {
            certificate = try Certificate(pemEncoded: try read(path, what: "The local CA's certificate"))
            key = try Certificate.PrivateKey(pemEncoded: try read(keyPath, what: "The local CA's key"))
        } catch let error as LocalCertificateError {
            throw error
        } catch {
            throw LocalCertificateError("TLS_PARSE", "The local CA in \(path) cannot be read (\(error)); make a new one with --new-ca.")
        }
        guard key.publicKey == certificate.publicKey else {
            throw LocalCertificateError("TLS_KEY_MISMATCH", "\(keyPath) is not the key of \(path); make a new CA with --new-ca.")
        }
        guard certificate.notValidAfter > now.addingTimeInterval(86_400) else {
            throw LocalCertificateError("TLS_EXPIRED", "The local CA \(path) expires on \(iso(certificate.notValidAfter)); make a new one with --new-ca.")
        }
        return (certificate, key)
    }

    static func read(_ path: String, what: String) throws(LocalCertificateError) -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw LocalCertificateError("TLS_FILE", "\(what) \(path) does not exist; make one with kassa serve cert, or give the right path.")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LocalCertificateError("TLS_FILE", "\(what) \(path) cannot be read (permission denied?); the service's user must be able to read it.")
        }
        guard data.count <= 1 << 20, let text = String(data: data, encoding: .utf8) else {
            throw LocalCertificateError("TLS_PARSE", "\(what) \(path) is not a PEM text file.")
        }
        return text
    }

    static func pem(_ certificate: Certificate) throws -> String { try certificate.serializeAsPEM().pemString + "\n" }
    static func pem(_ key: Certificate.PrivateKey) throws -> String { try key.serializeAsPEM().pemString + "\n" }

    static func fingerprint(_ certificate: Certificate) -> String {
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate)) != nil else { return "" }
        return SHA256.hash(data: serializer.serializedBytes).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    /// A host name (RFC 1123 labels), lower case; no wildcards.
    static func isValidDNSName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        } && addressBytes(name) == nil
    }

    /// RFC 5280 §4.2.1.10: a DNS constraint permits the name itself and every name under it.
    static func dnsName(_ name: String, isWithin domain: String) -> Bool {
        name == domain || name.hasSuffix("." + domain)
    }

    static func addressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func addressText(_ bytes: [UInt8]) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : bytes.count == 16 ? AF_INET6 : -1
        guard family != -1 else { return nil }
        let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) != nil }
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    /// An address and its mask, as a name constraint holds them.
    static func rangeBytes(_ address: String, _ prefix: Int) -> [UInt8] {
        let bytes = addressBytes(address) ?? []
        let mask = (0..<bytes.count).map { index -> UInt8 in
            let bits = max(0, min(8, prefix - index * 8))
            return bits == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
        }
        return zip(bytes, mask).map { $0 & $1 } + mask
    }

    static func contains(range: (address: String, prefix: Int), _ address: [UInt8]) -> Bool {
        rangeContains(ASN1OctetString(contentBytes: ArraySlice(rangeBytes(range.address, range.prefix))), address)
    }

    static func rangeContains(_ range: ASN1OctetString, _ address: [UInt8]) -> Bool {
        let bytes = Array(range.bytes)
        guard bytes.count == address.count * 2 else { return false }
        let base = bytes.prefix(address.count), mask = bytes.suffix(address.count)
        return zip(zip(address, mask), base).allSatisfy { pair, base in pair.0 & pair.1 == base }
    }
}
