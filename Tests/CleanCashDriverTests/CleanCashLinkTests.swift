import CleanCashDriver
import CleanCashProtocol
import DeviceTransport
import Testing
import TestSupport

/// The driver over a real serial path: a pty, Kassa's SerialTransport, and the simulated unit on the other side.
@Suite("Control unit over a pty: the probe, and faults on the line", .serialized)
struct CleanCashLinkTests {
    func link(_ simulator: CleanCashSimulator) throws -> CleanCashLink<ContinuousClock> {
        let transport = SerialTransport(path: simulator.slavePath)
        try transport.open()
        return CleanCashLink(transport: transport)
    }

    @Test("the probe: SIQ then IQ, the unit's status and identity")
    func probe() throws {
        let simulator = try CleanCashSimulator(unitID: "CC0000000042")
        defer { simulator.stop() }
        let link = try link(simulator)
        defer { link.transport.close() }
        #expect(try link.probe() == CleanCashProbe(status: .ok, unitID: "CC0000000042", protocolVersion: 2, firmware: "1.0.7-sim"))
        #expect(simulator.received == [["SIQ"], ["IQ"]])
    }

    @Test("a damaged reply and noise are survived by re-sending the same frame; a silent unit is CU_NO_REPLY after 3 attempts")
    func faults() throws {
        let simulator = try CleanCashSimulator()
        defer { simulator.stop() }
        let link = try link(simulator)
        defer { link.transport.close() }
        simulator.setFault(.damageReplies(count: 1))
        #expect(try link.perform(["SIQ"], replyTimeout: .milliseconds(500)) == .replied(.status(.ok, severity: 0)))
        #expect(simulator.received == [["SIQ"], ["SIQ"]], "the same request, twice")
        simulator.setFault(.noise)
        #expect(try link.perform(["SIQ"], replyTimeout: .milliseconds(500)) == .replied(.status(.ok, severity: 0)))
        simulator.setFault(.silent)
        #expect(try link.perform(["SIQ"], replyTimeout: .milliseconds(200)) == .failed(.noReply(attempts: 3)))
        #expect(simulator.received.count == 6)
    }

    @Test("a NAK is the unit's refusal, with its own code and a message that says what to do")
    func refusal() throws {
        let simulator = try CleanCashSimulator()
        defer { simulator.stop() }
        let link = try link(simulator)
        defer { link.transport.close() }
        simulator.setFault(.nak(9))
        #expect(throws: CleanCashError.refused(.licenceExceeded)) { try link.probe() }
        let error = CleanCashError.refused(.licenceExceeded)
        #expect(error.code == "CU_NAK_009" && error.description.contains("licence"))
    }
}
