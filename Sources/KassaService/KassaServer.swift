import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import LocalCertificates
import NIOSSL
import KassaRuntime
import Logging
import NIOCore
import PrintSpool
import ReceiptLayout
import ServiceLifecycle

/// How `kassa serve` runs: `[serve]` of kassa.toml, overridden by the command line.
public struct ServeOptions: Sendable {
    public var host: String
    public var port: Int
    public var allowedOrigins: [String]
    public var bodyLimit: Int
    public var poll: Duration
    public var jobMaxAge: TimeInterval
    public var drawerMaxAge: TimeInterval
    public var idleTimeout: Int
    /// Print jobs in flight per device (`[serve] pipeline`) and how long an idle device's connection stays open.
    public var pipeline: Int
    public var linger: Duration
    /// How long finished jobs stay in the spool (`[serve] keep-days`).
    public var keepFinished: TimeInterval
    /// Listening beyond loopback without TLS needs this, said out loud.
    public var insecure: Bool
    /// The drop-in endpoints' own listener (`--odoo-listen`, `[serve] odoo-listen`), their clients beyond loopback,
    /// the de-duplication window, an Odoo print's wait and the ePOS `<command>` switch (Docs/compat.md).
    public var odooListener: (host: String, port: Int)?
    public var compatClients: [String]
    public var dedupeSeconds: Int
    public var odooTimeout: Int
    public var eposCommand: Bool
    /// HTTPS: the checked certificate chain and key (`--tls-cert`, `--tls-key` or `[serve] tls-cert`, `tls-key`).
    public var tls: LocalCertificates.ServerIdentity?
    public var scheme: String { tls == nil ? "http" : "https" }

    /// `home` resolves relative certificate paths of kassa.toml; the command line's are taken as given.
    public init(config: KassaConfig.Serve, listen: String? = nil, insecure: Bool = false, tlsCertificate: String? = nil, tlsKey: String? = nil,
                odooListen: String? = nil, home: URL? = nil, now: Date = Date()) throws(ServiceError) {
        (host, port) = try Self.address(listen ?? config.listen, option: "--listen", example: "127.0.0.1:8723")
        odooListener = try (odooListen ?? config.odooListen).map { text throws(ServiceError) in
            try Self.address(text, option: "--odoo-listen", example: "127.0.0.1:8069")
        }
        compatClients = config.compatClients
        dedupeSeconds = config.dedupeSeconds
        odooTimeout = config.odooTimeoutSeconds
        eposCommand = config.eposCommand
        allowedOrigins = config.allowedOrigins
        bodyLimit = config.bodyLimit
        poll = .milliseconds(config.pollMilliseconds)
        jobMaxAge = TimeInterval(config.jobMaxAgeSeconds)
        drawerMaxAge = TimeInterval(config.drawerMaxAgeSeconds)
        idleTimeout = config.idleTimeoutSeconds
        pipeline = config.pipeline
        linger = .milliseconds(config.lingerMilliseconds)
        keepFinished = TimeInterval(config.keepDays) * 86_400
        self.insecure = insecure
        func resolved(_ path: String?, fromFile: Bool) -> String? {
            guard let path else { return nil }
            guard fromFile, !path.hasPrefix("/"), let home else { return path }
            return home.appendingPathComponent(path).path
        }
        let certificate = resolved(tlsCertificate, fromFile: false) ?? resolved(config.tlsCertificate, fromFile: true)
        let key = resolved(tlsKey, fromFile: false) ?? resolved(config.tlsKey, fromFile: true)
        switch (certificate, key) {
        case (nil, nil):
            tls = nil
        case (let certificate?, let key?):
            do {
                tls = try LocalCertificates.loadServerIdentity(certificate: certificate, key: key, now: now)
            } catch {
                throw .tls(error)
            }
        default:
            throw .configuration("HTTPS needs both --tls-cert and --tls-key (or tls-cert and tls-key in [serve]); kassa serve cert makes both.")
        }
        if !Self.isLoopback(host), !insecure, tls == nil {
            throw .configuration("Listening on \(host) would open the printers and the drawer to the network without TLS. Give "
                + "--tls-cert and --tls-key (kassa serve cert makes a local CA and a certificate), keep the default 127.0.0.1, or say "
                + "--insecure on a network you trust.")
        }
        if let odoo = odooListener, !Self.isLoopback(odoo.host), !insecure, tls == nil {
            throw .configuration("The Odoo listener on \(odoo.host) would take print jobs from the network without TLS. Odoo's POS calls "
                + "plain HTTP on :8069: say --insecure on a network you trust (and list the POS machines in [serve] compat-clients), "
                + "or keep it on 127.0.0.1.")
        }
    }

