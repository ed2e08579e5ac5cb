import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import KassaRuntime
import NIOCore
import PrintSpool
import ReceiptLayout
import StrictDecoding

/// A print job's body: exactly one of a `kassa.document/1`, plain text, or raw ESC/POS in base64.
struct JobRequest: Decodable, Sendable {
    var document: Document?
    var text: String?
    var raw: String?
}

/// The simulated conditions of the virtual printer.
struct SimulationRequest: Decodable, Sendable {
    var paper: String?
    var cover: String?
    var drawer: String?
    var offline: String?
    var error: String?
}

/// The `/v1` API (Docs/openapi.yaml).
struct APIRoutes: Sendable {
    let server: KassaServer

    func register(_ router: Router<ServiceContext>) {
        router.get("/") { _, _ in try Self.resource("status", "html", type: "text/html; charset=utf-8") }
        router.get("/v1/openapi.yaml") { _, _ in try Self.resource("openapi", "yaml", type: "application/yaml") }
        router.get("/v1/document.schema.json") { _, _ in try Self.resource("document.schema", "json", type: "application/schema+json") }
        router.get("/v1/health") { _, _ in try self.health() }
        router.get("/v1/devices") { _, context in try await self.devices(context) }
        router.get("/v1/devices/:name") { _, context in try await self.device(context) }
        router.get("/v1/devices/:name/status") { _, context in try await self.status(context) }
        router.post("/v1/devices/:name/jobs") { request, context in try await self.submit(request, context) }
        router.post("/v1/devices/:name/drawer") { request, context in try await self.drawer(request, context) }
        router.post("/v1/devices/:name/simulate") { request, context in try await self.simulate(request, context) }
        router.get("/v1/jobs") { request, context in try self.recent(request, context) }
        router.get("/v1/jobs/:id") { _, context in try self.job(context) }
        router.get("/v1/jobs/:id/preview.png") { _, context in try self.preview(context) }
        router.get("/v1/events") { request, context in try await self.events(request, context) }
    }

