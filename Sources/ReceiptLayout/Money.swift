import Foundation

/// How amounts in integer minor units are written for one currency.
public struct MoneyFormat: Sendable, Equatable, Codable {
    public enum SymbolPosition: String, Sendable, Codable { case before, after }

    public var code: String
    public var minorDigits: Int
    public var decimalSeparator: String
    public var groupSeparator: String
    public var symbol: String
    public var symbolPosition: SymbolPosition

    public init(
        code: String, minorDigits: Int, decimalSeparator: String, groupSeparator: String, symbol: String,
        symbolPosition: SymbolPosition
    ) {
        self.code = code
        self.minorDigits = minorDigits
        self.decimalSeparator = decimalSeparator
        self.groupSeparator = groupSeparator
        self.symbol = symbol
        self.symbolPosition = symbolPosition
    }

    /// Built-in conventions for the currencies of Kassa's first markets; others fall back to the ISO code.
    public static func standard(for code: String) -> MoneyFormat {
        switch code.uppercased() {
        case "EUR": return MoneyFormat(code: "EUR", minorDigits: 2, decimalSeparator: ",", groupSeparator: ".", symbol: "€", symbolPosition: .after)
        case "SEK": return MoneyFormat(code: "SEK", minorDigits: 2, decimalSeparator: ",", groupSeparator: " ", symbol: "kr", symbolPosition: .after)
        case "NOK": return MoneyFormat(code: "NOK", minorDigits: 2, decimalSeparator: ",", groupSeparator: " ", symbol: "kr", symbolPosition: .after)
        case "DKK": return MoneyFormat(code: "DKK", minorDigits: 2, decimalSeparator: ",", groupSeparator: ".", symbol: "kr.", symbolPosition: .after)
        case "PLN": return MoneyFormat(code: "PLN", minorDigits: 2, decimalSeparator: ",", groupSeparator: " ", symbol: "zł", symbolPosition: .after)
        case "CHF": return MoneyFormat(code: "CHF", minorDigits: 2, decimalSeparator: ".", groupSeparator: "'", symbol: "CHF", symbolPosition: .before)
        case "CZK": return MoneyFormat(code: "CZK", minorDigits: 2, decimalSeparator: ",", groupSeparator: " ", symbol: "Kč", symbolPosition: .after)
        case "GBP": return MoneyFormat(code: "GBP", minorDigits: 2, decimalSeparator: ".", groupSeparator: ",", symbol: "£", symbolPosition: .before)
        case "USD": return MoneyFormat(code: "USD", minorDigits: 2, decimalSeparator: ".", groupSeparator: ",", symbol: "$", symbolPosition: .before)
        case "JPY": return MoneyFormat(code: "JPY", minorDigits: 0, decimalSeparator: ".", groupSeparator: ",", symbol: "¥", symbolPosition: .before)
        case "ISK": return MoneyFormat(code: "ISK", minorDigits: 0, decimalSeparator: ",", groupSeparator: ".", symbol: "kr", symbolPosition: .after)
        case "KWD": return MoneyFormat(code: "KWD", minorDigits: 3, decimalSeparator: ".", groupSeparator: ",", symbol: "KWD", symbolPosition: .before)
        default:
            return MoneyFormat(code: code.uppercased(), minorDigits: 2, decimalSeparator: ".", groupSeparator: ",",
                               symbol: code.uppercased(), symbolPosition: .before)
        }
    }

    /// Whether amounts (without the symbol) are plain ASCII, so they can skip code-page encoding.
    public var isASCII: Bool { decimalSeparator.utf8.allSatisfy { $0 < 0x80 } && groupSeparator.utf8.allSatisfy { $0 < 0x80 } }

    /// Appends the amount's UTF-8 bytes (no symbol); returns how many bytes were added.
    @discardableResult
    public func append(_ minor: Int64, to out: inout [UInt8]) -> Int {
        ByteFormatter(self).append(minor, to: &out)
    }

    /// Formats amounts straight into a byte buffer: separators resolved once, digits written forwards, no String.
    /// The layout makes one per document; it runs for every amount on every receipt.
    public struct ByteFormatter: Sendable {
        let minorDigits: Int
        let divisor: UInt64
        let decimal: [UInt8]
        let grouping: [UInt8]
        let decimalColumns: Int
        let groupingColumns: Int

        public init(_ format: MoneyFormat) {
            minorDigits = format.minorDigits
            var divisor: UInt64 = 1
            for _ in 0..<format.minorDigits { divisor *= 10 }
            self.divisor = divisor
            decimal = Array(format.decimalSeparator.utf8)
            grouping = Array(format.groupSeparator.utf8)
            decimalColumns = format.decimalSeparator.count
            groupingColumns = format.groupSeparator.count
        }

