// The session engine's benchmarks; prints one JSON object per run.
//
//   SessionBench durable DIR SECONDS
//       Finalized receipts per second, each its own durable transaction (WAL, synchronous=FULL), against the raw
//       fsync rate of the same disk (4 KiB append + fsync), measured in the same run, in DIR; and SQLite's floor there:
//       one-row durable transactions with the engine's settings through the C API; and the disk's floor for a receipt:
//       as many WAL frames as a receipt commits here (measured), written and fdatasync'ed with no other work.
//   SessionBench pages DIR RECEIPTS
//       The WAL frames each of RECEIPTS receipts commits (after 2,000), by the table or index each page belongs to.
//   SessionBench fill DB RECEIPTS
//       Builds a terminal database with RECEIPTS receipts of history in closed shifts of 1,000 receipts each, through
//       the engine (so every receipt takes the real path). Point DB at tmpfs and copy it to disk afterwards: the fill
//       is set-up, not measurement.
//   SessionBench controlunit DIR SECONDS
//       Durable finalization under the Swedish profile (a registration committed as pending, sent to the in-process
//       control-unit simulator, then the receipt) against the same engine without a profile, alternated in blocks of
//       100 in one run, in DIR. The simulator answers at once: this is Kassa's own cost of the pending registration.
//   SessionBench reports DB REPEATS
//       Opens a filled database, sells 200 receipts in a new shift, then times the X report (REPEATS times) and a
//       close with its Z report (5 shifts). Peak memory is this process's maximum RSS.
import FiscalProfiles
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

/// A fresh probe database at `path` (removed before and after) through SQLite's C API; `run` executes SQL or fails.
func withProbeDatabase<T>(_ path: String, _ body: (OpaquePointer, (String) -> Void) throws -> T) rethrows -> T {
    for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    var handle: OpaquePointer?
    guard sqlite3_open(path, &handle) == SQLITE_OK, let db = handle else { fail("cannot open \(path)") }
    defer {
        sqlite3_close(db)
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }
    return try body(db) { sql in
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { fail("\(sql): \(String(cString: sqlite3_errmsg(db)))") }
    }
}

