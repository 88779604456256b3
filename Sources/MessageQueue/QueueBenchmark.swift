import Foundation
import GRDBSQLite
import Primitives

/// Release-build measurements of the queue, with a raw SQLite baseline in the same run. Wall time is
/// measured with `ContinuousClock`: a benchmark measures the real machine, so no clock is injected.
public enum QueueBenchmark {
    /// Throughput of one configuration.
    public struct Throughput: Sendable {
        public var name: String
        public var messages: Int
        public var seconds: Double
        public var messagesPerSecond: Double { seconds > 0 ? Double(messages) / seconds : 0 }
    }

    /// Send latency under a fixed offered load.
    public struct Latency: Sendable {
        public var offeredPerSecond: Int
        public var sends: Int
        public var failures: Int
        public var p50Milliseconds: Double
        public var p99Milliseconds: Double
        public var maxMilliseconds: Double
    }

    static let body = String(repeating: "x", count: 100)

    /// Full cycles send → receive → delete in batches of 16 by `workers` concurrent clients, until
    /// `messages` messages have been sent and every one deleted. With a `backlog`, that many messages are
    /// first sent to another queue and left there (not timed): the cost of a cycle must not grow with it.
    /// Checks its work: every message sent was received and deleted, and the queue is empty.
    public static func fullCycle(
        name: String, root: String, replicaIDs: [ReplicaID], messages: Int, workers: Int, backlog: Int = 0
    ) async throws -> Throughput {
        let results = try await fullCycles(name: name, root: root, replicaIDs: replicaIDs, messages: messages,
                                           workers: workers, backlog: backlog, rounds: 1)
        guard let first = results.first else { throw MessageQueueError.storage("no benchmark round ran") }
        return first
    }

    /// `rounds` timed rounds of `fullCycle` on the same queue service (the backlog is sent once).
    public static func fullCycles(
        name: String, root: String, replicaIDs: [ReplicaID], messages: Int, workers: Int, backlog: Int, rounds: Int
    ) async throws -> [Throughput] {
        let service = try MessageQueueService.open(
            root: root, replicaIDs: replicaIDs, quorum: min(QueueLimits().quorum, replicaIDs.count))
        try await service.createQueue("bench")
        if backlog > 0 { try await fill(service, queue: "backlog", messages: backlog, workers: workers) }
        var results: [Throughput] = []
        do {
            for round in 0..<rounds {
                results.append(try await cycleRound(name: name, service: service, round: round, messages: messages,
                                                    workers: workers, backlog: backlog))
            }
        } catch {
            await service.close()
            throw error
        }
        await service.close()
        return results
    }

