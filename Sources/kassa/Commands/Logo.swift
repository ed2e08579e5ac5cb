import ArgumentParser
import DeviceTransport
import Foundation
import KassaRuntime

extension Kassa {
    struct Logo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a logo in the printer's memory, so receipts print it by key instead of sending the image.",
            discussion: """
                kassa logo IMAGE.png --key K1 --device tcp://10.0.0.5:9100 --profile TM-T20III
                Then print it from a document with {"type": "image", "storedKey": "K1"}. Only profiles with
                storedLogo support this (Epson models with GS ( L graphics). Printer memory wears out:
                store a logo once, not on every start.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A PNG or PBM image.")
        var image: String

        @Option(name: .long, help: "Two characters that name the logo in the printer (default K1).")
        var key: String = "K1"

        @Option(name: .long, help: "Width in dots (default: the image's width, at most the paper width).")
        var width: Int?

        @OptionGroup var target: DeviceOptions

        func run() throws {
            do {
                let (outcome, size) = try perform()
                if global.json {
                    printJSON(outcome)
                } else {
                    print("Stored the logo as '\(key)' (\(size) bytes) on \(outcome.device). "
                        + "Print it with {\"type\": \"image\", \"storedKey\": \"\(key)\"}.")
                }
            } catch {
                throw fail(error, json: global.json)
            }
        }

        func perform() throws(RuntimeError) -> (PrintOutcome, Int) {
            let environment = try global.environment()
            let device = try target.resolve(in: environment)
            let job = try environment.storeLogoJob(imageFile: image, key: key, width: width, profile: device.profile)
            return (try environment.send(job, copies: 1, device: device, previewPath: nil, warnings: []), job.count)
        }
    }
}
