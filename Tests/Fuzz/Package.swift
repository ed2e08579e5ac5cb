// swift-tools-version:6.1
// libFuzzer targets for Kassa's trust boundary (Docs/RELIABILITY.md). Built and run by Tests/Fuzz/run, with
// `-sanitize=fuzzer,address`; not part of the main build or the test suite.
import PackageDescription

let package = Package(
    name: "KassaFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Kassa", path: "../.."),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "KassaFuzz",
            dependencies: [
                .product(name: "KassaRuntime", package: "Kassa"),
                .product(name: "SessionEngine", package: "Kassa"),
                .product(name: "SoftwareFiscalModule", package: "Kassa"),
                .product(name: "StrictDecoding", package: "Kassa"),
                .product(name: "DeviceTransport", package: "Kassa"),
                .product(name: "ESCPOS", package: "Kassa"),
                .product(name: "VirtualPrinter", package: "Kassa"),
                .product(name: "ReceiptLayout", package: "Kassa"),
                .product(name: "RKSV", package: "Kassa"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // libFuzzer calls the target on one thread; the harness keeps its state in globals.
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
