import FiscalProfiles
import Foundation
import RKSV
@testable import SessionEngine
import SoftwareFiscalModule
import Testing

/// The terminal's fiscal module, with a switch for the scenarios' `signatureDeviceDamaged`.
final class SwitchableModule: FiscalModule, @unchecked Sendable {
    let inner = SoftwareFiscalModule.ephemeral()
    let lock = NSLock()
    var damaged = false
    var serial: String { inner.serial }
    var algorithm: String { inner.algorithm }
    var publicKey: [UInt8] { inner.publicKey }
    func sign(_ message: [UInt8]) throws(FiscalModuleError) -> (signature: [UInt8], counter: Int64) { try inner.sign(message) }
    func signRaw(_ data: [UInt8]) throws(FiscalModuleError) -> [UInt8] {
        if lock.withLock({ damaged }) { throw FiscalModuleError(code: 7, message: "Signaturkarte nicht erreichbar") }
        return try inner.signRaw(data)
    }
    func signatureCount() -> Int64 { inner.signatureCount() }
    func resume(afterCounter counter: Int64) { inner.resume(afterCounter: counter) }
}

@Suite("RKSV through the session engine")
struct EngineReplayTests {
    nonisolated(unsafe) static let rates: [(KeyPath<Scenario.Instruction.Amounts, Decimal>, Int64)] = [
        (\.taxSetNormal, 2000), (\.taxSetErmaessigt1, 1000), (\.taxSetErmaessigt2, 1300), (\.taxSetNull, 0), (\.taxSetBesonders, 1900),
    ]