    /// The service's files (`openapi.yaml`, `status.html`): beside the binary in a build (`Kassa_KassaService.resources`),
    /// or in `<prefix>/share/kassa/service` when installed (`make install`). Never `Bundle.module`, which traps when a
    /// copied binary lacks its bundle.
    static func resource(_ name: String, _ ext: String, type: String) throws -> Response {
        let file = "\(name).\(ext)"
        let binDirectory = InstallLayout.executable.deletingLastPathComponent()
        let candidates = [
            binDirectory.appendingPathComponent("Kassa_KassaService.resources/\(file)"),
            InstallLayout.shareDirectory.appendingPathComponent("service/\(file)"),
        ]
        guard let data = candidates.lazy.compactMap({ FileManager.default.contents(atPath: $0.path) }).first else {
            throw APIError(.internalServerError, "RESOURCE_MISSING", "\(file) is missing (looked in \(candidates.map(\.path).joined(separator: ", "))); "
                + "reinstall kassa with `make install`.")
        }
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct Health: Encodable {
        var ok = true
        var version: String
        var startedAt: Date
        var uptimeSeconds: Int
    }

    func health() throws -> Response {
        try APIJSON.response(Health(version: KassaVersion.string, startedAt: server.started, uptimeSeconds: Int(Date().timeIntervalSince(server.started))))
    }

    func owner(_ context: ServiceContext) throws -> DeviceOwner {
        let name = context.parameters.get("name") ?? ""
        guard let owner = server.owners[name] else {
            throw APIError.notFound("There is no device '\(name)'; the devices are \(server.owners.keys.sorted().joined(separator: ", ")) (GET /v1/devices).")
        }
        return owner
    }

    func devices(_ context: ServiceContext) async throws -> Response {
        _ = try context.require(.print)
        var list: [DeviceInfo] = []
        for name in server.owners.keys.sorted() { list.append(await server.owners[name]!.infoWithStatus()) }
        struct Devices: Encodable { var devices: [DeviceInfo] }
        return try APIJSON.response(Devices(devices: list))
    }

    func device(_ context: ServiceContext) async throws -> Response {
        _ = try context.require(.print)
        return try APIJSON.response(await owner(context).infoWithStatus())
    }

    func status(_ context: ServiceContext) async throws -> Response {
        _ = try context.require(.print)
        let owner = try owner(context)
        _ = await owner.readStatus()
        return try APIJSON.response(await owner.info())
    }

    /// The `Idempotency-Key` header: required, 1–128 printable ASCII characters.
    func idempotencyKey(_ request: Request) throws -> String {
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!], !key.isEmpty else {
            throw APIError.badRequest("Send an Idempotency-Key header (a UUID made by the client): a retry with the same key never makes a "
                + "second job.", code: "IDEMPOTENCY_KEY_REQUIRED")
        }
        guard key.utf8.count <= 128, key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw APIError.badRequest("The Idempotency-Key is 1 to 128 printable ASCII characters.", code: "IDEMPOTENCY_KEY_INVALID")
        }
        // The service keys its own jobs `kassa-…` (a receipt's print, a cash sale's drawer kick): a client's key never
        // takes one of those places.
        guard !key.hasPrefix("kassa-") else {
            throw APIError.badRequest("Idempotency keys starting with kassa- are the service's own; use a UUID.", code: "IDEMPOTENCY_KEY_INVALID")
        }
        return key
    }

    /// The body as JSON, strictly: `application/json`, valid UTF-8, no unknown field.
    func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: ServiceContext) async throws -> T {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send the body as Content-Type: application/json.")
        }
        let bytes = try await Self.body(request, context)
        do {
            return try StrictJSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            let message = "The body is not valid: \(error.description)" + (error.path.isEmpty ? "" : " (at \(error.path))")
            // The request's own shape is a 400; a print document inside it that does not follow its format
            // (Docs/document-format.md) is a well-formed request with an invalid document: 422, as the CLI's INVALID_DOCUMENT.
            if error.path == "document" || error.path.hasPrefix("document.") || error.path.hasPrefix("document[") {
                throw APIError(.unprocessableContent, "INVALID_DOCUMENT", message)
            }
            throw APIError.badRequest(message, code: error.kind == .unknownField ? "UNKNOWN_FIELD" : "INVALID_JSON")
        }
    }

    /// The request body, within `[serve] body-limit`; over it, 413 `BODY_TOO_LARGE`.
    static func body(_ request: Request, _ context: ServiceContext) async throws(APIError) -> [UInt8] {
        do {
            return Array(try await request.body.collect(upTo: context.maxUploadSize).readableBytesView)
        } catch {
            throw APIError(.contentTooLarge, "BODY_TOO_LARGE",
                           "The request body is larger than the limit (\(context.maxUploadSize) bytes; [serve] body-limit in kassa.toml).")
        }
    }

    /// The bytes of a job, made with the device's profile.
    func payload(_ job: JobRequest, owner: DeviceOwner) async throws -> [UInt8] {
        let given = [job.document != nil, job.text != nil, job.raw != nil].filter { $0 }.count
        guard given == 1 else {
            throw APIError.badRequest("A job has exactly one of document, text or raw (given: \(given)).", code: "INVALID_JOB")
        }
        let profile = await owner.profile
        do {
            if let document = job.document {
                if Self.referencesFiles(document) {
                    throw APIError(.unprocessableContent, "INVALID_DOCUMENT", "Images come as base64 over the API, never as a file path on this machine.")
                }
                return try server.environment.layout(document, profile: profile, baseDirectory: nil, imageCache: server.imageCache).bytes
            }
            if let text = job.text { return server.environment.textJob(text, profile: profile).bytes }
            guard let raw = job.raw, let data = Data(base64Encoded: raw), !data.isEmpty else {
                throw APIError.badRequest("raw is the job's bytes in base64, not empty.", code: "INVALID_JOB")
            }
            return [UInt8](data)
        } catch let error as RuntimeError {
            throw APIError(.unprocessableContent, error.code, error.description)
        }
    }

    static func referencesFiles(_ document: Document) -> Bool {
        if document.logo?.file != nil { return true }
        for block in document.blocks ?? [] {
            if case .image(let image) = block, image.file != nil { return true }
        }
        return false
    }

    static func digest(_ parts: [UInt8]...) -> [UInt8] {
        var hasher = SHA256()
        for part in parts {
            hasher.update(data: Array(String(part.count).utf8) + [0x3A])
            hasher.update(data: part)
        }
        return Array(hasher.finalize())
    }

    func accepted(_ job: SpoolJob, created: Bool, owner: DeviceOwner, request: Request) async throws -> Response {
        // The job is encoded once: the same bytes are the `job.state` event and, without `wait`, the answer.
        let encoded = try APIJSON.encoder().encode(JobView(job))
        if created { await server.bus.publish("job.state", json: String(decoding: encoded, as: UTF8.self)) }
        await owner.poke()
        var answer = job
        if request.uri.queryParameters["wait"] == nil {
            var response = APIJSON.response(json: encoded, status: .accepted)
            response.headers[.location] = "/v1/jobs/\(job.id)"
            if !created { response.headers[HTTPField.Name("Idempotent-Replay")!] = "true" }
            return response
        }
        if let text = request.uri.queryParameters["wait"] {
            guard let seconds = Double(text), seconds >= 0, seconds <= 60 else {
                throw APIError.badRequest("wait is a number of seconds from 0 to 60.", code: "INVALID_WAIT")
            }
            do {
                answer = try await owner.wait(for: job.id, seconds: seconds)
            } catch {
                throw APIError(.internalServerError, "SPOOL", error.description)
            }
        }
        var response = try APIJSON.response(JobView(answer), status: answer.state.isFinal && request.uri.queryParameters["wait"] != nil ? .ok : .accepted)
        response.headers[.location] = "/v1/jobs/\(job.id)"
        if !created { response.headers[HTTPField.Name("Idempotent-Replay")!] = "true" }
        return response
    }

    func submit(_ request: Request, _ context: ServiceContext) async throws -> Response {
        _ = try context.require(.print)
        let owner = try owner(context)
        let key = try idempotencyKey(request)
        let job = try await decode(JobRequest.self, request, context)
        let bytes = try await payload(job, owner: owner)
        return try await spool(owner: owner, kind: .print, key: key, payload: bytes, maxAge: server.options.jobMaxAge, request: request)
    }

    /// Commits a job (or finds the one its key made) and answers for it.
    func spool(owner: DeviceOwner, kind: SpoolJob.Kind, key: String, payload: [UInt8], maxAge: TimeInterval, request: Request) async throws -> Response {
        let now = Date()
        let spooled: SpoolJob
        let created: Bool
        do {
            (spooled, created) = try await server.spool.accept(
                device: owner.name, kind: kind, idempotencyKey: key,
                digest: Self.digest(Array(owner.name.utf8), Array(kind.rawValue.utf8), payload), payload: payload,
                expiresAt: now.addingTimeInterval(maxAge), now: now)
        } catch {
            throw Self.apiError(error)
        }
        return try await accepted(spooled, created: created, owner: owner, request: request)
    }

    func drawer(_ request: Request, _ context: ServiceContext) async throws -> Response {
        _ = try context.require(.drawer)
        let owner = try owner(context)
        let key = try idempotencyKey(request)
        return try await spool(owner: owner, kind: .drawer, key: key, payload: [], maxAge: server.options.drawerMaxAge, request: request)
    }

    func simulate(_ request: Request, _ context: ServiceContext) async throws -> Response {
        _ = try context.require(.admin)
        let owner = try owner(context)
        let body = try await decode(SimulationRequest.self, request, context)
        var conditions: [String: String] = [:]
        for (key, value) in [("paper", body.paper), ("cover", body.cover), ("drawer", body.drawer), ("offline", body.offline), ("error", body.error)] {
            if let value { conditions[key] = value }
        }
        _ = try await owner.setSimulation(conditions)
        return try APIJSON.response(await owner.info())
    }

    static func apiError(_ error: SpoolError) -> APIError {
        switch error {
        case .idempotencyConflict: return APIError(.conflict, "IDEMPOTENCY_CONFLICT", error.description)
        case .notFound: return APIError.notFound(error.description)
        case .database: return APIError(.serviceUnavailable, "SPOOL", error.description)
        }
    }

    /// The job named in the path.
    func spooled(_ context: ServiceContext) throws -> SpoolJob {
        do {
            return try server.spool.job(context.parameters.get("id") ?? "")
        } catch {
            throw Self.apiError(error)
        }
    }

    func job(_ context: ServiceContext) throws -> Response {
        _ = try context.require(.print)
        let job = try spooled(context)
        return try APIJSON.response(JobView(job))
    }

    func recent(_ request: Request, _ context: ServiceContext) throws -> Response {
        _ = try context.require(.print)
        var limit = 50
        if let text = request.uri.queryParameters["limit"] {
            guard let value = Int(text), (1...500).contains(value), request.uri.queryParameters[values: "limit"].count == 1 else {
                throw APIError.badRequest("limit is one whole number from 1 to 500.", code: "INVALID_LIMIT")
            }
            limit = value
        }
        let jobs: [SpoolJob]
        do {
            jobs = try server.spool.recent(limit: limit)
        } catch {
            throw Self.apiError(error)
        }
        struct Jobs: Encodable { var jobs: [JobView] }
        return try APIJSON.response(Jobs(jobs: jobs.map(JobView.init)))
    }

    func preview(_ context: ServiceContext) throws -> Response {
        _ = try context.require(.print)
        let job = try spooled(context)
        guard let path = job.preview, let data = FileManager.default.contents(atPath: path) else {
            throw APIError.notFound("Job \(job.id) has no preview (only the virtual printer makes one, once the job is printed).")
        }
        return Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func events(_ request: Request, _ context: ServiceContext) async throws -> Response {
        _ = try context.require(.print)
        var last: Int64?
        if let text = request.headers[HTTPField.Name("Last-Event-ID")!] {
            guard let value = Int64(text), value >= 0 else {
                throw APIError.badRequest("Last-Event-ID is the id of the last event received, a whole number.", code: "INVALID_LAST_EVENT_ID")
            }
            last = value
        }
        let stream = await server.bus.subscribe(after: last)
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: ": kassa events\n\n"))
            for await event in stream {
                try await writer.write(ByteBuffer(string: event.wire))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
