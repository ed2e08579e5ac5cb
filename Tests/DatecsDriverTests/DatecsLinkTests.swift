import DatecsDriver
import DatecsProtocol
import DeviceTransport
import Foundation
import Testing
import TestSupport

/// The fiscal-printer link over a real serial path: a pty, Kassa's SerialTransport, the simulated printer behind it.
@Suite("Datecs fiscal printer over a pty: commands, same-SEQ re-sends, power loss mid-receipt", .serialized)
struct DatecsLinkTests {
    func link(_ simulator: DatecsSimulator, first: UInt8 = 0x20) throws -> DatecsLink<ContinuousClock> {
        let transport = SerialTransport(path: simulator.slavePath)
        try transport.open()
        return DatecsLink(transport: transport, firstSequence: first)
    }

    func receipt(_ link: DatecsLink<ContinuousClock>, _ number: String) throws -> Int64 {
        _ = try link.perform(.openReceipt(operator: 1, password: "0000", uniqueSaleNumber: number, till: 1))
        _ = try link.perform(.sale(name: "Kafe", group: "B", unitPrice: 250, quantityMilli: 2000))
        _ = try link.perform(.sale(name: "Kifla", group: "B", unitPrice: 120, quantityMilli: 1000))
        let paid = try link.perform(.payment(mode: 0, amount: 1000))
        #expect(try paid.values.first == "D" && paid.money(1) == 380, "change 3.80")
        return try link.perform(.closeReceipt).number(0)
    }

    @Test("a whole fiscal receipt: open, two lines, payment, close; the device's number and totals follow")
    func wholeReceipt() throws {
        let simulator = try DatecsSimulator()
        defer { simulator.stop() }
        let link = try link(simulator)
        defer { link.transport.close() }
        #expect(try !link.perform(.status).status.fiscalReceiptOpen)
        #expect(try receipt(link, "DT000001-0001-0000001") == 1)
        #expect(simulator.memory.grandTotals[1] == 620 && simulator.memory.receipts == ["DT000001-0001-0000001"])
        #expect(try link.perform(.lastDocument).number(0) == 1)
        let z = try link.perform(.report(zeroing: true))
        #expect(try z.number(0) == 1 && z.money(2) == 620, "Z 1 with 6.20 in group B: \(z.values)")
        #expect(simulator.memory.zNumber == 1 && simulator.memory.sinceZ == Array(repeating: 0, count: 8))
    }

