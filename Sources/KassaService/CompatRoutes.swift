import CompatProtocols
import Foundation
import HTTPTypes
import Hummingbird
import KassaRuntime
import Logging
import NIOCore
import PrintSpool

/// The drop-in endpoints (Docs/compat.md, decision 0024): an unchanged Odoo POS (`/hw_proxy/…`, the IoT box's
/// Community routes) and any Epson ePOS-Print client (`/cgi-bin/epos/service.cgi`) print through the same device
/// owners and spool as `/v1`. No token (their clients cannot send one): the caller must be on loopback or in
/// `[serve] compat-clients`, and a browser's Origin must be in `[serve] allowed-origins`. Printing and the drawer only.
struct CompatRoutes: Sendable {
    let server: KassaServer
    let access: CompatAccess

    func register(_ router: Router<ServiceContext>) {
        router.get("/hw_proxy/hello") { request, context in try self.hello(request, context) }
        router.post("/hw_proxy/handshake") { request, context in try await self.handshake(request, context) }
        router.post("/hw_proxy/status_json") { request, context in try await self.statusJSON(request, context) }
        router.post("/hw_proxy/default_printer_action") { request, context in try await self.printerAction(request, context) }
        router.post("/cgi-bin/epos/service.cgi") { request, context in try await self.epos(request, context) }
    }

    var logger: Logger { server.logger.with(["component": "compat"]) }

    // MARK: Odoo hw_proxy

