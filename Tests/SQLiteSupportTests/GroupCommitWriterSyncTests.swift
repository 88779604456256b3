import Dispatch
import GRDB
@testable import SQLiteSupport
import Synchronization
import TestKit
import XCTest

/// At FULL durability a caller is resumed only after an fsync that started after its commit: committed but
/// unsynced rows are already visible to readers, yet nobody has been told they are written.
final class GroupCommitWriterSyncTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var path: String { directory.appending("t.sqlite") }

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-sync-test")
    }

    override func tearDown() {
        directory?.remove()
    }

    /// A WAL database with one table `t (id)`.
    private func makePool() async throws -> DatabasePool {
        let pool = try DatabasePool(path: path)
        try await pool.write { try $0.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY)") }
        return pool
    }

    func testACommittedWriteIsNotAcknowledgedBeforeTheWALIsSynced() async throws {
        let pool = try await makePool()
        let release = DispatchSemaphore(value: 0)
        let held = Atomic<Int>(0)
        let syncer = WALSyncer(walPath: path + "-wal") {
            held.add(1, ordering: .relaxed)
            release.wait()
        }
        let writer = GroupCommitWriter(writer: pool, maxUnitsPerCommit: 8, syncer: syncer)
        let acknowledged = Atomic<Bool>(false)
        let write = Task {
            try await writer.write { try $0.execute(sql: "INSERT INTO t (id) VALUES (1)") }
            acknowledged.store(true, ordering: .relaxed)
        }
        // Committed (a reader sees the row) and the syncer has started on it...
        try await waitUntil("the commit and the start of its fsync", interval: .milliseconds(1)) {
            try await pool.read({ try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") }) == 1
                && held.load(ordering: .relaxed) != 0
        }
        // ...but the caller waits for the fsync.
        try await Task.sleep(for: .milliseconds(50))
        XCTAssertFalse(acknowledged.load(ordering: .relaxed), "acknowledged before the WAL was synced")
        XCTAssertEqual(syncer.syncCount, 0)
        release.signal()
        try await write.value
        XCTAssertTrue(acknowledged.load(ordering: .relaxed))
        XCTAssertEqual(syncer.syncCount, 1)
    }

    /// Batches committed while an fsync is in progress are all covered by the next one.
    func testOneSyncCoversEveryBatchCommittedBeforeIt() async throws {
        let pool = try await makePool()
        let release = DispatchSemaphore(value: 0)
        let firstHeld = Atomic<Bool>(false)
        let syncer = WALSyncer(walPath: path + "-wal") {
            if !firstHeld.exchange(true, ordering: .relaxed) { release.wait() }
        }
        let writer = GroupCommitWriter(writer: pool, maxUnitsPerCommit: 1, syncer: syncer)
        let first = Task { try await writer.write { try $0.execute(sql: "INSERT INTO t (id) VALUES (0)") } }
        await waitUntil("the first fsync to start", interval: .milliseconds(1)) { firstHeld.load(ordering: .relaxed) }
        // One unit per commit: ten more commits while the first fsync is held.
        let rest = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in 1...10 {
                    group.addTask { try await writer.write { try $0.execute(sql: "INSERT INTO t (id) VALUES (?)", arguments: [id]) } }
                }
                try await group.waitForAll()
            }
        }
        try await waitUntil("eleven committed rows", interval: .milliseconds(1)) {
            try await pool.read({ try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") }) == 11
        }
        release.signal()
        try await first.value
        try await rest.value
        XCTAssertEqual(writer.commitCount, 11)
        XCTAssertEqual(syncer.syncCount, 2, "the held fsync, then one for the ten commits made meanwhile")
    }

    /// `submit` keeps the same promise without a waiting caller: its completion runs only after the fsync.
    func testASubmittedWriteCompletesOnlyAfterTheWALIsSynced() async throws {
        let pool = try await makePool()
        let release = DispatchSemaphore(value: 0)
        let held = Atomic<Int>(0)
        let syncer = WALSyncer(walPath: path + "-wal") {
            held.add(1, ordering: .relaxed)
            release.wait()
        }
        let writer = GroupCommitWriter(writer: pool, maxUnitsPerCommit: 8, syncer: syncer)
        let completions = Mutex<[String]>([])
        writer.submit({ try $0.execute(sql: "INSERT INTO t (id) VALUES (1)") }) { error in
            completions.withLock { $0.append(error.map { "\($0)" } ?? "durable") }
        }
        try await waitUntil("the commit and the start of its fsync", interval: .milliseconds(1)) {
            try await pool.read({ try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") }) == 1
                && held.load(ordering: .relaxed) != 0
        }
        try await Task.sleep(for: .milliseconds(50))
        XCTAssertEqual(completions.withLock { $0 }, [], "completed before the WAL was synced")
        release.signal()
        await waitUntil("the completion", interval: .milliseconds(1)) { completions.withLock { $0 } == ["durable"] }
        XCTAssertEqual(syncer.syncCount, 1)
    }

    /// A submitted unit that throws gets its own error and spoils nothing of the batch it shared.
    func testASubmittedUnitThatThrowsGetsItsErrorAndItsNeighbourCommits() async throws {
        struct Refused: Error {}
        let pool = try await makePool()
        let writer = GroupCommitWriter(writer: pool, maxUnitsPerCommit: 8, syncer: nil)
        let completions = Mutex<[Int: String]>([:])
        for id in 1...3 {
            writer.submit({ database in
                try database.execute(sql: "INSERT INTO t (id) VALUES (?)", arguments: [id])
                if id == 2 { throw Refused() }
            }) { error in
                completions.withLock { $0[id] = error == nil ? "durable" : "\(type(of: error!))" }
            }
        }
        await waitUntil("three completions", interval: .milliseconds(1)) { completions.withLock { $0.count } == 3 }
        XCTAssertEqual(completions.withLock { $0 }, [1: "durable", 2: "Refused", 3: "durable"])
        let rows = try await pool.read { try Int.fetchAll($0, sql: "SELECT id FROM t ORDER BY id") }
        XCTAssertEqual(rows, [1, 3])
    }
}
