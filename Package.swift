// swift-tools-version:6.1
import PackageDescription
#if canImport(Glibc)
import Glibc
#endif

/// How the release `kassa` is linked (decision 0025): with lld, no exported symbol table, the functions the service
/// runs at start and while idle placed together (tools/kassa.order, made by tools/order-file), and packed relative
/// relocations (DT_RELR) where glibc reads them (2.36 and later). Each cuts clean pages the idle service keeps resident.
let releaseLinking: [LinkerSetting] = {
    var flags = ["-use-ld=lld", "-Xlinker", "--no-export-dynamic", "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/tools/kassa.order",
                 "-Xlinker", "--no-warn-symbol-ordering"]
    #if canImport(Glibc)
    var buffer = [CChar](repeating: 0, count: 64)
    _ = confstr(Int32(_CS_GNU_LIBC_VERSION), &buffer, buffer.count)
    // "glibc 2.36"
    let version = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        .split(separator: " ").last.map { $0.split(separator: ".").compactMap { Int($0) } } ?? []
    if version.count >= 2, version[0] > 2 || (version[0] == 2 && version[1] >= 36) {
        flags += ["-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]
    }
    #endif
    return [.unsafeFlags(flags, .when(platforms: [.linux], configuration: .release))]
}()

let package = Package(
    name: "Kassa",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kassa", targets: ["kassa"]),
        .library(name: "ESCPOS", targets: ["ESCPOS"]),
        .library(name: "ReceiptLayout", targets: ["ReceiptLayout"]),
        .library(name: "VirtualPrinter", targets: ["VirtualPrinter"]),
        .library(name: "KassaRuntime", targets: ["KassaRuntime"]),
        .library(name: "ImageCodec", targets: ["ImageCodec"]),
        .library(name: "Raster", targets: ["Raster"]),
        .library(name: "DeviceTransport", targets: ["DeviceTransport"]),
        .library(name: "SessionEngine", targets: ["SessionEngine"]),
        .library(name: "SoftwareFiscalModule", targets: ["SoftwareFiscalModule"]),
        .library(name: "RKSV", targets: ["RKSV"]),
        .library(name: "FiscalProfiles", targets: ["FiscalProfiles"]),
        .library(name: "StrictDecoding", targets: ["StrictDecoding"]),
        .library(name: "PrintSpool", targets: ["PrintSpool"]),
        .library(name: "KassaService", targets: ["KassaService"]),
        .library(name: "CompatProtocols", targets: ["CompatProtocols"]),
        .library(name: "LocalCertificates", targets: ["LocalCertificates"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"4.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // C libraries, each behind a small system-library target.
        .systemLibrary(name: "CLibUSB", pkgConfig: "libusb-1.0", providers: [.apt(["libusb-1.0-0-dev"])]),
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CLibPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // libjpeg's scanline API (libjpeg-turbo), wrapped in C for its setjmp error handling.
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // umockdev's testbed API, for the tests that fake USB and udev devices.
        .systemLibrary(name: "CUMockdev", pkgConfig: "umockdev-1.0", providers: [.apt(["libumockdev-dev"])]),
        // POSIX calls Swift cannot import directly (pty set-up, lp ioctls, termios speed constants).
        .target(name: "CPosixShims"),
        // Starting programs with their output on close-on-exec pipes, drained without trapping.
        .target(name: "ChildProcess", dependencies: ["CPosixShims"]),

        // Pure value modules: no I/O.
        .target(name: "QRCode"),
        // The CleanCash control unit's wire protocol as pure code: framing, messages, one exchange.
        .target(name: "CleanCashProtocol"),
        // The Datecs "X" fiscal printer's wire protocol as pure code: frames, the stream decoder, status, one exchange.
        .target(name: "DatecsProtocol"),
        // The Datecs fiscal printer behind a transport: commands with their sequence numbers over a serial port.
        .target(name: "DatecsDriver", dependencies: ["DatecsProtocol", "DeviceTransport"]),
        // The CleanCash control unit behind a transport: the exchanges run over a serial port.
        .target(name: "CleanCashDriver", dependencies: ["CleanCashProtocol", "DeviceTransport", "FiscalProfiles", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Raster"),
        .target(name: "ESCPOS", dependencies: ["QRCode", "Raster"]),
        .target(name: "ReceiptLayout", dependencies: ["ESCPOS", "Raster"]),
        // The words on receipts and reports: one table per language (sv, de, en, nb).
        .target(name: "ReceiptText"),
        // Strict JSON decoding of every input: unknown fields, fractions for whole numbers and nulls are errors.
        .target(name: "StrictDecoding"),
        // Files for the till's user alone (keys, exports, previews): created with their final mode, folders 0700.
        .target(name: "PrivateFiles"),

        // Decoding/encoding image files (libpng, libjpeg-turbo).
        .target(name: "ImageCodec", dependencies: ["CLibPNG", "CJPEG", "Raster"]),
        .target(name: "ProfileCatalog", dependencies: ["ESCPOS"]),

        // The ESC/POS interpreter that renders previews.
        .target(name: "VirtualPrinter", dependencies: ["ESCPOS", "QRCode", "Raster", "ImageCodec"]),

        // Transports: one interface, TCP, file/character device; USB and udev discovery.
        .target(
            name: "DeviceTransport",
            dependencies: [
                "CLibUSB", "CUdev", "CPosixShims",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Finding devices and following hot-plug through libudev.
        .target(name: "DeviceDiscovery", dependencies: ["CUdev"]),

        // A printer behind a transport: status, jobs with a status check, drawer pulses.
        .target(
            name: "ReceiptPrinter",
            dependencies: ["ESCPOS", "DeviceTransport", .product(name: "Logging", package: "swift-log")]
        ),

        // The till's session engine on SQLite: terminals, users, shifts, receipts, counters, reports.
        // Knows nothing about devices: it declares what it needs (a terminal identity, a clock).
        // Also keeps the signed, hash-chained journal; it declares the fiscal module that signs it.
        .target(
            name: "SessionEngine",
            dependencies: [
                "PrivateFiles", "StrictDecoding", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Austria's RKSV: receipt codes (JWS ES256, chain, AES-CTR turnover counter), DEP export and a verifier. Pure.
        .target(
            name: "RKSV",
            dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto")]
        ),

        // The fiscal profiles the engine can run: Austria (RKSV) and Sweden (control unit).
        .target(name: "FiscalProfiles", dependencies: ["RKSV", "SessionEngine", "PrivateFiles", .product(name: "Crypto", package: "swift-crypto"),
                                                 .product(name: "Logging", package: "swift-log")]),

        // The default fiscal module: ES256 in software, its key in a 0600 file.
        .target(
            name: "SoftwareFiscalModule",
            dependencies: ["SessionEngine", "PrivateFiles", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // Composition root: home directory, config, device URLs, the print pipeline.
        .target(
            name: "KassaRuntime",
            dependencies: [
                "ESCPOS", "ReceiptLayout", "ImageCodec", "ProfileCatalog", "VirtualPrinter", "DeviceTransport",
                "ReceiptPrinter", "DeviceDiscovery", "SessionEngine", "SoftwareFiscalModule", "FiscalProfiles", "RKSV", "CleanCashDriver", "DatecsDriver",
                "StrictDecoding", "PrivateFiles", "ReceiptText", "ChildProcess", .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The till's own certificate authority and server certificates for `kassa serve` over HTTPS (decision 0021).
        .target(
            name: "LocalCertificates",
            dependencies: [
                "PrivateFiles", .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Other local print services' protocols as Kassa jobs (Odoo's hw_proxy JSON-RPC and receipt image, Epson's
        // ePOS-Print XML): parsing, encoding through the device's profile, answers. Pure: no HTTP, no devices.
        .target(name: "CompatProtocols", dependencies: ["ESCPOS", "Raster", "QRCode", "ImageCodec", "StrictDecoding"]),

        // The durable print spool (HOME/spool.sqlite): jobs, idempotency keys, states. Knows nothing of HTTP or devices.
        .target(name: "PrintSpool", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // `kassa serve`: the device owners, the event stream and the HTTP API (Hummingbird 2, swift-service-lifecycle).
        .target(
            name: "KassaService",
            dependencies: [
                "KassaRuntime", "PrintSpool", "CompatProtocols", "ReceiptPrinter", "SessionEngine", "ReceiptLayout", "ESCPOS", "DeviceTransport", "DeviceDiscovery", "StrictDecoding",
                "PrivateFiles", "LocalCertificates",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("openapi.yaml"), .copy("status.html"), .copy("document.schema.json")]
        ),

        .executableTarget(
            name: "kassa",
            dependencies: [
                "KassaRuntime", "DeviceTransport", "ESCPOS", "ReceiptLayout", "ReceiptPrinter", "DeviceDiscovery", "SessionEngine", "KassaService", "LocalCertificates",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: releaseLinking
        ),

        .target(
            name: "TestSupport",
            dependencies: ["ESCPOS", "ImageCodec", "ProfileCatalog", "Raster", "VirtualPrinter", "CPosixShims", "ChildProcess", "CleanCashProtocol", "DatecsProtocol"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "ChildProcessTests", dependencies: ["ChildProcess"]),
        .testTarget(name: "CleanCashProtocolTests", dependencies: ["CleanCashProtocol"]),
        .testTarget(name: "DatecsProtocolTests", dependencies: ["DatecsProtocol"]),
        .testTarget(name: "DatecsDriverTests", dependencies: ["DatecsDriver", "DatecsProtocol", "DeviceTransport", "TestSupport"]),
        .testTarget(name: "CleanCashDriverTests", dependencies: ["CleanCashDriver", "CleanCashProtocol", "DeviceTransport", "FiscalProfiles", "SessionEngine",
                                                         "SoftwareFiscalModule", "TestSupport"]),
        .testTarget(name: "QRCodeTests", dependencies: ["QRCode", "TestSupport", "ESCPOS", "Raster"]),
        .testTarget(name: "ESCPOSTests", dependencies: ["ESCPOS", "Raster", "QRCode", "TestSupport"]),
        .testTarget(name: "PrintSpoolTests", dependencies: ["PrintSpool"]),
        .testTarget(name: "CompatProtocolsTests", dependencies: ["CompatProtocols", "ESCPOS", "Raster", "ImageCodec", "ProfileCatalog", "VirtualPrinter", "TestSupport"]),
        .testTarget(name: "StrictDecodingTests", dependencies: ["StrictDecoding", "TestSupport"]),
        .testTarget(name: "LocalCertificatesTests", dependencies: ["LocalCertificates", "TestSupport"]),
        .testTarget(name: "ImageCodecTests", dependencies: ["ImageCodec", "Raster"]),
        .testTarget(name: "ReceiptLayoutTests", dependencies: ["ReceiptLayout", "ESCPOS", "VirtualPrinter", "ProfileCatalog", "TestSupport", "StrictDecoding"]),
        .testTarget(name: "VirtualPrinterTests", dependencies: ["VirtualPrinter", "ESCPOS", "QRCode", "ProfileCatalog", "ImageCodec", "Raster", "TestSupport"]),
        .testTarget(name: "ProfileCatalogTests", dependencies: ["ProfileCatalog", "ESCPOS", "TestSupport"]),
        .testTarget(name: "DeviceTransportTests", dependencies: ["DeviceTransport", "TestSupport", "ESCPOS", "ReceiptPrinter"]),
        .target(name: "FakeUSBPrinter", dependencies: ["CUMockdev"], path: "Tests/FakeUSBPrinter"),
        .testTarget(
            name: "DeviceDiscoveryTests",
            dependencies: ["DeviceDiscovery", "DeviceTransport", "CUMockdev", "TestSupport", "KassaRuntime", "kassa",
                           "FakeUSBPrinter", "ReceiptPrinter", "ESCPOS", "ChildProcess"],
            resources: [.copy("Fixtures")]
        ),
        // A SQLite VFS that simulates power cuts for the durability tests (C, beside the tests that use it).
        .target(name: "PowerCutVFS", path: "Tests/PowerCutVFS", linkerSettings: [.linkedLibrary("sqlite3")]),
        .testTarget(name: "SessionEngineTests", dependencies: ["SessionEngine", "SoftwareFiscalModule", "TestSupport", "PowerCutVFS", "ChildProcess"]),
        .testTarget(name: "FiscalProfilesTests", dependencies: ["RKSV", "SessionEngine", "SoftwareFiscalModule", "FiscalProfiles",
                                                      .product(name: "Crypto", package: "swift-crypto")],
                    exclude: ["Fixtures"]),
        .testTarget(name: "KassaCLITests", dependencies: ["kassa", "ChildProcess", "KassaRuntime", "TestSupport", "ESCPOS", "RKSV", "SessionEngine", "SoftwareFiscalModule", "ReceiptLayout", "ReceiptText", "VirtualPrinter", "ProfileCatalog"]),
    ]
)
