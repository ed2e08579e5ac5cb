@preconcurrency import Crypto

/// The state a journaled fact moves the terminal to, signed with the fact (Docs/journal-format.md, "The signed state"):
/// the grand totals after it, and a digest of the running totals of the shift it belongs to. A counter changed outside
/// Kassa can then never be carried into a later signature unnoticed: the engine refuses to sign when the grand totals
/// are not where the last entry left them, and the verifiers recompute both figures for every entry.
///
/// Its text, the last line of the signed message before the counter, is
///
///     <grand total sales> <grand total returns> <totals digest or -> <shift id or ->
public struct JournalState: Sendable, Equatable {
    public var grandTotalSales: Int64
    public var grandTotalReturns: Int64
    /// The shift whose running totals are digested; nil for facts of no shift (users, settings, the module).
    public var shift: String?
    /// `Digest.hex` of that shift's running totals after the fact.
    public var totalsDigest: String?

    public init(grandTotalSales: Int64, grandTotalReturns: Int64, shift: String?, totalsDigest: String?) {
        self.grandTotalSales = grandTotalSales
        self.grandTotalReturns = grandTotalReturns
        self.shift = shift
        self.totalsDigest = shift == nil ? nil : totalsDigest
    }

    public var text: String {
        "\(grandTotalSales) \(grandTotalReturns) \(totalsDigest ?? "-") \(shift ?? "-")"
    }

    /// Parses `text` strictly: two integers, a 32-digit lower-case hex digest (or `-`), a shift id (or `-`); the digest and
    /// the shift come together.
    public init?(text: String) {
        let parts = text.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, let sales = Int64(parts[0]), let returns = Int64(parts[1]),
              String(sales) == parts[0], String(returns) == parts[1]
        else { return nil }
        let digest = String(parts[2]), shift = String(parts[3])
        if digest == "-" || shift == "-" {
            guard digest == "-", shift == "-" else { return nil }
            self.init(grandTotalSales: sales, grandTotalReturns: returns, shift: nil, totalsDigest: nil)
        } else {
            guard digest.utf8.count == 32, digest.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
                  !shift.isEmpty
            else { return nil }
            self.init(grandTotalSales: sales, grandTotalReturns: returns, shift: shift, totalsDigest: digest)
        }
    }

    /// SHA-256 over a shift's running totals in key order (by the keys' UTF-8 bytes, as SQLite's BINARY collation orders
    /// them), a line `key TAB count TAB amount LF` each; the first 16 bytes in hex. An empty shift digests nothing.
    public struct Digest {
        var hasher = SHA256()
        var line: [UInt8] = []

        public init() {}

        /// Adds one running total; keys must come in ascending byte order.
        public mutating func add(key: String, count: Int64, amount: Int64) {
            line.removeAll(keepingCapacity: true)
            var key = key
            key.withUTF8 { line.append(contentsOf: $0) }
            line.append(0x09)
            Canonical.writeInt(count, to: &line)
            line.append(0x09)
            Canonical.writeInt(amount, to: &line)
            line.append(0x0A)
            line.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }

        public var hex: String { Journal.hex(Array(hasher.finalize().prefix(16))) }

        /// The digest of a set of running totals, in key order.
        public static func of(_ totals: [String: (count: Int64, amount: Int64)]) -> String {
            var digest = Digest()
            for key in totals.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                let value = totals[key]!
                digest.add(key: key, count: value.count, amount: value.amount)
            }
            return digest.hex
        }
    }
}
