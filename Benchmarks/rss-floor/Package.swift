// swift-tools-version:6.0
// The floor of idle RSS for the stack kassa serve must use (Hummingbird 2, and GRDB for its spool): two services that
// do nothing else, built as `make install` builds kassa (the Swift runtime linked in). Docs/PERFORMANCE.md.
import PackageDescription

let package = Package(
    name: "rss-floor",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .executableTarget(name: "floor-http", dependencies: [.product(name: "Hummingbird", package: "hummingbird")]),
        .executableTarget(name: "floor-http-sqlite", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    ]
)