    /// `GET /hw_proxy/hello`: `ping` (TV-1).
    func hello(_ request: Request, _ context: ServiceContext) throws -> Response {
        try access.admit(request, context)
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "ping")))
    }

    static func rpcResponse(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    /// The JSON-RPC body: `application/json` (Odoo's dispatcher takes nothing else), within the body limit.
    func rpcBody(_ request: Request, _ context: ServiceContext) async throws -> [UInt8] {
        try access.admit(request, context)
        let type = (request.headers[.contentType] ?? "").lowercased()
        guard type.hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Odoo's JSON-RPC is sent as Content-Type: application/json.")
        }
        return try await APIRoutes.body(request, context)
    }

    /// Decodes, or answers the failure as Odoo would: HTTP 400 for what is not JSON, a JSON-RPC error otherwise.
    enum Decoded<P: Sendable> {
        case success(OdooRPC.Request<P>)
        case failure(Response)
    }

    func decodeRPC<P: Decodable & Sendable>(_ type: P.Type, _ body: [UInt8]) -> Decoded<P> {
        do throws(CompatError) {
            return .success(try OdooRPC.decode(type, body))
        } catch {
            logger.warning("refused Odoo request", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
            return .failure(Self.rpcResponse(OdooRPC.error(id: OdooRPC.requestID(body), error), status: error.code == "INVALID_JSON" ? .badRequest : .ok))
        }
    }

    /// `POST /hw_proxy/handshake`: `result: true` (TV-2).
    func handshake(_ request: Request, _ context: ServiceContext) async throws -> Response {
        switch decodeRPC(OdooRPC.NoParams.self, try await rpcBody(request, context)) {
        case .failure(let response): return response
        case .success(let rpc): return Self.rpcResponse(OdooRPC.result(id: rpc.id, "true"))
        }
    }

    /// `POST /hw_proxy/status_json`, polled every 5 s: `printer` and `escpos` are `connected` only when the default
    /// printer's last status is ready (read at the owner's poll, or now when none was read yet).
    func statusJSON(_ request: Request, _ context: ServiceContext) async throws -> Response {
        switch decodeRPC(OdooRPC.NoParams.self, try await rpcBody(request, context)) {
        case .failure(let response):
            return response
        case .success(let rpc):
            guard let owner = server.defaultOwner else {
                return Self.rpcResponse(OdooRPC.result(id: rpc.id, OdooRPC.statusResult(connected: false, message: "no default printer in kassa.toml")))
            }
            let status = await owner.infoWithStatus().status
            let ready = status?.ready == true
            return Self.rpcResponse(OdooRPC.result(id: rpc.id, OdooRPC.statusResult(connected: ready, message: status?.problem ?? "no status read yet")))
        }
    }

    /// `POST /hw_proxy/default_printer_action`: `print_receipt` (the receipt JPEG) or `cashbox`, on the default printer.
    /// `result: true` only when the job printed; `false` on a definite failure, so the POS offers its retry (TV-3, TV-4).
    func printerAction(_ request: Request, _ context: ServiceContext) async throws -> Response {
        let body = try await rpcBody(request, context)
        let rpc: OdooRPC.Request<OdooRPC.PrinterActionParams>
        switch decodeRPC(OdooRPC.PrinterActionParams.self, body) {
        case .failure(let response): return response
        case .success(let decoded): rpc = decoded
        }
        guard let owner = server.defaultOwner else {
            logger.warning("Odoo print refused: kassa.toml names no default device")
            return Self.rpcResponse(OdooRPC.result(id: rpc.id, "false"))
        }
        let action = rpc.params.data
        let timeout = TimeInterval(server.options.odooTimeout)
        let job: SpoolJob
        switch action.action {
        case "print_receipt":
            guard let receipt = action.receipt else {
                return Self.rpcResponse(OdooRPC.error(id: rpc.id, CompatError("INVALID_REQUEST", "print_receipt needs receipt: the image in base64.")))
            }
            let rendered: ReceiptImage.Rendered
            do throws(CompatError) {
                rendered = try ReceiptImage.escpos(base64: receipt, profile: await owner.profile)
            } catch {
                return Self.rpcResponse(OdooRPC.error(id: rpc.id, error))
            }
            let key = action.action_unique_id.map { "kassa-odoo-id:\(owner.name):\($0)" }
            job = try await spoolOnce(owner: owner, kind: .print, payload: rendered.bytes, key: key, source: "odoo", expiresIn: timeout, whenNotReady: .fail)
        case "cashbox":
            job = try await spoolOnce(owner: owner, kind: .drawer, payload: [], key: nil, unique: true, source: "odoo",
                                      expiresIn: server.options.drawerMaxAge, whenNotReady: .fail)
        default:
            return Self.rpcResponse(OdooRPC.error(id: rpc.id, CompatError("UNKNOWN_ACTION", "Kassa runs print_receipt and cashbox, not \(action.action).")))
        }
        let final = await outcome(job, owner: owner, timeout: job.kind == .drawer ? server.options.drawerMaxAge : timeout)
        let printed = await Self.printed(final, owner: owner)
        if !printed {
            logger.notice("Odoo told the job did not print", metadata: ["job": "\(final.id)", "state": "\(final.state.rawValue)",
                                                                       "error": "\(final.errorMessage ?? "")"])
        }
        return Self.rpcResponse(OdooRPC.result(id: rpc.id, printed ? "true" : "false"))
    }

    // MARK: Epson ePOS-Print

    static func eposResponse(_ xml: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/xml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: xml)))
    }

    static func condition(_ status: DeviceStatus?) -> EPOSCondition {
        guard let status else { return EPOSCondition(reachable: true) }
        let unreachable = status.problem?.hasPrefix("unreachable") ?? false
        return EPOSCondition(reachable: !unreachable, online: status.online, coverOpen: status.cover.map { $0 == "open" }, paper: status.paper,
                             drawerOpen: status.drawer.map { $0 == "open" }, errors: status.errors)
    }

    /// `POST /cgi-bin/epos/service.cgi?devid=…[&timeout=ms]`: the document's elements printed in order through the
    /// device's profile; the answer held until it printed or failed, at most `timeout` (60 s by default, 300 s at most).
    func epos(_ request: Request, _ context: ServiceContext) async throws -> Response {
        try access.admit(request, context)
        let query = request.uri.queryParameters
        let body: [UInt8]
        do {
            body = try await APIRoutes.body(request, context)
        } catch {
            return Self.eposResponse(EPOSResponse.xml(success: false, code: "RequestEntityTooLarge", status: 0))
        }
        let parsed: EPOSRequest
        do throws(CompatError) {
            parsed = try EPOSRequest.parse(body)
        } catch {
            logger.warning("refused ePOS document", metadata: ["reason": "\(error.message)"])
            return Self.eposResponse(EPOSResponse.xml(success: false, code: error.code, status: 0))
        }
        var timeoutMilliseconds = parsed.timeoutMilliseconds ?? 60_000
        if let text = query["timeout"] {
            guard let value = Int(text), (0...300_000).contains(value), query[values: "timeout"].count == 1 else {
                return Self.eposResponse(EPOSResponse.xml(success: false, code: "SchemaError", status: 0, printJobID: parsed.printJobID))
            }
            timeoutMilliseconds = value
        }
        let deviceID = query["devid"].map(String.init) ?? parsed.deviceID ?? ""
        let owner = deviceID == "local_printer" ? server.defaultOwner : server.owners[deviceID]
        guard let owner else {
            logger.warning("ePOS device not found", metadata: ["devid": "\(deviceID)"])
            return Self.eposResponse(EPOSResponse.xml(success: false, code: "DeviceNotFound", status: 0, printJobID: parsed.printJobID))
        }
        let timeout = max(1, TimeInterval(timeoutMilliseconds) / 1000)
        if parsed.isStatusRequest { return await eposStatus(parsed, owner: owner) }
        let encoded: EPOSJob
        do throws(CompatError) {
            encoded = try EPOSEncoder.encode(parsed, profile: await owner.profile, allowCommand: server.options.eposCommand)
        } catch {
            logger.warning("refused ePOS document", metadata: ["reason": "\(error.message)"])
            return Self.eposResponse(EPOSResponse.xml(success: false, code: error.code, status: Self.condition(await owner.info().status).status(),
                                                      printJobID: parsed.printJobID))
        }
        let key = parsed.printJobID.map { "kassa-epos:\(owner.name):\($0)" }
        let job: SpoolJob
        do {
            if let pulse = encoded.drawerOnly {
                job = try await spoolOnce(owner: owner, kind: .drawer, payload: pulse, key: key, unique: key == nil, source: "epos",
                                          expiresIn: server.options.drawerMaxAge, whenNotReady: .fail)
            } else {
                job = try await spoolOnce(owner: owner, kind: .print, payload: encoded.bytes, key: key, source: "epos", expiresIn: timeout,
                                          whenNotReady: parsed.force ? .force : .fail)
            }
        } catch let error as APIError where error.code == "IDEMPOTENCY_CONFLICT" {
            logger.warning("ePOS printjobid reused for other content", metadata: ["printjobid": "\(parsed.printJobID ?? "")"])
            return Self.eposResponse(EPOSResponse.xml(success: false, code: "PrintSystemError", status: 0, printJobID: parsed.printJobID))
        }
        let final = await outcome(job, owner: owner, timeout: job.kind == .drawer ? server.options.drawerMaxAge : timeout)
        return Self.eposResponse(await eposAnswer(final, owner: owner, printJobID: parsed.printJobID))
    }

    /// The `<response>` for a job as it is now.
    func eposAnswer(_ job: SpoolJob, owner: DeviceOwner, printJobID: String?) async -> String {
        let condition = Self.condition(await owner.info().status)
        if await Self.printed(job, owner: owner) {
            return EPOSResponse.xml(success: true, code: "", status: condition.status(printed: job.state == .done), printJobID: printJobID)
        }
        let code: String
        switch job.state {
        case .queued, .held: code = "EX_TIMEOUT"
        case .sending: code = "Printing"
        case .expired: code = "EX_TIMEOUT"
        case .unconfirmed: code = "EX_TIMEOUT"
        case .failed where job.errorCode == "NOT_READY": code = condition.failureCode ?? "PrintSystemError"
        case .failed, .done: code = condition.reachable ? "PrintSystemError" : "EX_BADPORT"
        }
        return EPOSResponse.xml(success: false, code: code, status: condition.status(), printJobID: printJobID)
    }

    /// An empty `<epos-print/>`: the printer's status read now, or, with a `printjobid`, that job's outcome.
    func eposStatus(_ parsed: EPOSRequest, owner: DeviceOwner) async -> Response {
        if let id = parsed.printJobID {
            let key = "kassa-epos:\(owner.name):\(id)"
            guard let job = try? server.spool.latest(keyPrefix: key) else {
                return Self.eposResponse(EPOSResponse.xml(success: false, code: "JobNotFound", status: 0, printJobID: id))
            }
            return Self.eposResponse(await eposAnswer(job, owner: owner, printJobID: id))
        }
        let condition = Self.condition(await owner.readStatus())
        return Self.eposResponse(EPOSResponse.xml(success: condition.reachable, code: condition.reachable ? "" : "EX_BADPORT", status: condition.status()))
    }

    // MARK: Shared

    /// Printed as far as anyone can know: confirmed, or delivered to a printer that cannot report at all (a device
    /// whose status cannot be read; the IoT box says `true` for those too).
    static func printed(_ job: SpoolJob, owner: DeviceOwner) async -> Bool {
        if job.state == .done { return true }
        guard job.state == .unconfirmed, job.errorCode == "UNCONFIRMED" else { return false }
        return await owner.info().status?.readable == false
    }

    /// Spools a job once: under the client's own id (`key`: Enterprise's `action_unique_id`, ePOS's `printjobid`), or,
    /// without one, under the content's digest for `[serve] dedupe-seconds` (an identical receipt retried inside that
    /// window gets the first job's outcome); `unique` jobs (drawer kicks) are never merged. A failed or expired job's
    /// key is forgotten, so a retry after an error prints.
    func spoolOnce(owner: DeviceOwner, kind: SpoolJob.Kind, payload: [UInt8], key: String?, unique: Bool = false, source: String,
                   expiresIn: TimeInterval, whenNotReady: SpoolJob.Readiness) async throws -> SpoolJob {
        let now = Date()
        let digest = APIRoutes.digest(Array(owner.name.utf8), Array(kind.rawValue.utf8), payload)
        let window = TimeInterval(server.options.dedupeSeconds)
        let chosen: (key: String, reuse: SpoolStore.Reuse)
        if let key {
            chosen = (key, SpoolStore.Reuse(finishedWithin: nil))
        } else if unique || window == 0 {
            chosen = ("kassa-\(source)-\(UUID().uuidString.lowercased())", SpoolStore.Reuse(finishedWithin: 0))
        } else {
            chosen = ("kassa-\(source):\(owner.name):" + hexString(digest), SpoolStore.Reuse(finishedWithin: window))
        }
        let accepted: (job: SpoolJob, created: Bool)
        do {
            accepted = try await server.spool.acceptOnce(device: owner.name, kind: kind, key: chosen.key, reuse: chosen.reuse, digest: digest,
                                                         payload: payload, expiresAt: now.addingTimeInterval(expiresIn), whenNotReady: whenNotReady, now: now)
        } catch {
            throw APIRoutes.apiError(error)
        }
        if accepted.created {
            await server.bus.publish("job.state", JobView(accepted.job))
        } else {
            logger.info("repeated request answered from its first job", metadata: ["job": "\(accepted.job.id)", "source": "\(source)"])
        }
        await owner.poke()
        return accepted.job
    }

    /// Waits for the job to end, at most `timeout`; a job being sent at the deadline is waited for until it ends (its
    /// bytes are leaving: the answer says what became of them). A job still waiting then expires unprinted.
    func outcome(_ job: SpoolJob, owner: DeviceOwner, timeout: TimeInterval) async -> SpoolJob {
        var current = (try? await owner.wait(for: job.id, seconds: min(300, timeout))) ?? job
        var extra = 0
        while current.state == .sending, extra < 12 {
            current = (try? await owner.wait(for: job.id, seconds: 5)) ?? current
            extra += 1
        }
        return current
    }
}

