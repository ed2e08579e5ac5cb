import Hummingbird
import NIOCore
import Synchronization

/// The request context of `kassa serve`: a 10 MiB body limit (a receipt image can be large; Hummingbird's default is
/// 2 MiB), and the authenticated token's user and scopes once the auth middleware has run.
public struct ServiceContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var maxUploadSize: Int { ServiceContext.bodyLimit.withLock { $0 } }
    /// The token's user and scopes (nil before authentication, and on routes that need none).
    public var identity: TokenStore.Identity?
    /// The peer's address (the drop-in endpoints are open to loopback and to `[serve] compat-clients` only).
    public let remoteAddress: SocketAddress?

    /// The body limit, set from the configuration before the server starts.
    static let bodyLimit = Mutex<Int>(10 * 1024 * 1024)

    public init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
