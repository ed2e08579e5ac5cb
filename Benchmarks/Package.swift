// swift-tools-version:6.1
// Kassa's benchmarks: a separate package so that the main build and CI never compile them.
// Run with `bash Benchmarks/run` (builds in release, measures the python-escpos peer in the same run).
import PackageDescription

let package = Package(
    name: "KassaBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Kassa", path: ".."), .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .executableTarget(
            name: "KassaBench",
            dependencies: [
                .product(name: "ESCPOS", package: "Kassa"),
                .product(name: "ReceiptLayout", package: "Kassa"),
                .product(name: "ImageCodec", package: "Kassa"),
                .product(name: "Raster", package: "Kassa"),
                .product(name: "DeviceTransport", package: "Kassa"),
            ]
        ),
        .executableTarget(
            name: "OdooImageBench",
            dependencies: [
                .product(name: "CompatProtocols", package: "Kassa"), .product(name: "ESCPOS", package: "Kassa"),
                .product(name: "ImageCodec", package: "Kassa"), .product(name: "Raster", package: "Kassa"),
                .product(name: "VirtualPrinter", package: "Kassa"),
            ]
        ),
        .executableTarget(
            name: "SessionBench",
            dependencies: [
                .product(name: "SessionEngine", package: "Kassa"), .product(name: "SoftwareFiscalModule", package: "Kassa"),
                .product(name: "FiscalProfiles", package: "Kassa"),
                .product(name: "Logging", package: "swift-log"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]),
    ]
)