    private static func cycleRound(
        name: String, service: MessageQueueService, round: Int, messages: Int, workers: Int, backlog: Int
    ) async throws -> Throughput {
        let batch = service.limits.maxBatchCount
        let cyclesPerWorker = max(1, messages / (batch * workers))
        let start = ContinuousClock.now
        var deleted = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var deleted = 0
                    for cycle in 0..<cyclesPerWorker {
                        let outgoing = (0..<batch).map {
                            OutgoingMessage(body: body, id: "r\(round)-w\(worker)-\(cycle)-\($0)")
                        }
                        _ = try await service.sendBatch("bench", outgoing)
                        let received = try await service.receiveBatch(
                            "bench", maxCount: batch, visibilityTimeout: .seconds(60))
                        if !received.isEmpty { try await service.deleteBatch("bench", receipts: received.map(\.receipt)) }
                        deleted += received.count
                    }
                    return deleted
                }
            }
            return try await group.reduce(0, +)
        }
        while true {
            let received = try await service.receiveBatch("bench", maxCount: batch, visibilityTimeout: .seconds(60))
            if received.isEmpty { break }
            try await service.deleteBatch("bench", receipts: received.map(\.receipt))
            deleted += received.count
        }
        let elapsed = ContinuousClock.now - start
        let sent = cyclesPerWorker * workers * batch
        let left = try await service.counters(of: "bench").total
        let kept = backlog > 0 ? try await service.counters(of: "backlog").total : 0
        guard deleted == sent, left == 0, kept == backlog else {
            throw MessageQueueError.storage(
                "benchmark verification failed: sent \(sent), deleted \(deleted), left \(left), backlog \(kept) of \(backlog)")
        }
        return Throughput(name: name, messages: sent, seconds: elapsed.secondsDouble)
    }

    /// Sends `messages` messages to `queue` in batches, `workers` at a time, and leaves them there.
    public static func fill(_ service: MessageQueueService, queue: String, messages: Int, workers: Int) async throws {
        if !(await service.listQueues()).contains(queue) { try await service.createQueue(queue) }
        let batch = service.limits.maxBatchCount
        let batches = (messages + batch - 1) / batch
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    for index in stride(from: worker, to: batches, by: workers) {
                        let count = min(batch, messages - index * batch)
                        let outgoing = (0..<count).map { OutgoingMessage(body: body, id: "\(queue)-\(index)-\($0)") }
                        _ = try await service.sendBatch(queue, outgoing)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Single `send`s offered at `rate` per second for `seconds`; latency from the moment each send was due.
    public static func sendLatency(root: String, rate: Int, seconds: Int) async throws -> Latency {
        let service = try MessageQueueService.open(root: root)
        try await service.createQueue("latency")
        let tick = Duration.milliseconds(5)
        let ticks = seconds * 200
        let perTick = max(1, rate / 200)
        let start = ContinuousClock.now
        var latencies: [Double] = []
        var failures = 0
        try await withThrowingTaskGroup(of: Double?.self) { group in
            for index in 0..<ticks {
                let due = start + tick * index
                try await Task.sleep(until: due, clock: .continuous)
                for item in 0..<perTick {
                    group.addTask {
                        do {
                            _ = try await service.send("latency", body: body, id: "l\(index)-\(item)")
                            return (ContinuousClock.now - due).secondsDouble * 1_000
                        } catch {
                            return nil
                        }
                    }
                }
            }
            for try await value in group { record(value) }
        }
        func record(_ value: Double?) {
            if let value { latencies.append(value) } else { failures += 1 }
        }
        await service.close()
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        return Latency(
            offeredPerSecond: perTick * 200, sends: latencies.count, failures: failures,
            p50Milliseconds: percentile(0.5), p99Milliseconds: percentile(0.99), maxMilliseconds: latencies.last ?? 0)
    }

    /// The baseline: the same inserts and deletes (16 per transaction, WAL, synchronous=FULL) straight
    /// through the sqlite3 C API on one database, one thread.
    public static func sqliteBaseline(path: String, messages: Int) throws -> Throughput {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK,
              let db = handle else { throw MessageQueueError.storage("cannot open \(path)") }
        defer { sqlite3_close_v2(db) }
        func exec(_ sql: String) throws {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
                throw MessageQueueError.storage(String(cString: sqlite3_errmsg(db)))
            }
        }
        try exec("""
            PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
            CREATE TABLE message(id TEXT PRIMARY KEY, body TEXT NOT NULL, visible_ms INTEGER NOT NULL) WITHOUT ROWID;
            """)
        var insert: OpaquePointer?, delete: OpaquePointer?
        sqlite3_prepare_v2(db, "INSERT INTO message VALUES (?, ?, ?)", -1, &insert, nil)
        sqlite3_prepare_v2(db, "DELETE FROM message WHERE id = ?", -1, &delete, nil)
        defer { sqlite3_finalize(insert); sqlite3_finalize(delete) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        let batches = max(1, messages / 16)
        let start = ContinuousClock.now
        for batchIndex in 0..<batches {
            let ids = (0..<16).map { "b\(batchIndex)-\($0)" }
            try exec("BEGIN")
            for id in ids {
                sqlite3_bind_text(insert, 1, id, -1, transient)
                sqlite3_bind_text(insert, 2, body, -1, transient)
                sqlite3_bind_int64(insert, 3, Int64(batchIndex))
                guard sqlite3_step(insert) == SQLITE_DONE else { throw MessageQueueError.storage("insert failed") }
                sqlite3_reset(insert)
            }
            try exec("COMMIT")
            try exec("BEGIN")
            for id in ids {
                sqlite3_bind_text(delete, 1, id, -1, transient)
                guard sqlite3_step(delete) == SQLITE_DONE else { throw MessageQueueError.storage("delete failed") }
                sqlite3_reset(delete)
            }
            try exec("COMMIT")
        }
        let elapsed = ContinuousClock.now - start
        return Throughput(name: "raw sqlite3, 1 database", messages: batches * 16, seconds: elapsed.secondsDouble)
    }
}
