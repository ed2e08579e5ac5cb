import ArgumentParser
import DeviceTransport
import ESCPOS
import KassaRuntime

/// Which printer a command talks to: `--device` and `--profile`.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "A device named in HOME/kassa.toml, or a URL: virtual:, tcp://HOST:PORT, serial:///dev/ttyUSB0?baud=…, file:PATH.")
    var device: String?

    @Option(name: .long, help: "Printer profile (see `kassa profiles`; default generic-80mm).")
    var profile: String?

    func resolve(in environment: KassaEnvironment) throws(RuntimeError) -> ResolvedDevice {
        try environment.resolveDevice(device, profile: profile)
    }
}
