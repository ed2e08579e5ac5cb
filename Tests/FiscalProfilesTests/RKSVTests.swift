@preconcurrency import Crypto
import Foundation
@testable import RKSV
import Testing

/// The official BMF scenarios (copied from shared/data/rksv, Apache-2.0).
struct Scenario: Decodable {
    struct Instruction: Decodable {
        struct Amounts: Decodable {
            var taxSetNormal: Decimal
            var taxSetErmaessigt1: Decimal
            var taxSetErmaessigt2: Decimal
            var taxSetNull: Decimal
            var taxSetBesonders: Decimal
        }
        var receiptIdentifier: String
        var dateToUse: String
        var usedSignatureDevice: Int
        var signatureDeviceDamaged: Bool
        var typeOfReceipt: String
        var simplifiedReceipt: Amounts
    }
    var cashBoxId: String
    var base64AesKey: String
    var companyID: String
    var numberOfSignatureDevices: Int
    var cashBoxInstructionList: [Instruction]

    /// Copies of `shared/data/rksv` (Apache-2.0, see Fixtures/rksv/README.md), so the tests run on any checkout.
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/rksv")

    static func load(_ number: Int) throws -> Scenario {
        let data = try Data(contentsOf: folder.appendingPathComponent("TESTSUITE_TEST_SZENARIO_\(number).json"))
        return try JSONDecoder().decode(Scenario.self, from: data)
    }

    static func cents(_ value: Decimal) -> Int64 {
        var scaled = value * 100
        var rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .plain)
        return NSDecimalNumber(decimal: rounded).int64Value
    }
}

extension Scenario.Instruction {
    var amounts: RKSV.Amounts {
        RKSV.Amounts(normal: Scenario.cents(simplifiedReceipt.taxSetNormal), reduced1: Scenario.cents(simplifiedReceipt.taxSetErmaessigt1),
                     reduced2: Scenario.cents(simplifiedReceipt.taxSetErmaessigt2), zero: Scenario.cents(simplifiedReceipt.taxSetNull),
                     special: Scenario.cents(simplifiedReceipt.taxSetBesonders))
    }
}

@Suite("RKSV")
struct RKSVTests {
    let aesKey = [UInt8](Data(base64Encoded: "WQRtiiya3hYh/Uz44Bv3x8ETl1nrH6nCdErn69g5/lU=")!)

