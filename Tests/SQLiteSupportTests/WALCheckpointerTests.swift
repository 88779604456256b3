import Foundation
import GRDB
import SQLiteSupport
import TestKit
import XCTest

/// The WAL is copied back mostly off the writer (`WALCheckpointer`), and still starts over under back-to-back
/// group commits, and nothing committed is lost on the way.
final class WALCheckpointerTests: XCTestCase {
    private var directory: TemporaryDirectory!
    /// WAL frames between checkpoints in these tests (a store's default is 10,000).
    private let threshold = 64
    private let rows = 6_000
    private let rowBytes = 300

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-checkpointer-test")
    }

    override func tearDown() {
        directory?.remove()
    }

    private var path: String { directory.appending("c.sqlite") }

    private func makeStore(groupCommit: Bool = true) throws -> SQLiteStore {
        let options = SQLiteStoreOptions(applicationID: 0x4842_5454, syncWAL: true, groupCommit: groupCommit,
                                         maxUnitsPerCommit: 64, writerCacheBytes: 1 << 20, memoryMapBytes: 0,
                                         walAutocheckpointPages: threshold)
        return try SQLiteStore(path: path, options: options) { migrator in
            migrator.registerMigration("c") { try $0.execute(sql: "CREATE TABLE c (id INTEGER PRIMARY KEY, body BLOB)") }
        }
    }

    /// Frames the WAL file has room for: it is never truncated, so this is the most it ever held at once.
    private func walFrames() throws -> Int {
        let size = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        return max(0, size - 32) / (4_096 + 24)
    }

    /// Sixteen writers at once keep the group commit busy: the writer is never idle between commits, which is when
    /// a checkpoint on another connection alone never lets the WAL start over.
    private func writeRows(_ store: SQLiteStore) async throws {
        let rows = self.rows, rowBytes = self.rowBytes
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for id in stride(from: writer, to: rows, by: 16) {
                        try await store.write { database in
                            try database.execute(sql: "INSERT INTO c (id, body) VALUES (?, zeroblob(?))",
                                                 arguments: [id, rowBytes])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    func testTheWALStartsOverUnderBackToBackCommitsAndMostCopyingIsDoneOffTheWriter() async throws {
        let store = try makeStore()
        let checkpointer = try XCTUnwrap(store.checkpointer, "a group-commit store checkpoints on its own connection")
        try await writeRows(store)
        let dataPages = rows * rowBytes / 4_096
        let frames = try walFrames()
        // Never started over, the WAL would hold every page of the table at least once.
        XCTAssertLessThan(frames, dataPages / 2, "the WAL held \(frames) frames for a table of \(dataPages) pages")
        XCTAssertGreaterThan(checkpointer.checkpointCount, 0, "no checkpoint ran on the checkpointer's connection")
        // Whether the writer's own checkpoint was needed above depends on timing (when the background passes leave
        // the WAL fully copied between two commits, it starts over without one). One commit larger than the
        // threshold always takes the WAL past it, and the writer checkpoints in that commit's hook.
        let writerCheckpoints = checkpointer.writerCheckpointCount
        let (id, bytes) = (rows, 2 * threshold * 4_096)
        try await store.write { database in
            try database.execute(sql: "INSERT INTO c (id, body) VALUES (?, zeroblob(?))", arguments: [id, bytes])
        }
        XCTAssertGreaterThan(checkpointer.writerCheckpointCount, writerCheckpoints,
                             "a commit past the threshold did not make the writer checkpoint")
        XCTAssertEqual(checkpointer.failureMessages, [])
        try store.close()

        let reopened = try makeStore()
        XCTAssertEqual(try reopened.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM c") }, rows + 1)
        XCTAssertEqual(try reopened.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }, "ok")
        try reopened.close()
    }

    func testAStoreWithoutGroupCommitCheckpointsOnItsWriterAsBefore() async throws {
        let store = try makeStore(groupCommit: false)
        XCTAssertNil(store.checkpointer)
        try await writeRows(store)
        XCTAssertLessThan(try walFrames(), rows * rowBytes / 4_096 / 2)
        XCTAssertEqual(try store.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM c") }, rows)
        try store.close()
    }

    func testACheckpointAfterCloseIsRefusedQuietly() async throws {
        let store = try makeStore()
        let checkpointer = try XCTUnwrap(store.checkpointer)
        try await store.write { try $0.execute(sql: "INSERT INTO c (id, body) VALUES (1, zeroblob(10))") }
        checkpointer.checkpointNow() // after any pass the commits asked for (the migrations' frames may have)
        let before = checkpointer.checkpointCount
        checkpointer.checkpointNow()
        let after = checkpointer.checkpointCount
        XCTAssertEqual(after, before + 1)
        try store.close()
        checkpointer.checkpointNow() // its connection is closed: nothing runs, nothing fails
        XCTAssertEqual(checkpointer.checkpointCount, after)
        XCTAssertEqual(checkpointer.failureMessages, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + "-wal"), "the last connection's close removes the WAL")
    }

    /// A background pass that finds another checkpoint under way (as the writer's at the threshold can be) is
    /// skipped, not a failure: SQLite answers a passive checkpoint busy then, at once. Here another connection
    /// holds the checkpoint lock for as long as needed: a FULL checkpoint waiting for a reader's old snapshot.
    func testAPassThatFindsAnotherCheckpointUnderWayIsSkippedNotFailed() async throws {
        let store = try makeStore()
        let checkpointer = try XCTUnwrap(store.checkpointer)
        for id in 0..<10 {
            try await store.write { try $0.execute(sql: "INSERT INTO c (id, body) VALUES (?, zeroblob(100))", arguments: [id]) }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        let reader = try DatabaseQueue(path: path, configuration: configuration)
        let fullCheckpointer = try DatabaseQueue(path: path, configuration: configuration)
        let snapshotTaken = DispatchSemaphore(value: 0), letGo = DispatchSemaphore(value: 0)
        let readerDone = DispatchSemaphore(value: 0), fullDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? reader.inDatabase { database in
                try database.execute(sql: "BEGIN")
                _ = try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM c")
                snapshotTaken.signal()
                letGo.wait()
                try database.execute(sql: "COMMIT")
            }
            readerDone.signal()
        }
        snapshotTaken.wait()
        // Frames after the reader's snapshot: a FULL checkpoint must wait for the reader to copy them.
        for id in 10..<20 {
            try await store.write { try $0.execute(sql: "INSERT INTO c (id, body) VALUES (?, zeroblob(100))", arguments: [id]) }
        }
        // SQLite refuses a checkpoint at once, without its busy handler, while another holds the checkpoint lock:
        // a FULL one started during one of the passes below would give up at once and never be under way (the
        // suite once failed so, under load). It is tried again until it runs, waiting for the reader.
        let released = AsyncFlag()
        DispatchQueue.global().async {
            while true {
                do {
                    _ = try fullCheckpointer.inDatabase { try $0.checkpoint(.full) }
                    break
                } catch {
                    if released.hasFired { break }
                    Thread.sleep(forTimeInterval: 0.001)
                }
            }
            fullDone.signal()
        }
        let before = checkpointer.skippedCount
        let deadline = ContinuousClock.now + .seconds(20)
        while checkpointer.skippedCount == before, ContinuousClock.now < deadline {
            checkpointer.checkpointNow()
            try await Task.sleep(for: .milliseconds(20))
        }
        released.fire()
        letGo.signal()
        readerDone.wait()
        fullDone.wait()
        XCTAssertGreaterThan(checkpointer.skippedCount, before, "no pass found the FULL checkpoint under way")
        XCTAssertEqual(checkpointer.failureMessages, [])
        try reader.close()
        try fullCheckpointer.close()
        try store.close()
    }
}