    @Test("each official scenario, sold through the engine with the at profile, gives a DEP the verifier accepts", arguments: [1, 2, 3, 4])
    func replay(_ number: Int) throws {
        let scenario = try Scenario.load(number)
        let module = SwitchableModule()
        let clock = ManualClock(Date(timeIntervalSince1970: 1_450_000_000))
        let aesKey = [UInt8](Data(base64Encoded: scenario.base64AesKey)!)
        let engine = try SessionEngine(store: SessionStore.inMemory(), identity: FixedIdentity("0123456789abcdef0123456789abcdef"), clock: clock,
                                       fiscalModule: module, profiles: [AustrianProfile(aesKey: aesKey)])
        _ = try engine.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
        for (key, value) in [("cash-control", "off"), ("time-zone", "UTC"), ("fiscal-profile", "at"), ("at-company-id", "U:ATU12345678"),
                             ("at-cashbox-id", scenario.cashBoxId)] {
            try engine.setSetting(key, value, by: "maria")
        }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate]
        parser.timeZone = TimeZone(identifier: "UTC")
        clock.set(try #require(parser.date(from: scenario.cashBoxInstructionList[0].dateToUse)))
        _ = try engine.openShift(commandID: "open", user: "maria", countedFloat: 0)
        var expectedTurnover: Int64 = 0
        for instruction in scenario.cashBoxInstructionList {
            clock.set(try #require(parser.date(from: instruction.dateToUse)))
            module.lock.withLock { module.damaged = instruction.signatureDeviceDamaged }
            var lines: [SaleLineRequest] = []
            for (path, rate) in Self.rates {
                let cents = Scenario.cents(instruction.simplifiedReceipt[keyPath: path])
                if cents != 0 {
                    lines.append(SaleLineRequest(name: "Steuersatz \(rate / 100) %", quantity: MilliQuantity(milli: cents < 0 ? -1000 : 1000),
                                                 unitPrice: abs(cents), vatRate: VATRate(basisPoints: rate)))
                }
            }
            let type = instruction.typeOfReceipt
            if lines.isEmpty { lines = [SaleLineRequest(name: "Nullbeleg", unitPrice: 0, vatRate: VATRate(basisPoints: 0))] }
            let fiscalType = type == "START_BELEG" ? "start" : type == "NULL_BELEG" ? "null" : type == "STORNO_BELEG" ? "storno" : nil
            let receipt = try engine.finalizeSale(
                SaleRequest(id: instruction.receiptIdentifier, lines: lines, training: type == "TRAINING_BELEG", fiscalType: fiscalType), user: "maria")
            if type == "STANDARD_BELEG" || type == "STORNO_BELEG" { expectedTurnover += instruction.amounts.sum }
            let code = try #require(receipt.fiscalCode)
            #expect(code.signatureFailed == instruction.signatureDeviceDamaged)
            #expect(try RKSV.qrCode(jws: code.code) == code.qr)
        }
        #expect(try engine.counters().grandTotalNet == expectedTurnover)

        let codes = try engine.fiscalCodes(profile: "at").map(\.code)
        let recoveries = try engine.fiscalCodes(profile: "at").count - scenario.cashBoxInstructionList.count
        let keyID = AustrianProfile.keyID(company: "U:ATU12345678", module: 1)
        #expect(RKSVExport.groups(codes).count == 1 && RKSVExport.isClosedSystemKeyID(keyID))
        let dep = RKSVExport.dep(RKSVExport.groups(codes))
        let container = try RKSVExport.container(aesKey: aesKey, publicKeys: [keyID: module.publicKey])
        let result = RKSVVerifier.verify(dep: dep, container: container)
        #expect(result.problem == nil, "\(String(describing: result.problem))")
        #expect(result.receipts == codes.count && result.failureSigned == scenario.cashBoxInstructionList.filter(\.signatureDeviceDamaged).count)
        // In the scenarios every run of failures is followed by a signed null receipt (the Sammelbeleg), so the engine
        // added none of its own.
        #expect(recoveries == 0)
        #expect(try engine.verifyJournal().ok)
    }

    @Test("after a failed signature, the next sale is preceded by a signed Sammelbeleg; a still failing device adds none")
    func automaticRecovery() throws {
        let module = SwitchableModule()
        let aesKey = [UInt8](repeating: 7, count: 32)
        let engine = try Self.austrianTill(module: module, aesKey: aesKey)
        let coffee = [SaleLineRequest(name: "Kaffee", unitPrice: 320, vatRate: VATRate(basisPoints: 1000))]
        #expect(throws: SessionError.self) { try engine.finalizeSale(SaleRequest(id: "s0", lines: coffee), user: "maria") }  // no start yet
        _ = try engine.finalizeSale(SaleRequest(id: "start", lines: [SaleLineRequest(name: "Start", unitPrice: 0, vatRate: VATRate(basisPoints: 0))],
                                                fiscalType: "start"), user: "maria")
        module.lock.withLock { module.damaged = true }
        #expect(try engine.finalizeSale(SaleRequest(id: "s1", lines: coffee), user: "maria").fiscalCode?.signatureFailed == true)
        #expect(try engine.finalizeSale(SaleRequest(id: "s2", lines: coffee), user: "maria").fiscalCode?.signatureFailed == true)
        #expect(try engine.fiscalCodes(profile: "at").count == 3)  // still failing: no Sammelbeleg
        module.lock.withLock { module.damaged = false }
        let after = try engine.finalizeSale(SaleRequest(id: "s3", lines: coffee), user: "maria")
        let codes = try engine.fiscalCodes(profile: "at")
        let fourth = try engine.receipt(number: 4)
        #expect(codes.count == 5 && after.number == 5 && !codes[3].signatureFailed && codes[3].code == fourth.fiscalCode?.code)
        #expect(try RKSVReceipt(jws: codes[3].code).cents() == [0, 0, 0, 0, 0])
        let container = try RKSVExport.container(aesKey: aesKey, publicKeys: ["U:ATU12345678-K1": module.publicKey])
        let result = RKSVVerifier.verify(dep: RKSVExport.dep(RKSVExport.groups(codes.map(\.code))), container: container)
        #expect(result.problem == nil && result.failureSigned == 2, "\(String(describing: result.problem))")
        // Replaying the sale returns it; no second Sammelbeleg.
        #expect(try engine.finalizeSale(SaleRequest(id: "s3", lines: coffee), user: "maria").number == 5)
        #expect(try engine.fiscalCodes(profile: "at").count == 5)
    }

    @Test("receipt_code rows reordered (the DEP's chain order) are found by journal verify and by the RKSV verifier")
    func swappedCodes() throws {
        let module = SwitchableModule()
        let aesKey = [UInt8](repeating: 9, count: 32)
        let engine = try Self.austrianTill(module: module, aesKey: aesKey)
        _ = try engine.finalizeSale(SaleRequest(id: "start", lines: [SaleLineRequest(name: "Start", unitPrice: 0, vatRate: VATRate(basisPoints: 0))],
                                                fiscalType: "start"), user: "maria")
        for (id, price) in [("s1", 320), ("s2", 450)] {
            _ = try engine.finalizeSale(SaleRequest(id: id, lines: [SaleLineRequest(name: "Kaffee", unitPrice: Int64(price), vatRate: VATRate(basisPoints: 1000))]),
                                        user: "maria")
        }
        #expect(try engine.verifyJournal().problem == nil)
        try engine.store.writer.writeWithoutTransaction { db in
            try db.execute(sql: """
                DROP TRIGGER receipt_code_no_update;
                UPDATE receipt_code SET seq = -1 WHERE receipt_id = 's1';
                UPDATE receipt_code SET seq = (SELECT seq FROM receipt_code WHERE receipt_id = 'start') + 1 WHERE receipt_id = 's2';
                UPDATE receipt_code SET seq = (SELECT seq FROM receipt_code WHERE receipt_id = 's2') + 1 WHERE receipt_id = 's1';
                """)
        }
        let found = try #require(try engine.verifyJournal().problem)
        #expect(found.kind == .reordered && found.detail.contains("receipt 3 (s2)") && found.detail.contains("code rows were reordered"), "\(found.detail)")
        let codes = try engine.fiscalCodes(profile: "at")
        let container = try RKSVExport.container(aesKey: aesKey, publicKeys: ["U:ATU12345678-K1": module.publicKey])
        #expect(RKSVVerifier.verify(dep: RKSVExport.dep(RKSVExport.groups(codes.map(\.code))), container: container).problem != nil)
    }

    /// A till on the Austrian profile with a manager, cash control off and an open shift.
    static func austrianTill(module: SwitchableModule, aesKey: [UInt8]) throws -> SessionEngine {
        let engine = try SessionEngine(store: SessionStore.inMemory(), identity: FixedIdentity("0123456789abcdef0123456789abcdef"),
                                       clock: ManualClock(Date(timeIntervalSince1970: 1_795_000_000)), fiscalModule: module,
                                       profiles: [AustrianProfile(aesKey: aesKey)])
        _ = try engine.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
        for (key, value) in [("cash-control", "off"), ("fiscal-profile", "at"), ("at-company-id", "U:ATU12345678")] {
            try engine.setSetting(key, value, by: "maria")
        }
        _ = try engine.openShift(commandID: "open", user: "maria", countedFloat: 0)
        return engine
    }
}
