// The session engine's benchmarks; prints one JSON object per run.
//
//   SessionBench durable DIR SECONDS
//       Finalized receipts per second, each its own durable transaction (WAL, synchronous=FULL), against the raw
//       fsync rate of the same disk (4 KiB append + fsync), measured in the same run, in DIR; and SQLite's floor there:
//       one-row durable transactions with the engine's settings through the C API; and the disk's floor for a receipt:
//       as many WAL frames as a receipt commits here (measured), written and fdatasync'ed with no other work.
//   SessionBench fill DB RECEIPTS
//       Builds a terminal database with RECEIPTS receipts of history in closed shifts of 1,000 receipts each, through
//       the engine (so every receipt takes the real path). Point DB at tmpfs and copy it to disk afterwards: the fill
//       is set-up, not measurement.
//   SessionBench reports DB REPEATS
//       Opens a filled database, sells 200 receipts in a new shift, then times the X report (REPEATS times) and a
//       close with its Z report (5 shifts). Peak memory is this process's maximum RSS.
import Foundation
import GRDBSQLite
import Logging
import SessionEngine
import SoftwareFiscalModule

#if canImport(Glibc)
import Glibc
#endif

LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
let identity = FixedIdentity("be0c4a5e11a8d2b7c6f90e1d2a3b4c5d")
let arguments = CommandLine.arguments

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("SessionBench: \(message)\n".utf8))
    exit(2)
}

func emit(_ figures: [String: Any]) {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    var all = figures
    all["peakRSSKiB"] = usage.ru_maxrss
    let data = try! JSONSerialization.data(withJSONObject: all, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// User + system CPU seconds of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func monotonic() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func sale(_ id: String, _ index: Int) -> SaleRequest {
    let lines = [
        SaleLineRequest(name: "Kaffe bryggt", quantity: MilliQuantity(milli: 2000), unitPrice: 3500, vatRate: VATRate(basisPoints: 1200)),
        SaleLineRequest(name: "Kanelbulle", unitPrice: Int64(2900 + index % 7), vatRate: VATRate(basisPoints: 1200)),
        SaleLineRequest(name: "Tidning", unitPrice: 4900, vatRate: VATRate(basisPoints: 600)),
    ]
    let payments = index % 3 == 0 ? [PaymentRequest(method: "card", amount: 14800 + Int64(index % 7))] : nil
    return SaleRequest(id: id, lines: lines, payments: payments)
}

/// The till as the CLI runs it: with the software fiscal module signing the journal. `journal: false` is the
/// no-journal baseline the signing cost is measured against.
func engine(_ path: String, journal: Bool = true) throws -> SessionEngine {
    let module = journal ? try SoftwareFiscalModule.load(path: path + ".key") : nil
    let engine = try SessionEngine(store: SessionStore.open(path: path), identity: identity, fiscalModule: module)
    if try engine.users().isEmpty {
        _ = try engine.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
        _ = try engine.addUser(id: "anna", name: "Anna", role: "cashier", by: "maria")
        // The benchmark counts receipts, not drawers: close without a counted drawer.
        try engine.setSetting("cash-control", "off", by: "maria")
    }
    return engine
}

/// 4 KiB appended and fsync'ed, as a WAL commit does, for `seconds`.
func rawFsyncRate(directory: String, seconds: Double) -> Double {
    let path = directory + "/fsync-probe"
    let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o644)
    guard fd >= 0 else { fail("cannot create \(path): errno \(errno)") }
    defer { close(fd); unlink(path) }
    let block = [UInt8](repeating: 0x5A, count: 4096)
    var count = 0
    let start = monotonic()
    while monotonic() - start < seconds {
        guard write(fd, block, block.count) == block.count, fsync(fd) == 0 else { fail("write/fsync failed: errno \(errno)") }
        count += 1
        if count % 1024 == 0 { lseek(fd, 0, SEEK_SET) }  // a WAL is reused from its start after a checkpoint
    }
    return Double(count) / (monotonic() - start)
}

