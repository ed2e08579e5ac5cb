import FiscalProfiles
import Foundation
@testable import SessionEngine
import SoftwareFiscalModule
import Synchronization
import Testing

@Suite("Swedish profile and control unit")
struct SwedishProfileTests {
    struct Till {
        let engine: SessionEngine
        let unit: ControlUnitSimulator
        init(configure: Bool = true) throws {
            unit = ControlUnitSimulator()
            engine = try SessionEngine(store: SessionStore.inMemory(), identity: FixedIdentity("0123456789abcdef0123456789abcdef"),
                                       clock: ManualClock(Date(timeIntervalSince1970: 1_795_000_000)), fiscalModule: SoftwareFiscalModule.ephemeral(),
                                       profiles: [SwedishProfile(unit: unit)])
            _ = try engine.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
            var settings = [("cash-control", "off"), ("fiscal-profile", "se"), ("time-zone", "Europe/Stockholm")]
            if configure { settings += [("se-org-number", "5561234567"), ("se-pos-id", "KASSA1")] }
            for (key, value) in settings { try engine.setSetting(key, value, by: "maria") }
            _ = try engine.openShift(commandID: "open", user: "maria", countedFloat: 0)
        }
    }

    /// A Swedish till on `unit` with Maria, its settings and an open shift.
    static func till(_ unit: any ControlUnit) throws -> SessionEngine {
        let engine = try SessionEngine(store: SessionStore.inMemory(), identity: FixedIdentity("0123456789abcdef0123456789abcdef"),
                                       clock: ManualClock(Date(timeIntervalSince1970: 1_795_000_000)), fiscalModule: SoftwareFiscalModule.ephemeral(),
                                       profiles: [SwedishProfile(unit: unit)])
        _ = try engine.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
        for (key, value) in [("cash-control", "off"), ("fiscal-profile", "se"), ("se-org-number", "5561234567"), ("se-pos-id", "KASSA1")] {
            try engine.setSetting(key, value, by: "maria")
        }
        _ = try engine.openShift(commandID: "open", user: "maria", countedFloat: 0)
        return engine
    }

    static func sale(_ id: String, training: Bool = false) -> SaleRequest {
        SaleRequest(id: id, lines: [
            SaleLineRequest(name: "Kaffe", quantity: MilliQuantity(milli: 2000), unitPrice: 3500, vatRate: VATRate(basisPoints: 1200)),
            SaleLineRequest(name: "Tidning", unitPrice: 4900, vatRate: VATRate(basisPoints: 600)),
            SaleLineRequest(name: "Klippning", unitPrice: 25000, vatRate: VATRate(basisPoints: 2500), service: true),
        ], training: training)
    }

    @Test("a sale is registered in the control unit with CleanCash's fields; its control code and unit id are stored and printed")
    func registered() throws {
        let till = try Till()
        let receipt = try till.engine.finalizeSale(Self.sale("s1"), user: "maria")
        let sent = try #require(till.unit.received.first)
        #expect(sent.organisationNumber == "5561234567" && sent.posID == "KASSA1" && sent.kind == .normal && sent.receiptID == "1")
        #expect(sent.total == "369,00" && sent.negativeTotal == "0,00" && sent.dateTime == "202611181206")
        #expect(sent.vat == ["25,00;50,00", "12,00;7,50", "6,00;2,77", "0,00;0,00"], "four fixed slots")
        let code = try #require(receipt.fiscalCode)
        #expect(code.profile == "se" && code.code.count == 59 && code.lines == ["Kontrollenhet: SIMULATOR-0001", "Kontrollkod: \(code.code)"])
        // The terminal was bound to the unit when the shift opened; the binding is a journaled, read-only setting.
        #expect(try till.engine.settings().regime["se-control-unit"] == "SIMULATOR-0001")
        #expect(throws: SessionError.self) { try till.engine.setSetting("se-control-unit", "OTHER", by: "maria") }
        #expect(try till.engine.receipt(number: 1).fiscalCode == code)
        #expect(try till.engine.verifyJournal().ok)
        // The X report counts goods and services apart (Swedish items 9 and 10).
        let report = try till.engine.xReport(user: "maria")
        #expect(report.goodsSold == 3 && report.servicesSold == 1)
    }