/// SQLite's own floor on this disk: one-row transactions (BEGIN IMMEDIATE, INSERT, COMMIT) through the C API with the
/// engine's settings (1 KiB pages, WAL, synchronous=FULL), no Swift work at all, for `seconds`.
func sqliteFloorRate(directory: String, seconds: Double) -> Double {
    let path = directory + "/floor.sqlite"
    return withProbeDatabase(path) { db, run in
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

/// The floor of any receipt design on this disk: the least a durable, numbered, signed receipt can write, through the C
/// API with no Swift work but the signature. One `BEGIN IMMEDIATE` transaction with the engine's settings (1 KiB pages,
/// WAL, synchronous=FULL) that takes the next number and the grand totals from a one-row counter (`RETURNING`), inserts
/// the receipt as one row with its lines and payments inline (~400 bytes, keyed by number, the client's id under a
/// unique index), moves one row of shift totals, and — with `signed` — signs ~600 bytes with ES256 and appends the
/// journal entry. Nothing a real engine can leave out: it must also price, validate, check permissions and build the
/// body, which this floor does not.
func minimalReceiptRate(directory: String, seconds: Double, signed: Bool) throws -> Double {
    let path = directory + "/minimal.sqlite"
    return try withProbeDatabase(path) { db, run in
        run("""
            PRAGMA page_size = 1024; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
            CREATE TABLE counters (id INTEGER PRIMARY KEY, receipt_no INTEGER NOT NULL, gt_sales INTEGER NOT NULL, journal_head BLOB NOT NULL);
            INSERT INTO counters VALUES (1, 0, 0, zeroblob(32));
            CREATE TABLE receipt (no INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, session INTEGER NOT NULL, cashier TEXT NOT NULL,
              created_at TEXT NOT NULL, total INTEGER NOT NULL, vat_total INTEGER NOT NULL, gt_sales INTEGER NOT NULL, body TEXT NOT NULL);
            CREATE TABLE shift_totals (session INTEGER PRIMARY KEY, receipts INTEGER NOT NULL, sales INTEGER NOT NULL, vat INTEGER NOT NULL,
              cash INTEGER NOT NULL, card INTEGER NOT NULL);
            INSERT INTO shift_totals VALUES (1, 0, 0, 0, 0, 0);
            CREATE TABLE journal (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL, created_at TEXT NOT NULL,
              prev_hash BLOB NOT NULL, hash BLOB NOT NULL, signature BLOB NOT NULL);
            """)
        let sql = [
            "BEGIN IMMEDIATE",
            "UPDATE counters SET receipt_no = receipt_no + 1, gt_sales = gt_sales + ?1 WHERE id = 1 RETURNING receipt_no, gt_sales, journal_head",
            "INSERT INTO receipt VALUES (?1, ?2, 1, 'anna', '2026-11-23T12:00:00.000Z', ?3, ?4, ?5, ?6)",
            "UPDATE shift_totals SET receipts = receipts + 1, sales = sales + ?1, vat = vat + ?2, cash = cash + ?3, card = card + ?4 WHERE session = 1",
            "INSERT INTO journal VALUES (?1, 'receipt', ?2, '2026-11-23T12:00:00.000Z', ?3, ?4, ?5)",
            "UPDATE counters SET journal_head = ?1 WHERE id = 1",
            "COMMIT",
        ]
        var statements = [OpaquePointer?](repeating: nil, count: sql.count)
        for (index, text) in sql.enumerated() {
            guard sqlite3_prepare_v3(db, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statements[index], nil) == SQLITE_OK else {
                fail("cannot prepare \(text): \(String(cString: sqlite3_errmsg(db)))")
            }
        }
        defer { for statement in statements { sqlite3_finalize(statement) } }
        let module = signed ? try SoftwareFiscalModule.load(path: directory + "/minimal.key") : nil
        defer { unlink(directory + "/minimal.key"); unlink(directory + "/minimal.counter") }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        func step(_ index: Int) -> Bool {
            let result = sqlite3_step(statements[index])
            guard result == SQLITE_DONE || result == SQLITE_ROW else { fail("\(sql[index]): \(String(cString: sqlite3_errmsg(db)))") }
            return result == SQLITE_ROW
        }
        var count = 0
        let start = monotonic()
        while monotonic() - start < seconds {
            let total = Int64(14800 + count % 7)
            let body = "[{\"line\":1,\"name\":\"Kaffe bryggt\",\"quantity_milli\":2000,\"unit_price\":3500,\"amount\":7000,\"vat_rate_bp\":1200,\"vat\":750},"
                + "{\"line\":2,\"name\":\"Kanelbulle\",\"quantity_milli\":1000,\"unit_price\":2900,\"amount\":2900,\"vat_rate_bp\":1200,\"vat\":311},"
                + "{\"line\":3,\"name\":\"Tidning\",\"quantity_milli\":1000,\"unit_price\":4900,\"amount\":4900,\"vat_rate_bp\":600,\"vat\":277}],"
                + "[{\"method\":\"cash\",\"amount\":\(total)}]"
            let id = "d-\(count)"
            _ = step(0)
            sqlite3_reset(statements[0])
            sqlite3_bind_int64(statements[1], 1, total)
            guard step(1) else { fail("no counter row") }
            let number = sqlite3_column_int64(statements[1], 0)
            let grandTotal = sqlite3_column_int64(statements[1], 1)
            let head = [UInt8](UnsafeRawBufferPointer(start: sqlite3_column_blob(statements[1], 2), count: Int(sqlite3_column_bytes(statements[1], 2))))
            _ = step(1)
            sqlite3_reset(statements[1])
            sqlite3_bind_int64(statements[2], 1, number)
            sqlite3_bind_text(statements[2], 2, id, -1, transient)
            sqlite3_bind_int64(statements[2], 3, total)
            sqlite3_bind_int64(statements[2], 4, 1338)
            sqlite3_bind_int64(statements[2], 5, grandTotal)
            sqlite3_bind_text(statements[2], 6, body, -1, transient)
            _ = step(2)
            sqlite3_reset(statements[2])
            for (column, value) in [total, 1338, total, 0].enumerated() { sqlite3_bind_int64(statements[3], Int32(column + 1), value) }
            _ = step(3)
            sqlite3_reset(statements[3])
            if let module {
                let message = head + Array("receipt|\(id)|\(number)|\(grandTotal)|".utf8) + Array(body.utf8)
                let (signature, counter) = try module.sign(message)
                let hash = Array(Journal.signedDigest(message: message, counter: counter))
                sqlite3_bind_int64(statements[4], 1, number)
                sqlite3_bind_text(statements[4], 2, id, -1, transient)
                sqlite3_bind_blob(statements[4], 3, head, Int32(head.count), transient)
                sqlite3_bind_blob(statements[4], 4, hash, Int32(hash.count), transient)
                sqlite3_bind_blob(statements[4], 5, signature, Int32(signature.count), transient)
                _ = step(4)
                sqlite3_reset(statements[4])
                sqlite3_bind_blob(statements[5], 1, hash, Int32(hash.count), transient)
                _ = step(5)
                sqlite3_reset(statements[5])
            }
            _ = step(6)
            sqlite3_reset(statements[6])
            count += 1
        }
        return Double(count) / (monotonic() - start)
    }
}

func durable(directory: String, seconds: Double) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/durable.sqlite"
    for suffix in ["", "-wal", "-shm", ".key", ".counter"] { unlink(path + suffix) }
    let till = try engine(path)
    _ = try till.openShift(commandID: "open", user: "anna", countedFloat: 0)
    // Alternate the two measurements twice, so that a disk's mood swing shows rather than biases one side.
    var raw: [Double] = []
    var floor: [Double] = []
    var receipts: [Double] = []
    var index = 0
    var cpu = 0.0
    var walFloor: [Double] = []
    var minimal: [Double] = []
    var minimalSigned: [Double] = []
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
        minimal.append(try minimalReceiptRate(directory: directory, seconds: seconds / 4, signed: false))
        minimalSigned.append(try minimalReceiptRate(directory: directory, seconds: seconds / 4, signed: true))
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
    for suffix in ["", "-wal", "-shm", ".key", ".counter"] { unlink(path + suffix) }
    let floorRate = floor.reduce(0, +) / Double(floor.count)
    let walFloorRate = walFloor.reduce(0, +) / Double(walFloor.count)
    let minimalRate = minimal.reduce(0, +) / Double(minimal.count)
    let minimalSignedRate = minimalSigned.reduce(0, +) / Double(minimalSigned.count)
    emit(["minimalReceiptPerSecond": Int(minimalRate), "minimalReceiptRatio": (minimalRate / rawRate * 1000).rounded() / 1000,
          "minimalSignedReceiptPerSecond": Int(minimalSignedRate), "minimalSignedReceiptRatio": (minimalSignedRate / rawRate * 1000).rounded() / 1000,
          "walFramesPerReceipt": (frames * 10).rounded() / 10, "receiptWALFloorPerSecond": Int(walFloorRate),
          "receiptWALFloorRatio": (walFloorRate / rawRate * 1000).rounded() / 1000,"rawFsyncPerSecond": Int(rawRate), "receiptsPerSecond": Int(receiptRate),
          "sqliteOneRowTransactionsPerSecond": Int(floorRate), "sqliteFloorRatio": (floorRate / rawRate * 1000).rounded() / 1000,
          "ratio": (receiptRate / rawRate * 1000).rounded() / 1000, "receipts": index,
          "cpuMicrosecondsPerReceipt": Int(cpu / Double(timed) * 1e6)])
}

/// Which b-trees a receipt's commit writes: after each of `receipts` receipts (following 2,000 warm-up receipts), the
/// WAL's frame headers name the pages it wrote, and `dbstat` names each page's table or index ("page 1" is the header).
func pages(directory: String, receipts: Int) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/pages.sqlite"
    for suffix in ["", "-wal", "-shm", ".key", ".counter"] { unlink(path + suffix) }
    defer { for suffix in ["", "-wal", "-shm", ".key", ".counter"] { unlink(path + suffix) } }
    let till = try engine(path)
    _ = try till.openShift(commandID: "open", user: "anna", countedFloat: 0)
    var index = 0
    for _ in 0..<2000 {
        _ = try till.finalizeSale(sale("p-\(index)", index), user: "anna")
        index += 1
    }
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK, let db else { fail("cannot open \(path)") }
    defer { sqlite3_close(db) }
    guard sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nil, nil, nil) == SQLITE_OK else { fail("cannot read \(path)") }
    var written: [Int: Int] = [:]
    var frames = 0
    for _ in 0..<receipts {
        guard sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil) == SQLITE_OK else {
            fail("checkpoint: \(String(cString: sqlite3_errmsg(db)))")
        }
        _ = try till.finalizeSale(sale("p-\(index)", index), user: "anna")
        index += 1
        guard let wal = FileManager.default.contents(atPath: path + "-wal"), wal.count > 32 else { fail("no WAL after a receipt") }
        let bytes = [UInt8](wal)
        let pageSize = Int(bytes[8]) << 24 | Int(bytes[9]) << 16 | Int(bytes[10]) << 8 | Int(bytes[11])
        var offset = 32
        while offset + 24 + pageSize <= bytes.count {
            let page = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            written[page, default: 0] += 1
            frames += 1
            offset += 24 + pageSize
        }
    }
    var owner: [Int: String] = [1: "page 1 (header)"]
    var statement: OpaquePointer?
    guard sqlite3_prepare_v2(db, "SELECT name, pageno, pagetype FROM dbstat", -1, &statement, nil) == SQLITE_OK else {
        fail("dbstat: \(String(cString: sqlite3_errmsg(db)))")
    }
    while sqlite3_step(statement) == SQLITE_ROW {
        let name = String(cString: sqlite3_column_text(statement, 0))
        let type = String(cString: sqlite3_column_text(statement, 2))
        owner[Int(sqlite3_column_int64(statement, 1))] = "\(name) \(type)"
    }
    sqlite3_finalize(statement)
    var byTree: [String: Double] = [:]
    for (page, count) in written { byTree[owner[page] ?? "free or new", default: 0] += Double(count) / Double(receipts) }
    emit(["framesPerReceipt": Double(frames) / Double(receipts), "framesPerReceiptByBTree": byTree.mapValues { ($0 * 100).rounded() / 100 }])
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
        for suffix in ["", "-wal", "-shm", ".key", ".counter"] { unlink(path + suffix) }
        paths.append(path)
        let till = try engine(path, journal: journal)
        _ = try till.openShift(commandID: "open", user: "anna", countedFloat: 0)
        tills[journal] = till
    }
    let run = try alternate(tills, seconds: seconds, prefix: "c")
    let (block, elapsed, cpu, ratios, count) = (run.block, run.elapsed, run.cpu, run.ratios, run.count)
    guard try tills[true]!.verifyJournal().ok else { fail("the benchmark's journal does not verify") }
    for path in paths { for suffix in ["", "-wal", "-shm", ".key", ".counter"] { unlink(path + suffix) } }
    let sorted = ratios.sorted()
    func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
    emit(["receiptsPerSecondWithoutJournal": Int(Double(count) / elapsed[false]!), "receiptsPerSecondWithJournal": Int(Double(count) / elapsed[true]!),
          "costRatio": rounded(sorted[sorted.count / 2]), "costRatioQuartiles": [rounded(sorted[sorted.count / 4]), rounded(sorted[3 * sorted.count / 4])],
          "costRatioOfTotals": rounded(elapsed[true]! / elapsed[false]!), "rounds": ratios.count, "receiptsPerRoundAndSide": block,
          "cpuMicrosecondsWithoutJournal": Int(cpu[false]! / Double(count) * 1e6),
          "cpuMicrosecondsWithJournal": Int(cpu[true]! / Double(count) * 1e6)])
}

