/// A byte pipe to one device. A transport is owned by exactly one task at a time; it is not shared.
public protocol Transport: AnyObject {
    /// What the user calls the device, for messages (e.g. `tcp://10.0.0.5:9100`).
    var name: String { get }
    /// Whether the device can send bytes back (status answers).
    var canRead: Bool { get }
    func open() throws(TransportError)
    /// Writes every byte or throws; `timeout` bounds the whole write.
    func write(_ bytes: [UInt8], timeout: Duration) throws(TransportError)
    /// Reads up to `maxCount` bytes, waiting at most `timeout` for the first; throws `.timedOut` when none came.
    func read(maxCount: Int, timeout: Duration) throws(TransportError) -> [UInt8]
    func close()
}

extension Duration {
    /// Milliseconds, saturated to `Int32` for `poll(2)`.
    public var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
