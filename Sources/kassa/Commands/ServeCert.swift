import ArgumentParser
import Foundation
import KassaRuntime
import LocalCertificates

extension Kassa.Serve {
    /// `kassa serve cert`: the till's local CA and a server certificate for HTTPS (decision 0021).
    struct Cert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a local CA and a server certificate for localhost and this machine's names and addresses (HOME/tls).",
            discussion: "The CA is kept when it exists, so clients that trust it keep trusting it; run this again to renew the server "
                + "certificate or to add names. The CA only vouches for local names and private addresses (name constraints).")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "Another name or address for the certificate (repeatable), e.g. --host till-1.lan --host 192.168.1.20.")
        var host: [String] = []
        @Option(name: .long, help: "Days the server certificate is valid (1–825).") var days = 397
        @Option(name: .long, help: "The folder for ca.pem, ca.key, server.pem and server.key (default HOME/tls).") var directory: String?
        @Flag(name: .long, help: "Replace the local CA (every client must then trust the new ca.pem).") var newCA = false
        @Flag(name: .long, help: "Only the names and addresses given with --host, not this machine's.") var onlyHosts = false

        func run() throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                let environment = try global.environment()
                let folder = directory ?? environment.home.root.appendingPathComponent("tls").path
                var names = onlyHosts ? [] : LocalCertificates.machineNames()
                var addresses = onlyHosts ? [] : LocalCertificates.machineAddresses()
                for entry in host {
                    let text = entry.hasPrefix("[") && entry.hasSuffix("]") ? String(entry.dropFirst().dropLast()) : entry
                    if text.contains(":") || text.allSatisfy({ $0.isNumber || $0 == "." }) { addresses.append(text) } else { names.append(text) }
                }
                let issued: LocalCertificates.Issued
                do throws(LocalCertificateError) {
                    issued = try LocalCertificates.issue(in: folder, names: names, addresses: addresses, days: days, newCA: newCA)
                } catch {
                    throw .tls(code: error.code, message: error.message)
                }
                if global.json {
                    struct Output: Encodable {
                        var ok = true
                        var caCertificate, caKey, certificate, key: String
                        var caCreated: Bool
                        var caFingerprint: String
                        var names, addresses: [String]
                        var notAfter, caNotAfter: Date
                    }
                    printJSON(Output(caCertificate: issued.caCertificate, caKey: issued.caKey,
                                     certificate: issued.certificate, key: issued.key, caCreated: issued.caCreated, caFingerprint: issued.caFingerprint,
                                     names: issued.names, addresses: issued.addresses, notAfter: issued.notAfter, caNotAfter: issued.caNotAfter))
                    return
                }
                let date = ISO8601DateFormatter()
                print("""
                    Server certificate: \(issued.certificate) (key \(issued.key)), valid until \(date.string(from: issued.notAfter))
                      for \((issued.names + issued.addresses).joined(separator: ", "))
                    Local CA: \(issued.caCertificate)\(issued.caCreated ? " (new: every client must trust it)" : " (kept)")
                      SHA-256 \(issued.caFingerprint)

                    Serve HTTPS with it:
                      kassa serve --listen 0.0.0.0:8723 --tls-cert \(issued.certificate) --tls-key \(issued.key)
                    or in kassa.toml:
                      [serve]
                      tls-cert = "\(issued.certificate)"
                      tls-key = "\(issued.key)"

                    Trust the CA on each machine whose browser calls the service (ca.pem only; never copy ca.key):
                      Debian/Ubuntu: cp \(issued.caCertificate) /usr/local/share/ca-certificates/kassa-local-ca.crt && update-ca-certificates
                      Chrome/Chromium on Linux: certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n "Kassa local CA" -i \(issued.caCertificate)
                      Firefox: Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import
                      Windows: certutil -addstore Root ca.pem    macOS: security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ca.pem
                    Compare the SHA-256 above with what the client shows before trusting it.
                    """)
            }
        }
    }
}