/// SQLite's own floor on this disk: one-row transactions (BEGIN IMMEDIATE, INSERT, COMMIT) through the C API with the
/// engine's settings (1 KiB pages, WAL, synchronous=FULL), no Swift work at all, for `seconds`.
func sqliteFloorRate(directory: String, seconds: Double) -> Double {
    let path = directory + "/floor.sqlite"
    for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK, let db else { fail("cannot open \(path)") }
    defer {
        sqlite3_close(db)
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }
    func run(_ sql: String) {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { fail("\(sql): \(String(cString: sqlite3_errmsg(db)))") }
    }
    run("PRAGMA page_size = 1024; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    var statements: [OpaquePointer?] = [nil, nil, nil]
    for (index, sql) in ["BEGIN IMMEDIATE", "INSERT INTO t (v) VALUES ('a receipt-sized row of text, about two hundred bytes long, like the receipt table has ...........................................................................')", "COMMIT"].enumerated() {
        guard sqlite3_prepare_v2(db, sql, -1, &statements[index], nil) == SQLITE_OK else { fail("cannot prepare \(sql)") }
    }
    defer { for statement in statements { sqlite3_finalize(statement) } }
    var count = 0
    let start = monotonic()
    while monotonic() - start < seconds {
        for statement in statements {
            guard sqlite3_step(statement) == SQLITE_DONE else { fail("step failed: \(String(cString: sqlite3_errmsg(db)))") }
            sqlite3_reset(statement)
        }
        count += 1
    }
    return Double(count) / (monotonic() - start)
}

/// WAL frames one receipt commits. A second connection checkpoints everything after each receipt, so the next receipt's
/// transaction starts the WAL afresh, and the checkpoint after it reports that receipt's frames (`pnLog`).
func walFramesPerReceipt(_ till: SessionEngine, path: String, from index: inout Int, receipts: Int = 50) throws -> Double {
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK, let db else { fail("cannot open \(path)") }
    defer { sqlite3_close(db) }
    // A connection opens the WAL on its first read.
    guard sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nil, nil, nil) == SQLITE_OK else { fail("cannot read \(path)") }
    func checkpoint() -> Int32 {
        var log: Int32 = 0
        var done: Int32 = 0
        guard sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &done) == SQLITE_OK, log >= 0, log == done else {
            fail("checkpoint: \(String(cString: sqlite3_errmsg(db))) (\(done) of \(log) frames)")
        }
        return log
    }
    _ = checkpoint()
    var frames = 0
    for _ in 0..<receipts {
        _ = try till.finalizeSale(sale("d-\(index)", index), user: "anna")
        index += 1
        frames += Int(checkpoint())
    }
    return Double(frames) / Double(receipts)
}

/// The disk's floor for a receipt's commit with no CPU work at all: `frames` WAL frames written as SQLite writes them
/// (a 24-byte header and a 1 KiB page, one `pwrite` each, appended), then one `fdatasync`, for `seconds`. The file is
/// reused from its start every ~1,000 frames, as the WAL is after a checkpoint.
func walFloorRate(directory: String, frames: Int, seconds: Double) -> Double {
    let path = directory + "/wal-probe"
    let fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0o644)
    guard fd >= 0 else { fail("cannot create \(path): errno \(errno)") }
    defer { close(fd); unlink(path) }
    let header = [UInt8](repeating: 0x11, count: 24)
    let page = [UInt8](repeating: 0x5A, count: 1024)
    var offset: off_t = 32
    var count = 0
    let start = monotonic()
    while monotonic() - start < seconds {
        if offset > 1000 * 1048 { offset = 32 }
        for _ in 0..<frames {
            guard pwrite(fd, header, 24, offset) == 24, pwrite(fd, page, 1024, offset + 24) == 1024 else { fail("pwrite failed: errno \(errno)") }
            offset += 1048
        }
        guard fdatasync(fd) == 0 else { fail("fdatasync failed: errno \(errno)") }
        count += 1
    }
    return Double(count) / (monotonic() - start)
}

