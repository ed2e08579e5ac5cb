import DeviceTransport
import ESCPOS
import Foundation
import GRDB
import KassaRuntime
import Logging
import ReceiptLayout
import RKSV
import SessionEngine
import SoftwareFiscalModule
import StrictDecoding
import VirtualPrinter

// One libFuzzer binary for all of Kassa's fuzz targets; `KASSA_FUZZ_TARGET` picks one (Tests/Fuzz/run). A target
// returns normally for every input: a refusal is an error value, a crash (trap, sanitizer report) is a finding.

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

let environment = ProcessInfo.processInfo.environment
let target = environment["KASSA_FUZZ_TARGET"] ?? ""
let hardware = URL(fileURLWithPath: environment["KASSA_HARDWARE"] ?? "Hardware")
let scratch = URL(fileURLWithPath: environment["KASSA_FUZZ_SCRATCH"] ?? NSTemporaryDirectory())
    .appendingPathComponent("kassa-fuzz-\(getpid())")
try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)

/// What a fuzz target needs once per process.
struct Context: @unchecked Sendable {
    var kassa: KassaEnvironment?
    var profile: PrinterProfile?
    var fonts: PrinterFonts?
    var engine: SessionEngine?
    var journalDB: DatabaseQueue?
    var journalEngine: SessionEngine?
    /// Every value of every row of the fiscal tables: table, column, and the row's primary key (columns and values).
    var targets: [(table: String, column: String, key: [String], values: [DatabaseValue])] = []
}

var context = Context()
var counter = 0

func setUp() throws {
    switch target {
    case "document", "escpos", "interpreter":
        let kassa = try KassaEnvironment(home: KassaHome(explicit: scratch.path), hardware: hardware)
        context.kassa = kassa
        context.profile = try kassa.profile(named: "TM-T88V")
        context.fonts = try kassa.fonts()
    case "sale":
        context.engine = try freshTill()
    case "journal":
        // A day on a file database; each input changes one value of one row (as someone with the file could), the
        // verifier runs, and the value is put back.
        let path = scratch.appendingPathComponent("journal.sqlite").path
        let engine = try SessionEngine(store: SessionStore.open(path: path), identity: FixedIdentity("fuzz0000fuzz0000"),
                                       clock: ManualClock(Date(timeIntervalSince1970: 1_795_000_000)), fiscalModule: SoftwareFiscalModule.ephemeral())
        try day(engine)
        context.journalEngine = try SessionEngine(store: SessionStore.open(path: path), identity: FixedIdentity("fuzz0000fuzz0000"),
                                                  readOnly: true)
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name != 'journal_moves_head'") {
                try db.execute(sql: "DROP TRIGGER \(trigger)")
            }
            for table in ["journal", "receipt", "receipt_line", "payment", "z_report", "pos_session", "session_total", "cash_movement",
                          "terminal_counters", "receipt_code"] {
                let info = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))")
                let columns = info.map { $0["name"] as String }
                let key = info.filter { ($0["pk"] as Int) > 0 }.sorted { ($0["pk"] as Int) < ($1["pk"] as Int) }.map { $0["name"] as String }
                for row in try Row.fetchAll(db, sql: "SELECT \(key.joined(separator: ", ")) FROM \(table)") {
                    let values = (0..<key.count).map { row[$0] as DatabaseValue }
                    for column in columns { context.targets.append((table, column, key, values)) }
                }
            }
        }
        context.journalDB = queue
    default:
        break
    }
}

func freshTill() throws -> SessionEngine {
    let engine = try SessionEngine(store: SessionStore.inMemory(), identity: FixedIdentity("fuzz1111fuzz1111"),
                                   clock: ManualClock(Date(timeIntervalSince1970: 1_795_000_000)), fiscalModule: SoftwareFiscalModule.ephemeral())
    _ = try engine.addUser(id: "m", name: "M", role: "manager", by: nil)
    _ = try engine.openShift(commandID: "open", user: "m", countedFloat: 0)
    return engine
}

func day(_ engine: SessionEngine) throws {
    _ = try engine.addUser(id: "m", name: "M", role: "manager", by: nil)
    _ = try engine.openShift(commandID: "open", user: "m", countedFloat: 1000)
    for (index, price) in [3500, 2900, 12_000].enumerated() {
        _ = try engine.finalizeSale(SaleRequest(id: "s\(index)", lines: [SaleLineRequest(name: "Vara \(index)", unitPrice: Int64(price), vatRate: VATRate(basisPoints: 1200))]),
                                    user: "m")
    }
    _ = try engine.refund(RefundRequest(id: "r", receiptNumber: 1, lines: [.init(line: 1, quantity: MilliQuantity(milli: 1000))]), user: "m")
    _ = try engine.cashMovement(commandID: "in", user: "m", type: "in", amount: 500, reason: "växel")
    _ = try engine.closeShift(commandID: "close", user: "m", countedCash: 1000 + 3500 + 2900 + 12_000 - 3500 + 500, cashLeft: 0)
}

