import ArgumentParser
import Foundation
import KassaRuntime
import KassaService
import SessionEngine
import Synchronization

extension Kassa {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Run the local print, drawer and status service for web front ends (Docs/CLI.md, Docs/openapi.yaml).",
            discussion: "Listens on 127.0.0.1:8723 unless --listen or [serve] listen says otherwise; SIGTERM drains it (the job being "
                + "sent finishes, queued jobs stay in HOME/spool.sqlite). Prints one line when it listens.",
            subcommands: [Token.self, Cert.self])
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "HOST:PORT to listen on (port 0: any free port, printed).") var listen: String?
        @Flag(name: .long, help: "Allow listening beyond loopback without TLS (only on a network you trust).") var insecure = false
        @Option(name: .long, help: "Serve HTTPS with this certificate chain (PEM; kassa serve cert makes HOME/tls/server.pem).") var tlsCert: String?
        @Option(name: .long, help: "The certificate's private key (PEM, mode 0600; HOME/tls/server.key).") var tlsKey: String?
        @Option(name: .long, help: "Also serve the Odoo hw_proxy and ePOS-Print endpoints alone on HOST:PORT (e.g. 127.0.0.1:8069; Docs/compat.md).")
        var odooListen: String?

        func run() throws {
            try runReporting(json: global.json) { () throws(RuntimeError) in
                let environment = try global.environment()
                let server: KassaServer
                do {
                    server = try KassaServer(environment: environment,
                                             options: try ServeOptions(config: environment.config.serve, listen: listen, insecure: insecure,
                                                                       tlsCertificate: tlsCert, tlsKey: tlsKey, odooListen: odooListen,
                                                                       home: environment.home.root),
                                             logger: environment.logger)
                } catch let ServiceError.tls(error) {
                    throw .tls(code: error.code, message: error.message)
                } catch {
                    throw .service("\(error)")
                }
                let scheme = server.options.scheme
                let json = global.json
                let failure = Mutex<String?>(nil)
                let done = DispatchSemaphore(value: 0)
                // The main listener's line comes first (scripts read its port from the first line), then the Odoo listener's.
                let lines = Mutex<(main: String?, compat: String?, mainShown: Bool)>((nil, nil, false))
                @Sendable func show() {
                    lines.withLock { state in
                        if let main = state.main, !state.mainShown {
                            print(main)
                            state.mainShown = true
                        }
                        if state.mainShown, let compat = state.compat {
                            print(compat)
                            state.compat = nil
                        }
                        fflush(nil)
                    }
                }
                Task {
                    do {
                        try await server.run { host, port in
                            let shown = host.contains(":") ? "[\(host)]" : host
                            let line = json ? #"{"listening":"\#(scheme)://\#(shown):\#(port)","ok":true}"#
                                : "kassa serve: listening on \(scheme)://\(shown):\(port) (devices: \(server.owners.keys.sorted().joined(separator: ", ")))"
                            lines.withLock { $0.main = line }
                            show()
                        } onCompatListening: { host, port in
                            let shown = host.contains(":") ? "[\(host)]" : host
                            let line = json ? #"{"listening":"\#(scheme)://\#(shown):\#(port)","ok":true,"endpoints":"odoo+epos"}"#
                                : "kassa serve: Odoo hw_proxy and ePOS-Print also on \(scheme)://\(shown):\(port)"
                            lines.withLock { $0.compat = line }
                            show()
                        }
                    } catch {
                        failure.withLock { $0 = "\(error)" }
                    }
                    done.signal()
                }
                done.wait()
                if let message = failure.withLock({ $0 }) { throw .service(message) }
            }
        }

        struct Token: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "The service's bearer tokens (HOME/serve-tokens.json, hashes only).", subcommands: [Add.self, List.self, Revoke.self])

            struct Add: ParsableCommand {
                static let configuration = CommandConfiguration(abstract: "Make a token for an engine user; it is shown once.")
                @OptionGroup var global: GlobalOptions
                @Option(name: .long, help: "The engine user the token acts as (kassa user list).") var user: String
                @Option(name: .long, help: "Scopes, comma-separated: print, drawer, till, admin.") var scope: String
                @Option(name: .long, help: "The terminal's database (default HOME/kassa.sqlite).") var database: String?

                func run() throws {
                    try runReporting(json: global.json) { () throws(RuntimeError) in
                        let environment = try global.environment()
                        var scopes: [TokenStore.Scope] = []
                        for name in scope.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                            guard let value = TokenStore.Scope(rawValue: name) else {
                                throw .session(.invalid("Unknown scope '\(name)': the scopes are print, drawer, till and admin."))
                            }
                            if !scopes.contains(value) { scopes.append(value) }
                        }
                        guard !scopes.isEmpty else { throw .session(.invalid("Give at least one scope: --scope print,drawer.")) }
                        // A token belongs to an engine user: the till's database must know it.
                        guard FileManager.default.fileExists(atPath: environment.databasePath(database)) else {
                            throw .session(.invalid("There is no till database yet: add the user first (kassa user add \(user) --role cashier)."))
                        }
                        let engine = try environment.sessionEngine(database: database, readOnly: true)
                        let users = try session { () throws(SessionError) in try engine.users() }
                        guard users.contains(where: { $0.id == user }) else { throw .session(.unknownUser(user)) }
                        do {
                            let store = try TokenStore(path: environment.home.root.appendingPathComponent("serve-tokens.json").path)
                            let (token, entry) = try store.add(user: user, scopes: scopes)
                            if global.json {
                                printJSON(["token": token, "id": entry.id, "user": entry.user, "scopes": entry.scopes.map(\.rawValue).joined(separator: ",")])
                            } else {
                                print(token)
                                FileHandle.standardError.write(Data("kassa: token \(entry.id) for \(user) (\(entry.scopes.map(\.rawValue).joined(separator: ", "))); it is shown only now.\n".utf8))
                            }
                        } catch {
                            throw .service("\(error)")
                        }
                    }
                }
            }

            struct List: ParsableCommand {
                static let configuration = CommandConfiguration(abstract: "List the tokens (ids, users, scopes; never the tokens).")
                @OptionGroup var global: GlobalOptions

                func run() throws {
                    try runReporting(json: global.json) { () throws(RuntimeError) in
                        let environment = try global.environment()
                        do {
                            let entries = try TokenStore(path: environment.home.root.appendingPathComponent("serve-tokens.json").path).list()
                            if global.json {
                                struct Row: Encodable { var id: String; var user: String; var scopes: [String]; var created: Date }
                                printJSON(entries.map { Row(id: $0.id, user: $0.user, scopes: $0.scopes.map(\.rawValue), created: $0.created) })
                            } else if entries.isEmpty {
                                print("No tokens; make one with kassa serve token add --user U --scope print.")
                            } else {
                                for entry in entries { print("\(entry.id)  \(entry.user)  \(entry.scopes.map(\.rawValue).joined(separator: ","))") }
                            }
                        } catch {
                            throw .service("\(error)")
                        }
                    }
                }
            }

            struct Revoke: ParsableCommand {
                static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (kassa serve token list).")
                @OptionGroup var global: GlobalOptions
                @Argument(help: "The token's id (tok-…).") var id: String

                func run() throws {
                    try runReporting(json: global.json) { () throws(RuntimeError) in
                        let environment = try global.environment()
                        let revoked: Bool
                        do {
                            revoked = try TokenStore(path: environment.home.root.appendingPathComponent("serve-tokens.json").path).revoke(id: id)
                        } catch {
                            throw .service("\(error)")
                        }
                        guard revoked else { throw .session(.notFound("Token \(id)")) }
                        if global.json { printJSON(["revoked": id]) } else { print("Revoked \(id).") }
                    }
                }
            }
        }
    }
}
