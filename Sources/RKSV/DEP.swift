@preconcurrency import Crypto
import Foundation

/// The export formats of a register (shared/reference/fiscal.md §2.2): the DEP (Datenerfassungsprotokoll) and the
/// cryptographic material container a verifier needs. Kassa runs as a closed system (`R1-AT0`): receipts name a
/// company key id (`<company id>-K<n>`, the terminal's n-th signature device) instead of a certificate, the DEP has one
/// group without a certificate, and the container maps every key id the register ever used to its public key (DER
/// SubjectPublicKeyInfo, base64) with type `PUBLIC_KEY`.
public enum RKSVExport {
    public struct Group: Sendable {
        public var keyID: String
        public var receipts: [String]
        public init(keyID: String, receipts: [String]) {
            self.keyID = keyID
            self.receipts = receipts
        }
    }

    /// `{"Belege-Gruppe": [{"Signaturzertifikat": "", "Zertifizierungsstellen": [], "Belege-kompakt": [...]}]}`.
    public static func dep(_ groups: [Group]) -> Data {
        let object: [String: Any] = ["Belege-Gruppe": groups.map { group in
            ["Signaturzertifikat": "", "Zertifizierungsstellen": [String](), "Belege-kompakt": group.receipts] as [String: Any]
        }]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }

    /// The DEP groups of a closed system: one group holding every receipt in order, whatever key signed it (a group
    /// stands for a certificate, and a closed system has none; the BMF reference's DEP export does the same, and
    /// verifiers refuse several certificate-less groups). `keyID` is the first receipt's key id (informative).
    public static func groups(_ receipts: [String]) -> [Group] {
        guard let first = receipts.first else { return [] }
        return [Group(keyID: (try? RKSVReceipt(jws: first))?.keyID ?? "", receipts: receipts)]
    }

    /// A closed system's key id: `<S|U|G>:<id>-<key>`, where neither the id nor the key holds `-` or `_`, as verifiers
    /// parse it (the BMF reference writes `<company id>-K<n>`).
    public static func isClosedSystemKeyID(_ keyID: String) -> Bool {
        keyID.range(of: #"^[SUG]:[^-_]+-[^-_]+$"#, options: .regularExpression) != nil
    }

    /// `cryptographicMaterialContainer.json`: the AES key and each key id's public key (X9.63 in, DER SPKI out).
    public static func container(aesKey: [UInt8], publicKeys: [String: [UInt8]]) throws(RKSVError) -> Data {
        var map: [String: Any] = [:]
        for (id, x963) in publicKeys {
            guard let key = try? P256.Signing.PublicKey(x963Representation: x963) else { throw .invalid("The key of \(id) is not a P-256 public key.") }
            map[id] = ["id": id, "signatureDeviceType": "PUBLIC_KEY", "signatureCertificateOrPublicKey": key.derRepresentation.base64EncodedString()]
        }
        let object: [String: Any] = ["base64AESKey": Data(aesKey).base64EncodedString(), "certificateOrPublicKeyMap": map]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }
}

/// A receipt's fields, parsed from its JWS.
public struct RKSVReceipt: Sendable, Equatable {
    public var suite: String
    public var cashBoxID: String
    public var receiptID: String
    public var time: String
    public var amounts: [String]
    public var turnover: String
    public var keyID: String
    public var chain: String
    public var signingInput: String
    public var signature: [UInt8]

    public init(jws: String) throws(RKSVError) {
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == RKSV.jwsHeader, let payloadBytes = RKSV.fromBase64URL(String(parts[1])),
              let signature = RKSV.fromBase64URL(String(parts[2]))
        else { throw .invalid("not a JWS with the header {\"alg\":\"ES256\"}") }
        let fields = String(decoding: payloadBytes, as: UTF8.self).split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 13, fields[0].isEmpty else { throw .invalid("the payload does not have the 12 fields of suite R1") }
        suite = fields[1]
        cashBoxID = fields[2]
        receiptID = fields[3]
        time = fields[4]
        amounts = Array(fields[5...9])
        turnover = fields[10]
        keyID = fields[11]
        chain = fields[12]
        signingInput = parts[0] + "." + parts[1]
        self.signature = signature
    }

    public var isFailureSigned: Bool { RKSV.base64URL(signature) == RKSV.failureSignature }

    /// The five amounts in cents (`0,00` format).
    public func cents() throws(RKSVError) -> [Int64] {
        var result: [Int64] = []
        for text in amounts {
            let negative = text.hasPrefix("-")
            let digits = negative ? String(text.dropFirst()) : text
            let pieces = digits.split(separator: ",", omittingEmptySubsequences: false)
            guard pieces.count == 2, pieces[1].count == 2, let units = Int64(pieces[0]), let fraction = Int64(pieces[1]) else {
                throw .invalid("amount \(text) is not in the 0,00 format")
            }
            result.append((negative ? -1 : 1) * (units * 100 + fraction))
        }
        return result
    }
}
