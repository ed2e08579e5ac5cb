@preconcurrency import Crypto
import Dispatch
import Foundation
import GRDB
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
    public func verifyJournal(batchSize: Int = 4096) throws(SessionError) -> JournalVerification {
        try store.read { db in
            var check = JournalCheck(engine: self, db: db, batchSize: batchSize)
            return try check.run()
        }
    }
}

private struct JournalCheck {
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
            let serial: String = row["serial"]
            result.modules.append(serial)
            if row["algorithm"] as String == "ES256" { keys[serial] = row["public_key"] }
        }
        let counters = try engine.counterValues(db)
        seenReceipts = [Bool](repeating: false, count: Int(counters.receiptNumber) + 1)
        seenTraining = [Bool](repeating: false, count: Int(counters.trainingNumber) + 1)
        seenZ = [Bool](repeating: false, count: Int(counters.zNumber) + 1)
        let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM journal ORDER BY seq")
        var batch: [JournalEntry] = []
        batch.reserveCapacity(batchSize)
        while let row = try cursor.next() {
            do {
                batch.append(try JournalEntry(row: row))
            } catch {
                try check(batch)
                if result.problem == nil {
                    let seq = (try? row.decode(Int64.self, forColumn: "seq")) ?? lastSeq + 1
                    result.problem = .init(kind: .modified, seq: seq, detail: "entry \(seq) cannot be read as an entry (\(error)): its row was changed")
                }
                return result
            }
            if batch.count == batchSize {
                try check(batch)
                batch.removeAll(keepingCapacity: true)
                if result.problem != nil { return result }
            }
        }
        try check(batch)
        if result.problem != nil { return result }
        try checkEnd()
        return result
    }

    /// Chain, hashes and facts in order; signatures in parallel; then the first problem by sequence number wins.
    mutating func check(_ batch: [JournalEntry]) throws {
        guard !batch.isEmpty else { return }
        var problems: [JournalVerification.Problem] = []
        // Signatures first, on all cores (the expensive part).
        let signatureOK = verifySignatures(batch)
        for (index, entry) in batch.enumerated() {
            if entry.seq != lastSeq + 1 {
                problems.append(.init(kind: .missing, seq: entry.seq,
                                      detail: "entries \(lastSeq + 1)…\(entry.seq - 1) are missing before entry \(entry.seq)"))
                break
            }
            let signed = Journal.signedData(message: entry.message, counter: entry.counter)
            if Array(SHA256.hash(data: signed)) != entry.hash {
                problems.append(.init(kind: .modified, seq: entry.seq,
                                      detail: "entry \(entry.seq) (\(entry.kind) \(entry.ref)) was changed: its content no longer gives its hash"))
                break
            }
            if entry.previousHash != lastHash {
                if let other = try Int64.fetchOne(db, sql: "SELECT seq FROM journal WHERE hash = ?", arguments: [Data(entry.previousHash)]) {
                    problems.append(.init(kind: .reordered, seq: entry.seq,
                                          detail: "entry \(entry.seq) follows entry \(other), not entry \(entry.seq - 1): the entries were reordered"))
                } else {
                    problems.append(.init(kind: .missing, seq: entry.seq,
                                          detail: "the entry before entry \(entry.seq) is not in the journal: an entry was removed"))
                }
                break
            }
            if !signatureOK[index] {
                let reason = keys[entry.module] == nil ? "its module \(entry.module) is not registered" : "the signature of \(entry.module) does not verify"
                problems.append(.init(kind: .badSignature, seq: entry.seq, detail: "entry \(entry.seq) (\(entry.kind) \(entry.ref)): \(reason)"))
                break
            }
            if entry.signature.isEmpty { result.moduleFailures += 1 }
            lastSeq = entry.seq
            lastHash = entry.hash
            result.entries += 1
        }
        if let factProblem = try checkFacts(batch.prefix(Int(result.entries - (batch.first!.seq - 1)))) {
            problems.append(factProblem)
        }
        result.problem = problems.min { ($0.seq ?? .max) < ($1.seq ?? .max) }
    }

    func verifySignatures(_ batch: [JournalEntry]) -> [Bool] {
        let results = Mutex([Bool](repeating: false, count: batch.count))
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let keys = self.keys
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var local: [(Int, Bool)] = []
            var parsed: [String: P256.Signing.PublicKey] = [:]
            func key(_ serial: String) -> P256.Signing.PublicKey? {
                if let known = parsed[serial] { return known }
                guard let raw = keys[serial], let key = try? P256.Signing.PublicKey(x963Representation: raw) else { return nil }
                parsed[serial] = key
                return key
            }
            var index = worker
            while index < batch.count {
                let entry = batch[index]
                var valid = false
                if entry.signature.isEmpty {
                    valid = entry.kind == Journal.moduleFailureKind
                } else if let key = key(entry.module), let signature = try? P256.Signing.ECDSASignature(rawRepresentation: entry.signature) {
                    valid = key.isValidSignature(signature, for: Journal.signedData(message: entry.message, counter: entry.counter))
                }
                local.append((index, valid))
                index += workers
            }
            results.withLock { all in for (index, valid) in local { all[index] = valid } }
        }
        return results.withLock { $0 }
    }

    /// Rebuilds the receipts and Zs of the batch from their tables and compares them with what was signed.
    mutating func checkFacts(_ entries: ArraySlice<JournalEntry>) throws -> JournalVerification.Problem? {
        let receiptEntries = entries.filter { Journal.receiptKinds.contains($0.kind) }
        if !receiptEntries.isEmpty {
            let ids = receiptEntries.map(\.ref)
            let marks = databaseQuestionMarks(count: ids.count)
            var receipts: [String: Row] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM receipt WHERE id IN (\(marks))", arguments: StatementArguments(ids)) {
                if let id = try? row.decode(String.self, forColumn: "id") { receipts[id] = row }
            }
            var lines: [String: [Row]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM receipt_line WHERE receipt_id IN (\(marks)) ORDER BY receipt_id, line_no",
                                        arguments: StatementArguments(ids)) {
                if let id = try? row.decode(String.self, forColumn: "receipt_id") { lines[id, default: []].append(row) }
            }
            var payments: [String: [Row]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT receipt_id, method, amount FROM payment WHERE receipt_id IN (\(marks)) ORDER BY receipt_id, seq",
                                        arguments: StatementArguments(ids)) {
                if let id = try? row.decode(String.self, forColumn: "receipt_id") { payments[id, default: []].append(row) }
            }
            var codes: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT receipt_id, code FROM receipt_code WHERE receipt_id IN (\(marks))", arguments: StatementArguments(ids)) {
                if let id = try? row.decode(String.self, forColumn: "receipt_id") { codes[id] = try? row.decode(String.self, forColumn: "code") }
            }
            for entry in receiptEntries {
                guard let row = receipts[entry.ref] else {
                    return .init(kind: .missing, seq: entry.seq, detail: "receipt \(entry.ref) of entry \(entry.seq) is not in the receipt table")
                }
                let facts: ReceiptFacts
                do {
                    facts = try ReceiptFacts(row, lines: lines[entry.ref] ?? [], payments: payments[entry.ref] ?? [], fiscalCode: codes[entry.ref])
                } catch {
                    return .init(kind: .modified, seq: entry.seq, detail: "receipt \(entry.ref) of entry \(entry.seq) cannot be read (\(error)): its rows were changed")
                }
                let body = facts.canonicalBytes()
                guard body.elementsEqual(entry.body.utf8) else {
                    return .init(kind: .modified, seq: entry.seq,
                                 detail: "receipt \(facts.number) (\(entry.ref)) differs from what entry \(entry.seq) signed")
                }
                let number = facts.number
                let training = entry.kind == "training"
                if training ? !mark(&seenTraining, number) : !mark(&seenReceipts, number) {
                    return .init(kind: .modified, seq: entry.seq, detail: "receipt number \(number) is journaled twice (entry \(entry.seq))")
                }
                result.receiptsChecked += 1
            }
        }
        for entry in entries where entry.kind == "z_report" {
            guard let number = Int64(entry.ref.dropFirst()),
                  let row = try Row.fetchOne(db, sql: "SELECT * FROM z_report WHERE terminal_id = ? AND z_no = ?", arguments: [engine.terminalID, number])
            else { return .init(kind: .missing, seq: entry.seq, detail: "\(entry.ref) of entry \(entry.seq) is not in the z_report table") }
            guard Canonical.object(SessionEngine.canonicalColumns(row)).bytes == Array(entry.body.utf8) else {
                return .init(kind: .modified, seq: entry.seq, detail: "Z \(number) differs from what entry \(entry.seq) signed")
            }
            if !mark(&seenZ, number) { return .init(kind: .modified, seq: entry.seq, detail: "Z \(number) is journaled twice") }
            result.zReportsChecked += 1
        }
        return nil
    }

    /// Marks a number as seen; false when it was out of range or seen before.
    func mark(_ seen: inout [Bool], _ number: Int64) -> Bool {
        guard number >= 1, number < seen.count, !seen[Int(number)] else { return false }
        seen[Int(number)] = true
        return true
    }

    /// The journal's end must be the head the counters recorded, and every number must have had its entry.
    mutating func checkEnd() throws {
        guard let head = try Row.fetchOne(db, sql: "SELECT journal_seq, journal_head FROM terminal_counters WHERE terminal_id = ?",
                                          arguments: [engine.terminalID])
        else { return }
        let headSeq: Int64 = head[0]
        if headSeq != lastSeq {
            result.problem = .init(kind: .missing, seq: lastSeq + 1,
                                   detail: "the journal ends at entry \(lastSeq) but the terminal recorded \(headSeq) entries: the last ones were removed")
            return
        }
        if lastSeq > 0, let recorded = head[1] as Data?, [UInt8](recorded) != lastHash {
            result.problem = .init(kind: .modified, seq: lastSeq, detail: "the last entry \(lastSeq) is not the one the terminal recorded")
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
    public func exportJournal(to directory: String) throws(SessionError) -> JournalExport {
        let journalPath = directory + "/journal.jsonl"
        let keysPath = directory + "/fiscal-modules.pem"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .invalid("Cannot create \(directory): \(error.localizedDescription)")
        }
        guard FileManager.default.createFile(atPath: journalPath, contents: nil), let out = FileHandle(forWritingAtPath: journalPath) else {
            throw .invalid("Cannot write \(journalPath): check the folder's permissions and free space.")
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
            let header: Canonical = .object([
                "format": .string(Journal.format), "terminal": .string(self.terminalID), "modules": .array(modules),
                "entries": .int(head?[0] ?? 0), "head": .string(Journal.hex([UInt8]((head?[1] as Data?) ?? Data()))),
                "genesis": .string(Journal.hex(Journal.genesis(terminal: self.terminalID))),
            ])
            var buffer = header.bytes + [0x0A]
            var count: Int64 = 0
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM journal ORDER BY seq")
            while let row = try cursor.next() {
                let entry = try JournalEntry(row: row)
                let line: Canonical = .object([
                    "seq": .int(entry.seq), "terminal": .string(entry.terminal), "time": .string(entry.time), "kind": .string(entry.kind),
                    "ref": .string(entry.ref), "module": .string(entry.module), "counter": .int(entry.counter),
                    "prev": .string(Journal.hex(entry.previousHash)), "hash": .string(Journal.hex(entry.hash)),
                    "signature": .string(Data(entry.signature).base64EncodedString()), "body": .string(entry.body),
                ])
                buffer += line.bytes
                buffer.append(0x0A)
                count += 1
                if buffer.count > 1 << 20 {
                    out.write(Data(buffer))
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            out.write(Data(buffer))
            guard FileManager.default.createFile(atPath: keysPath, contents: Data(pem.utf8)) else {
                throw SessionError.invalid("Cannot write \(keysPath): check the folder's permissions and free space.")
            }
            return JournalExport(journal: journalPath, publicKeys: keysPath, entries: count)
        }
    }
}