/// Who may call the drop-in endpoints: loopback, or an address in `[serve] compat-clients`; and, from a browser, an
/// Origin in `[serve] allowed-origins`.
struct CompatAccess: Sendable {
    let ranges: [AddressRange]
    let origins: [String]

    init(clients: [String], origins: [String]) throws(ServiceError) {
        var ranges: [AddressRange] = []
        for text in clients {
            guard let range = AddressRange(text) else {
                throw .configuration("[serve] compat-clients: '\(text)' is not an address or range (e.g. 192.168.1.0/24, 10.0.0.7, fd00::/8).")
            }
            ranges.append(range)
        }
        self.ranges = ranges
        self.origins = origins
    }

    func admit(_ request: Request, _ context: ServiceContext) throws {
        if let origin = request.headers[.origin], !origins.contains("*"), !origins.contains(origin) {
            throw APIError(.forbidden, "ORIGIN_NOT_ALLOWED", "The origin \(origin) is not in [serve] allowed-origins of kassa.toml; add the POS's origin there.")
        }
        guard let address = context.remoteAddress else { return }
        let bytes: [UInt8]
        switch address {
        case .v4(let v4): bytes = withUnsafeBytes(of: v4.address.sin_addr.s_addr) { Array($0) }
        case .v6(let v6): bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        case .unixDomainSocket: return
        }
        if AddressRange.isLoopback(bytes) || ranges.contains(where: { $0.contains(bytes) }) { return }
        throw APIError(.forbidden, "CLIENT_NOT_ALLOWED", "\(address.ipAddress ?? "this machine") may not print through the drop-in endpoints; add it to "
            + "[serve] compat-clients of kassa.toml (e.g. 192.168.1.0/24).")
    }
}

