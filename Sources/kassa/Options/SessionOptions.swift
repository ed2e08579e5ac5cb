import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

/// What every session-engine command takes: who acts, which database, and the command's id.
struct SessionOptions: ParsableArguments {
    @Option(name: .long, help: "The user who does this (a user id from `kassa user list`).")
    var user: String?

    @Option(name: .long, help: "The terminal's database (default HOME/kassa.sqlite).")
    var database: String?

    @Option(name: .customLong("id"), help: "A client-generated command id; repeating a command with the same id returns the first result.")
    var commandID: String?

    var command: String { commandID ?? UUID().uuidString.lowercased() }

    func actor() throws(RuntimeError) -> String {
        guard let user, !user.isEmpty else { throw .session(.invalid("Say who does this: --user ID.")) }
        return user
    }

    /// `reading`: the command only reads, so a database that belongs to another terminal is opened read-only (its
    /// history stays readable) instead of being refused; this machine's own database opens as usual.
    func engine(_ environment: KassaEnvironment, readOnly: Bool = false, reading: Bool = false) throws(RuntimeError) -> SessionEngine {
        let engine: SessionEngine
        do {
            engine = try environment.sessionEngine(database: database, readOnly: readOnly)
        } catch .session(.wrongTerminal) where reading && !readOnly {
            engine = try environment.sessionEngine(database: database, readOnly: true)
        }
        if let behind = try? engine.clockBehind() { warnClockBehind(behind) }
        if let long = try? engine.shiftOpenTooLong() {
            FileHandle.standardError.write(Data("""
                kassa: warning: shift \(long.id), opened by \(long.openedBy), has been open for \(Int(long.hours)) hours \
                (warn-open-hours is \(long.limit)). Close it with its Z report (kassa session close) if the day is over.

                """.utf8))
        }
        return engine
    }
}

/// Under the Swedish profile a registered sale always produces its receipt (SKVFS 2014:9; Docs/fiscal-se.md): a sale,
/// refund or parked receipt finalized with `--no-print` is refused before anything is recorded.
func refuseNoPrint(_ noPrint: Bool, engine: SessionEngine) throws(RuntimeError) {
    guard noPrint, (try? engine.settings())?.fiscalProfile == "se" else { return }
    throw .session(.invalid("Under the Swedish profile every registered sale produces its receipt (SKVFS 2014:9): --no-print is refused. "
        + "Nothing was recorded; finalize it without --no-print (a receipt that fails to print is kept and printed as its copy)."))
}

/// Runs a typed-throwing body and turns a failure into the documented exit code.
func runReporting(json: Bool, _ body: () throws(RuntimeError) -> Void) throws {
    do {
        try body()
    } catch {
        throw fail(error, json: json)
    }
}


/// Splits `KEY=VALUE` (as in `--pay cash=5000`, `--line 1=2`, `--count 10000=2`); nil unless both sides are non-empty.
func keyValue(_ item: String) -> (key: String, value: String)? {
    let parts = item.split(separator: "=", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
    return (String(parts[0]), String(parts[1]))
}

/// Reads a sale (Docs/CLI.md) from a file or '-' for standard input: UTF-8 checked, JSON errors named by field.
func loadSaleRequest(_ file: String) throws(RuntimeError) -> SaleRequest {
    let data: Data
    if file == "-" {
        data = Data(try readStandardInput())
    } else {
        guard let contents = FileManager.default.contents(atPath: file) else { throw .inputUnreadable(path: file, reason: "no such file") }
        data = contents
    }
    return try InputDecoding.decode(SaleRequest.self, Array(data), source: file, what: .sale)
}

/// On stderr, so `--json` output stays one object: the clock reads earlier than the last recorded fact.
func warnClockBehind(_ behind: SessionEngine.ClockBehind) {
    let format = ISO8601DateFormatter()
    let seconds = Int(behind.seconds.rounded())
    FileHandle.standardError.write(Data("""
        kassa: warning: this terminal's clock (\(format.string(from: behind.now))) is \(seconds) s behind the last recorded fact \
        (\(format.string(from: behind.lastRecorded))). Numbers and order are kept by the terminal's counters, so nothing is lost \
        or renumbered, but new receipts will carry a wrong time: set the clock (timedatectl set-ntp true, or timedatectl \
        set-time) and check the real-time clock's battery.

        """.utf8))
}