    @Test("a lost reply: the same command goes again under the same SEQ and is answered from memory — one sale line, not two")
    func lostReply() throws {
        let simulator = try DatecsSimulator()
        defer { simulator.stop() }
        let link = try link(simulator)
        defer { link.transport.close() }
        _ = try link.perform(.openReceipt(operator: 1, password: "0000", uniqueSaleNumber: "DT000001-0001-0000002", till: 1))
        simulator.setFault(.dropReplies(count: 1))
        _ = try link.perform(.sale(name: "Kafe", group: "B", unitPrice: 250, quantityMilli: 1000), replyTimeout: .milliseconds(200))
        #expect(simulator.memory.open?.lines == 1 && simulator.memory.open?.total == 250)
        #expect(simulator.received.filter { $0 == 49 }.count == 2, "sent twice, executed once")
        // Every attempt lost: the caller's repeat of the same command still carries the same SEQ.
        simulator.setFault(.dropReplies(count: 3))
        #expect(throws: DatecsError.self) {
            try link.perform(.sale(name: "Kifla", group: "B", unitPrice: 120, quantityMilli: 1000), replyTimeout: .milliseconds(150))
        }
        _ = try link.perform(.sale(name: "Kifla", group: "B", unitPrice: 120, quantityMilli: 1000), replyTimeout: .milliseconds(150))
        #expect(simulator.memory.open?.lines == 2 && simulator.memory.open?.total == 370)
    }

    @Test("NAK, SYN and a garbled BCC are survived; a refusal keeps the device's code and status")
    func faults() throws {
        let simulator = try DatecsSimulator()
        defer { simulator.stop() }
        let link = try link(simulator)
        defer { link.transport.close() }
        simulator.setFault(.nak(count: 2))
        _ = try link.perform(.status)
        simulator.setFault(.syn(count: 5))
        _ = try link.perform(.status)
        simulator.setFault(.garble(count: 1))
        _ = try link.perform(.openReceipt(operator: 1, password: "0000", uniqueSaleNumber: "DT000001-0001-0000003", till: 1))
        #expect(simulator.memory.open != nil)
        do {
            _ = try link.perform(.openReceipt(operator: 1, password: "0000", uniqueSaleNumber: "DT000001-0001-0000004", till: 1))
            Issue.record("a second open receipt was accepted")
        } catch {
            guard case .refused(let code, let status) = error else { Issue.record("\(error)"); return }
            #expect(code == -111015 && status.fiscalReceiptOpen && error.code == "FP_REFUSED")
        }
    }

    @Test("power lost after a sale line: on reconnect the status says a fiscal receipt is open, and 60 cancels it (memory kept)")
    func powerLossMidReceipt() throws {
        let directory = TestSupport.temporaryDirectory()
        let memory = directory.appendingPathComponent("fp.json").path
        var simulator = try DatecsSimulator(memoryPath: memory)
        var link = try link(simulator)
        _ = try link.perform(.openReceipt(operator: 1, password: "0000", uniqueSaleNumber: "DT000001-0001-0000005", till: 1))
        simulator.setFault(.powerLossAfter(49))
        #expect(throws: DatecsError.self) {
            try link.perform(.sale(name: "Kafe", group: "B", unitPrice: 250, quantityMilli: 1000), replyTimeout: .milliseconds(150))
        }
        link.transport.close()
        simulator.stop()
        simulator = try DatecsSimulator(memoryPath: memory)
        defer { simulator.stop() }
        link = try self.link(simulator, first: 0x40)
        defer { link.transport.close() }
        let status = try link.perform(.status)
        #expect(status.status.fiscalReceiptOpen && simulator.memory.open?.lines == 1)
        _ = try link.perform(.cancelReceipt)
        #expect(simulator.memory.open == nil && simulator.memory.cancelled == ["DT000001-0001-0000005"] && simulator.memory.lastDocument == 0)
    }

    @Test("a new link whose first SEQ is the device's last: the answer from memory (another command) is not taken; the command goes again under the next SEQ")
    func sequenceCollision() throws {
        let simulator = try DatecsSimulator()
        defer { simulator.stop() }
        let first = try link(simulator, first: 0x30)
        #expect(try first.perform(.lastDocument).number(0) == 0)
        first.transport.close()
        let second = try link(simulator, first: 0x30)
        defer { second.transport.close() }
        let status = try second.perform(.status)
        #expect(status.errorCode == 0 && second.nextSequence == 0x32)
        #expect(simulator.received == [113, 74, 74], "the status went twice: answered from memory under 30h, executed under 31h")
    }

    @Test("values the protocol cannot carry are refused before anything is sent")
    func refusedBeforeSending() throws {
        let simulator = try DatecsSimulator()
        defer { simulator.stop() }
        let link = try link(simulator)
        defer { link.transport.close() }
        #expect(throws: DatecsError.command(.invalid(field: "VAT group", rule: "A to H"))) {
            try link.perform(.sale(name: "Kafe", group: "Z", unitPrice: 250, quantityMilli: 1000))
        }
        #expect(throws: DatecsError.self) { try link.perform(.sale(name: "Ka\tfe", group: "B", unitPrice: 250, quantityMilli: 1000)) }
        #expect(simulator.received.isEmpty)
        #expect(DatecsCommand.minorUnits("12.50") == 1250 && DatecsCommand.minorUnits("-0.05") == -5)
        #expect(DatecsCommand.minorUnits("12.5") == nil && DatecsCommand.minorUnits("1e3.00") == nil && DatecsCommand.minorUnits("99999999999999999.00") == nil)
    }
}
