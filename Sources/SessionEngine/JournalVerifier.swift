@preconcurrency import Crypto
import Dispatch
import Foundation
import GRDB
import PrivateFiles
import Synchronization

/// What `kassa journal verify` found.
public struct JournalVerification: Sendable, Codable, Equatable {
    public enum ProblemKind: String, Sendable, Codable {
        /// The entry's content no longer gives its hash, or the fact it records was changed in its own table.
        case modified
        /// An entry (or a fact's entry) is not there: a gap in the sequence, a broken link to a removed entry, or a
        /// receipt or Z number without an entry.
        case missing
        /// Every entry is intact but they are out of order: an entry links to one other than the entry before it.
        case reordered
        /// The content and hash agree but the module's signature does not verify (or the module is unknown).
        case badSignature = "bad_signature"
    }

    public struct Problem: Sendable, Codable, Equatable {
        public var kind: ProblemKind
        /// The first bad entry's sequence number (nil when the problem is a fact with no entry at all).
        public var seq: Int64?
        public var detail: String
    }

    public var terminal: String
    public var entries: Int64
    public var receiptsChecked: Int64
    public var zReportsChecked: Int64
    /// Unsigned entries recording a fiscal module failure (allowed, and listed).
    public var moduleFailures: Int64
    public var modules: [String]
    public var problem: Problem?
    public var ok: Bool { problem == nil }
}

extension SessionEngine {
    /// Checks every link, hash and signature of the journal, the journal's head against the terminal's counters, each
    /// receipt and Z against the entry that recorded it, and that every receipt number (both series) and every Z number
    /// has exactly one entry. Stops at the first bad entry and names it. Signatures are checked on all cores.
    /// `progress` is called after each batch with the entries checked so far and the number the terminal recorded (a
    /// million entries take about a minute: the CLI shows it).
    ///
    /// `anchors` are the fiscal modules' own signature counters kept outside the database (`fiscal-module.counter`): a
    /// journal whose last entry signed by a module is behind that module's anchor has lost its tail.
    public func verifyJournal(batchSize: Int = 4096, anchors: [(serial: String, counter: Int64)] = [],
                              progress: ((_ checked: Int64, _ recorded: Int64) -> Void)? = nil) throws(SessionError)
        -> JournalVerification
    {
        try store.read { db in
            // The pooled connection goes back with SQLite's defaults (the check raises them; see `run`).
            defer { try? db.execute(sql: "PRAGMA cache_size = -2000; PRAGMA mmap_size = 0") }
            var check = JournalCheck(engine: self, db: db, batchSize: batchSize)
            check.anchors = anchors
            check.progress = progress
            return try check.run()
        }
    }
}

struct JournalCheck {
    let engine: SessionEngine
    let db: Database
    let batchSize: Int
    var result: JournalVerification
    /// Registered ES256 keys (X9.63), by module serial.
    var keys: [String: Data] = [:]
    var seenReceipts: [Bool] = []
    var seenTraining: [Bool] = []
    var seenZ: [Bool] = []
    var lastSeq: Int64 = 0
    var lastHash: [UInt8]
    var progress: ((Int64, Int64) -> Void)?
    /// The journal's head as the terminal's counters recorded it (read once, in the check's snapshot): the entries
    /// `progress` counts against, and what `checkEnd` holds the journal's end to. Nil when the terminal has no counters.
    var recordedHead: (seq: Int64, hash: [UInt8]?)?
    /// The modules' anchors (`verifyJournal(anchors:)`) and the last counter each module signed in the journal.
    var anchors: [(serial: String, counter: Int64)] = []
    var lastCounter: [String: Int64] = [:]
    var lastSigner: (module: String, counter: Int64) = ("", 0)
    /// The grand totals recomputed from the receipts so far (nil before the first journaled receipt), and the stored
    /// counters they must end at.
    var grandTotals: (sales: Int64, returns: Int64)?
    var storedGrandTotals: (sales: Int64, returns: Int64) = (0, 0)
    /// A counter beyond anything it could count (found at the start, reported at the end unless an entry fails first).
    var counterProblem: JournalVerification.Problem?
    /// Each shift's last journaled row (its open, close or post entry), and each cash movement's journaled body, to be
    /// held against the rows as they are now.
    var shiftBodies: [String: (seq: Int64, body: String)] = [:]
    var movementBodies: [String: (seq: Int64, body: String)] = [:]
    /// Each shift's running totals recomputed from its journaled receipts and cash movements, as the walk meets them, and
    /// the shifts whose opening is journaled (only those are wholly covered: a database from before the journal has
    /// shifts with receipts that no entry vouches for).
    var runningTotals: [String: [String: (count: Int64, amount: Int64)]] = [:]
    var journaledShifts: Set<String> = []
    /// The shifts opened by an entry that signed its state (since migration v16): every entry of theirs signed the digest
    /// of their running totals, and every one of their totals is recomputed.
    var stateShifts: Set<String> = []
    /// Per fiscal profile, the `receipt_code.seq` of the last journaled receipt's code.
    var lastCodeSeq: [String: (seq: Int64, ref: String)] = [:]
    /// How VAT is rounded (`vat-rounding`), as the journaled settings change it.
    var vatRounding = "line"

    init(engine: SessionEngine, db: Database, batchSize: Int) {
        self.engine = engine
        self.db = db
        self.batchSize = batchSize
        result = JournalVerification(terminal: engine.terminalID, entries: 0, receiptsChecked: 0, zReportsChecked: 0, moduleFailures: 0,
                                     modules: [], problem: nil)
        lastHash = Journal.genesis(terminal: engine.terminalID)
    }

