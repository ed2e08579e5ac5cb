import Foundation
@testable import LocalCertificates
import Testing
import TestSupport

@Suite("The local CA and server certificates for HTTPS")
struct LocalCertificatesTests {
    let folder = TestSupport.temporaryDirectory().appendingPathComponent("tls").path

    func paths() -> (certificate: String, key: String) {
        (folder + "/" + LocalCertificates.certificateFile, folder + "/" + LocalCertificates.keyFile)
    }

    @Test("a certificate is refused once it has expired and before it is valid, with what to do")
    func validity() throws {
        let made = Date(timeIntervalSince1970: 1_800_000_000)
        let issued = try LocalCertificates.issue(in: folder, names: ["localhost"], addresses: ["127.0.0.1"], days: 1, now: made)
        #expect(abs(issued.notAfter.timeIntervalSince(made) - 86_400) < 1)
        let (certificate, key) = paths()
        let fine = try LocalCertificates.loadServerIdentity(certificate: certificate, key: key, now: made.addingTimeInterval(3600))
        #expect(fine.names == ["localhost", "127.0.0.1"] && fine.certificatesPEM.count == 2)
        #expect(throws: LocalCertificateError.self) { try LocalCertificates.loadServerIdentity(certificate: certificate, key: key, now: made.addingTimeInterval(2 * 86_400)) }
        do {
            _ = try LocalCertificates.loadServerIdentity(certificate: certificate, key: key, now: made.addingTimeInterval(2 * 86_400))
        } catch {
            #expect(error.code == "TLS_EXPIRED" && error.message.contains("kassa serve cert"))
        }
        do {
            _ = try LocalCertificates.loadServerIdentity(certificate: certificate, key: key, now: made.addingTimeInterval(-86_400))
            Issue.record("a certificate not yet valid was accepted")
        } catch {
            #expect(error.code == "TLS_NOT_YET_VALID" && error.message.contains("clock"))
        }
    }

    @Test("names and addresses: hostile input is refused with TLS_NAME and writes nothing; a public address is outside the CA")
    func names() throws {
        for bad in ["", "-x", "a..b", "*.local", "ex ample", String(repeating: "a", count: 64), "café"] {
            do {
                _ = try LocalCertificates.issue(in: folder, names: [bad], addresses: [], days: 10)
                Issue.record("'\(bad)' was accepted")
            } catch {
                #expect(error.code == "TLS_NAME")
            }
        }
        #expect(throws: LocalCertificateError.self) { try LocalCertificates.issue(in: folder, names: [], addresses: ["300.1.1.1"], days: 10) }
        #expect(throws: LocalCertificateError.self) { try LocalCertificates.issue(in: folder, names: ["x"], addresses: [], days: 826) }
        #expect(!FileManager.default.fileExists(atPath: folder))
        // A first CA made for a public address vouches for it; a later, other public address needs a new CA.
        _ = try LocalCertificates.issue(in: folder, names: ["till"], addresses: ["203.0.113.9"], days: 10)
        do {
            _ = try LocalCertificates.issue(in: folder, names: [], addresses: ["198.51.100.1"], days: 10)
            Issue.record("an address outside the CA's constraints was accepted")
        } catch {
            #expect(error.code == "TLS_CA_CONSTRAINED")
        }
        let renewed = try LocalCertificates.issue(in: folder, names: ["till", "till.local"], addresses: ["10.1.2.3", "fd00::5"], days: 10)
        #expect(!renewed.caCreated)
        let replaced = try LocalCertificates.issue(in: folder, names: [], addresses: ["198.51.100.1"], days: 10, newCA: true)
        #expect(replaced.caCreated && replaced.caFingerprint != renewed.caFingerprint)
    }

    @Test("address ranges: masks and membership as name constraints hold them")
    func ranges() {
        #expect(LocalCertificates.rangeBytes("172.16.0.0", 12) == [172, 16, 0, 0, 255, 240, 0, 0])
        #expect(LocalCertificates.contains(range: ("172.16.0.0", 12), LocalCertificates.addressBytes("172.31.255.1")!))
        #expect(!LocalCertificates.contains(range: ("172.16.0.0", 12), LocalCertificates.addressBytes("172.32.0.1")!))
        #expect(LocalCertificates.contains(range: ("fc00::", 7), LocalCertificates.addressBytes("fd12::1")!))
        #expect(!LocalCertificates.contains(range: ("fc00::", 7), LocalCertificates.addressBytes("2001:db8::1")!))
        #expect(!LocalCertificates.contains(range: ("10.0.0.0", 8), LocalCertificates.addressBytes("::ffff:10.0.0.1")!))
        #expect(LocalCertificates.dnsName("till.local", isWithin: "local") && !LocalCertificates.dnsName("evillocal", isWithin: "local"))
    }
}
