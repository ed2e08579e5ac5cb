import Foundation
import PrintSpool
import Testing

@Suite("The durable spool")
struct SpoolStoreTests {
    let path: String

    init() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        path = folder.appendingPathComponent("spool.sqlite").path
    }

    func submit(_ spool: SpoolStore, _ number: Int, device: String = "fast") throws -> SpoolJob {
        let payload = Array("JOB-\(number)".utf8)
        return try spool.submit(device: device, kind: .print, idempotencyKey: "key-\(number)", digest: payload, payload: payload,
                                expiresAt: nil, now: Date()).job
    }

    @Test("pending lists a device's unfinished jobs in order, up to the limit; a batch of changes is one commit, final jobs stay final")
    func pendingAndBatch() throws {
        let spool = try SpoolStore.open(path: path)
        let jobs = try (1...6).map { try submit(spool, $0) }
        _ = try submit(spool, 7, device: "other")
        #expect(try spool.pending(device: "fast", limit: 4).map(\.id) == jobs.prefix(4).map(\.id))
        try spool.update(jobs[0].id, state: .sending, attempt: true, now: Date())
        let changed = try spool.update([SpoolStore.Change(id: jobs[0].id, state: .done),
                                        SpoolStore.Change(id: jobs[1].id, state: .unconfirmed, errorCode: "UNCONFIRMED", errorMessage: "behind")],
                                       now: Date())
        #expect(changed.map(\.state) == [.done, .unconfirmed] && changed[1].errorCode == "UNCONFIRMED" && changed[0].attempts == 1)
        // A final job is never moved again.
        let again = try spool.update([SpoolStore.Change(id: jobs[0].id, state: .failed, errorCode: "X")], now: Date())
        #expect(again.first?.state == .done && again.first?.errorCode == nil)
        #expect(try spool.pending(device: "fast", limit: 10).map(\.id) == jobs.suffix(4).map(\.id))
        #expect(throws: SpoolError.self) { try spool.update([SpoolStore.Change(id: "job-none", state: .done)], now: Date()) }
    }

    @Test("accept commits like submit; the same key returns the first job, other content is refused")
    func acceptIdempotent() async throws {
        let spool = try SpoolStore.open(path: path)
        let first = try await spool.accept(device: "fast", kind: .print, idempotencyKey: "k", digest: [1], payload: [1], expiresAt: nil, now: Date())
        let repeated = try await spool.accept(device: "fast", kind: .print, idempotencyKey: "k", digest: [1], payload: [1], expiresAt: nil, now: Date())
        #expect(first.created && !repeated.created && repeated.job.id == first.job.id)
        await #expect(throws: SpoolError.self) {
            _ = try await spool.accept(device: "fast", kind: .print, idempotencyKey: "k", digest: [2], payload: [2], expiresAt: nil, now: Date())
        }
    }

    @Test("pruning deletes only jobs that ended before the cutoff; unfinished jobs stay whatever their age")
    func prune() throws {
        let spool = try SpoolStore.open(path: path)
        let jobs = try (1...5).map { try submit(spool, $0) }
        let longAgo = Date().addingTimeInterval(-40 * 86_400)
        try spool.update([SpoolStore.Change(id: jobs[0].id, state: .done), SpoolStore.Change(id: jobs[1].id, state: .failed, errorCode: "X")],
                         now: longAgo)
        try spool.update([SpoolStore.Change(id: jobs[2].id, state: .done)], now: Date())
        try spool.update(jobs[3].id, state: .held, errorCode: "HELD", now: longAgo)
        #expect(try spool.prune(finishedBefore: Date().addingTimeInterval(-30 * 86_400)) == 2)
        #expect(throws: SpoolError.self) { try spool.job(jobs[0].id) }
        #expect(try spool.job(jobs[2].id).state == .done)
        #expect(try spool.pending(device: "fast", limit: 10).map(\.id) == [jobs[3].id, jobs[4].id])
        // The pruned key is forgotten: a new job may take it.
        let again = try submit(spool, 1)
        #expect(again.id != jobs[0].id)
    }

    @Test("a checkpoint copies the whole WAL into the database, and the jobs read back after reopening")
    func checkpoint() throws {
        let spool = try SpoolStore.open(path: path)
        let jobs = try (1...200).map { try submit(spool, $0) }
        let result = try spool.checkpoint()
        #expect(result.log > 0 && result.copied == result.log, "\(result)")
        let reopened = try SpoolStore.open(path: path)
        #expect(try reopened.pending(device: "fast", limit: 500).map(\.id) == jobs.map(\.id))
        #expect(try reopened.payload(jobs[199].id) == Array("JOB-200".utf8))
    }
}
