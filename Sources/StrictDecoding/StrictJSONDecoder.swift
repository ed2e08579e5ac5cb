import Foundation

/// Why a JSON input was refused. The message names the field (as a path such as `lines[2].unitPrice`) and says what
/// was expected, so that whoever wrote the input can fix it.
public struct StrictDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The text is not JSON at all.
        case notJSON
        /// An object has a field the input type does not know.
        case unknownField
        /// A required field is missing.
        case missingField
        /// A value has the wrong type (a fraction where a whole number belongs, a string for a number, …).
        case wrongType
        /// A value has the right type but is not allowed (an unknown enumeration value, a malformed quantity, …).
        case invalidValue
    }

    public var kind: Kind
    /// The path of the object or value at fault: `lines[0]`, or `the top level`.
    public var path: String
    /// What the message says after the path.
    public var reason: String
    /// For `unknownField`: the unknown field's name and the closest known one, if any is close.
    public var field: String?
    public var suggestion: String?

    public var description: String { reason }
}

/// Decodes JSON strictly: an object field the type does not read is an error that names it and the closest known
/// field; a number with a fraction is never taken for a whole number; null is never taken for a value.
///
/// The known fields of an object are the ones the type's `init(from:)` asks for, so the check follows every
/// `Decodable` type as written, synthesized or hand-made, with no list to keep in step.
public struct StrictJSONDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(StrictDecodingError) -> T {
        let tree: JSONValue
        do {
            tree = try JSONParser.parse(data)
        } catch {
            if let (field, path) = error.duplicate {
                let at = path == "the top level" ? "" : " in \(path)"
                throw StrictDecodingError(kind: .invalidValue, path: path, reason: "the field '\(field)' appears twice\(at); send it once", field: field)
            }
            throw StrictDecodingError(kind: .notJSON, path: "the top level", reason: "it is not valid JSON (\(error.message))")
        }
        do {
            let value = try T(from: TreeDecoder(value: tree, path: nil))
            if let unknown = JSONObject.firstUnknown(in: tree) { throw unknown }
            return value
        } catch let error as StrictDecodingError {
            throw error
        } catch let error as DecodingError {
            // A required field that is missing is often a misspelt one: name the misspelling, not the gap. (Only then:
            // decoding stopped at the error, so the fields after it were never asked for and cannot be judged.)
            if case .keyNotFound(let key, let context) = error,
               let misspelt = Self.misspelling(of: key.stringValue, at: context.codingPath, in: tree) {
                throw misspelt
            }
            throw Self.describe(error)
        } catch {
            throw StrictDecodingError(kind: .invalidValue, path: "the top level", reason: "\(error)")
        }
    }

    /// The field of the object at `codingPath` that is close to the missing `field`, as an unknown-field error.
    static func misspelling(of field: String, at codingPath: [any CodingKey], in root: JSONValue) -> StrictDecodingError? {
        var value = root
        for key in codingPath {
            switch value {
            case .object(let object): guard let next = object.members[key.stringValue] else { return nil }; value = next
            case .array(let items): guard let index = key.intValue, items.indices.contains(index) else { return nil }; value = items[index]
            default: return nil
            }
        }
        guard case .object(let object) = value else { return nil }
        let candidates = object.members.keys.filter { closest(to: $0, in: [field]) != nil }.sorted()
        guard let name = candidates.first else { return nil }
        let path = path(codingPath)
        let at = codingPath.isEmpty ? "" : " in \(path)"
        return StrictDecodingError(kind: .unknownField, path: path, reason: "unknown field '\(name)'\(at). Did you mean '\(field)'?",
                                   field: name, suggestion: field)
    }

    /// A coding path as people write it: `lines[2].unitPrice`.
    public static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "the top level" : text
    }

    static func describe(_ error: DecodingError) -> StrictDecodingError {
        switch error {
        case .keyNotFound(let key, let context):
            let at = context.codingPath.isEmpty ? "" : " in \(path(context.codingPath))"
            return StrictDecodingError(kind: .missingField, path: path(context.codingPath + [key]),
                                       reason: "the field '\(key.stringValue)' is missing\(at)")
        case .typeMismatch(let type, let context):
            let found = context.debugDescription.isEmpty ? "" : " (\(context.debugDescription))"
            return StrictDecodingError(kind: .wrongType, path: path(context.codingPath),
                                       reason: "\(path(context.codingPath)) should be \(typeName(type))\(found)")
        case .valueNotFound(let type, let context):
            return StrictDecodingError(kind: .wrongType, path: path(context.codingPath),
                                       reason: "\(path(context.codingPath)) is null but should be \(typeName(type))")
        case .dataCorrupted(let context):
            return StrictDecodingError(kind: .invalidValue, path: path(context.codingPath),
                                       reason: "\(path(context.codingPath)): \(context.debugDescription)")
        @unknown default:
            return StrictDecodingError(kind: .invalidValue, path: "the top level", reason: "\(error)")
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int64.Type, is Int.Type, is Int32.Type, is UInt8.Type, is UInt16.Type, is UInt32.Type, is UInt64.Type, is Int16.Type,
             is Int8.Type:
            return "a whole number (money is in minor units, e.g. 1250 for 12.50)"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") || name.contains("Keyed") { return "an object" }
            return "a \(name)"
        }
    }

    /// Levenshtein distance, for "did you mean".
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The known field closest to `field`, when it is close enough to be a likely misspelling.
    public static func closest(to field: String, in known: Set<String>) -> String? {
        let ranked = known.map { (name: $0, distance: distance(field, $0)) }.sorted { ($0.distance, $0.name) < ($1.distance, $1.name) }
        guard let best = ranked.first else { return nil }
        let limit = max(2, min(field.count, best.name.count) / 3)
        return best.distance <= limit ? best.name : nil
    }
}

