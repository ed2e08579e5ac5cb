import CleanCashDriver
import CleanCashProtocol
import DeviceTransport
import FiscalProfiles
import Foundation
@testable import SessionEngine
import SoftwareFiscalModule
import Testing
import TestSupport

/// The control-unit driver over a pty against the simulated unit: registrations, the faults a line and a unit have,
/// and the session engine on top, with a campaign that would catch any double registration or reused receipt id.
@Suite("Control unit driver: registrations over a pty", .serialized)
struct CleanCashControlUnitTests {
    static func unit(_ simulator: CleanCashSimulator, timeout: Duration = .milliseconds(300)) -> CleanCashControlUnit<ContinuousClock> {
        let path = simulator.slavePath
        return CleanCashControlUnit(connection: "serial://\(path)", clock: ContinuousClock(), replyTimeout: timeout, attempts: 3) {
            SerialTransport(path: path)
        }
    }

    static func receipt(_ id: String, kind: ControlUnitReceipt.Kind = .normal, total: String = "125,00") -> ControlUnitReceipt {
        ControlUnitReceipt(organisationNumber: "5561234567", posID: "KASSA1", dateTime: "202612061015", receiptID: id, kind: kind,
                           total: total, negativeTotal: "0,00", vat: ["25,00;25,00", "12,00;0,00", "6,00;0,00", "0,00;0,00"])
    }