    /// `HOST:PORT` (IPv6 in brackets).
    static func address(_ text: String, option: String, example: String) throws(ServiceError) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw .configuration("\(option) takes HOST:PORT (e.g. \(example)), not \(text).")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .configuration("\(option) needs a host: 127.0.0.1:\(port) for this machine only.") }
        return (host, port)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// `kassa serve`: the device owners, the durable spool, the event stream and the HTTP API, run as one service group
/// that drains on SIGTERM (the job being sent finishes; queued jobs stay in the spool).
public final class KassaServer: Sendable {
    public let environment: KassaEnvironment
    public let options: ServeOptions
    public let spool: SpoolStore
    public let tokens: TokenStore
    public let bus: EventBus
    /// Logos of print documents, dithered once (keyed by their base64 text, compared exactly).
    public let imageCache = ImageCache()
    public let owners: [String: DeviceOwner]
    /// The terminal's session engine (`/v1/till`), opened on first use.
    public let till: TillOwner
    /// The device Odoo's `hw_proxy` and ePOS's `local_printer` print on: kassa.toml's default (or the virtual printer).
    public var defaultOwner: DeviceOwner? { owners.values.first(where: \.isDefault) }
    let compatAccess: CompatAccess
    let started = Date()
    let logger: Logger

    public init(environment: KassaEnvironment, options: ServeOptions, logger: Logger) throws(ServiceError) {
        self.environment = environment
        self.options = options
        self.logger = logger
        do {
            try environment.home.ensure(environment.home.root)
        } catch {
            throw .configuration(error.description)
        }
        let root = environment.home.root
        do {
            spool = try SpoolStore.open(path: root.appendingPathComponent("spool.sqlite").path)
        } catch {
            throw .spool(error.description)
        }
        tokens = try TokenStore(path: root.appendingPathComponent("serve-tokens.json").path)
        bus = EventBus()
        var owners: [String: DeviceOwner] = [:]
        let configured = environment.config.devices
        let defaultName = environment.config.defaultDevice?.name
        let names = configured.isEmpty ? ["virtual"] : configured.keys.sorted()
        for name in names {
            let device: ResolvedDevice
            do {
                device = try environment.resolveDevice(configured.isEmpty ? nil : name, profile: nil)
            } catch {
                throw .configuration("Device \(name): \(error.description)")
            }
            owners[name] = DeviceOwner(name: name, device: device, isDefault: configured.isEmpty || name == defaultName, environment: environment,
                                       spool: spool, bus: bus, pollInterval: options.poll, logger: logger.with(["device": "\(name)"]))
        }
        self.owners = owners
        till = TillOwner(environment: environment, spool: spool, bus: bus, owners: owners, defaultOwner: owners.values.first(where: \.isDefault),
                         jobMaxAge: options.jobMaxAge, drawerMaxAge: options.drawerMaxAge, logger: logger.with(["component": "till"]))
        ServiceContext.bodyLimit.withLock { $0 = options.bodyLimit }
        compatAccess = try CompatAccess(clients: options.compatClients, origins: options.allowedOrigins)
    }