func run(_ bytes: [UInt8]) {
    counter += 1
    switch target {
    case "sale":
        // Sale, refund and park JSON → strict decoding → pricing and the whole finalization.
        guard var request = try? StrictJSONDecoder().decode(SaleRequest.self, from: Data(bytes)), let engine = context.engine else { return }
        request.id = "f\(counter)"
        _ = try? engine.finalizeSale(request, user: "m")
        _ = try? engine.park(id: "p\(counter)", user: "m", lines: request.lines, discount: request.discount)
        if let refund = try? StrictJSONDecoder().decode(RefundRequest.self, from: Data(bytes)) {
            _ = try? engine.refund(RefundRequest(id: "r\(counter)", receiptNumber: refund.receiptNumber, lines: refund.lines, method: refund.method), user: "m")
        }
        // A fresh till now and then keeps the database small.
        if counter % 20_000 == 0 { context.engine = try? freshTill() }
    case "document":
        guard let kassa = context.kassa, let profile = context.profile,
              let document = try? InputDecoding.document(bytes, source: "fuzz") else { return }
        _ = try? kassa.layout(document, profile: profile, baseDirectory: nil)
    case "toml":
        _ = try? KassaConfig.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.toml")
    case "url":
        _ = try? DeviceURL(parsing: String(decoding: bytes, as: UTF8.self))
    case "status":
        let queries = StatusQuery.allCases
        var status = PrinterStatus()
        for (index, byte) in bytes.prefix(64).enumerated() {
            _ = try? PrinterStatus.parse(byte, for: queries[index % 4])
            try? status.apply(byte, for: queries[index % 4])
            _ = status.blockingProblem
        }
    case "escpos":
        guard let profile = context.profile else { return }
        var printer = VirtualPrinter(profile: profile, fonts: context.fonts)
        printer.receive(bytes)
        printer.finish()
        _ = printer.renderImage()
        _ = printer.textPreview()
    case "interpreter":
        // The interpreter alone, without fonts (text is measured, not drawn): raster, QR, barcode and paper logic at
        // the speed a million inputs need.
        guard let profile = context.profile else { return }
        // A short roll (2,000 rows) keeps an input's paper small; the cap's own logic is what runs at the end of it.
        var printer = VirtualPrinter(profile: profile, fonts: nil, maxPaperRows: 2_000)
        printer.receive(bytes)
        printer.finish()
        _ = printer.renderImage()
        _ = printer.takeResponses()
    case "journal":
        guard let queue = context.journalDB, let engine = context.journalEngine, bytes.count >= 3, !context.targets.isEmpty else { return }
        let spot = context.targets[Int(UInt16(bytes[0]) << 8 | UInt16(bytes[1])) % context.targets.count]
        let payload = Array(bytes[3...])
        let value: DatabaseValue
        switch bytes[2] % 5 {
        case 0: value = .null
        case 1: value = Int64(truncatingIfNeeded: payload.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }).databaseValue
        case 2: value = String(decoding: payload, as: UTF8.self).databaseValue
        case 3: value = Data(payload).databaseValue
        default: value = Double(bitPattern: payload.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }).databaseValue
        }
        let condition = spot.key.map { "\($0) = ?" }.joined(separator: " AND ")
        let keyArguments = StatementArguments(spot.values)
        do {
            let original = try queue.read { db in
                try DatabaseValue.fetchOne(db, sql: "SELECT \(spot.column) FROM \(spot.table) WHERE \(condition)", arguments: keyArguments)
            } ?? .null
            try queue.write { db in
                try db.execute(sql: "UPDATE \(spot.table) SET \(spot.column) = ? WHERE \(condition)", arguments: [value] + keyArguments)
            }
            _ = try? engine.verifyJournal(batchSize: 1 + Int(bytes[2] % 7))
            // Put it back where it now is (the change may have been to the key itself).
            let moved = spot.key.contains(spot.column)
            try queue.write { db in
                if moved, let index = spot.key.firstIndex(of: spot.column) {
                    var now = spot.values
                    now[index] = value
                    try db.execute(sql: "UPDATE \(spot.table) SET \(spot.column) = ? WHERE \(condition)", arguments: [original] + StatementArguments(now))
                } else {
                    try db.execute(sql: "UPDATE \(spot.table) SET \(spot.column) = ? WHERE \(condition)", arguments: [original] + keyArguments)
                }
            }
        } catch {
            // A change SQLite itself refuses (a unique key, NOT NULL) is no finding.
        }
    case "dep":
        // The DEP export and the key container are separated by the first 0x00 byte.
        let split = bytes.firstIndex(of: 0) ?? bytes.count
        _ = RKSVVerifier.verify(dep: Data(bytes[..<split]), container: Data(bytes[min(bytes.count, split + 1)...]))
    default:
        FileHandle.standardError.write(Data("KASSA_FUZZ_TARGET must be sale, document, toml, url, status, escpos, journal or dep\n".utf8))
        exit(2)
    }
}

// The engine logs every receipt at info level: silence it, or the logging is what gets fuzzed.
LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }

do {
    try setUp()
} catch {
    FileHandle.standardError.write(Data("fuzz set-up failed: \(error)\n".utf8))
    exit(2)
}

/// libFuzzer's entry point (its own `main` names it; ours runs the driver below instead).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    run(start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? [])
    return 0
}

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzzOne($0, $1) })