    @Test("status is SIQ then IQ; a protocol-2 registration is one RR with the serial and the fields in order")
    func registers() throws {
        let simulator = try CleanCashSimulator(unitID: "CC0000000042")
        defer { simulator.stop() }
        let unit = Self.unit(simulator)
        defer { unit.close() }
        let status = try unit.status()
        #expect(status.unitID == "CC0000000042" && status.protocolVersion == 2 && status.state == "ok" && status.operational)
        let reply = try unit.register(Self.receipt("17"), serial: 5)
        #expect(reply.unitID == "CC0000000042" && reply.controlCode?.count == 59 && reply.storage == "ok")
        #expect(simulator.received.last == ["RR", "5", "202612061015", "17", "KASSA1", "5561234567", "125,00", "0,00", "normal",
                                            "25,00;25,00", "12,00;0,00", "6,00;0,00", "0,00;0,00"])
        // Training takes no control code; the unit registers it all the same.
        let training = try unit.register(Self.receipt("700000000001", kind: .training), serial: 6)
        #expect(training.controlCode == nil && simulator.memory.registrations.map(\.kind) == ["normal", "ovning"])
    }

    @Test("a lost reply re-sends the same frame with the same serial; the unit answers it from memory and registers once")
    func lostReply() throws {
        let simulator = try CleanCashSimulator()
        defer { simulator.stop() }
        let unit = Self.unit(simulator)
        defer { unit.close() }
        _ = try unit.status()
        simulator.setFault(.dropReplies(count: 1))
        let reply = try unit.register(Self.receipt("1"), serial: 1)
        let sent = simulator.received.filter { $0.first == "RR" }
        #expect(sent.count == 2 && sent[0] == sent[1], "the very same request twice")
        #expect(simulator.memory.registrations.count == 1 && simulator.memory.registrations[0].repeats == 1)
        #expect(reply.controlCode == simulator.memory.registrations[0].controlCode)
        #expect(simulator.memory.conflicts.isEmpty)
    }

    @Test("a duplicated reply does not answer the next request; damaged replies and noise are survived")
    func duplicatesAndDamage() throws {
        let simulator = try CleanCashSimulator()
        defer { simulator.stop() }
        let unit = Self.unit(simulator)
        defer { unit.close() }
        simulator.setFault(.duplicateReplies)
        let first = try unit.register(Self.receipt("1"), serial: 1)
        let second = try unit.register(Self.receipt("2"), serial: 2)
        #expect(first.controlCode != second.controlCode)
        #expect(simulator.memory.registrations.map(\.receiptID) == ["1", "2"])
        simulator.setFault(.damageReplies(count: 2))
        #expect(try unit.register(Self.receipt("3"), serial: 3).controlCode != nil)
        simulator.setFault(.noise)
        #expect(try unit.register(Self.receipt("4"), serial: 4).controlCode != nil)
        #expect(simulator.memory.registrations.map(\.receiptID) == ["1", "2", "3", "4"] && simulator.memory.conflicts.isEmpty)
    }

    @Test("power lost after the unit stored a registration: no answer (code −1, may hold it); after power the same serial is answered from memory")
    func powerLoss() throws {
        let directory = try TestSupport.temporaryDirectory()
        let memory = directory.appendingPathComponent("unit.json").path
        var simulator = try CleanCashSimulator(memoryPath: memory)
        let unit = Self.unit(simulator)
        defer { unit.close() }
        simulator.setFault(.powerLossAfterRegistration)
        #expect(throws: ControlUnitError.self) { try unit.register(Self.receipt("1"), serial: 1) }
        do {
            _ = try unit.register(Self.receipt("1"), serial: 1)
        } catch {
            #expect(error.code == -1 && !error.definite, "the unit may hold it: \(error)")
        }
        // The unit comes back as a new device on a new port, with the memory it stored.
        simulator.stop()
        simulator = try CleanCashSimulator(memoryPath: memory)
        defer { simulator.stop() }
        let back = Self.unit(simulator)
        defer { back.close() }
        let reply = try back.register(Self.receipt("1"), serial: 1)
        #expect(simulator.memory.registrations.count == 1 && simulator.memory.registrations[0].repeats == 1)
        #expect(reply.controlCode == simulator.memory.registrations[0].controlCode && simulator.memory.conflicts.isEmpty)
        // Another receipt under the last serial is refused (NAK 011), never registered.
        #expect(throws: ControlUnitError(code: 11, identifier: "CU_NAK_011", message: CleanCashError.refused(.invalidSequenceNumber).description)) {
            try back.register(Self.receipt("2"), serial: 1)
        }
    }

    @Test("refusals keep the unit's code and say what to do: storage full, licence, POS id; busy refuses; a bad receipt is not sent")
    func refusals() throws {
        let simulator = try CleanCashSimulator()
        defer { simulator.stop() }
        let unit = Self.unit(simulator)
        defer { unit.close() }
        simulator.setFault(.storage(2))
        do {
            _ = try unit.register(Self.receipt("1"), serial: 1)
            Issue.record("a full unit registered")
        } catch {
            #expect(error.code == 10 && error.identifier == "CU_NAK_010" && error.definite && error.message.contains("full"))
        }
        simulator.setFault(.storage(1))
        #expect(try unit.register(Self.receipt("1"), serial: 2).storage == "high")
        for (nak, words) in [(9, "licence"), (7, "POS id")] {
            simulator.setFault(.nak(nak))
            do {
                _ = try unit.register(Self.receipt("2"), serial: 3)
                Issue.record("NAK \(nak) registered")
            } catch {
                #expect(Int(error.code) == nak && error.message.contains(words), "\(error)")
            }
        }
        simulator.setFault(.busy)
        #expect(try unit.status().state == "busy" && !unit.status().operational)
        simulator.setFault(.none)
        let before = simulator.received.count
        var bad = Self.receipt("2")
        bad.total = "12.50"
        #expect(throws: ControlUnitError.self) { try unit.register(bad, serial: 3) }
        do { _ = try unit.register(bad, serial: 3) } catch { #expect(error.code == -4 && error.identifier == "CU_RECEIPT_INVALID" && error.definite) }
        #expect(simulator.received.count == before, "nothing was sent")
    }

    @Test("protocol 1: ST, RH (two blank fields), SQ; a lost SQ answer is never re-sent by the driver (no serial protects it)")
    func protocolOne() throws {
        let simulator = try CleanCashSimulator(protocolVersion: 1)
        defer { simulator.stop() }
        let unit = Self.unit(simulator)
        defer { unit.close() }
        let reply = try unit.register(Self.receipt("9"), serial: 1)
        #expect(reply.controlCode?.count == 59)
        #expect(simulator.received.suffix(3).map { $0[0] } == ["ST", "RH", "SQ"])
        #expect(simulator.received.suffix(2).first == ["RH", "202612061015", "9", "KASSA1", " ", " ", "5561234567", "125,00", "0,00", "normal",
                                                        "25,00;25,00", "12,00;0,00", "6,00;0,00", "0,00;0,00"])
        let start = simulator.received.count
        simulator.setFault(.dropReplyTo("SQ"))
        do {
            _ = try unit.register(Self.receipt("10"), serial: 2)
            Issue.record("a lost SQ answer was reported as registered")
        } catch {
            #expect(error.code == -1 && !error.definite)
        }
        #expect(simulator.received[start...].filter { $0.first == "SQ" }.count == 1, "SQ is sent once")
    }

    @Test("a registration sent twice under new serials is caught as a conflict (the check the campaign relies on can fail)")
    func conflictIsCaught() throws {
        let simulator = try CleanCashSimulator()
        defer { simulator.stop() }
        let unit = Self.unit(simulator)
        defer { unit.close() }
        _ = try unit.register(Self.receipt("1"), serial: 1)
        _ = try unit.register(Self.receipt("1"), serial: 2)
        #expect(simulator.memory.conflicts == ["normal:1"])
    }

    static func engine(_ path: String, _ unit: any ControlUnit, clock: ManualClock) throws -> SessionEngine {
        try SessionEngine(store: SessionStore.open(path: path), identity: FixedIdentity("0123456789abcdef0123456789abcdef"), clock: clock,
                          fiscalModule: SoftwareFiscalModule.ephemeral(), profiles: [SwedishProfile(unit: unit)], createTerminal: true)
    }

    static func sale(_ id: String, training: Bool = false, cents: Int64 = 4900) -> SaleRequest {
        SaleRequest(id: id, lines: [SaleLineRequest(name: "Bok", unitPrice: cents, vatRate: VATRate(basisPoints: 600))], training: training)
    }

    @Test("the engine over the driver through random faults and restarts: every receipt, copy and training receipt registered exactly once, no id reused")
    func campaign() throws {
        let directory = TestSupport.temporaryDirectory()
        let database = directory.appendingPathComponent("kassa.sqlite").path
        let memory = directory.appendingPathComponent("unit.json").path
        var simulator = try CleanCashSimulator(unitID: "CC-CAMPAIGN-1", memoryPath: memory)
        var unit = Self.unit(simulator, timeout: .milliseconds(120))
        let clock = ManualClock(Date(timeIntervalSince1970: 1_796_000_000))
        var engine = try Self.engine(database, unit, clock: clock)
        _ = try engine.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
        for (key, value) in [("cash-control", "off"), ("fiscal-profile", "se"), ("se-org-number", "5561234567"), ("se-pos-id", "KASSA1"),
                             ("time-zone", "Europe/Stockholm")] {
            try engine.setSetting(key, value, by: "maria")
        }
        _ = try engine.openShift(commandID: "open", user: "maria", countedFloat: 0)
        #expect(try engine.settings().regime["se-control-unit"] == "CC-CAMPAIGN-1", "bound at the shift's start")
        let faults: [CleanCashSimulator.Fault] = [.none, .dropReplies(count: 1), .damageReplies(count: 1), .duplicateReplies, .noise,
                                                  .dropReplies(count: 3), .powerLossAfterRegistration, .nak(8), .silent]
        var seed: UInt64 = 0x5EED_17
        func next(_ bound: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(bound))
        }
        var restarts = 0, failures = 0, sales = 0, training = 0, copies = 0
        for step in 1...36 {
            clock.advance(60)
            let fault = faults[next(faults.count)]
            simulator.setFault(fault)
            let kind = step % 9 == 0 ? "copy" : step % 5 == 0 ? "training" : "sale"
            var tries = 0
            while true {
                do {
                    switch kind {
                    case "copy": _ = try engine.copy(number: Int64(sales), user: "maria")
                    case "training": _ = try engine.finalizeSale(Self.sale("t\(step)", training: true), user: "maria")
                    default: _ = try engine.finalizeSale(Self.sale("s\(step)", cents: Int64(100 * step)), user: "maria")
                    }
                    break
                } catch {
                    failures += 1
                    tries += 1
                    try #require(tries < 6, "step \(step) (\(fault)) kept failing: \(error)")
                    if fault == .powerLossAfterRegistration, tries == 1 {
                        // Power back on a new port, and Kassa restarted: the new engine completes what is pending at start.
                        simulator.stop()
                        unit.close()
                        simulator = try CleanCashSimulator(unitID: "CC-CAMPAIGN-1", memoryPath: memory)
                        unit = Self.unit(simulator, timeout: .milliseconds(120))
                        engine = try Self.engine(database, unit, clock: clock)
                        restarts += 1
                        let resolved = try engine.resolvePendingRegistrations()
                        #expect(resolved.count == 1, "step \(step): \(resolved)")
                        if !resolved.isEmpty { break }  // the interrupted command was completed at start
                    } else {
                        simulator.setFault(.none)
                    }
                }
            }
            switch kind {
            case "copy": copies += 1
            case "training": training += 1
            default: sales += 1
            }
        }
        defer { simulator.stop(); unit.close() }
        let held = simulator.memory
        #expect(held.conflicts.isEmpty, "registered twice: \(held.conflicts)")
        let normal = held.registrations.filter { $0.kind == "normal" }.map(\.receiptID)
        #expect(normal == (1...sales).map(String.init), "each receipt number once, in order: \(normal)")
        let practice = held.registrations.filter { $0.kind == "ovning" }.map(\.receiptID)
        #expect(practice == (1...training).map { String(700_000_000_000 + $0) })
        #expect(held.registrations.filter { $0.kind == "kopia" }.count == copies)
        let serials = held.registrations.compactMap(\.serial)
        #expect(serials == serials.sorted() && Set(serials).count == serials.count, "serials rise and are never reused: \(serials)")
        #expect(try engine.pendingRegistrations().isEmpty && engine.counters().receiptNumber == Int64(sales))
        #expect(try engine.verifyJournal().ok)
        #expect(failures > 0 && restarts > 0, "the campaign met faults (\(failures)) and restarts (\(restarts))")
    }
}