    mutating func run() throws -> JournalVerification {
        for row in try Row.fetchAll(db, sql: "SELECT serial, algorithm, public_key FROM fiscal_module ORDER BY serial") {
            // Every value read here may have been changed to another type: read with `decode`, which throws, never traps.
            let serial: String = try row.decode(forColumn: "serial")
            result.modules.append(serial)
            if try row.decode(String.self, forColumn: "algorithm") == "ES256" { keys[serial] = try? row.decode(Data.self, forColumn: "public_key") }
        }
        let counters = try engine.counterValues(db)
        storedGrandTotals = (counters.grandTotalSales, counters.grandTotalReturns)
        recordedHead = try Row.fetchOne(db, sql: "SELECT journal_seq, journal_head FROM terminal_counters WHERE terminal_id = ?",
                                        arguments: [engine.terminalID]).map { row in
                                            let head: Data?
                                            do {
                                                head = try row.decode(Data?.self, atIndex: 1)
                                            } catch {
                                                head = Data("unreadable".utf8)
                                            }
                                            return (try row.decode(Int64.self, atIndex: 0), head.map { [UInt8]($0) })
                                        }
        // The counters size the "seen" tables, but a changed counter must not size them: no number can be beyond every
        // receipt row and journal entry there is, so such a counter is a finding, not an allocation.
        let bound = (try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM receipt") ?? 0) + (try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM journal") ?? 0)
        for (name, value) in [("receipt_no", counters.receiptNumber), ("training_no", counters.trainingNumber), ("z_no", counters.zNumber)]
        where value < 0 || value > bound {
            counterProblem = .init(kind: .modified, seq: nil, detail: "the terminal's counter \(name) (terminal_counters) is \(value), "
                + "beyond every receipt and journal entry there is: it was changed")
            break
        }
        func size(_ counter: Int64) -> Int { Int(min(max(counter, 0), bound)) + 1 }
        seenReceipts = [Bool](repeating: false, count: size(counters.receiptNumber))
        seenTraining = [Bool](repeating: false, count: size(counters.trainingNumber))
        seenZ = [Bool](repeating: false, count: size(counters.zNumber))
        // The receipts are looked up by id all over their tables: read the file through a memory map (no copy per page
        // read; the mapped pages are the kernel's page cache, shown in RSS but not allocated) with a larger page cache.
        // Measured: 15–17.6k → 19.4–20.8k entries/s on 1M entries (Docs/PERFORMANCE.md).
        try db.execute(sql: "PRAGMA cache_size = -131072")
        try db.execute(sql: "PRAGMA mmap_size = 4294967296")
        // The entries are read a batch at a time through SQLite's C API (GRDB's rows cost more than SQLite's own work).
        let read = try db.cachedStatement(sql: "SELECT \(JournalEntry.columns) FROM journal WHERE seq > ? ORDER BY seq LIMIT ?")
        // A pipeline: while the cores check batch N (hashes, signatures, bodies), this thread reads batch N + 1 and its
        // receipts; then batch N is walked in order.
        var current: (batch: [JournalEntry], facts: [ReceiptFacts?], problems: [JournalVerification.Problem?], checks: PendingChecks)?
        var unreadable: JournalVerification.Problem?
        var readUpTo = Int64.min
        while true {
            var batch: [JournalEntry] = []
            batch.reserveCapacity(batchSize)
            var rows = 0
            if unreadable == nil {
                let before = current?.batch.last?.seq ?? lastSeq
                try read.runRaw(db, bind: { $0.int(readUpTo); $0.int(Int64(batchSize)) }) { handle in
                    rows += 1
                    guard unreadable == nil else { return }
                    let row = RawRow(handle: handle)
                    do {
                        batch.append(try JournalEntry(row))
                    } catch {
                        let seq = (try? row.int(0)) ?? (batch.last?.seq ?? before) + 1
                        unreadable = .init(kind: .modified, seq: seq, detail: "entry \(seq) cannot be read as an entry (\(error)): its row was changed")
                    }
                }
            }
            if let last = batch.last { readUpTo = last.seq }
            let (facts, problems) = try Self.readFacts(batch, db: db)
            let checks = PendingChecks.start(batch, facts: facts, keys: keys)
            if let previous = current {
                try walk(previous.batch, facts: previous.facts, factProblems: previous.problems, checks: previous.checks.wait())
                if result.problem != nil { return result }
                progress?(result.entries, recordedHead?.seq ?? 0)
            }
            current = (batch, facts, problems, checks)
            if rows < batchSize || unreadable != nil { break }
        }
        if let last = current {
            try walk(last.batch, facts: last.facts, factProblems: last.problems, checks: last.checks.wait())
            if result.problem != nil { return result }
            progress?(result.entries, recordedHead?.seq ?? 0)
        }
        if let unreadable {
            result.problem = unreadable
            return result
        }
        checkEnd()
        return result
    }

    /// The facts of a batch are read from their tables first (one query per table); then every entry's hash, signature
    /// and receipt body are checked on all cores; then the chain and the numbers are walked in order, and the first
    /// problem by sequence number wins.
    mutating func walk(_ batch: [JournalEntry], facts: [ReceiptFacts?], factProblems: [JournalVerification.Problem?],
                       checks: ParallelChecks) throws {
        for (index, entry) in batch.enumerated() {
            func stop(_ kind: JournalVerification.ProblemKind, _ detail: String) {
                result.problem = .init(kind: kind, seq: entry.seq, detail: detail)
            }
            if entry.seq != lastSeq + 1 {
                return stop(.missing, "entries \(lastSeq + 1)…\(entry.seq - 1) are missing before entry \(entry.seq)")
            }
            if !checks.hash[index] {
                if entry.bodyByReference, let receipt = facts[index] {
                    return stop(.modified, "receipt \(receipt.number) (\(entry.ref)) or entry \(entry.seq) was changed: they no longer give the entry's hash")
                }
                return stop(.modified, "entry \(entry.seq) (\(entry.kind) \(entry.ref)) was changed: its content no longer gives its hash")
            }
            if entry.previousHash != lastHash {
                if let other = try Int64.fetchOne(db, sql: "SELECT seq FROM journal WHERE hash = ?", arguments: [Data(entry.previousHash)]) {
                    return stop(.reordered, "entry \(entry.seq) follows entry \(other), not entry \(entry.seq - 1): the entries were reordered")
                }
                return stop(.missing, "the entry before entry \(entry.seq) is not in the journal: an entry was removed")
            }
            if !checks.signature[index] {
                let reason = keys[entry.module] == nil ? "its module \(entry.module) is not registered" : "the signature of \(entry.module) does not verify"
                return stop(.badSignature, "entry \(entry.seq) (\(entry.kind) \(entry.ref)): \(reason)")
            }
            if let problem = factProblems[index] { return stop(problem.kind, problem.detail) }
            if Journal.isReceiptKind(entry.kind), let receipt = facts[index] {
                if !checks.body[index] {
                    return stop(.modified, "receipt \(receipt.number) (\(entry.ref)) differs from what entry \(entry.seq) signed")
                }
                let fresh = entry.kind == "training" ? mark(&seenTraining, receipt.number) : mark(&seenReceipts, receipt.number)
                if !fresh { return stop(.modified, "receipt number \(receipt.number) is journaled twice (entry \(entry.seq))") }
                if entry.kind != "training", let problem = chainGrandTotals(receipt) { return stop(.modified, problem) }
                // A profile's codes chain in `receipt_code.seq` order (the DEP export's order): it must be the journal's.
                if let order = receipt.codeOrder {
                    if let last = lastCodeSeq[order.profile], last.seq >= order.seq {
                        return stop(.reordered, "the \(order.profile) code of receipt \(receipt.number) (\(entry.ref)) is ordered before that of "
                            + "\(last.ref) (receipt_code.seq \(order.seq) ≤ \(last.seq)), but the journal has it after: the code rows were reordered")
                    }
                    lastCodeSeq[order.profile] = (order.seq, entry.ref)
                }
                accumulate(receipt)
                result.receiptsChecked += 1
            }
            if !entry.signature.isEmpty {
                // A journal is signed by one module for long stretches: the dictionary is touched only when it changes.
                if entry.module != lastSigner.module {
                    if !lastSigner.module.isEmpty { lastCounter[lastSigner.module] = lastSigner.counter }
                    lastSigner.module = entry.module
                }
                lastSigner.counter = entry.counter
            }
            if entry.kind.hasPrefix("shift_") || entry.kind.hasPrefix("rescue_shift_") {
                shiftBodies[entry.ref] = (entry.seq, entry.body)
                if entry.kind == "shift_open" || entry.kind == "rescue_shift_open" {
                    journaledShifts.insert(entry.ref)
                    if entry.state != nil { stateShifts.insert(entry.ref) }
                }
            } else if entry.kind == "cash_in" || entry.kind == "cash_out" || entry.kind == "no_sale" {
                movementBodies[entry.ref] = (entry.seq, entry.body)
                if let body = try? JSONSerialization.jsonObject(with: Data(entry.body.utf8)) as? [String: Any],
                   let session = body["session"] as? String, let type = body["type"] as? String, let amount = (body["amount"] as? NSNumber)?.int64Value {
                    add(session, "cash_\(type)", 1, amount)
                    if body["reverses"] is String { add(session, "cash_reversals", 1, amount) }
                }
            }
            switch entry.kind {
            case "parked_unfinished", "parked_reduction":
                // A parked sale still open at a Z (unfinished), and lines taken off a parked sale (other reductions).
                let body = try? JSONSerialization.jsonObject(with: Data(entry.body.utf8)) as? [String: Any]
                if let session = body?["session"] as? String, let amount = (body?["amount"] as? NSNumber)?.int64Value {
                    if entry.kind == "parked_unfinished" {
                        add(session, "unfinished", 1, amount)
                    } else if let count = (body?["count"] as? NSNumber)?.int64Value {
                        add(session, "reductions", count, amount)
                    }
                }
            case "copy", "proforma", "void", "setting":
                // What they add to a shift's running totals, and the VAT rounding the receipts after a setting use.
                let body = try? JSONSerialization.jsonObject(with: Data(entry.body.utf8)) as? [String: Any]
                if entry.kind == "setting" {
                    if body?["key"] as? String == "vat-rounding", let value = body?["value"] as? String { vatRounding = value }
                } else if entry.kind == "void" {
                    if let unfinished = body?["unfinished"] as? [String: Any], let session = unfinished["session"] as? String,
                       let amount = (unfinished["amount"] as? NSNumber)?.int64Value {
                        add(session, "unfinished", 1, amount)
                    }
                } else if let session = body?["session"] as? String, let total = (body?["total"] as? NSNumber)?.int64Value {
                    add(session, entry.kind == "copy" ? "copies" : "proforma", 1, total)
                }
            case "z_report":
                if let problem = try checkZ(entry) { return stop(problem.kind, problem.detail) }
                result.zReportsChecked += 1
            default: break
            }
            if let problem = checkState(entry) { return stop(.modified, problem) }
            if entry.signature.isEmpty { result.moduleFailures += 1 }
            lastSeq = entry.seq
            lastHash = entry.hash
            result.entries += 1
        }
    }

    /// Hash, signature and (for receipts) the rebuilt body of every entry, on all cores.
    static func checkInParallel(_ batch: [JournalEntry], facts: [ReceiptFacts?], keys: [String: Data]) -> ParallelChecks {
        let results = Mutex(ParallelChecks(hash: [Bool](repeating: false, count: batch.count), signature: [Bool](repeating: false, count: batch.count),
                                           body: [Bool](repeating: true, count: batch.count)))
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        // The entries are handed out in chunks as threads ask for them, not split up front: the reading thread shares the
        // cores, so a fixed half would leave one core idle at the end of each batch while the other finishes.
        let chunk = 32
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var local: [(Int, Bool, Bool, Bool)] = []
            var parsed: [String: P256.Signing.PublicKey] = [:]
            func key(_ serial: String) -> P256.Signing.PublicKey? {
                if let known = parsed[serial] { return known }
                guard let raw = keys[serial], let key = try? P256.Signing.PublicKey(x963Representation: raw) else { return nil }
                parsed[serial] = key
                return key
            }
            // One buffer per thread for the signed data and one for a stored body's rebuilt twin; the last module's key
            // is kept at hand (a journal is signed by one module for long stretches).
            var signed: [UInt8] = []
            signed.reserveCapacity(4096)
            var rebuilt: [UInt8] = []
            var lastModule: (serial: String, key: P256.Signing.PublicKey?)?
            batch.withUnsafeBufferPointer { batch in
                facts.withUnsafeBufferPointer { facts in
                    var index = 0
                    var end = 0
                    while true {
                        if index == end {
                            index = next.add(chunk, ordering: .relaxed).oldValue
                            guard index < batch.count else { break }
                            end = min(batch.count, index + chunk)
                        }
                        defer { index += 1 }
                        let byReference = batch[index].bodyByReference
                        if byReference && facts[index] == nil {
                            // The receipt's rows are the body and they are missing or unreadable: `readFacts` named the problem.
                            local.append((index, true, true, true))
                            continue
                        }
                        // One SHA-256 serves the hash check and the signature check. A body stored by reference is the
                        // receipt rebuilt from its rows (the hash then covers them); a stored body must also equal the rebuilt one.
                        batch[index].writeSignedData(into: &signed) { out in
                            if byReference {
                                facts[index]!.writeCanonical(to: &out)
                            } else {
                                var body = batch[index].body
                                body.withUTF8 { out.append(contentsOf: $0) }
                            }
                        }
                        let digest = SHA256.hash(data: signed)
                        let hashOK = digest.elementsEqual(batch[index].hash)
                        var signatureOK = false
                        if batch[index].signature.isEmpty {
                            signatureOK = batch[index].kind == Journal.moduleFailureKind
                        } else {
                            let serial = batch[index].module
                            if lastModule?.serial != serial { lastModule = (serial, key(serial)) }
                            if let key = lastModule?.key,
                               let signature = try? P256.Signing.ECDSASignature(rawRepresentation: batch[index].signature) {
                                signatureOK = key.isValidSignature(signature, for: digest)
                            }
                        }
                        var bodyOK = true
                        if !byReference, let receipt = facts[index] {
                            rebuilt.removeAll(keepingCapacity: true)
                            receipt.writeCanonical(to: &rebuilt)
                            var body = batch[index].body
                            bodyOK = body.withUTF8 { stored in rebuilt.elementsEqual(stored) }
                        }
                        local.append((index, hashOK, signatureOK, bodyOK))
                    }
                }
            }
            results.withLock { all in
                for (index, hash, signature, body) in local {
                    all.hash[index] = hash
                    all.signature[index] = signature
                    all.body[index] = body
                }
            }
        }
        return results.withLock { $0 }
    }

    /// The receipts of the batch's receipt entries, read from their tables (nil for other entries), and a problem per
    /// entry whose receipt is missing or unreadable.
    static func readFacts(_ batch: [JournalEntry], db: Database) throws -> ([ReceiptFacts?], [JournalVerification.Problem?]) {
        var facts = [ReceiptFacts?](repeating: nil, count: batch.count)
        var problems = [JournalVerification.Problem?](repeating: nil, count: batch.count)
        // Each receipt id once, at the position of its first entry (a receipt journaled twice shares its facts; `walk` names it).
        var position: [String: Int] = [:]
        var ids: [String] = []
        for (index, entry) in batch.enumerated() where Journal.isReceiptKind(entry.kind) && position[entry.ref] == nil {
            position[entry.ref] = index
            ids.append(entry.ref)
        }
        guard !ids.isEmpty else { return (facts, problems) }
        // Read through SQLite's C API with statements prepared once per width (GRDB's rows and argument conversion were
        // most of this thread's time): a receipt's row with its code, then its lines and payments, one `IN` query per table.
        var receipts = [Result<ReceiptFacts, Error>?](repeating: nil, count: batch.count)
        var lines = [[ReceiptFacts.Line]](repeating: [], count: batch.count)
        var payments = [[(method: String, amount: Int64)]](repeating: [], count: batch.count)
        var unreadable = [Error?](repeating: nil, count: batch.count)
        for start in stride(from: 0, to: ids.count, by: 4096) {
            let chunk = ids[start..<min(ids.count, start + 4096)]
            let width = max(16, 1 << (Int.bitWidth - (chunk.count - 1).leadingZeroBitCount))
            let marks = databaseQuestionMarks(count: width)
            let bind = { (values: inout RawBinder) in
                for id in chunk { values.text(id) }
                for _ in chunk.count..<width { values.null() }
            }
            /// The batch position of the row's receipt (column 0), nil for an id the batch did not ask for.
            func owner(_ row: RawRow) -> Int? { (try? row.text(0)).flatMap { position[$0] } }
            try db.cachedStatement(sql: """
                SELECT \(ReceiptFacts.receiptColumns), c.code, c.seq, c.profile FROM receipt r LEFT JOIN receipt_code c ON c.receipt_id = r.id WHERE r.id IN (\(marks))
                """).runRaw(db, bind: bind) { handle in
                let row = RawRow(handle: handle)
                guard let index = owner(row) else { return }
                receipts[index] = Result {
                    var receipt = try ReceiptFacts(row)
                    receipt.fiscalCode = try row.optionalText(17)
                    if let seq = try row.optionalInt(18) { receipt.codeOrder = (profile: try row.text(19), seq: seq) }
                    return receipt
                }
            }
            try db.cachedStatement(sql: "SELECT \(ReceiptFacts.lineColumns) FROM receipt_line WHERE receipt_id IN (\(marks)) ORDER BY receipt_id, line_no")
                .runRaw(db, bind: bind) { handle in
                    let row = RawRow(handle: handle)
                    guard let index = owner(row) else { return }
                    do { lines[index].append(try ReceiptFacts.Line(row)) } catch { unreadable[index] = error }
                }
            try db.cachedStatement(sql: "SELECT receipt_id, method, amount FROM payment WHERE receipt_id IN (\(marks)) ORDER BY receipt_id, seq")
                .runRaw(db, bind: bind) { handle in
                    let row = RawRow(handle: handle)
                    guard let index = owner(row) else { return }
                    do { payments[index].append((method: try row.text(1), amount: try row.int(2))) } catch { unreadable[index] = error }
                }
        }
        for (index, entry) in batch.enumerated() where Journal.isReceiptKind(entry.kind) {
            let first = position[entry.ref] ?? index
            guard let read = receipts[first] else {
                problems[index] = .init(kind: .missing, seq: entry.seq, detail: "receipt \(entry.ref) of entry \(entry.seq) is not in the receipt table")
                continue
            }
            do {
                if let error = unreadable[first] { throw error }
                var receipt = try read.get()
                receipt.lines = lines[first]
                receipt.payments = payments[first]
                facts[index] = receipt
            } catch {
                problems[index] = .init(kind: .modified, seq: entry.seq,
                                        detail: "receipt \(entry.ref) of entry \(entry.seq) cannot be read (\(error)): its rows were changed")
            }
        }
        return (facts, problems)
    }

    /// A Z entry against its `z_report` row.
    mutating func checkZ(_ entry: JournalEntry) throws -> JournalVerification.Problem? {
        guard let number = Int64(entry.ref.dropFirst()),
              let row = try Row.fetchOne(db, sql: "SELECT * FROM z_report WHERE terminal_id = ? AND z_no = ?", arguments: [engine.terminalID, number])
        else { return .init(kind: .missing, seq: entry.seq, detail: "\(entry.ref) of entry \(entry.seq) is not in the z_report table") }
        guard Canonical.object(SessionEngine.canonicalColumns(row)).bytes == Array(entry.body.utf8) else {
            return .init(kind: .modified, seq: entry.seq, detail: "Z \(number) differs from what entry \(entry.seq) signed")
        }
        if !mark(&seenZ, number) { return .init(kind: .modified, seq: entry.seq, detail: "Z \(number) is journaled twice") }
        return nil
    }

    /// Adds to a shift's recomputed running total (wrapping: an overflow shows as a mismatch, never a trap).
    mutating func add(_ session: String, _ key: String, _ count: Int64, _ amount: Int64) {
        let old = runningTotals[session, default: [:]][key] ?? (0, 0)
        runningTotals[session, default: [:]][key] = (old.count &+ count, old.amount &+ amount)
    }

    /// What a journaled receipt adds to its shift's running totals, key by key as `insertReceipt` adds them.
    mutating func accumulate(_ receipt: ReceiptFacts) {
        let session = receipt.session
        if receipt.kind == "training" { return add(session, "training", 1, receipt.total) }
        var positive: Int64 = 0, negative: Int64 = 0, goods: Int64 = 0, services: Int64 = 0, overrides: Int64 = 0, overridden: Int64 = 0
        var gross: [Int64: Int64] = [:], vat: [Int64: Int64] = [:]
        for line in receipt.lines {
            if line.amount > 0 {
                positive &+= line.amount
                let units = line.quantityMilli % 1000 == 0 ? line.quantityMilli / 1000 : 1
                if line.service { services &+= units } else { goods &+= units }
            } else {
                negative &-= line.amount
            }
            if line.priceOverrideReason != nil {
                overrides &+= 1
                let difference = Int128(line.quantityMilli) * (Int128(line.listPrice) - Int128(line.unitPrice))
                overridden &+= Int64(truncatingIfNeeded: roundedDivision128(difference, 1000))
            }
            gross[line.vatRateBP, default: 0] &+= line.amount
            vat[line.vatRateBP, default: 0] &+= line.vat
        }
        if positive > 0 {
            add(session, "sales", 1, positive)
            if goods > 0 { add(session, "goods", goods, 0) }
            if services > 0 { add(session, "services", services, 0) }
        }
        if negative > 0 { add(session, "returns", 1, negative) }
        if receipt.discountTotal != 0 { add(session, "discounts", 1, receipt.discountTotal) }
        if overrides > 0 { add(session, "price_overrides", overrides, overridden) }
        for (rate, amount) in gross {
            add(session, "vat_gross:\(rate)", 1, amount)
            let tax = vatRounding == "receipt" && rate >= 0 ? VATRate(basisPoints: rate).vat(inGross: amount) : vat[rate] ?? 0
            add(session, "vat_tax:\(rate)", 1, tax)
        }
        for payment in receipt.payments { add(session, "method:\(payment.method)", 1, payment.amount) }
        if receipt.change > 0 { add(session, "change", 1, receipt.change) }
        add(session, "cashier:\(receipt.cashier)", 1, receipt.total)
        add(session, "receipts", 1, receipt.total)
    }

    /// An entry's signed state (`JournalState`) against the walk's recomputation: the grand totals the receipts so far add
    /// up to, and the digest of its shift's running totals. Nil when it agrees (or the entry predates signed states).
    mutating func checkState(_ entry: JournalEntry) -> String? {
        guard let text = entry.state else { return nil }
        guard let state = JournalState(text: text) else { return "entry \(entry.seq) signed a state that cannot be read" }
        if let totals = grandTotals {
            if totals != (state.grandTotalSales, state.grandTotalReturns) {
                return "entry \(entry.seq) (\(entry.kind) \(entry.ref)) signed grand totals \(state.grandTotalSales)/\(state.grandTotalReturns), "
                    + "but the signed receipts up to it add up to \(totals.sales)/\(totals.returns): a grand-total counter was changed"
            }
        } else {
            // No journaled receipt yet: the totals a database from before the journal carried start here.
            grandTotals = (state.grandTotalSales, state.grandTotalReturns)
        }
        if let shift = state.shift, stateShifts.contains(shift) {
            let digest = JournalState.Digest.of(runningTotals[shift] ?? [:])
            if digest != state.totalsDigest {
                return "entry \(entry.seq) (\(entry.kind) \(entry.ref)) signed running totals of shift \(shift) that its receipts, "
                    + "cash movements, copies, pro-forma bills and voids do not give: a running total (session_total) was changed before it was signed"
            }
        }
        return nil
    }

    /// Recomputes the grand totals through a receipt: what it stamped must be what the receipts before it add up to plus
    /// its own lines (a receipt signed on a tampered counter shows here). Nil when it agrees.
    mutating func chainGrandTotals(_ receipt: ReceiptFacts) -> String? {
        var sales: Int64 = 0, returns: Int64 = 0
        for line in receipt.lines {
            let (sum, overflow) = line.amount > 0 ? sales.addingReportingOverflow(line.amount) : returns.addingReportingOverflow(-line.amount)
            if overflow { return "receipt \(receipt.number)'s lines add up beyond the range of an amount" }
            if line.amount > 0 { sales = sum } else { returns = sum }
        }
        // A terminal journaled from its first receipt starts at 0; one with history from before the journal starts where
        // its first journaled receipt says it did.
        let before = grandTotals ?? (receipt.number == 1 ? (0, 0)
            : (receipt.grandTotalSales &- sales, receipt.grandTotalReturns &- returns))
        let (expectedSales, o1) = before.sales.addingReportingOverflow(sales)
        let (expectedReturns, o2) = before.returns.addingReportingOverflow(returns)
        guard !o1, !o2, expectedSales == receipt.grandTotalSales, expectedReturns == receipt.grandTotalReturns else {
            return "receipt \(receipt.number) was signed with grand totals \(receipt.grandTotalSales)/\(receipt.grandTotalReturns), but the "
                + "receipts before it and its own lines give \(expectedSales)/\(expectedReturns): a grand-total counter was changed"
        }
        grandTotals = (expectedSales, expectedReturns)
        return nil
    }

    /// Marks a number as seen; false when it was out of range or seen before.
    func mark(_ seen: inout [Bool], _ number: Int64) -> Bool {
        guard number >= 1, number < seen.count, !seen[Int(number)] else { return false }
        seen[Int(number)] = true
        return true
    }

    /// The journal's end must be the head the counters recorded, and every number must have had its entry.
    mutating func checkEnd() {
        guard let head = recordedHead else { return }
        if head.seq != lastSeq {
            result.problem = .init(kind: .missing, seq: lastSeq + 1,
                                   detail: "the journal ends at entry \(lastSeq) but the terminal recorded \(head.seq) entries: the last ones were removed")
            return
        }
        if lastSeq > 0, let recorded = head.hash, recorded != lastHash {
            result.problem = .init(kind: .modified, seq: lastSeq, detail: "the last entry \(lastSeq) is not the one the terminal recorded")
            return
        }
        if let counterProblem {
            result.problem = counterProblem
            return
        }
        // The grand-total counters must be where the receipts put them.
        if let totals = grandTotals, totals != storedGrandTotals {
            result.problem = .init(kind: .modified, seq: nil, detail: "the terminal's grand-total counters (terminal_counters) say "
                + "\(storedGrandTotals.sales)/\(storedGrandTotals.returns), but the signed receipts add up to \(totals.sales)/\(totals.returns)")
            return
        }
        if !lastSigner.module.isEmpty { lastCounter[lastSigner.module] = lastSigner.counter }
        // A journal behind a module's anchor has lost its tail (the anchor may lag the journal, never lead it).
        for anchor in anchors where anchor.counter > (lastCounter[anchor.serial] ?? 0) {
            result.problem = .init(kind: .missing, seq: lastSeq + 1, detail: "module \(anchor.serial) signed up to counter \(anchor.counter) "
                + "(its anchor, fiscal-module.counter), but the journal's last entry it signed has counter \(lastCounter[anchor.serial] ?? 0): "
                + "the entries after it were removed")
            return
        }
        do {
            if let problem = try checkRows() {
                result.problem = problem
                return
            }
        } catch {
            result.problem = .init(kind: .modified, seq: nil, detail: "a shift, cash movement, running total or Z row cannot be read "
                + "(\(error)): it was changed")
            return
        }
        // Only databases journaled from their first receipt must account for every number (a database from before the
        // journal existed has history without entries; it starts at the first journaled number).
        for (name, seen) in [("receipt", seenReceipts), ("training receipt", seenTraining), ("Z", seenZ)] {
            guard let first = seen.firstIndex(of: true) else { continue }
            if let gap = seen[first...].firstIndex(of: false) {
                result.problem = .init(kind: .missing, seq: nil, detail: "\(name) \(gap) has no journal entry")
                return
            }
        }
    }
}

