@preconcurrency import Crypto
import _CryptoExtras
import Foundation

/// The Austrian Registrierkassensicherheitsverordnung (RKSV), suite R1: the machine-readable code of a receipt, its
/// signature (JWS ES256), the chain value and the encrypted turnover counter — the exact algorithms of the BMF reference
/// implementation (Docs/fiscal-at.md, shared/reference/fiscal.md §2). Pure: no I/O; signing is a closure.
public enum RKSV {
    public enum ReceiptType: String, Sendable, Codable, CaseIterable {
        case start = "START_BELEG"
        case standard = "STANDARD_BELEG"
        case storno = "STORNO_BELEG"
        case training = "TRAINING_BELEG"
        case null = "NULL_BELEG"
    }

    /// The five gross amount buckets in cents: Normal (20 %), Ermäßigt 1 (10 %), Ermäßigt 2 (13 %), Null (0 %),
    /// Besonders (19 %; from July 2026 also 4.9 %).
    public struct Amounts: Sendable, Equatable, Codable {
        public var normal: Int64
        public var reduced1: Int64
        public var reduced2: Int64
        public var zero: Int64
        public var special: Int64

        public init(normal: Int64 = 0, reduced1: Int64 = 0, reduced2: Int64 = 0, zero: Int64 = 0, special: Int64 = 0) {
            self.normal = normal
            self.reduced1 = reduced1
            self.reduced2 = reduced2
            self.zero = zero
            self.special = special
        }

        public var all: [Int64] { [normal, reduced1, reduced2, zero, special] }
        public var sum: Int64 { all.reduce(0, +) }
        public static let zeroAmounts = Amounts()

        /// The bucket of a VAT rate in basis points; nil for a rate RKSV has no bucket for.
        public static func bucket(basisPoints: Int64) -> WritableKeyPath<Amounts, Int64>? {
            switch basisPoints {
            case 2000: return \.normal
            case 1000: return \.reduced1
            case 1300: return \.reduced2
            case 0: return \.zero
            case 1900, 490: return \.special
            default: return nil
            }
        }
    }

    public static let jwsHeader = "eyJhbGciOiJFUzI1NiJ9"  // {"alg":"ES256"}
    public static let failureSignature = base64URL(Array("Sicherheitseinrichtung ausgefallen".utf8))
    public static let stornoMarker = "U1RP"  // base64("STO")
    public static let trainingMarker = "VFJB"  // base64("TRA")

    /// `0,00` style: two decimals, decimal comma, minus sign for negatives.
    public static func amount(_ cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100),\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// The start receipt's chain value: the first 8 bytes of SHA-256 over the cash box id; afterwards over the whole
    /// previous JWS compact string. Standard base64.
    public static func chainValue(previousJWS: String?, cashBoxID: String) -> String {
        let input = Array((previousJWS ?? cashBoxID).utf8)
        return Data(SHA256.hash(data: input).prefix(8)).base64EncodedString()
    }

    /// AES-256-CTR over the counter in cents as a big-endian two's-complement integer of `size` bytes (5…16), with
    /// IV = SHA-256(cash box id ‖ receipt id)[0..16]; standard base64.
    public static func encryptTurnover(_ cents: Int64, cashBoxID: String, receiptID: String, key: [UInt8], size: Int = 8) throws(RKSVError) -> String {
        guard (5...16).contains(size) else { throw .invalid("A turnover counter has 5 to 16 bytes, not \(size).") }
        var plain = [UInt8](repeating: cents < 0 ? 0xFF : 0x00, count: 16)
        withUnsafeBytes(of: cents.bigEndian) { bytes in
            for index in 0..<8 { plain[8 + index] = bytes[index] }
        }
        let encrypted = try ctr(Array(plain.suffix(size)), cashBoxID: cashBoxID, receiptID: receiptID, key: key)
        return Data(encrypted).base64EncodedString()
    }

