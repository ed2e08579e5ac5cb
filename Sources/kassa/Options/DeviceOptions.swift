import ArgumentParser
import DeviceTransport
import ESCPOS
import KassaRuntime

/// Which printer a command talks to: `--device` and `--profile`.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "Device URL: virtual:, tcp://HOST:PORT, file:PATH (default virtual:).")
    var device: String?

    @Option(name: .long, help: "Printer profile (see `kassa profiles`; default generic-80mm).")
    var profile: String?

    func resolve(in environment: KassaEnvironment) throws(RuntimeError) -> (url: DeviceURL, profile: PrinterProfile) {
        let printerProfile = try environment.profile(named: profile)
        do {
            return (try DeviceURL(parsing: device ?? "virtual:"), printerProfile)
        } catch {
            throw .transport(error)
        }
    }
}
