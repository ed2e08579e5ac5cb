import HTTPTypes
import Hummingbird
import Synchronization

/// The routes the router has, by path pattern, so that a path served with other methods answers 405 with `Allow`
/// instead of 404. Filled once the routes are registered.
final class RouteTable: Sendable {
    private let patterns = Mutex<[(components: [Substring], methods: [String])]>([])

    func fill(_ routes: [Router<ServiceContext>.RouteDescription]) {
        var table: [String: (components: [Substring], methods: [String])] = [:]
        for route in routes {
            let path = "\(route.path)"
            table[path, default: (path.split(separator: "/"), [])].methods.append(route.method.rawValue)
        }
        patterns.withLock { $0 = Array(table.values) }
    }

    /// The methods served at `path`; empty when no route has it.
    func methods(for path: String) -> [String] {
        let parts = path.split(separator: "/")
        return patterns.withLock { list in
            list.filter { pattern in
                pattern.components.count == parts.count && zip(pattern.components, parts).allSatisfy { pattern, part in
                    pattern.hasPrefix(":") || pattern.hasPrefix("{") || pattern == part
                }
            }.flatMap(\.methods)
        }.sorted()
    }
}

/// CORS for browser front ends: an allowlist of origins (`*` allows any), preflights answered on every path (also
/// ones without a route) with the requested headers mirrored and Chrome's private-network header when asked, and the
/// allow-origin header on every answer, errors included, so the browser shows the JSON error.
struct LocalCORSMiddleware: RouterMiddleware {
    typealias Context = ServiceContext
    let allowed: [String]
    let routes: RouteTable

    func allowOrigin(_ origin: String?) -> String? {
        guard let origin else { return nil }
        if allowed.contains("*") { return "*" }
        return allowed.contains(origin) ? origin : nil
    }

    static let requestPrivateNetwork = HTTPField.Name("Access-Control-Request-Private-Network")!
    static let allowPrivateNetwork = HTTPField.Name("Access-Control-Allow-Private-Network")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        let allowedOrigin = allowOrigin(origin)
        if request.method == .options, origin != nil {
            guard let allowedOrigin else {
                throw APIError(.forbidden, "ORIGIN_NOT_ALLOWED", "The origin \(origin ?? "") is not in [serve] allowed-origins of kassa.toml.")
            }
            var headers = HTTPFields()
            headers[.accessControlAllowOrigin] = allowedOrigin
            headers[.accessControlAllowMethods] = "GET, POST, PUT, OPTIONS"
            headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders]
                ?? "Authorization, Content-Type, Idempotency-Key, Last-Event-ID, Accept, Origin, X-Requested-With"
            headers[.accessControlMaxAge] = "86400"
            if request.headers[Self.requestPrivateNetwork] == "true" { headers[Self.allowPrivateNetwork] = "true" }
            if allowedOrigin != "*" { headers[.vary] = "Origin, Access-Control-Request-Private-Network" }
            return Response(status: .noContent, headers: headers)
        }
        do {
            var response = try await next(request, context)
            if let allowedOrigin {
                response.headers[.accessControlAllowOrigin] = allowedOrigin
                if allowedOrigin != "*" { response.headers[.vary] = "Origin" }
            }
            return response
        } catch var error as APIError {
            if let allowedOrigin { error.headers[.accessControlAllowOrigin] = allowedOrigin }
            throw error
        } catch let error as HTTPError {
            // Hummingbird's own errors (no route, body too large) in the API's envelope.
            var api = APIError(error.status, Self.code(error.status), error.body ?? error.status.reasonPhrase)
            if error.status == .contentTooLarge {
                api.message = "The request body is larger than the limit (\(ServiceContext.bodyLimit.withLock { $0 }) bytes; [serve] body-limit)."
            } else if error.status == .notFound {
                let methods = routes.methods(for: request.uri.path)
                if methods.isEmpty {
                    api.message = "There is no \(request.method) \(request.uri.path); the API is described at /v1/openapi.yaml."
                } else {
                    api = APIError(.methodNotAllowed, "METHOD_NOT_ALLOWED", "\(request.uri.path) takes \(methods.joined(separator: ", ")), not \(request.method).")
                    api.headers[.allow] = methods.joined(separator: ", ")
                }
            }
            if let allowedOrigin { api.headers[.accessControlAllowOrigin] = allowedOrigin }
            throw api
        }
    }

    static func code(_ status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: return "NOT_FOUND"
        case .contentTooLarge: return "BODY_TOO_LARGE"
        case .methodNotAllowed: return "METHOD_NOT_ALLOWED"
        case .badRequest: return "BAD_REQUEST"
        default: return "HTTP_\(status.code)"
        }
    }
}

/// Bearer tokens: routes under `/v1` (but `/v1/health` and `/v1/openapi.yaml`) need a token; a wrong or absent one is
/// 401, and the route checks its scope (403).
struct TokenMiddleware: RouterMiddleware {
    typealias Context = ServiceContext
    let tokens: TokenStore
    static let open: Set<String> = ["/v1/health", "/v1/openapi.yaml", "/v1/document.schema.json", "/", "/status.html"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1/"), !Self.open.contains(path) else { return try await next(request, context) }
        var context = context
        var presented: String?
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            presented = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if path == "/v1/events", let token = request.uri.queryParameters["token"] {
            // EventSource cannot send headers: the events stream also takes the token as a query parameter.
            presented = String(token)
        }
        guard let presented, !presented.isEmpty else {
            throw APIError(.unauthorized, "UNAUTHORIZED", "Send a token: Authorization: Bearer TOKEN (make one with `kassa serve token add --user U --scope print`).")
        }
        var identity = tokens.identify(presented)
        if identity == nil {
            tokens.reload()
            identity = tokens.identify(presented)
        }
        guard let identity else {
            throw APIError(.unauthorized, "UNAUTHORIZED", "The token is not known (revoked, or mistyped); make a new one with `kassa serve token add`.")
        }
        context.identity = identity
        return try await next(request, context)
    }
}

extension ServiceContext {
    /// The request's identity, with `scope`; 403 without it.
    func require(_ scope: TokenStore.Scope) throws -> TokenStore.Identity {
        guard let identity else { throw APIError(.unauthorized, "UNAUTHORIZED", "This needs a token.") }
        guard identity.scopes.contains(scope) || identity.scopes.contains(.admin) else {
            throw APIError(.forbidden, "FORBIDDEN", "The token \(identity.tokenID) lacks the scope '\(scope.rawValue)'; "
                + "make one with it: kassa serve token add --user \(identity.user) --scope \(scope.rawValue).")
        }
        return identity
    }
}