        @discardableResult
        public func append(_ minor: Int64, to out: inout [UInt8]) -> Int {
            guard decimal.count <= 1, grouping.count <= 1, minorDigits <= 6 else { return appendSlow(minor, to: &out) }
            // Written right to left into 40 bytes on the stack, then appended in one go.
            var storage: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
            return withUnsafeMutableBytes(of: &storage) { buffer in
                var position = buffer.count
                let magnitude = minor.magnitude
                var whole = magnitude / divisor
                var fraction = magnitude % divisor
                for _ in 0..<minorDigits {
                    position -= 1
                    buffer[position] = UInt8(fraction % 10) + 0x30
                    fraction /= 10
                }
                if minorDigits > 0, let separator = decimal.first {
                    position -= 1
                    buffer[position] = separator
                }
                var group = 0
                repeat {
                    if group == 3 {
                        if let separator = grouping.first {
                            position -= 1
                            buffer[position] = separator
                        }
                        group = 0
                    }
                    position -= 1
                    buffer[position] = UInt8(whole % 10) + 0x30
                    whole /= 10
                    group += 1
                } while whole > 0
                if minor < 0 {
                    position -= 1
                    buffer[position] = 0x2D
                }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[position...]))
                return buffer.count - position
            }
        }

        /// Multi-byte separators (e.g. a non-breaking space) take the general path.
        func appendSlow(_ minor: Int64, to out: inout [UInt8]) -> Int {
            let start = out.count
            if minor < 0 { out.append(0x2D) }
            let magnitude = minor.magnitude
            let wholeText = String(magnitude / divisor)
            for (index, digit) in wholeText.utf8.enumerated() {
                if index > 0, (wholeText.utf8.count - index) % 3 == 0 { out.append(contentsOf: grouping) }
                out.append(digit)
            }
            if minorDigits > 0 {
                out.append(contentsOf: decimal)
                let fraction = String(magnitude % divisor)
                out.append(contentsOf: repeatElement(0x30, count: minorDigits - fraction.utf8.count))
                out.append(contentsOf: fraction.utf8)
            }
            return out.count - start
        }

        /// Columns `append(minor)` will take, computed without formatting.
        public func width(_ minor: Int64) -> Int {
            var digits = 1
            var whole = minor.magnitude / divisor
            while whole >= 10 {
                whole /= 10
                digits += 1
            }
            return (minor < 0 ? 1 : 0) + digits + (digits - 1) / 3 * groupingColumns
                + (minorDigits > 0 ? decimalColumns + minorDigits : 0)
        }

        /// Columns of a plain integer.
        public func integerWidth(_ value: Int64) -> Int {
            var digits = 1
            var magnitude = value.magnitude
            while magnitude >= 10 {
                magnitude /= 10
                digits += 1
            }
            return digits + (value < 0 ? 1 : 0)
        }

        /// A plain integer (quantities), no grouping.
        public func appendInteger(_ value: Int64, to out: inout [UInt8]) {
            if value < 0 { out.append(0x2D) }
            let magnitude = value.magnitude
            var power: UInt64 = 1
            while magnitude / power >= 10 { power *= 10 }
            var remaining = magnitude
            while power > 0 {
                out.append(UInt8(remaining / power) + 0x30)
                remaining %= power
                power /= 10
            }
        }
    }

    /// `1234550` → `12.345,50` (EUR).
    public func format(_ minor: Int64, withSymbol: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(minor, to: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        guard withSymbol else { return text }
        return symbolPosition == .before ? "\(symbol) \(text)" : "\(text) \(symbol)"
    }
}

/// An exact decimal quantity, e.g. 0.456 kg: `units` scaled by 10^`scale`.
public struct Quantity: Sendable, Equatable, Codable, CustomStringConvertible {
    public var units: Int64
    public var scale: Int

    public init(units: Int64, scale: Int = 0) {
        self.units = units
        self.scale = scale
    }

    public static let one = Quantity(units: 1)

    /// Parses `"2"`, `"-1"`, `"0.456"` or `"0,456"`.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var negative = false
        var body = Substring(trimmed)
        if body.hasPrefix("-") {
            negative = true
            body = body.dropFirst()
        }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false).count == 2
            ? body.split(separator: ".", omittingEmptySubsequences: false)
            : body.split(separator: ",", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy(\.isASCII),
            parts.allSatisfy({ $0.allSatisfy { $0 >= "0" && $0 <= "9" } }), parts[0].count <= 12
        else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.count <= 6, parts.count == 1 || !fraction.isEmpty else { return nil }
        guard let value = Int64(parts[0] + fraction) else { return nil }
        units = negative ? -value : value
        scale = fraction.count
    }

    public var isOne: Bool { scale == 0 ? units == 1 : units == pow10(scale) }


    public func formatted(decimalSeparator: String) -> String {
        guard scale > 0 else { return String(units) }
        let magnitude = units.magnitude
        let divisor = UInt64(pow10(scale))
        var fraction = String(magnitude % divisor)
        fraction = String(repeating: "0", count: scale - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        let whole = (units < 0 ? "-" : "") + String(magnitude / divisor)
        return fraction.isEmpty ? whole : whole + decimalSeparator + fraction
    }

    public var description: String { formatted(decimalSeparator: ".") }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let whole = try? container.decode(Int64.self) {
            self.init(units: whole)
            return
        }
        if let text = try? container.decode(String.self), let parsed = Quantity(parsing: text) {
            self = parsed
            return
        }
        throw DecodingError.dataCorruptedError(
            in: container,
            debugDescription: "a quantity is a whole number or a decimal string such as \"0.456\" (up to 6 decimals)")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if scale == 0 { try container.encode(units) } else { try container.encode(description) }
    }
}

private func pow10(_ n: Int) -> Int64 {
    var value: Int64 = 1
    for _ in 0..<n { value *= 10 }
    return value
}
