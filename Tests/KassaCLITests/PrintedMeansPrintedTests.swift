import Foundation
import Testing
import TestSupport

/// Issue 13, section 2: a job counts as printed only when the printer confirms it; resets and stalls get their codes.
@Suite("Printed means printed", .serialized)
struct PrintedMeansPrintedTests {
    let home = TestSupport.temporaryDirectory()

    /// A raw job of `size` bytes of text (no DLE), ending in a feed and cut.
    func job(_ size: Int) throws -> String {
        let path = home.appendingPathComponent("job-\(size).bin").path
        var bytes: [UInt8] = [0x1B, 0x40]
        while bytes.count < size - 8 { bytes += Array("Kaffe och bulle 35,00\n".utf8) }
        bytes += [0x1D, 0x56, 0x41, 0x00]
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func print(_ printer: FakeTCPPrinter, size: Int, confirmMilliseconds: Int = 1500) throws -> KassaProcess.Result {
        try KassaProcess.run(["print", "--raw", try job(size), "--device", printer.url, "--json"], home: home,
                             extraEnvironment: ["KASSA_CONFIRM_TIMEOUT_MS": String(confirmMilliseconds)])
    }

    func code(_ result: KassaProcess.Result) -> String? { (result.json?["error"] as? [String: Any])?["code"] as? String }

    @Test("a printer that answers after the job: confirmed, every byte delivered")
    func confirmed() throws {
        let printer = try FakeTCPPrinter(.normal)
        defer { printer.shutdown() }
        let result = try print(printer, size: 40_000)
        #expect(result.status == 0 && result.json?["delivery"] as? String == "confirmed", "\(result.stdout)\(result.stderr)")
        // The status check (DLE EOT 1–4), the whole job, then the confirming DLE EOT 1–4.
        let sent = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try job(40_000))))
        let query: [UInt8] = [0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 3, 0x10, 0x04, 4]
        #expect(printer.received() == query + sent + query)
    }

    @Test("a reset after 10 kB of a 40 kB job, or right after the status check, is DISCONNECTED (exit 21), never printed",
          arguments: [10_000, 12])
    func reset(after: Int) throws {
        let printer = try FakeTCPPrinter(.reset, after: after)
        defer { printer.shutdown() }
        let result = try print(printer, size: 40_000)
        #expect(result.status == 21 && code(result) == "DISCONNECTED", "\(result.stdout)\(result.stderr)")
        #expect(result.json?["delivery"] == nil)
    }

    @Test("a job that fits the socket buffer, to a printer that stops reading: UNCONFIRMED (exit 24), not printed")
    func stalledSmall() throws {
        let printer = try FakeTCPPrinter(.stall, after: 12 + 1000)
        defer { printer.shutdown() }
        let result = try print(printer, size: 4000)
        #expect(result.status == 24 && code(result) == "UNCONFIRMED", "\(result.stdout)\(result.stderr)")
    }

    @Test("a printer that reads on but stops answering after the status check: UNCONFIRMED (exit 24)")
    func silent() throws {
        let printer = try FakeTCPPrinter(.silent, after: 12)
        defer { printer.shutdown() }
        let result = try print(printer, size: 4000)
        #expect(result.status == 24 && code(result) == "UNCONFIRMED", "\(result.stdout)\(result.stderr)")
        let message = (result.json?["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("answered status before the job but not after it"), "\(message)")
    }

    @Test("a printer that never answers status: sent, not confirmed (exit 0, delivery 'sent', a note)")
    func mute() throws {
        let printer = try FakeTCPPrinter(.mute)
        defer { printer.shutdown() }
        let result = try KassaProcess.run(["print", "--raw", try job(2000), "--device", printer.url, "--json"], home: home,
                                          extraEnvironment: ["KASSA_CONFIRM_TIMEOUT_MS": "300"])
        #expect(result.status == 0 && result.json?["delivery"] as? String == "sent", "\(result.stdout)\(result.stderr)")
        let notes = result.json?["notes"] as? [String] ?? []
        #expect(notes.contains { $0.contains("sent, not confirmed") }, "\(notes)")
    }

    @Test("paper out reported after the job: UNCONFIRMED, naming the condition")
    func paperOutAfter() throws {
        // Ready before the job; once the job is in, DLE EOT 1 says offline, 2 says paper end, 4 says paper out.
        let printer = try FakeTCPPrinter(.normal, after: 12 + 500, statusAfter: [1: 0x1A, 2: 0x32, 4: 0x72])
        defer { printer.shutdown() }
        let result = try print(printer, size: 1000)
        let message = (result.json?["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(result.status == 24 && code(result) == "UNCONFIRMED" && message.contains("paper"), "\(result.stdout)")
    }

    func processIDProfile() throws { try TestSupport.writeProcessIDProfile(home: home) }

    @Test("with a profile that has the process-ID response, a job counts once the printer reports it printed (GS ( H)")
    func processID() throws {
        try processIDProfile()
        let answering = try FakeTCPPrinter(.normal, processID: true)
        defer { answering.shutdown() }
        let printed = try KassaProcess.run(["print", "--raw", try job(2000), "--device", answering.url, "--profile", "pid-80mm", "--json"],
                                           home: home, extraEnvironment: ["KASSA_CONFIRM_TIMEOUT_MS": "1500"])
        #expect(printed.status == 0 && printed.json?["delivery"] as? String == "confirmed", "\(printed.stdout)")
        let request: [UInt8] = [0x1D, 0x28, 0x48, 0x06, 0x00, 0x30, 0x30]
        let sent = answering.received()
        #expect((0...(sent.count - 7)).contains { Array(sent[$0..<($0 + 7)]) == request }, "the process-ID request was sent")
        // A printer that takes the job and answers status but never reports it printed: UNCONFIRMED.
        let silent = try FakeTCPPrinter(.normal, processID: false)
        defer { silent.shutdown() }
        let unconfirmed = try KassaProcess.run(["print", "--raw", try job(2000), "--device", silent.url, "--profile", "pid-80mm", "--json"],
                                               home: home, extraEnvironment: ["KASSA_CONFIRM_TIMEOUT_MS": "800"])
        let message = (unconfirmed.json?["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(unconfirmed.status == 24 && message.contains("did not report it printed"), "\(unconfirmed.stdout)")
    }
}