/// Sells blocks of 100 receipts on two tills (`false` and `true`), alternating which goes first, for `seconds`: the
/// elapsed and CPU time of each side, and the ratio true/false of each round.
func alternate(_ tills: [Bool: SessionEngine], seconds: Double, prefix: String) throws
    -> (block: Int, elapsed: [Bool: Double], cpu: [Bool: Double], ratios: [Double], count: Int)
{
    let block = 100
    var elapsed: [Bool: Double] = [true: 0, false: 0]
    var cpu: [Bool: Double] = [true: 0, false: 0]
    var ratios: [Double] = []
    var count = 0
    let start = monotonic()
    var round = 0
    while monotonic() - start < seconds {
        var time: [Bool: Double] = [:]
        for side in round % 2 == 0 ? [false, true] : [true, false] {
            let till = tills[side]!
            let cpuStart = cpuSeconds()
            let blockStart = monotonic()
            for index in count..<(count + block) { _ = try till.finalizeSale(sale("\(prefix)-\(index)", index), user: "anna") }
            time[side] = monotonic() - blockStart
            cpu[side]! += cpuSeconds() - cpuStart
            elapsed[side]! += time[side]!
        }
        ratios.append(time[true]! / time[false]!)
        count += block
        round += 1
    }
    return (block, elapsed, cpu, ratios, count)
}