extension JournalCheck {
    /// Shifts and cash movements as they are now, held against what their last entries signed: a closed shift's counted
    /// cash, expected cash or difference, or a movement's amount, changed afterwards shows here. The shift's running
    /// totals are recomputed from its receipts and movements and held against `session_total`.
    mutating func checkRows() throws -> JournalVerification.Problem? {
        for (id, signed) in shiftBodies.sorted(by: { $0.value.seq < $1.value.seq }) {
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM pos_session WHERE id = ?", arguments: [id]) else {
                return .init(kind: .missing, seq: signed.seq, detail: "shift \(id) of entry \(signed.seq) is not in the pos_session table")
            }
            guard let body = try? JSONSerialization.jsonObject(with: Data(signed.body.utf8)) as? [String: Any] else { continue }
            for (column, value) in SessionEngine.canonicalColumns(row) {
                guard let signedValue = body[column] else { continue }
                if !Self.same(value, signedValue) {
                    return .init(kind: .modified, seq: signed.seq, detail: "shift \(id): pos_session.\(column) is \(value.text) but entry "
                        + "\(signed.seq) signed \(signedValue)")
                }
            }
        }
        for (id, signed) in movementBodies.sorted(by: { $0.value.seq < $1.value.seq }) {
            guard let row = try Row.fetchOne(db, sql: "SELECT id, session_id, type, amount, reason, user_id, created_at, reverses FROM cash_movement WHERE id = ?",
                                             arguments: [id]),
                  let body = try? JSONSerialization.jsonObject(with: Data(signed.body.utf8)) as? [String: Any]
            else { return .init(kind: .missing, seq: signed.seq, detail: "cash movement \(id) of entry \(signed.seq) is not in the cash_movement table") }
            let amount = try? row.decode(Int64.self, forColumn: "amount")
            if (body["amount"] as? NSNumber)?.int64Value != amount || body["type"] as? String != (try? row.decode(String.self, forColumn: "type"))
                || body["session"] as? String != (try? row.decode(String.self, forColumn: "session_id")) {
                return .init(kind: .modified, seq: signed.seq, detail: "cash movement \(id) (cash_movement row) differs from what entry \(signed.seq) signed")
            }
        }
        return try checkRunningTotals()
    }

    /// Whether a column's value equals what was signed for it (integers, text and null as JSON gives them back).
    static func same(_ value: Canonical, _ signed: Any) -> Bool {
        switch value {
        case .int(let number): return (signed as? NSNumber)?.int64Value == number
        case .string(let text): return signed as? String == text
        case .null: return signed is NSNull
        case .bool(let flag): return (signed as? NSNumber)?.boolValue == flag
        default: return true
        }
    }

    /// The running totals each shift keeps (`session_total`), recomputed from the facts the journal vouches for: receipts
    /// (sales, returns, receipts, goods, services, payment methods, change, cashiers, discounts, price overrides, VAT per
    /// rate, training), cash movements (in, out, no-sale, reversals), copies, pro-forma bills and voids (unfinished). A
    /// stored total that differs was changed. A shift opened before entries signed their state (v16) is held to the totals
    /// that were recomputed then: its voids did not journal what they added.
    mutating func checkRunningTotals() throws -> JournalVerification.Problem? {
        // Recomputed during the walk from the journaled facts; only shifts opened in the journal count.
        let legacyKeys: Set<String> = ["sales", "returns", "discounts", "change", "receipts", "training", "cash_in", "cash_out", "cash_no_sale",
                                       "cash_reversals"]
        func covered(_ session: String, _ key: String) -> Bool {
            stateShifts.contains(session) || legacyKeys.contains(key) || key.hasPrefix("method:") || key.hasPrefix("cashier:")
        }
        var expected: [String: [String: (count: Int64, amount: Int64)]] = [:]
        for shift in journaledShifts {
            expected[shift] = (runningTotals[shift] ?? [:]).filter { covered(shift, $0.key) }
        }
        let recomputed = runningTotals
        for row in try Row.fetchAll(db, sql: """
            SELECT t.session_id, t.key, t.count, t.amount FROM session_total t JOIN pos_session s ON s.id = t.session_id
            WHERE s.terminal_id = ? ORDER BY s.session_seq, t.key
            """, arguments: [engine.terminalID]) {
            let session: String = try row.decode(forColumn: "session_id"), key: String = try row.decode(forColumn: "key")
            guard journaledShifts.contains(session), covered(session, key) else { continue }
            let stored = (count: try row.decode(Int64.self, forColumn: "count"), amount: try row.decode(Int64.self, forColumn: "amount"))
            let recomputed = expected[session]?[key] ?? (0, 0)
            expected[session]?[key] = nil
            if stored != recomputed {
                return .init(kind: .modified, seq: nil, detail: "shift \(session): running total '\(key)' (session_total) is \(stored.count) × "
                    + "\(stored.amount), but its journaled facts give \(recomputed.count) × \(recomputed.amount)")
            }
        }
        // Each Z signed its shift's figures: they must be what the shift's receipts and movements give, and so must the
        // expected cash it closed with.
        for row in try Row.fetchAll(db, sql: """
            SELECT z.z_no, z.session_id, z.report_json, s.opening_counted, s.opening_expected, s.expected_cash
            FROM z_report z JOIN pos_session s ON s.id = z.session_id WHERE z.terminal_id = ? ORDER BY z.z_no
            """, arguments: [engine.terminalID]) {
            let number: Int64 = try row.decode(forColumn: "z_no"), session: String = try row.decode(forColumn: "session_id")
            guard let json = try? row.decode(String.self, forColumn: "report_json"),
                  let report = try? JSONDecoder().decode(ShiftReport.self, from: Data(json.utf8))
            else {
                return .init(kind: .modified, seq: nil, detail: "Z \(number)'s report (z_report.report_json) cannot be read: it was changed")
            }
            guard journaledShifts.contains(session) else { continue }
            let totals = recomputed[session] ?? [:]
            func figure(_ key: String) -> (count: Int64, amount: Int64) { totals[key] ?? (0, 0) }
            for (name, signed, key) in [("sales", report.sales, "sales"), ("returns", report.returns, "returns"),
                                        ("cash in", report.cashIn, "cash_in"), ("cash out", report.cashOut, "cash_out")] {
                let value = figure(key)
                if signed.count != value.count || signed.amount != value.amount {
                    return .init(kind: .modified, seq: nil, detail: "Z \(number) signed \(name) \(signed.count) × \(signed.amount), but shift "
                        + "\(session)'s receipts and cash movements give \(value.count) × \(value.amount)")
                }
            }
            let opening: Int64 = try row.decode(Int64?.self, forColumn: "opening_counted") ?? row.decode(Int64.self, forColumn: "opening_expected")
            let expectedCash = try row.decode(Int64?.self, forColumn: "expected_cash")
            let cash = opening &+ figure("method:cash").amount &- figure("change").amount &+ figure("cash_in").amount &- figure("cash_out").amount
            if report.expectedCash != cash || expectedCash.map({ $0 != cash }) == true {
                return .init(kind: .modified, seq: nil, detail: "Z \(number) and shift \(session) say the drawer should have held "
                    + "\(report.expectedCash) (pos_session: \(expectedCash.map(String.init) ?? "-")), but the float, "
                    + "receipts and cash movements give \(cash)")
            }
        }
        for (session, left) in expected.sorted(by: { $0.key < $1.key }) {
            if let (key, value) = left.sorted(by: { $0.key < $1.key }).first {
                return .init(kind: .missing, seq: nil, detail: "shift \(session): running total '\(key)' (session_total) is missing; "
                    + "its receipts and cash movements give \(value.count) × \(value.amount)")
            }
        }
        return nil
    }
}