func durable(directory: String, seconds: Double) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/durable.sqlite"
    for suffix in ["", "-wal", "-shm", ".key"] { unlink(path + suffix) }
    let till = try engine(path)
    _ = try till.openShift(commandID: "open", user: "anna", countedFloat: 0)
    // Alternate the two measurements twice, so that a disk's mood swing shows rather than biases one side.
    var raw: [Double] = []
    var floor: [Double] = []
    var receipts: [Double] = []
    var index = 0
    var cpu = 0.0
    var walFloor: [Double] = []
    var timed = 0
    // The frames a receipt commits, measured after 2,000 receipts (a new database's first pages split more often).
    for _ in 0..<2000 {
        _ = try till.finalizeSale(sale("d-\(index)", index), user: "anna")
        index += 1
    }
    let frames = try walFramesPerReceipt(till, path: path, from: &index)
    for _ in 0..<2 {
        raw.append(rawFsyncRate(directory: directory, seconds: seconds / 2))
        floor.append(sqliteFloorRate(directory: directory, seconds: seconds / 4))
        walFloor.append(walFloorRate(directory: directory, frames: Int(frames.rounded()), seconds: seconds / 4))
        let start = monotonic()
        let cpuStart = cpuSeconds()
        var count = 0
        while monotonic() - start < seconds / 2 {
            _ = try till.finalizeSale(sale("d-\(index)", index), user: "anna")
            index += 1
            count += 1
        }
        cpu += cpuSeconds() - cpuStart
        timed += count
        receipts.append(Double(count) / (monotonic() - start))
    }
    let rawRate = raw.reduce(0, +) / Double(raw.count)
    let receiptRate = receipts.reduce(0, +) / Double(receipts.count)
    let counters = try till.counters()
    guard counters.receiptNumber == Int64(index) else { fail("counter \(counters.receiptNumber) != \(index) receipts") }
    for suffix in ["", "-wal", "-shm", ".key"] { unlink(path + suffix) }
    let floorRate = floor.reduce(0, +) / Double(floor.count)
    let walFloorRate = walFloor.reduce(0, +) / Double(walFloor.count)
    emit(["walFramesPerReceipt": (frames * 10).rounded() / 10, "receiptWALFloorPerSecond": Int(walFloorRate),
          "receiptWALFloorRatio": (walFloorRate / rawRate * 1000).rounded() / 1000,"rawFsyncPerSecond": Int(rawRate), "receiptsPerSecond": Int(receiptRate),
          "sqliteOneRowTransactionsPerSecond": Int(floorRate), "sqliteFloorRatio": (floorRate / rawRate * 1000).rounded() / 1000,
          "ratio": (receiptRate / rawRate * 1000).rounded() / 1000, "receipts": index,
          "cpuMicrosecondsPerReceipt": Int(cpu / Double(timed) * 1e6)])
}

/// CPU per finalized receipt with the disk out of the picture: the same engine on an in-memory database.
func cpuOnly(seconds: Double, journal: Bool) throws {
    let module = journal ? try SoftwareFiscalModule.load(path: "/tmp/sessionbench-cpu.key") : nil
    let till = try SessionEngine(store: SessionStore.inMemory(), identity: identity, fiscalModule: module)
    _ = try till.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
    _ = try till.addUser(id: "anna", name: "Anna", role: "cashier", by: "maria")
    try till.setSetting("cash-control", "off", by: "maria")
    _ = try till.openShift(commandID: "open", user: "anna", countedFloat: 0)
    let start = monotonic()
    let cpuStart = cpuSeconds()
    var index = 0
    while monotonic() - start < seconds {
        _ = try till.finalizeSale(sale("m-\(index)", index), user: "anna")
        index += 1
    }
    emit(["receipts": index, "cpuMicrosecondsPerReceipt": Int((cpuSeconds() - cpuStart) / Double(index) * 1e6)])
}

/// Durable finalization with and without the signed journal in one run: the signing cost ratio. Both tills stay open and
/// take turns in short blocks of receipts (the order flips every round), so the disk's and the neighbours' moods hit both
/// sides alike; the figure is the median of the per-round ratios, with the quartiles and the ratio of the totals.
func journalCost(directory: String, seconds: Double) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var tills: [Bool: SessionEngine] = [:]
    var paths: [String] = []
    for journal in [false, true] {
        let path = directory + "/cost-\(journal).sqlite"
        for suffix in ["", "-wal", "-shm", ".key"] { unlink(path + suffix) }
        paths.append(path)
        let till = try engine(path, journal: journal)
        _ = try till.openShift(commandID: "open", user: "anna", countedFloat: 0)
        tills[journal] = till
    }
    let block = 100
    var elapsed: [Bool: Double] = [true: 0, false: 0]
    var cpu: [Bool: Double] = [true: 0, false: 0]
    var ratios: [Double] = []
    var count = 0
    let start = monotonic()
    var round = 0
    while monotonic() - start < seconds {
        var time: [Bool: Double] = [:]
        for journal in round % 2 == 0 ? [false, true] : [true, false] {
            let till = tills[journal]!
            let cpuStart = cpuSeconds()
            let blockStart = monotonic()
            for index in count..<(count + block) { _ = try till.finalizeSale(sale("c-\(index)", index), user: "anna") }
            time[journal] = monotonic() - blockStart
            cpu[journal]! += cpuSeconds() - cpuStart
            elapsed[journal]! += time[journal]!
        }
        ratios.append(time[true]! / time[false]!)
        count += block
        round += 1
    }
    guard try tills[true]!.verifyJournal().ok else { fail("the benchmark's journal does not verify") }
    for path in paths { for suffix in ["", "-wal", "-shm", ".key"] { unlink(path + suffix) } }
    let sorted = ratios.sorted()
    func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
    emit(["receiptsPerSecondWithoutJournal": Int(Double(count) / elapsed[false]!), "receiptsPerSecondWithJournal": Int(Double(count) / elapsed[true]!),
          "costRatio": rounded(sorted[sorted.count / 2]), "costRatioQuartiles": [rounded(sorted[sorted.count / 4]), rounded(sorted[3 * sorted.count / 4])],
          "costRatioOfTotals": rounded(elapsed[true]! / elapsed[false]!), "rounds": ratios.count, "receiptsPerRoundAndSide": block,
          "cpuMicrosecondsWithoutJournal": Int(cpu[false]! / Double(count) * 1e6),
          "cpuMicrosecondsWithJournal": Int(cpu[true]! / Double(count) * 1e6)])
}