/// Receipts per second with and without the Swedish profile's pending registrations (decision 0018).
func controlUnitCost(directory: String, seconds: Double) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var tills: [Bool: SessionEngine] = [:]
    var paths: [String] = []
    let unit = ControlUnitSimulator()
    for registered in [false, true] {
        let path = directory + "/unit-\(registered).sqlite"
        for suffix in ["", "-wal", "-shm", ".key", ".counter"] { unlink(path + suffix) }
        paths.append(path)
        let till = try SessionEngine(store: SessionStore.open(path: path), identity: identity,
                                     fiscalModule: try SoftwareFiscalModule.load(path: path + ".key"), profiles: [SwedishProfile(unit: unit)])
        _ = try till.addUser(id: "maria", name: "Maria", role: "manager", by: nil)
        _ = try till.addUser(id: "anna", name: "Anna", role: "cashier", by: "maria")
        try till.setSetting("cash-control", "off", by: "maria")
        if registered {
            for (key, value) in [("fiscal-profile", "se"), ("se-org-number", "5561234567"), ("se-pos-id", "KASSA1")] {
                try till.setSetting(key, value, by: "maria")
            }
        }
        _ = try till.openShift(commandID: "open", user: "anna", countedFloat: 0)
        tills[registered] = till
    }
    let run = try alternate(tills, seconds: seconds, prefix: "u")
    let (block, elapsed, ratios, count) = (run.block, run.elapsed, run.ratios, run.count)
    guard try tills[true]!.verifyJournal().ok, try tills[true]!.pendingRegistrations().isEmpty else { fail("the Swedish till does not verify") }
    guard unit.memory().conflicts.isEmpty, unit.memory().entries.count == count else { fail("the simulator holds \(unit.memory().entries.count) of \(count)") }
    for path in paths { for suffix in ["", "-wal", "-shm", ".key", ".counter"] { unlink(path + suffix) } }
    let sorted = ratios.sorted()
    func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
    emit(["receiptsPerSecondWithoutProfile": Int(Double(count) / elapsed[false]!), "receiptsPerSecondSwedish": Int(Double(count) / elapsed[true]!),
          "costRatio": rounded(sorted[sorted.count / 2]), "costRatioQuartiles": [rounded(sorted[sorted.count / 4]), rounded(sorted[3 * sorted.count / 4])],
          "rounds": ratios.count, "receiptsPerRoundAndSide": block])
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
    case ("controlunit", 4):
        try controlUnitCost(directory: arguments[2], seconds: Double(arguments[3]) ?? 10)
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
    case ("pages", 4):
        try pages(directory: arguments[2], receipts: Int(arguments[3]) ?? 50)
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
