@preconcurrency import Crypto
import Foundation

/// Kassa's own RKSV verifier (the oracle of shared/reference/fiscal.md §2.4): checks a DEP export against its
/// cryptographic material container — JWS structure, ES256 signatures (a failure marker is allowed), the chain,
/// one register id, unique receipt ids, counter size, decryption and the running sum, and the receipt-type rules:
/// - a closed system's key ids have the form `<S|U|G>:<id>-<key>`;
/// - receipt dates never go back;
/// - a run of receipts signed with the failure marker ends with a signed null receipt (zero amounts), and the DEP does
///   not end inside such a run.
public enum RKSVVerifier {
    public struct Result: Sendable, Equatable {
        public var receipts: Int
        public var failureSigned: Int
        /// The first problem: receipt index (0-based) and what is wrong; nil when the export verifies.
        public var problem: (index: Int, message: String)?

        public static func == (lhs: Result, rhs: Result) -> Bool {
            lhs.receipts == rhs.receipts && lhs.failureSigned == rhs.failureSigned && lhs.problem?.index == rhs.problem?.index
                && lhs.problem?.message == rhs.problem?.message
        }
    }

    public static func verify(dep: Data, container: Data) -> Result {
        var result = Result(receipts: 0, failureSigned: 0, problem: nil)
        guard let depObject = try? JSONSerialization.jsonObject(with: dep) as? [String: Any],
              let groups = depObject["Belege-Gruppe"] as? [[String: Any]],
              let containerObject = try? JSONSerialization.jsonObject(with: container) as? [String: Any],
              let aesText = containerObject["base64AESKey"] as? String, let aesKey = Data(base64Encoded: aesText),
              let keyMap = containerObject["certificateOrPublicKeyMap"] as? [String: [String: Any]]
        else {
            result.problem = (0, "the DEP or the key container is not in the documented JSON format")
            return result
        }
        var keys: [String: P256.Signing.PublicKey] = [:]
        for (id, entry) in keyMap {
            if entry["signatureDeviceType"] as? String == "PUBLIC_KEY", let text = entry["signatureCertificateOrPublicKey"] as? String,
               let der = Data(base64Encoded: text), let key = try? P256.Signing.PublicKey(derRepresentation: der) {
                keys[id] = key
            }
        }
        let receipts = groups.flatMap { ($0["Belege-kompakt"] as? [String]) ?? [] }
        var previous: String?
        var cashBoxID: String?
        var turnover: Int64 = 0
        var seenIDs = Set<String>()
        var lastTime: String?
        var failedSince: String?
        for (index, jws) in receipts.enumerated() {
            func fail(_ message: String) -> Result {
                result.problem = (index, message)
                return result
            }
            let receipt: RKSVReceipt
            do { receipt = try RKSVReceipt(jws: jws) } catch { return fail("receipt \(index + 1): \(error)") }
            if let cashBoxID, receipt.cashBoxID != cashBoxID {
                return fail("receipt \(receipt.receiptID) names register \(receipt.cashBoxID), not \(cashBoxID)")
            }
            cashBoxID = receipt.cashBoxID
            guard seenIDs.insert(receipt.receiptID).inserted else { return fail("receipt id \(receipt.receiptID) is used twice") }
            guard receipt.suite != "R1-AT0" || RKSVExport.isClosedSystemKeyID(receipt.keyID) else {
                return fail("receipt \(receipt.receiptID): the key id \(receipt.keyID) is not <S|U|G>:<id>-<key id>")
            }
            guard receipt.time.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"#, options: .regularExpression) != nil else {
                return fail("receipt \(receipt.receiptID): the date \(receipt.time) is not yyyy-MM-ddTHH:mm:ss")
            }
            if let lastTime, receipt.time < lastTime {
                return fail("receipt \(receipt.receiptID): its date \(receipt.time) is before the previous receipt's \(lastTime)")
            }
            lastTime = receipt.time
            guard receipt.chain == RKSV.chainValue(previousJWS: previous, cashBoxID: receipt.cashBoxID) else {
                return fail("receipt \(receipt.receiptID): the chain value does not match the previous receipt")
            }
            if receipt.isFailureSigned {
                result.failureSigned += 1
                if index == 0 { return fail("the start receipt must be signed") }
            } else {
                guard let key = keys[receipt.keyID] else { return fail("receipt \(receipt.receiptID): key \(receipt.keyID) is not in the container") }
                guard receipt.signature.count == 64, let signature = try? P256.Signing.ECDSASignature(rawRepresentation: receipt.signature),
                      key.isValidSignature(signature, for: Array(receipt.signingInput.utf8))
                else { return fail("receipt \(receipt.receiptID): the signature does not verify") }
            }
            let cents: [Int64]
            do { cents = try receipt.cents() } catch { return fail("receipt \(receipt.receiptID): \(error)") }
            switch receipt.turnover {
            case RKSV.trainingMarker:
                break  // training receipts leave the counter alone
            case RKSV.stornoMarker:
                turnover += cents.reduce(0, +)
            default:
                guard let raw = Data(base64Encoded: receipt.turnover), (5...16).contains(raw.count) else {
                    return fail("receipt \(receipt.receiptID): the turnover counter is not 5 to 16 bytes")
                }
                let counter: Int64
                do {
                    counter = try RKSV.decryptTurnover(receipt.turnover, cashBoxID: receipt.cashBoxID, receiptID: receipt.receiptID, key: [UInt8](aesKey))
                } catch { return fail("receipt \(receipt.receiptID): \(error)") }
                let expected = turnover + cents.reduce(0, +)
                guard counter == expected else {
                    return fail("receipt \(receipt.receiptID): the turnover counter is \(counter), expected \(expected)")
                }
                turnover = counter
            }
            if receipt.isFailureSigned {
                if failedSince == nil { failedSince = receipt.receiptID }
            } else if let since = failedSince {
                guard cents.allSatisfy({ $0 == 0 }), receipt.turnover != RKSV.trainingMarker, receipt.turnover != RKSV.stornoMarker else {
                    return fail("receipt \(receipt.receiptID): after the signature device failed (from receipt \(since)) the first signed "
                        + "receipt must be a null receipt (Sammelbeleg)")
                }
                failedSince = nil
            }
            if index == 0, previous == nil {
                guard cents.allSatisfy({ $0 == 0 }), receipt.turnover != RKSV.trainingMarker, receipt.turnover != RKSV.stornoMarker else {
                    return fail("the first receipt must be a start receipt with zero amounts")
                }
            }
            previous = jws
            result.receipts += 1
        }
        if let since = failedSince {
            result.problem = (receipts.count - 1, "the signature device failed from receipt \(since) on, and no signed null receipt "
                + "(Sammelbeleg) follows: the DEP ends during the outage")
        }
        return result
    }
}
