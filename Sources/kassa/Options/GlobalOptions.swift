import ArgumentParser
import Foundation
import KassaRuntime
import SessionEngine

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Where Kassa keeps its state (default: $KASSA_HOME, else $XDG_DATA_HOME/kassa).")
    var home: String?

    @Flag(name: .long, help: "Print machine-readable JSON on standard output.")
    var json = false

    func environment() throws(RuntimeError) -> KassaEnvironment {
        try KassaEnvironment(home: KassaHome(explicit: home))
    }
}

/// Reports a failure the same way for every command: a message on stderr (or a JSON error object) and the
/// documented exit code.
func fail(_ error: RuntimeError, json: Bool) -> ExitCode {
    if json {
        let object: [String: Any] = ["ok": false, "error": ["code": error.code, "message": error.description]]
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]) {
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }
    } else {
        FileHandle.standardError.write(Data("kassa: \(error.description)\n".utf8))
    }
    return ExitCode(error.exitCode)
}

/// Writes an Encodable as pretty JSON with sorted keys; dates as ISO 8601 with milliseconds and their offset (the same
/// form as `kassa serve`'s API), never Foundation's reference-date numbers.
func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .custom { date, encoder in
        var container = encoder.singleValueContainer()
        try container.encode(SessionEngine.timestamp(date))
    }
    if let data = try? encoder.encode(value) {
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

/// What a command reports for a fact it recorded and then printed (`sale`, `refund`, `park finalize`, `park proforma`,
/// `session close`): JSON `{KEY: fact, "printed": …, "printError": …}`, or `headline`, the preview's path and a warning
/// when the print failed — a failed print never undoes what was recorded.
func reportRecorded<Fact: Encodable>(_ fact: Fact, as key: String, printed: PrintOutcome?, printError: String?,
                                     drawer: Kassa.Receipt.DrawerReport? = nil, notes: [String] = [], json: Bool, headline: String) {
    if json {
        printJSON(Recorded(key: key, fact: fact, printed: printed, printError: printError, drawer: drawer, notes: notes))
    } else {
        print(headline)
        if let png = printed?.previewPNG { print("Preview: \(png)") }
        if let delivery = printed?.delivery, delivery != "confirmed" { print("note: sent, not confirmed by the printer") }
        if let drawer { print("Drawer: \(drawer.result)" + (drawer.detail.map { " (\($0))" } ?? "")) }
        for note in notes { print("note: \(note)") }
        if let printError { print("warning: \(printError)") }
    }
}

/// The JSON of `reportRecorded`: the fact under its own key beside the print's outcome.
private struct Recorded<Fact: Encodable>: Encodable {
    let key: String
    let fact: Fact
    let printed: PrintOutcome?
    let printError: String?
    let drawer: Kassa.Receipt.DrawerReport?
    let notes: [String]

    struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.init(stringValue) }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(fact, forKey: Key(key))
        try container.encodeIfPresent(printed, forKey: Key("printed"))
        try container.encodeIfPresent(printError, forKey: Key("printError"))
        try container.encodeIfPresent(drawer, forKey: Key("drawer"))
        if !notes.isEmpty { try container.encode(notes, forKey: Key("notes")) }
    }
}
