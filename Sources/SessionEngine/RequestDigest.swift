import Crypto
import Foundation

/// What a command asked for, digested field by field and stored with its id, so that a replay can be told from a
/// different request that reuses the id (`SessionError.idempotencyConflict` names the fields that differ).
///
/// Stored as a BLOB: for each field present, by name: the name in UTF-8, a 0x00 byte, and the first 8 bytes of the
/// SHA-256 of the field's canonical JSON (keys sorted, no whitespace). Absent (nil) fields are left out, so a field
/// given once and left out once differs. Rows written before the digest existed have none and replay as before.
public struct RequestDigest: Sendable, Equatable {
    public private(set) var fields: [String: [UInt8]]

    init(fields: [String: [UInt8]]) { self.fields = fields }

    /// Digests the given fields; nil values are left out.
    init(_ values: [String: (any Encodable & Sendable)?]) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var fields: [String: [UInt8]] = [:]
        for (name, value) in values {
            guard let value else { continue }
            let bytes = (try? encoder.encode(value)) ?? Data("\(value)".utf8)
            fields[name] = Array(SHA256.hash(data: bytes).prefix(8))
        }
        self.fields = fields
    }

    /// Digests fields given as bytes already in a canonical form (the hot path: a sale's lines and payments).
    init(raw values: [String: [UInt8]?]) {
        var fields: [String: [UInt8]] = [:]
        for (name, value) in values {
            guard let value else { continue }
            fields[name] = Array(SHA256.hash(data: value).prefix(8))
        }
        self.fields = fields
    }

    var bytes: [UInt8] {
        var out: [UInt8] = []
        for name in fields.keys.sorted() {
            out += Array(name.utf8) + [0] + fields[name]!
        }
        return out
    }

    /// Parses what `bytes` wrote; nil for anything else.
    init?(bytes: [UInt8]) {
        var fields: [String: [UInt8]] = [:]
        var index = 0
        while index < bytes.count {
            guard let zero = bytes[index...].firstIndex(of: 0), zero + 9 <= bytes.count else { return nil }
            fields[String(decoding: bytes[index..<zero], as: UTF8.self)] = Array(bytes[(zero + 1)..<(zero + 9)])
            index = zero + 9
        }
        self.fields = fields
    }

    /// The names of the fields whose content differs (present in one and not the other, or different), sorted.
    func differences(from other: RequestDigest) -> [String] {
        Set(fields.keys).union(other.fields.keys).filter { fields[$0] != other.fields[$0] }.sorted()
    }

    /// Compares a replay with what was stored; a stored row without a digest (written before digests) is accepted.
    static func check(_ id: String, stored: [UInt8]?, replay: RequestDigest) throws(SessionError) {
        guard let stored, !stored.isEmpty else { return }
        guard let first = RequestDigest(bytes: stored) else { throw .idempotencyConflict(id: id, fields: ["(unreadable stored digest)"]) }
        let differing = first.differences(from: replay)
        guard differing.isEmpty else { throw .idempotencyConflict(id: id, fields: differing) }
    }
}