/// Times `verifyJournal` on a filled database (the history's journal).
func verify(path: String) throws {
    let till = try SessionEngine(store: SessionStore.open(path: path), identity: identity, readOnly: true)
    let start = monotonic()
    let result = try till.verifyJournal()
    let elapsed = monotonic() - start
    guard result.ok else { fail("the journal does not verify: \(String(describing: result.problem))") }
    emit(["entries": result.entries, "seconds": (elapsed * 100).rounded() / 100, "entriesPerSecond": Int(Double(result.entries) / elapsed),
          "receiptsChecked": result.receiptsChecked])
}

func fill(path: String, receipts: Int) throws {
    for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    let till = try engine(path)
    let start = monotonic()
    var shift = 0
    for index in 0..<receipts {
        if index % 1000 == 0 {
            if index > 0 { _ = try till.closeShift(commandID: "close-\(shift)", user: "anna", countedCash: nil, cashLeft: 0) }
            shift += 1
            _ = try till.openShift(commandID: "open-\(shift)", user: "anna", countedFloat: 0)
        }
        _ = try till.finalizeSale(sale("h-\(index)", index), user: "anna")
    }
    _ = try till.closeShift(commandID: "close-\(shift)", user: "anna", countedCash: nil, cashLeft: 0)
    emit(["receipts": receipts, "shifts": shift, "seconds": Int(monotonic() - start)])
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

func reports(path: String, repeats: Int) throws {
    let till = try engine(path)
    let history = try till.counters().receiptNumber
    var xTimes: [Double] = []
    var zTimes: [Double] = []
    var lastX: ShiftReport?
    for round in 0..<5 {
        _ = try till.openShift(commandID: "bench-open-\(history)-\(round)", user: "anna", countedFloat: 0)
        for index in 0..<200 { _ = try till.finalizeSale(sale("bench-\(history)-\(round)-\(index)", index), user: "anna") }
        for _ in 0..<max(1, repeats / 5) {
            let start = monotonic()
            lastX = try till.xReport(user: "anna")
            xTimes.append(monotonic() - start)
        }
        let start = monotonic()
        _ = try till.closeShift(commandID: "bench-close-\(history)-\(round)", user: "anna", countedCash: nil, cashLeft: 0)
        zTimes.append(monotonic() - start)
    }
    guard let lastX, lastX.receiptCount == 200 else { fail("the X report did not count the shift's 200 receipts") }
    emit(["historyReceipts": history, "xReportMicroseconds": Int(median(xTimes) * 1e6), "zCloseMicroseconds": Int(median(zTimes) * 1e6),
          "xRuns": xTimes.count, "zRuns": zTimes.count])
}

do {
    switch (arguments.count > 1 ? arguments[1] : "", arguments.count) {
    case ("durable", 4):
        try durable(directory: arguments[2], seconds: Double(arguments[3]) ?? 10)
    case ("journal", 4):
        try journalCost(directory: arguments[2], seconds: Double(arguments[3]) ?? 10)
    case ("verify", 3):
        try verify(path: arguments[2])
    case ("sign", 2):
        let module = try SoftwareFiscalModule.load(path: "/tmp/sessionbench-sign.key")
        let message = [UInt8](repeating: 0x41, count: 1400)
        let start = monotonic()
        for _ in 0..<5000 { _ = try module.sign(message) }
        emit(["signMicroseconds": Int((monotonic() - start) / 5000 * 1e6)])
    case ("cpu", 3):
        try cpuOnly(seconds: Double(arguments[2]) ?? 5, journal: false)
    case ("cpu", 4):
        try cpuOnly(seconds: Double(arguments[2]) ?? 5, journal: arguments[3] == "journal")
    case ("fill", 4):
        try fill(path: arguments[2], receipts: Int(arguments[3]) ?? 1000)
    case ("reports", 4):
        try reports(path: arguments[2], repeats: Int(arguments[3]) ?? 50)
    default:
        fail("usage: SessionBench durable DIR SECONDS | journal DIR SECONDS | fill DB RECEIPTS | reports DB REPEATS | verify DB | cpu SECONDS")
    }
} catch {
    fail("\(error)")
}
