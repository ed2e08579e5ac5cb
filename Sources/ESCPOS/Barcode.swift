public enum BarcodeSymbology: String, Sendable, Codable, CaseIterable {
    case ean13 = "EAN13", ean8 = "EAN8", upcA = "UPC-A", code39 = "CODE39", code128 = "CODE128"

    /// `m` for `GS k` function A (NUL-terminated).
    var functionA: UInt8? {
        switch self {
        case .upcA: return 0
        case .ean13: return 2
        case .ean8: return 3
        case .code39: return 4
        case .code128: return nil
        }
    }

    /// `m` for `GS k` function B (length-prefixed).
    var functionB: UInt8 {
        switch self {
        case .upcA: return 65
        case .ean13: return 67
        case .ean8: return 68
        case .code39: return 69
        case .code128: return 73
        }
    }
}

public struct BarcodeOptions: Sendable, Equatable, Codable {
    public enum HRIPosition: UInt8, Sendable, Codable, CaseIterable {
        case none = 0, above = 1, below = 2, both = 3

        public var name: String { ["none", "above", "below", "both"][Int(rawValue)] }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let match = Self.allCases.first(where: { $0.name == text.lowercased() }) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "hri is none, above, below or both, not \"\(text)\"")
            }
            self = match
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(name)
        }
    }
    public var hri: HRIPosition
    public var hriFont: TextStyle.Font
    /// Bar height in dots, 1...255.
    public var height: Int
    /// Module (narrow bar) width in dots, 2...6.
    public var moduleWidth: Int

    public init(hri: HRIPosition = .below, hriFont: TextStyle.Font = .a, height: Int = 80, moduleWidth: Int = 2) {
        self.hri = hri
        self.hriFont = hriFont
        self.height = height
        self.moduleWidth = moduleWidth
    }
}

public enum Barcode {
    /// Width of the symbol in modules (narrow bars), quiet zones excluded; CODE39 assumes a 3:1 ratio.
    public static func modules(_ symbology: BarcodeSymbology, payload: [UInt8]) -> Int {
        switch symbology {
        case .ean13, .upcA: return 95
        case .ean8: return 67
        case .code39: return (payload.count + 2) * 16
        case .code128:
            // Payload starts with the code-set prefix "{X"; "{{" is one data character.
            var characters = 0
            var index = 2
            while index < payload.count {
                index += payload[index] == 0x7B ? 2 : 1
                characters += 1
            }
            return 11 * (characters + 3) + 2
        }
    }

    /// Check digit of an EAN/UPC body (weights 3,1 from the right).
    public static func checkDigit(_ digits: [UInt8]) -> UInt8 {
        var sum = 0
        for (index, digit) in digits.reversed().enumerated() {
            sum += Int(digit) * (index % 2 == 0 ? 3 : 1)
        }
        return UInt8((10 - sum % 10) % 10)
    }

    /// Validates `data` and returns the bytes the printer expects for the symbol's data field
    /// (EAN/UPC with check digit, CODE128 with code-set prefix).
    public static func payload(_ symbology: BarcodeSymbology, _ data: String) throws(ESCPOSError) -> [UInt8] {
        let bytes = Array(data.utf8)
        func fail(_ reason: String) -> ESCPOSError { .invalidBarcode(symbology: symbology, data: data, reason: reason) }
        switch symbology {
        case .ean13, .ean8, .upcA:
            let body = symbology == .ean13 ? 12 : (symbology == .ean8 ? 7 : 11)
            guard bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw fail("only digits are allowed") }
            guard bytes.count == body || bytes.count == body + 1 else {
                throw fail("it needs \(body) digits, or \(body + 1) with the check digit")
            }
            let digits = bytes.prefix(body).map { $0 - 0x30 }
            let check = checkDigit(Array(digits))
            if bytes.count == body + 1, bytes[body] - 0x30 != check {
                throw fail("the check digit should be \(check)")
            }
            return digits.map { $0 + 0x30 } + [check + 0x30]
        case .code39:
            let allowed = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -.$/+%".utf8)
            guard !bytes.isEmpty, bytes.count <= 255 else { throw fail("it must hold 1 to 255 characters") }
            guard bytes.allSatisfy({ allowed.contains($0) }) else {
                throw fail("CODE39 allows only 0-9, A-Z, space and - . $ / + %")
            }
            return bytes
        case .code128:
            guard !bytes.isEmpty, bytes.count <= 250 else { throw fail("it must hold 1 to 250 characters") }
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { throw fail("only printable ASCII is allowed") }
            let allDigits = bytes.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            if allDigits, bytes.count >= 4, bytes.count % 2 == 0 {
                // Code set C packs two digits per symbol character.
                var out: [UInt8] = [0x7B, 0x43]
                var index = 0
                while index < bytes.count {
                    out.append((bytes[index] - 0x30) * 10 + bytes[index + 1] - 0x30)
                    index += 2
                }
                return out
            }
            var out: [UInt8] = [0x7B, 0x42]
            for byte in bytes {
                out.append(byte)
                if byte == 0x7B { out.append(0x7B) }  // a literal '{' is written as "{{"
            }
            return out
        }
    }
}
