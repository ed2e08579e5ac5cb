import Raster
import Synchronization

/// Keeps logos as printer-ready bitmaps, so a long-running service scales and dithers each logo once,
/// not on every receipt. Keyed by the image source, target width and dithering.
public final class ImageCache: Sendable {
    private let storage = Mutex<[Key: MonoBitmap]>([:])
    private let limit: Int

    struct Key: Hashable {
        var source: String
        var width: Int
        var dithering: Dithering
    }

    public init(limit: Int = 32) { self.limit = limit }

    /// Sources longer than this (a base64 image of a request) are not kept: the key is the source itself, compared
    /// exactly, so at most `limit` × this many bytes of keys stay in memory.
    public static let maxSourceBytes = 256 * 1024

    func bitmap(for key: Key, make: () throws -> MonoBitmap) rethrows -> MonoBitmap {
        if let hit = storage.withLock({ $0[key] }) { return hit }
        let made = try make()
        storage.withLock { cache in
            if cache.count >= limit { cache.removeAll() }
            cache[key] = made
        }
        return made
    }

    public var count: Int { storage.withLock { $0.count } }
}
