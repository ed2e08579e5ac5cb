import ArgumentParser
import Foundation
import KassaRuntime

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

/// Writes an Encodable as pretty JSON with sorted keys.
func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    if let data = try? encoder.encode(value) {
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}