/// A JSON object of the tree, with what decoding asked of it: whether a decoder read it as an object, which of its
/// fields were asked for (a bit each), the absent fields asked for (for "did you mean"), and whether it was read as a
/// dictionary (every key is data, none is a field). Kept on the object itself, so that recording a field is a bit set
/// during the lookup the decoder makes anyway; the tree lives for one `decode` call, on one thread.
final class JSONObject {
    struct Member {
        let value: JSONValue
        /// The field's place in the text: its bit in `askedBits`.
        let index: Int
    }

    let slots: [String: Member]
    var read = false
    var open = false
    private var askedBits: [UInt64]
    private var askedAbsent: [String] = []

    init(_ slots: [String: Member]) {
        self.slots = slots
        askedBits = Array(repeating: 0, count: (slots.count + 63) / 64)
    }

    var members: [String: JSONValue] { slots.mapValues(\.value) }

    /// The field's value, recording that it was asked for.
    func ask(_ name: String) -> JSONValue? {
        guard let member = slots[name] else {
            askedAbsent.append(name)
            return nil
        }
        askedBits[member.index >> 6] |= 1 << UInt64(member.index & 63)
        return member.value
    }

    private func wasAsked(_ member: Member) -> Bool { askedBits[member.index >> 6] & (1 << UInt64(member.index & 63)) != 0 }

    /// Read as an object, and some field was never asked for.
    var hasUnaskedField: Bool { read && !open && slots.values.contains { !wasAsked($0) } }

    /// The fields never asked for, by name.
    var unasked: [String] { slots.filter { !wasAsked($0.value) }.keys.sorted() }

    /// The fields a decoder asked for, present or not.
    var known: Set<String> { Set(slots.filter { wasAsked($0.value) }.keys).union(askedAbsent) }

    /// Whether some object read as one has a field no decoder asked for.
    static func hasUnknown(_ value: JSONValue) -> Bool {
        switch value {
        case .object(let object):
            if object.hasUnaskedField { return true }
            return object.slots.values.contains { hasUnknown($0.value) }
        case .array(let items):
            return items.contains(where: hasUnknown)
        default:
            return false
        }
    }

    /// The first field (in document order of paths, then by name) that no decoder asked for. The ordered walk runs only
    /// when there is one to report.
    static func firstUnknown(in root: JSONValue) -> StrictDecodingError? {
        guard hasUnknown(root) else { return nil }
        var found: StrictDecodingError?
        var codingPath: [any CodingKey] = []
        func visit(_ value: JSONValue) {
            guard found == nil else { return }
            switch value {
            case .object(let object):
                if object.read, !object.open, let name = object.unasked.first {
                    let known = object.known
                    let path = StrictJSONDecoder.path(codingPath)
                    let suggestion = StrictJSONDecoder.closest(to: name, in: known)
                    let hint = suggestion.map { ". Did you mean '\($0)'?" }
                        ?? "; known fields: \(known.sorted().joined(separator: ", "))"
                    let at = codingPath.isEmpty ? "" : " in \(path)"
                    found = StrictDecodingError(kind: .unknownField, path: path, reason: "unknown field '\(name)'\(at)\(hint)",
                                                field: name, suggestion: suggestion)
                    return
                }
                for name in object.slots.keys.sorted() {
                    codingPath.append(AnyKey(stringValue: name))
                    visit(object.slots[name]?.value ?? .null)
                    codingPath.removeLast()
                }
            case .array(let items):
                for (index, item) in items.enumerated() {
                    codingPath.append(AnyKey(intValue: index))
                    visit(item)
                    codingPath.removeLast()
                }
            default:
                return
            }
        }
        visit(root)
        return found
    }
}

/// One step down the tree: a field, or a place in a list (kept as its number, so no key is built until needed).
enum PathStep {
    case key(any CodingKey)
    case index(Int)

    var codingKey: any CodingKey {
        switch self {
        case .key(let key): return key
        case .index(let index): return AnyKey(intValue: index)
        }
    }
}

/// Where a value sits, as a chain to the root: the coding path is built only when someone asks (an error), not for
/// every value decoded; a leaf value (a string, a number) makes no link at all unless it fails.
final class PathLink {
    let parent: PathLink?
    let step: PathStep

    init(_ parent: PathLink?, _ step: PathStep) {
        self.parent = parent
        self.step = step
    }