    /// Decrypts an encrypted turnover counter (the verifier's side).
    public static func decryptTurnover(_ base64: String, cashBoxID: String, receiptID: String, key: [UInt8]) throws(RKSVError) -> Int64 {
        guard let data = Data(base64Encoded: base64), (5...16).contains(data.count) else {
            throw .invalid("The encrypted turnover counter \(base64) is not 5 to 16 bytes of base64.")
        }
        let plain = try ctr([UInt8](data), cashBoxID: cashBoxID, receiptID: receiptID, key: key)
        // Sign-extend the big-endian two's complement of plain.count bytes into an Int64.
        let negative = plain[0] & 0x80 != 0
        if plain.count > 8 {
            guard plain.prefix(plain.count - 8).allSatisfy({ $0 == (negative ? 0xFF : 0x00) }) else {
                throw .invalid("The turnover counter does not fit 64 bits.")
            }
        }
        var value: UInt64 = negative ? .max : 0
        for byte in plain.suffix(min(8, plain.count)) { value = value << 8 | UInt64(byte) }
        return Int64(bitPattern: value)
    }

    static func ctr(_ input: [UInt8], cashBoxID: String, receiptID: String, key: [UInt8]) throws(RKSVError) -> [UInt8] {
        guard key.count == 32 else { throw .invalid("The AES key has \(key.count) bytes; RKSV uses AES-256 (32 bytes).") }
        let iv = Array(SHA256.hash(data: Array((cashBoxID + receiptID).utf8)).prefix(16))
        do {
            return [UInt8](try AES._CTR.encrypt(input, using: SymmetricKey(data: key), nonce: AES._CTR.Nonce(nonceBytes: iv)))
        } catch {
            throw .invalid("AES-CTR failed: \(error)")
        }
    }

    /// The JWS payload (data to be signed), `_R1-AT<n>_…`.
    public static func payload(suite: String, cashBoxID: String, receiptID: String, time: String, amounts: Amounts, turnover: String,
                               keyID: String, chain: String) -> String {
        "_\(suite)_\(cashBoxID)_\(receiptID)_\(time)_" + amounts.all.map(amount).joined(separator: "_") + "_\(turnover)_\(keyID)_\(chain)"
    }

    public static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func fromBase64URL(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map { [UInt8]($0) }
    }

    /// The QR representation: the payload, `_`, and the signature in standard base64.
    public static func qrCode(jws: String) throws(RKSVError) -> String {
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = fromBase64URL(String(parts[1])), let signature = fromBase64URL(String(parts[2])) else {
            throw .invalid("Not a JWS compact string.")
        }
        return String(decoding: payload, as: UTF8.self) + "_" + Data(signature).base64EncodedString()
    }
}

public struct RKSVError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public static func invalid(_ message: String) -> RKSVError { RKSVError(message: message) }
    public var description: String { message }
}

/// One register (Kassen-ID) that produces signed RKSV receipts, chaining each to the previous one.
public struct RKSVRegister: Sendable {
    public var cashBoxID: String
    /// `R1-AT0` for a closed system (company key id instead of a certificate serial).
    public var suite: String
    public var aesKey: [UInt8]
    public var counterSize: Int

    public init(cashBoxID: String, aesKey: [UInt8], suite: String = "R1-AT0", counterSize: Int = 8) {
        self.cashBoxID = cashBoxID
        self.aesKey = aesKey
        self.suite = suite
        self.counterSize = counterSize
    }

    /// Builds and signs one receipt. `turnover` is the counter *after* this receipt (unchanged for start, null and
    /// training receipts). `sign` returns the raw r‖s ES256 signature of its input, or nil when the signature device
    /// failed: then the signature part is the failure marker.
    public func receipt(type: RKSV.ReceiptType, receiptID: String, time: String, amounts: RKSV.Amounts, turnover: Int64, keyID: String,
                        previousJWS: String?, sign: (_ signingInput: [UInt8]) -> [UInt8]?) throws(RKSVError) -> String {
        let encrypted: String
        switch type {
        case .storno: encrypted = RKSV.stornoMarker
        case .training: encrypted = RKSV.trainingMarker
        default: encrypted = try RKSV.encryptTurnover(turnover, cashBoxID: cashBoxID, receiptID: receiptID, key: aesKey, size: counterSize)
        }
        let shownAmounts = (type == .start || type == .null) ? .zeroAmounts : amounts
        let payload = RKSV.payload(suite: suite, cashBoxID: cashBoxID, receiptID: receiptID, time: time, amounts: shownAmounts,
                                   turnover: encrypted, keyID: keyID, chain: RKSV.chainValue(previousJWS: previousJWS, cashBoxID: cashBoxID))
        let signingInput = RKSV.jwsHeader + "." + RKSV.base64URL(Array(payload.utf8))
        let signature = sign(Array(signingInput.utf8)).map(RKSV.base64URL) ?? RKSV.failureSignature
        return signingInput + "." + signature
    }
}
