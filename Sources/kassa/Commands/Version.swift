import ArgumentParser
import DeviceTransport
import KassaRuntime
import Foundation

extension Kassa {
    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show Kassa's version and the system libraries it uses.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            struct Info: Encodable {
                var kassa: String
                var libusb: String
                var libusbUsable: Bool
                var udevUsable: Bool
            }
            let info = Info(kassa: KassaVersion.string, libusb: SystemLibraries.libusbVersion,
                            libusbUsable: SystemLibraries.libusbUsable, udevUsable: SystemLibraries.udevUsable)
            if global.json {
                printJSON(info)
            } else {
                print("kassa \(info.kassa)\nlibusb \(info.libusb) (\(info.libusbUsable ? "usable" : "not usable"))\n"
                    + "libudev \(info.udevUsable ? "usable" : "not usable")")
            }
        }
    }
}