    static func codingPath(_ link: PathLink?) -> [any CodingKey] {
        var keys: [any CodingKey] = []
        var link = link
        while let current = link {
            keys.append(current.step.codingKey)
            link = current.parent
        }
        return keys.reversed()
    }
}

/// A `Decoder` over a parsed tree that records the fields it is asked for.
struct TreeDecoder: Decoder {
    let value: JSONValue
    let path: PathLink?
    var codingPath: [any CodingKey] { PathLink.codingPath(path) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: codingPath, debugDescription: "found \(value.kind)"))
        }
        object.read = true
        return KeyedDecodingContainer(TreeKeyedContainer<Key>(object: object, path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "found \(value.kind)"))
        }
        return TreeUnkeyedContainer(items: items, path: path)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        TreeSingleValue(value: value, parent: path, step: nil)
    }
}

/// Decoding one value of the tree; every type check is exact.
struct TreeSingleValue: SingleValueDecodingContainer {
    let value: JSONValue
    let parent: PathLink?
    /// The step from `parent` to this value; nil when this is the parent's own value.
    let step: PathStep?
    var path: PathLink? { step.map { PathLink(parent, $0) } ?? parent }
    var codingPath: [any CodingKey] { PathLink.codingPath(path) }

    func mismatch(_ type: Any.Type) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "found \(value.kind)"))
    }

    func decodeNil() -> Bool { if case .null = value { return true } else { return false } }

    func decode(_ type: Bool.Type) throws -> Bool {
        if case .bool(let flag) = value { return flag }
        throw nullOr(type)
    }

    func decode(_ type: String.Type) throws -> String {
        if case .string(let text) = value { return text }
        throw nullOr(type)
    }

    func decode(_ type: Double.Type) throws -> Double {
        switch value {
        case .integer(let whole): return Double(whole)
        case .number(let number): return number
        default: throw nullOr(type)
        }
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        switch value {
        case .integer(let whole):
            guard let exact = T(exactly: whole) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath,
                                                        debugDescription: "\(whole) is out of range (\(T.min)…\(T.max))"))
            }
            return exact
        case .number(let number):
            let what = number.rounded() == number ? "\(number) is out of range" : "found the fraction \(number)"
            throw DecodingError.typeMismatch(type, .init(codingPath: codingPath, debugDescription: what))
        default:
            throw nullOr(type)
        }
    }

    func nullOr(_ type: Any.Type) -> DecodingError {
        if case .null = value { return .valueNotFound(type, .init(codingPath: codingPath, debugDescription: "found null")) }
        return mismatch(type)
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: TreeDecoder(value: value, path: path))
    }
}

struct TreeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let path: PathLink?
    var codingPath: [any CodingKey] { PathLink.codingPath(path) }

    var allKeys: [Key] {
        // Whoever lists the keys reads them as data (a dictionary): none of them is unknown.
        object.open = true
        return object.slots.keys.sorted().compactMap { Key(stringValue: $0) }
    }

    func ask(_ key: Key) -> JSONValue? { object.ask(key.stringValue) }

    func contains(_ key: Key) -> Bool { ask(key) != nil }

    func child(_ key: Key) throws -> TreeSingleValue {
        guard let value = ask(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
        }
        return TreeSingleValue(value: value, parent: path, step: .key(key))
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let value = ask(key) else { return true }
        if case .null = value { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decode(type) }

    // `decodeIfPresent` in one step (the protocol's default asks `contains`, then `decodeNil`, then `decode`: three
    // lookups for every optional field).
    func present(_ key: Key) -> TreeSingleValue? {
        guard let value = ask(key) else { return nil }
        if case .null = value { return nil }
        return TreeSingleValue(value: value, parent: path, step: .key(key))
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try present(key)?.decode(type) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try present(key)?.decode(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let value = try child(key)
        return try TreeDecoder(value: value.value, path: value.path).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let value = try child(key)
        return try TreeDecoder(value: value.value, path: value.path).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        TreeDecoder(value: .object(object), path: path)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        return TreeDecoder(value: ask(key) ?? .null, path: PathLink(path, .key(key)))
    }
}

struct TreeUnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let path: PathLink?
    var codingPath: [any CodingKey] { PathLink.codingPath(path) }
    var currentIndex = 0

    init(items: [JSONValue], path: PathLink?) {
        self.items = items
        self.path = path
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func next(_ type: Any.Type) throws -> TreeSingleValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [AnyKey(intValue: currentIndex)],
                                                          debugDescription: "the list ends here"))
        }
        let value = TreeSingleValue(value: items[currentIndex], parent: path, step: .index(currentIndex))
        currentIndex += 1
        return value
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case .null = items[currentIndex] {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type).decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next(type).decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type).decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type).decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type).decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type).decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type).decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type).decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type).decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type).decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type).decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type).decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type).decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type).decode(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let value = try next([String: Any].self)
        return try TreeDecoder(value: value.value, path: value.path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let value = try next([Any].self)
        return try TreeDecoder(value: value.value, path: value.path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let value = try next(Any.self)
        return TreeDecoder(value: value.value, path: value.path)
    }
}