    @Test("the computed test vectors of the reference (chain, counters, failure marker, header)")
    func vectors() throws {
        #expect(RKSV.chainValue(previousJWS: nil, cashBoxID: "CASHBOX-DEMO-1") == "cg8hNU5ihto=")
        #expect(try RKSV.encryptTurnover(0, cashBoxID: "CASHBOX-DEMO-1", receiptID: "CASHBOX-DEMO-1-Receipt-ID-1", key: aesKey) == "4r1iIdZGeAQ=")
        #expect(try RKSV.encryptTurnover(0, cashBoxID: "CASHBOX-DEMO-1", receiptID: "CASHBOX-DEMO-1-Receipt-ID-1", key: aesKey, size: 5) == "4r1iIdY=")
        #expect(try RKSV.encryptTurnover(50501, cashBoxID: "CASHBOX-DEMO-1", receiptID: "CASHBOX-DEMO-1-Receipt-ID-6", key: aesKey) == "k8wUAJDJ+Ro=")
        #expect(try RKSV.decryptTurnover("k8wUAJDJ+Ro=", cashBoxID: "CASHBOX-DEMO-1", receiptID: "CASHBOX-DEMO-1-Receipt-ID-6", key: aesKey) == 50501)
        #expect(try RKSV.decryptTurnover(RKSV.encryptTurnover(-12345, cashBoxID: "K", receiptID: "7", key: aesKey, size: 16),
                                         cashBoxID: "K", receiptID: "7", key: aesKey) == -12345)
        #expect(RKSV.failureSignature == "U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg")
        #expect(RKSV.jwsHeader == RKSV.base64URL(Array(#"{"alg":"ES256"}"#.utf8)))
        #expect(RKSV.amount(12034) == "120,34" && RKSV.amount(-1390) == "-13,90" && RKSV.amount(5) == "0,05" && RKSV.amount(0) == "0,00")
    }

    @Test("the counter check of the reference: receipt 6 → 50501, training 8 unchanged, storno 10 → 60243", arguments: [1])
    func counterCheck(_ number: Int) throws {
        let scenario = try Scenario.load(number)
        var turnover: Int64 = 0
        var after: [String: Int64] = [:]
        for instruction in scenario.cashBoxInstructionList {
            if instruction.typeOfReceipt == "STANDARD_BELEG" || instruction.typeOfReceipt == "STORNO_BELEG" { turnover += instruction.amounts.sum }
            after[instruction.receiptIdentifier] = turnover
        }
        #expect(after["CASHBOX-DEMO-1-Receipt-ID-6"] == 50501)
        #expect(after["CASHBOX-DEMO-1-Receipt-ID-8"] == 50501)
        #expect(after["CASHBOX-DEMO-1-Receipt-ID-10"] == 60243)
    }

    /// Replays a scenario with the pure register (three signature devices, damaged ones sign with the failure marker).
    static func replay(_ scenario: Scenario, counterSize: Int = 8) throws -> (dep: Data, container: Data, receipts: [String]) {
        let devices = (0..<scenario.numberOfSignatureDevices).map { _ in P256.Signing.PrivateKey() }
        let register = RKSVRegister(cashBoxID: scenario.cashBoxId, aesKey: [UInt8](Data(base64Encoded: scenario.base64AesKey)!),
                                    counterSize: counterSize)
        var previous: String?
        var turnover: Int64 = 0
        var receipts: [String] = []
        for instruction in scenario.cashBoxInstructionList {
            let type = try #require(RKSV.ReceiptType(rawValue: instruction.typeOfReceipt))
            if type == .standard || type == .storno { turnover += instruction.amounts.sum }
            let device = devices[instruction.usedSignatureDevice]
            let jws = try register.receipt(
                type: type, receiptID: instruction.receiptIdentifier, time: instruction.dateToUse, amounts: instruction.amounts,
                turnover: turnover, keyID: "\(scenario.companyID)-K\(instruction.usedSignatureDevice + 1)", previousJWS: previous,
                sign: { input in instruction.signatureDeviceDamaged ? nil : try? [UInt8](device.signature(for: input).rawRepresentation) })
            receipts.append(jws)
            previous = jws
        }
        var keys: [String: [UInt8]] = [:]
        for (index, device) in devices.enumerated() { keys["\(scenario.companyID)-K\(index + 1)"] = [UInt8](device.publicKey.x963Representation) }
        return (RKSVExport.dep(RKSVExport.groups(receipts)), try RKSVExport.container(aesKey: register.aesKey, publicKeys: keys), receipts)
    }

    @Test("each official scenario replays into a DEP that the verifier accepts", arguments: [1, 2, 3, 4])
    func scenarios(_ number: Int) throws {
        let scenario = try Scenario.load(number)
        let (dep, container, receipts) = try Self.replay(scenario)
        let result = RKSVVerifier.verify(dep: dep, container: container)
        #expect(result.problem == nil, "\(String(describing: result.problem))")
        #expect(result.receipts == scenario.cashBoxInstructionList.count)
        #expect(result.failureSigned == scenario.cashBoxInstructionList.filter(\.signatureDeviceDamaged).count)
        // The QR representation has the 12 payload fields and the signature in standard base64.
        let qr = try RKSV.qrCode(jws: receipts[0])
        let first = scenario.cashBoxInstructionList[0].receiptIdentifier
        #expect(qr.hasPrefix("_R1-AT0_\(scenario.cashBoxId)_\(first)_") && qr.split(separator: "_").count == 13)
    }

    @Test("the verifier rejects a broken chain, a changed register id, a wrong or badly sized counter, and a forged signature")
    func rejects() throws {
        let scenario = try Scenario.load(1)
        let (_, container, receipts) = try Self.replay(scenario)
        func verify(_ list: [String]) -> String? { RKSVVerifier.verify(dep: RKSVExport.dep([.init(keyID: "", receipts: list)]), container: container).problem?.message }

        var dropped = receipts
        dropped.remove(at: 5)
        #expect(verify(dropped)?.contains("chain") == true)

        var swapped = receipts
        swapped.swapAt(3, 4)
        #expect(verify(swapped)?.contains("chain") == true)

        // A counter that goes down: encrypt a smaller counter into a STANDARD receipt and sign it with a known key.
        let key = P256.Signing.PrivateKey()
        let register = RKSVRegister(cashBoxID: "K1", aesKey: aesKey)
        let keys = ["U:ATU1-K1": [UInt8](key.publicKey.x963Representation)]
        let keyContainer = try RKSVExport.container(aesKey: aesKey, publicKeys: keys)
        func sign(_ input: [UInt8]) -> [UInt8]? { try? [UInt8](key.signature(for: input).rawRepresentation) }
        func chain(_ steps: [(RKSV.ReceiptType, Int64, Int64)], register: RKSVRegister = register, ids: [String]? = nil) throws -> [String] {
            var previous: String?
            var out: [String] = []
            for (index, step) in steps.enumerated() {
                let jws = try register.receipt(type: step.0, receiptID: ids?[index] ?? "\(index + 1)", time: "2026-11-23T10:00:00",
                                               amounts: RKSV.Amounts(normal: step.1), turnover: step.2, keyID: "U:ATU1-K1", previousJWS: previous, sign: sign)
                out.append(jws)
                previous = jws
            }
            return out
        }
        func check(_ list: [String]) -> String? { RKSVVerifier.verify(dep: RKSVExport.dep([.init(keyID: "", receipts: list)]), container: keyContainer).problem?.message }
        #expect(check(try chain([(.start, 0, 0), (.standard, 1000, 1000), (.standard, 500, 1500)])) == nil)
        #expect(check(try chain([(.start, 0, 0), (.standard, 1000, 1000), (.standard, 500, 900)]))?.contains("expected 1500") == true)
        #expect(throws: RKSVError.self) { try chain([(.start, 0, 0)], register: RKSVRegister(cashBoxID: "K1", aesKey: aesKey, counterSize: 4)) }
        let sized = try chain([(.start, 0, 0), (.standard, 1000, 1000)])
        var payload = String(decoding: RKSV.fromBase64URL(String(sized[1].split(separator: ".")[1]))!, as: UTF8.self).split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        payload[10] = "AAAA"  // 3 bytes: a badly sized counter
        let resized = RKSV.jwsHeader + "." + RKSV.base64URL(Array(payload.joined(separator: "_").utf8))
        let badSize = resized + "." + RKSV.base64URL(sign(Array(resized.utf8))!)
        #expect(check([sized[0], badSize])?.contains("5 to 16 bytes") == true, "\(String(describing: check([sized[0], badSize])))")
        // A receipt of another register in the chain.
        let foreign = try chain([(.start, 0, 0), (.standard, 1000, 1000)], register: RKSVRegister(cashBoxID: "K2", aesKey: aesKey))
        var mixed = try chain([(.start, 0, 0)])
        mixed.append(foreign[1])
        #expect(check(mixed)?.contains("names register K2") == true)
        // A forged signature (signed with a key not in the container).
        let forger = P256.Signing.PrivateKey()
        let forged = try register.receipt(type: .start, receiptID: "1", time: "2026-11-23T10:00:00", amounts: .zeroAmounts, turnover: 0,
                                          keyID: "U:ATU1-K1", previousJWS: nil, sign: { try? [UInt8](forger.signature(for: $0).rawRepresentation) })
        #expect(check([forged])?.contains("signature does not verify") == true)
    }

    @Test("the verifier rejects dates that go back, a failure run with no signed null receipt after it, and key ids not <S|U|G>:<id>-<key>")
    func rejectsConformance() throws {
        let key = P256.Signing.PrivateKey()
        let register = RKSVRegister(cashBoxID: "K1", aesKey: aesKey)
        func container(_ keyID: String) throws -> Data {
            try RKSVExport.container(aesKey: aesKey, publicKeys: [keyID: [UInt8](key.publicKey.x963Representation)])
        }
        /// (type, amount, turnover after, time, device works)
        func chain(_ steps: [(RKSV.ReceiptType, Int64, Int64, String, Bool)], keyID: String = "U:ATU12345678-K1") throws -> [String] {
            var previous: String?
            var out: [String] = []
            for (index, step) in steps.enumerated() {
                let jws = try register.receipt(type: step.0, receiptID: "\(index + 1)", time: step.3, amounts: RKSV.Amounts(normal: step.1),
                                               turnover: step.2, keyID: keyID, previousJWS: previous,
                                               sign: { input in step.4 ? try? [UInt8](key.signature(for: input).rawRepresentation) : nil })
                out.append(jws)
                previous = jws
            }
            return out
        }
        func check(_ list: [String], keyID: String = "U:ATU12345678-K1") throws -> String? {
            RKSVVerifier.verify(dep: RKSVExport.dep(RKSVExport.groups(list)), container: try container(keyID)).problem?.message
        }
        let t1 = "2026-12-05T10:00:00", t2 = "2026-12-05T10:05:00", t0 = "2026-12-05T09:59:59"
        #expect(try check(try chain([(.start, 0, 0, t1, true), (.standard, 100, 100, t2, true)])) == nil)
        let back = try check(try chain([(.start, 0, 0, t1, true), (.standard, 100, 100, t0, true)]))
        #expect(back?.contains("before the previous receipt's") == true, "\(String(describing: back))")
        // A failure run, then a signed standard receipt: no Sammelbeleg in between.
        let noNull = try check(try chain([(.start, 0, 0, t1, true), (.standard, 100, 100, t1, false), (.standard, 100, 200, t2, true)]))
        #expect(noNull?.contains("null receipt") == true, "\(String(describing: noNull))")
        // The DEP ends inside the run.
        let open = try check(try chain([(.start, 0, 0, t1, true), (.standard, 100, 100, t1, false)]))
        #expect(open?.contains("no signed null receipt") == true, "\(String(describing: open))")
        // With the null receipt it verifies.
        #expect(try check(try chain([(.start, 0, 0, t1, true), (.standard, 100, 100, t1, false), (.null, 0, 100, t2, true),
                                     (.standard, 100, 200, t2, true)])) == nil)
        // The key id form a verifier parses: no further '-' or '_'.
        let serial = "U:ATU12345678-SW-0fa21fa8cda52781"
        #expect(try check(try chain([(.start, 0, 0, t1, true)], keyID: serial), keyID: serial)?.contains("is not <S|U|G>") == true)
        // Several receipts under different key ids are still one group (closed system, no certificates).
        #expect(RKSVExport.groups(try chain([(.start, 0, 0, t1, true)], keyID: "U:ATU12345678-K1") + (try chain([(.start, 0, 0, t1, true)], keyID: "U:ATU12345678-K2"))).count == 1)
    }
}
