import Foundation
import NIOCore

/// One server-sent event: an increasing id (for `Last-Event-ID`), a type and its JSON data.
public struct ServiceEvent: Sendable, Equatable {
    public var id: Int64
    public var type: String
    public var data: String

    /// The SSE wire form.
    var wire: String {
        let lines = data.split(separator: "\n", omittingEmptySubsequences: false).map { "data: \($0)" }.joined(separator: "\n")
        return "id: \(id)\nevent: \(type)\n\(lines)\n\n"
    }
}

/// The event stream of `GET /v1/events`: device attached or detached, status changed, job state changed, till facts.
/// It keeps the last 1,000 events, so a client that reconnects with `Last-Event-ID` gets what it missed (or, when
/// that is older than the buffer, a `resync` event telling it to read the state anew).
public actor EventBus {
    private var nextID: Int64 = 1
    /// A ring: dropping the oldest event is O(1) (an array shifted all 1,000 on every event).
    private var buffer = CircularBuffer<ServiceEvent>(initialCapacity: 1024)
    private var subscribers: [UUID: AsyncStream<ServiceEvent>.Continuation] = [:]
    private let capacity = 1000

    public init() {}

    public func publish(_ type: String, _ object: some Encodable) {
        publish(type, json: (try? APIJSON.encoder().encode(object)).map { String(decoding: $0, as: UTF8.self) } ?? "{}")
    }

    /// `publish` with the object already encoded (by `APIJSON`), when the same bytes also answer a request.
    public func publish(_ type: String, json data: String) {
        let event = ServiceEvent(id: nextID, type: type, data: data)
        nextID += 1
        buffer.append(event)
        while buffer.count > capacity { buffer.removeFirst() }
        for continuation in subscribers.values { continuation.yield(event) }
    }

    /// A stream of the events after `lastID` (the buffered ones first), then live ones.
    public func subscribe(after lastID: Int64?) -> AsyncStream<ServiceEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<ServiceEvent>.makeStream(bufferingPolicy: .bufferingNewest(capacity))
        if let lastID {
            // An id this service never gave (it was restarted since: ids start at 1 each run) or one older than the
            // buffer: the client missed events, so it reads the state anew; then it gets what is buffered.
            if lastID >= nextID {
                continuation.yield(ServiceEvent(id: 0, type: "resync", data: #"{"reason":"the service restarted; read the state anew"}"#))
                for event in buffer { continuation.yield(event) }
            } else {
                if let first = buffer.first, first.id - 1 > lastID {
                    continuation.yield(ServiceEvent(id: first.id - 1, type: "resync", data: #"{"reason":"events were missed; read the state anew"}"#))
                }
                for event in buffer where event.id > lastID { continuation.yield(event) }
            }
        }
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        return stream
    }

    private func unsubscribe(_ id: UUID) { subscribers[id] = nil }

    /// Ends every stream (at shutdown).
    public func finish() {
        for continuation in subscribers.values { continuation.finish() }
        subscribers.removeAll()
    }
}