    @Test("a control unit that does not answer refuses the receipt, records nothing, and the same command succeeds when it is back")
    func unitDown() throws {
        let till = try Till()
        till.unit.setAnswering(false)
        #expect(throws: SessionError.controlUnitFailed(code: -1, message: "CU_NO_REPLY: the control unit did not answer")) {
            try till.engine.finalizeSale(Self.sale("s1"), user: "maria")
        }
        #expect(try till.engine.counters().receiptNumber == 0 && till.unit.received.isEmpty)
        #expect(try till.engine.verifyJournal().ok)
        till.unit.setAnswering(true)
        #expect(try till.engine.finalizeSale(Self.sale("s1"), user: "maria").number == 1)
        #expect(till.unit.received.count == 1)
    }

    /// A unit that can be swapped for another (a unit replaced on the counter).
    final class SwappableUnit: ControlUnit {
        let current: Synchronization.Mutex<ControlUnitSimulator>
        init(_ unit: ControlUnitSimulator) { current = Synchronization.Mutex(unit) }
        func swap(_ unit: ControlUnitSimulator) { current.withLock { $0 = unit } }
        func status() throws(ControlUnitError) -> ControlUnitStatus { try current.withLock { $0 }.status() }
        func register(_ receipt: ControlUnitReceipt, serial: Int64) throws(ControlUnitError) -> ControlUnitReply {
            try current.withLock { $0 }.register(receipt, serial: serial)
        }
    }

    @Test("a terminal bound to one unit refuses another, at shift open and at a sale, with both ids named; nothing is registered in it")
    func boundToItsUnit() throws {
        let first = ControlUnitSimulator(unitID: "CC-A"), second = ControlUnitSimulator(unitID: "CC-B")
        let unit = SwappableUnit(first)
        let engine = try Self.till(unit)
        #expect(try engine.finalizeSale(Self.sale("s1"), user: "maria").fiscalCode?.lines.first == "Kontrollenhet: CC-A")
        unit.swap(second)
        #expect(throws: SessionError.controlUnitMismatch(bound: "CC-A", connected: "CC-B")) { try engine.finalizeSale(Self.sale("s2"), user: "maria") }
        #expect(try second.received.isEmpty && engine.pendingRegistrations().isEmpty && engine.counters().receiptNumber == 1)
        _ = try engine.closeShift(commandID: "close", user: "maria", countedCash: nil, cashLeft: nil)
        #expect(throws: SessionError.controlUnitMismatch(bound: "CC-A", connected: "CC-B")) {
            try engine.openShift(commandID: "open-2", user: "maria", countedFloat: 0)
        }
        let outages = try engine.store.read { db in try String.fetchAll(db, sql: "SELECT body FROM journal WHERE kind = 'control_unit_failure'") }
        #expect(outages.count == 2 && outages.allSatisfy { $0.contains("-5") }, "\(outages)")
        unit.swap(first)
        _ = try engine.openShift(commandID: "open-2", user: "maria", countedFloat: 0)
        #expect(try engine.finalizeSale(Self.sale("s2"), user: "maria").number == 2)
        // Serial 2 went to the refused attempt and is never given again: unit A holds serials 1 and 3.
        #expect(first.memory().entries.map(\.serial) == [1, 3])
        #expect(first.memory().conflicts.isEmpty)
    }

    @Test("training receipts and the one copy are registered as such; a second copy is refused without a second registration")
    func trainingAndCopy() throws {
        let till = try Till()
        let original = try till.engine.finalizeSale(Self.sale("s1"), user: "maria")
        _ = try till.engine.finalizeSale(Self.sale("t1", training: true), user: "maria")
        #expect(till.unit.received.map(\.kind) == [.normal, .training] && till.unit.received[1].receiptID == "700000000001")
        #expect(try till.engine.receipt(number: 1, training: true).fiscalCode?.lines == ["Kontrollenhet: SIMULATOR-0001"], "training takes no control code")
        let copy = try till.engine.copy(number: 1, user: "maria")
        #expect(copy.isCopy && till.unit.received.last?.kind == .copy && copy.fiscalCode?.code != original.fiscalCode?.code)
        #expect(throws: SessionError.copyAlreadyPrinted(receiptNumber: 1)) { try till.engine.copy(number: 1, user: "maria") }
        #expect(till.unit.received.count == 3)
    }

    @Test("a pro-forma bill is registered as RECEIPT_PRO_FORMA under its own series; a unit that does not answer refuses it")
    func proForma() throws {
        let till = try Till()
        _ = try till.engine.park(id: "bord-4", user: "maria", lines: Self.sale("p").lines)
        let bill = try till.engine.proForma(commandID: "b1", parkedID: "bord-4", user: "maria")
        let sent = try #require(till.unit.received.last)
        #expect(sent.kind == .proForma && sent.receiptID == "800000000001" && sent.total == "369,00", "\(sent)")
        #expect(bill.fiscalCode?.lines == ["Kontrollenhet: SIMULATOR-0001"] && bill.fiscalCode?.code == "", "a pro-forma bill takes no control code")
        till.unit.setAnswering(false)
        #expect(throws: SessionError.self) { try till.engine.proForma(commandID: "b2", parkedID: "bord-4", user: "maria") }
        till.unit.setAnswering(true)
        #expect(try till.engine.proForma(commandID: "b2", parkedID: "bord-4", user: "maria").number == 2)
        #expect(try till.engine.counters().receiptNumber == 0 && till.engine.verifyJournal().ok)
    }

    @Test("the profile refuses to sell before the organisation number and the register's id are set")
    func needsSettings() throws {
        let till = try Till(configure: false)
        #expect(throws: SessionError.self) { try till.engine.finalizeSale(Self.sale("s1"), user: "maria") }
        #expect(try till.engine.counters().receiptNumber == 0)
        #expect(throws: SessionError.self) { try till.engine.setSetting("se-org-number", "55612", by: "maria") }
    }

    /// A unit that refuses every receipt with a NAK code, or answers through the simulator.
    final class RefusingUnit: ControlUnit {
        let base = ControlUnitSimulator()
        let nak = Synchronization.Mutex<Int32?>(6)
        func status() throws(ControlUnitError) -> ControlUnitStatus { try base.status() }
        func register(_ receipt: ControlUnitReceipt, serial: Int64) throws(ControlUnitError) -> ControlUnitReply {
            if let code = nak.withLock({ $0 }) { throw ControlUnitError(code: code, identifier: "CU_NAK_006", message: "not operational") }
            return try base.register(receipt, serial: serial)
        }
    }

    @Test("a NAK leaves nothing pending and is journaled as refused; no answer leaves the same request pending, re-sent unchanged")
    func refusedAndPending() throws {
        let unit = RefusingUnit()
        let engine = try Self.till(unit)
        // A definite refusal: nothing recorded, nothing pending, the refusal journaled.
        #expect(throws: SessionError.controlUnitFailed(code: 6, message: "CU_NAK_006: not operational")) { try engine.finalizeSale(Self.sale("s1"), user: "maria") }
        #expect(try engine.pendingRegistrations().isEmpty && engine.counters().receiptNumber == 0)
        let failures = try engine.store.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM journal WHERE kind = 'control_unit_failure'")
        }
        #expect(failures.count == 1 && failures[0].contains("refused"), "\(failures)")
        // No answer: the registration stays pending (the unit may hold it).
        unit.nak.withLock { $0 = nil }
        unit.base.setAnswering(false)
        #expect(throws: SessionError.self) { try engine.finalizeSale(Self.sale("s1"), user: "maria") }
        let pending = try engine.pendingRegistrations()
        #expect(pending.count == 1 && pending[0].key == "RECEIPT_NORMAL:1" && pending[0].command == "sale")
        // Back: the same command completes it with exactly the request that was sent before.
        unit.base.setAnswering(true)
        #expect(try engine.finalizeSale(Self.sale("s1"), user: "maria").number == 1)
        #expect(try engine.pendingRegistrations().isEmpty)
        #expect(unit.base.memory().entries.count == 1 && unit.base.memory().conflicts.isEmpty)
    }
}