/// An IPv4 or IPv6 address with a prefix length (`192.168.1.0/24`, `10.0.0.7`, `fd00::/8`).
struct AddressRange: Sendable, Equatable {
    let bytes: [UInt8]
    let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = Self.parse(String(parts[0])) else { return nil }
        let bits = address.count * 8
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), (0...bits).contains(prefix), parts[1].allSatisfy(\.isNumber) else { return nil }
            self.prefix = prefix
        } else {
            prefix = bits
        }
        bytes = address
    }

    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4.s_addr) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }

    func contains(_ address: [UInt8]) -> Bool {
        var candidate = address
        // An IPv4 client seen on an IPv6 socket (::ffff:a.b.c.d) matches IPv4 ranges.
        if bytes.count == 4, address.count == 16, address.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] { candidate = Array(address.suffix(4)) }
        guard candidate.count == bytes.count else { return false }
        var remaining = prefix
        for index in 0..<bytes.count where remaining > 0 {
            let take = min(8, remaining)
            let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
            if candidate[index] & mask != bytes[index] & mask { return false }
            remaining -= take
        }
        return true
    }

    static func isLoopback(_ address: [UInt8]) -> Bool {
        if address.count == 4 { return address[0] == 127 }
        if address.count == 16 {
            if address == [UInt8](repeating: 0, count: 15) + [1] { return true }
            if address.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] { return address[12] == 127 }
        }
        return false
    }
}