extension Canonical {
    /// The value as the verifier's messages show it.
    var text: String {
        switch self {
        case .int(let value): return String(value)
        case .string(let value): return value
        case .null: return "null"
        case .bool(let value): return String(value)
        default: return "\(self)"
        }
    }
}

/// What `kassa journal export` wrote.
public struct JournalExport: Sendable, Codable, Equatable {
    public var journal: String
    public var publicKeys: String
    public var entries: Int64
}

extension SessionEngine {
    /// Writes the journal as JSON Lines (`journal.jsonl`: a header, then one entry per line) and the modules' public keys
    /// (`fiscal-modules.pem`) into `directory`, so a third party can verify it without Kassa (Docs/journal-format.md,
    /// tools/verify_journal.py).
    ///
    /// The header names the modules' `anchors` (a verifier flags a journal behind them) and, for an export forced past a
    /// failed verification, `unverified` with what failed.
    public func exportJournal(to directory: String, anchors: [(serial: String, counter: Int64)] = [], unverified: String? = nil)
        throws(SessionError) -> JournalExport
    {
        let journalPath = directory + "/journal.jsonl"
        let keysPath = directory + "/fiscal-modules.pem"
        let out: FileHandle
        do {
            try PrivateFiles.makeDirectory(directory)
            out = FileHandle(fileDescriptor: try PrivateFiles.create(journalPath), closeOnDealloc: true)
        } catch {
            throw .invalid("\(error.message) Choose a folder this user can write, e.g. on a USB stick (--to /media/…/export).")
        }
        defer { try? out.close() }
        return try store.read { db in
            var modules: [Canonical] = []
            var pem = ""
            for row in try Row.fetchAll(db, sql: "SELECT serial, algorithm, public_key, registered_at FROM fiscal_module ORDER BY serial") {
                let raw: Data = row["public_key"]
                modules.append(.object(["serial": .string(row["serial"]), "algorithm": .string(row["algorithm"]),
                                        "public_key_x963": .string(raw.base64EncodedString()), "registered_at": .string(row["registered_at"])]))
                if let key = try? P256.Signing.PublicKey(x963Representation: raw) {
                    pem += "# fiscal module \(row["serial"] as String)\n" + key.pemRepresentation + "\n"
                }
            }
            let head = try Row.fetchOne(db, sql: "SELECT journal_seq, journal_head FROM terminal_counters WHERE terminal_id = ?", arguments: [self.terminalID])
            var fields: [String: Canonical] = [
                "format": .string(Journal.format), "terminal": .string(self.terminalID), "modules": .array(modules),
                "entries": .int(head?[0] ?? 0), "head": .string(Journal.hex([UInt8]((head?[1] as Data?) ?? Data()))),
                "genesis": .string(Journal.hex(Journal.genesis(terminal: self.terminalID))),
                "anchors": .array(anchors.map { .object(["module": .string($0.serial), "counter": .int($0.counter)]) }),
            ]
            let counters = try self.counterValues(db)
            fields["grand_totals"] = .object(["sales": .int(counters.grandTotalSales), "returns": .int(counters.grandTotalReturns)])
            // The rows the next signatures depend on, as they stand: the independent verifier holds them against what the
            // journal signed (a shift's row against its last entry, a movement against its entry, running totals against
            // their recomputation), as `journal verify` does against the database.
            var shifts: [String: Canonical] = [:], totals: [String: Canonical] = [:], movements: [String: Canonical] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM pos_session WHERE terminal_id = ?", arguments: [self.terminalID]) {
                shifts[try row.decode(String.self, forColumn: "id")] = .object(Self.canonicalColumns(row))
            }
            var byShift: [String: [String: Canonical]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT t.session_id, t.key, t.count, t.amount FROM session_total t JOIN pos_session s ON s.id = t.session_id WHERE s.terminal_id = ?
                """, arguments: [self.terminalID]) {
                byShift[try row.decode(String.self, atIndex: 0), default: [:]][try row.decode(String.self, atIndex: 1)] =
                    .array([.int(try row.decode(Int64.self, atIndex: 2)), .int(try row.decode(Int64.self, atIndex: 3))])
            }
            for (shift, keys) in byShift { totals[shift] = .object(keys) }
            for row in try Row.fetchAll(db, sql: """
                SELECT m.id, m.session_id, m.type, m.amount FROM cash_movement m JOIN pos_session s ON s.id = m.session_id WHERE s.terminal_id = ?
                """, arguments: [self.terminalID]) {
                movements[try row.decode(String.self, atIndex: 0)] = .object([
                    "session": .string(try row.decode(String.self, atIndex: 1)), "type": .string(try row.decode(String.self, atIndex: 2)),
                    "amount": .int(try row.decode(Int64.self, atIndex: 3)),
                ])
            }
            fields["rows"] = .object(["shifts": .object(shifts), "running_totals": .object(totals), "cash_movements": .object(movements)])
            if let unverified { fields["unverified"] = .string(unverified) }
            let header: Canonical = .object(fields)
            var buffer = header.bytes + [0x0A]
            var count: Int64 = 0
            let cursor = try Row.fetchCursor(db, sql: "SELECT \(JournalEntry.columns) FROM journal ORDER BY seq")
            var batch: [JournalEntry] = []
            // A receipt's entry stores its body by reference (decision 0011): the export carries the body rebuilt from the
            // receipt's rows, as signed. Rows that were changed give another body, and the entry's hash then shows it.
            func flush() throws {
                let (facts, _) = try JournalCheck.readFacts(batch, db: db)
                for (index, entry) in batch.enumerated() {
                    let body = entry.bodyByReference ? facts[index].map { String(decoding: $0.canonicalBytes(), as: UTF8.self) } ?? "" : entry.body
                    let line: Canonical = .object([
                        "seq": .int(entry.seq), "terminal": .string(entry.terminal), "time": .string(entry.time), "kind": .string(entry.kind),
                        "ref": .string(entry.ref), "module": .string(entry.module), "counter": .int(entry.counter),
                        "prev": .string(Journal.hex(entry.previousHash)), "hash": .string(Journal.hex(entry.hash)),
                        "signature": .string(Data(entry.signature).base64EncodedString()), "body": .string(body),
                        "state": entry.state.canonical,
                    ])
                    buffer += line.bytes
                    buffer.append(0x0A)
                }
                count += Int64(batch.count)
                batch.removeAll(keepingCapacity: true)
                out.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
            }
            while let row = try cursor.next() {
                batch.append(try JournalEntry(row: row))
                if batch.count == 4096 { try flush() }
            }
            try flush()
            do {
                try PrivateFiles.write(Array(pem.utf8), to: keysPath)
            } catch {
                throw SessionError.invalid("\(error) Check the folder's permissions and free space.")
            }
            return JournalExport(journal: journalPath, publicKeys: keysPath, entries: count)
        }
    }
}

struct ParallelChecks: Sendable {
    var hash: [Bool]
    var signature: [Bool]
    var body: [Bool]
}

/// A batch being checked on other threads.
final class PendingChecks: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: ParallelChecks?

    static func start(_ batch: [JournalEntry], facts: [ReceiptFacts?], keys: [String: Data]) -> PendingChecks {
        let pending = PendingChecks()
        DispatchQueue.global().async {
            pending.result = JournalCheck.checkInParallel(batch, facts: facts, keys: keys)
            pending.done.signal()
        }
        return pending
    }

    func wait() -> ParallelChecks {
        done.wait()
        return result!
    }
}