    /// Runs until SIGTERM or SIGINT. `onListening` gets the bound address (the port, when 0 was asked); with an Odoo
    /// listener, `onCompatListening` gets its address.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void,
                    onCompatListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async throws {
        let router = Router(context: ServiceContext.self)
        let routes = RouteTable()
        router.middlewares.add(LocalCORSMiddleware(allowed: options.allowedOrigins, routes: routes))
        router.middlewares.add(TokenMiddleware(tokens: tokens))
        let api = APIRoutes(server: self)
        api.register(router)
        TillRoutes(api: api).register(router)
        let compat = CompatRoutes(server: self, access: compatAccess)
        compat.register(router)
        routes.fill(router.routes)
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(Int64(options.idleTimeout))))
        let server: HTTPServerBuilder
        if let identity = options.tls {
            let configuration: TLSConfiguration
            do {
                configuration = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try identity.certificatesPEM.map { .certificate(try NIOSSLCertificate(bytes: Array($0.utf8), format: .pem)) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(identity.keyPEM.utf8), format: .pem)))
            } catch {
                throw ServiceError.configuration("The TLS certificate or key cannot be used: \(error); make them again with kassa serve cert.")
            }
            server = try .tls(http1, tlsConfiguration: configuration)
        } else {
            server = http1
        }
        let app = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "kassa"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                onListening(self.options.host, port)
            },
            logger: logger)
        // Before the first request: the owners report ended jobs to the till, and a receipt committed while its print
        // job never reached the spool (a crash between the two) is spooled now.
        for owner in owners.values {
            await owner.setOnEnded { [till] job in await till.jobEnded(job) }
        }
        _ = await till.repair()
        var listeners: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)]
        if let odoo = options.odooListener {
            // The drop-in endpoints alone, e.g. on :8069 where Odoo's POS looks for its IoT box.
            let compatRouter = Router(context: ServiceContext.self)
            let compatTable = RouteTable()
            compatRouter.middlewares.add(LocalCORSMiddleware(allowed: options.allowedOrigins, routes: compatTable))
            compat.register(compatRouter)
            compatTable.fill(compatRouter.routes)
            listeners.append(.init(service: Application(
                router: compatRouter, server: server,
                configuration: .init(address: .hostname(odoo.host, port: odoo.port), serverName: "kassa"),
                onServerRunning: { channel in onCompatListening(odoo.host, channel.localAddress?.port ?? 0) },
                logger: logger.with(["listener": "odoo"]))))
        }
        let group = ServiceGroup(configuration: .init(
            // Shut down in reverse order: the owners first (the job being sent finishes, the event streams end), then
            // the HTTP server, which still spools what arrives meanwhile.
            services: listeners + [.init(service: OwnersService(server: self)),
                       .init(service: HotplugService(server: self, logger: logger.with(["component": "hotplug"]))),
                       .init(service: SpoolCheckpoints(spool: spool, keepFinished: options.keepFinished, logger: logger.with(["component": "spool"])))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Starts the device owners and, at shutdown, lets each finish the job it is sending; queued jobs stay in the spool.
struct OwnersService: Service {
    let server: KassaServer

    func run() async throws {
        for owner in server.owners.values { await owner.start() }
        try? await gracefulShutdown()
        for owner in server.owners.values { await owner.stop() }
        await server.bus.finish()
    }
}

/// Copies the spool's WAL into its database every second, beside the writer, so that no submission waits for a
/// checkpoint inside its commit (decision 0022), and once an hour deletes the jobs that ended more than `[serve]
/// keep-days` ago. The blocking calls run off the service's cooperative threads.
struct SpoolCheckpoints: Service {
    let spool: SpoolStore
    let keepFinished: TimeInterval
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var tick = 0
            while !Task.isCancelled {
                let prune = tick % 3600 == 0
                tick += 1
                let spool = self.spool
                let cutoff = Date().addingTimeInterval(-keepFinished)
                let result: Result<Int, SpoolError> = await withCheckedContinuation { continuation in
                    DispatchQueue.global(qos: .utility).async {
                        do throws(SpoolError) {
                            try spool.checkpoint()
                            continuation.resume(returning: .success(prune ? try spool.prune(finishedBefore: cutoff) : 0))
                        } catch {
                            continuation.resume(returning: .failure(error))
                        }
                    }
                }
                switch result {
                case .success(let deleted) where deleted > 0:
                    logger.info("finished jobs past their keeping time deleted", metadata: ["jobs": "\(deleted)"])
                case .success: break
                case .failure(let error):
                    logger.warning("spool maintenance failed; SQLite's own checkpoint still runs", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}
