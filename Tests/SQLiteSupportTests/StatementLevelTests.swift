import GRDB
import SQLiteSupport
import Synchronization
import TestKit
import XCTest

/// The hot path's cheaper forms: a point read without BEGIN/COMMIT, a transaction through cached statements,
/// and a group-commit write that reports through a completion.
final class StatementLevelTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-statement-test")
    }

    override func tearDown() {
        directory?.remove()
    }

    private func makeStore(groupCommit: Bool = true) throws -> SQLiteStore {
        let options = SQLiteStoreOptions(applicationID: 0x4842_5454, syncWAL: true, groupCommit: groupCommit,
                                         maxUnitsPerCommit: 64, writerCacheBytes: 1 << 20, memoryMapBytes: 0,
                                         walAutocheckpointPages: 1_000)
        return try SQLiteStore(path: directory.appending("t.sqlite"), options: options) { migrator in
            migrator.registerMigration("t") { try $0.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)") }
        }
    }

    func testAStatementReadRunsOutsideAnExplicitTransactionAndSeesCommittedRows() async throws {
        let store = try makeStore()
        try await store.write { try $0.execute(sql: "INSERT INTO t (id, n) VALUES (1, 10)") }
        let (inside, n) = try store.readStatement { database in
            (database.isInsideTransaction,
             try database.fetchFirst(prepared: "SELECT n FROM t WHERE id = ?", 1) { $0.int64(0) })
        }
        XCTAssertFalse(inside, "a point read must not pay for BEGIN and COMMIT")
        XCTAssertEqual(n, 10)
        // `read` keeps its snapshot transaction for reads of several statements.
        XCTAssertTrue(try store.read { $0.isInsideTransaction })
        try store.close()
    }

    func testAnImmediateTransactionCommitsRollsBackOnRequestAndOnError() throws {
        let queue = try DatabaseQueue(path: directory.appending("q.sqlite"))
        try queue.writeWithoutTransaction { database in
            try database.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY)")
            let committed = try database.immediateTransaction {
                try database.execute(sql: "INSERT INTO t (id) VALUES (1)")
                return ("kept", true)
            }
            XCTAssertEqual(committed, "kept")
            try database.immediateTransaction {
                try database.execute(sql: "INSERT INTO t (id) VALUES (2)")
                return ((), false)
            }
            XCTAssertFalse(database.isInsideTransaction)
            XCTAssertThrowsError(try database.immediateTransaction { () -> ((), Bool) in
                try database.execute(sql: "INSERT INTO t (id) VALUES (3)")
                try database.execute(sql: "INSERT INTO t (id) VALUES (1)") // duplicate key
                return ((), true)
            })
            XCTAssertFalse(database.isInsideTransaction)
            XCTAssertEqual(try Int64.fetchAll(database, sql: "SELECT id FROM t ORDER BY id"), [1])
        }
    }

    func testACompletionWriteReportsTheValueOrTheErrorOfItsOwnUnit() async throws {
        for groupCommit in [true, false] {
            let store = try makeStore(groupCommit: groupCommit)
            let results = Mutex<[Int: Result<Int, any Error>]>([:])
            for id in 1...3 {
                store.write({ database -> Int in
                    // Unit 2 collides with unit 1's row: only it fails.
                    try database.execute(sql: "INSERT INTO t (id, n) VALUES (?, ?)", arguments: [id == 2 ? 1 : id, id])
                    return id * 10
                }, completion: { result in
                    results.withLock { $0[id] = result }
                })
            }
            await waitUntil("three completions", interval: .milliseconds(5)) { results.withLock { $0.count } == 3 }
            let final = results.withLock { $0 }
            XCTAssertEqual(try final[1]?.get(), 10, "group commit \(groupCommit)")
            XCTAssertEqual(try final[3]?.get(), 30, "group commit \(groupCommit)")
            XCTAssertThrowsError(try final[2]?.get(), "group commit \(groupCommit)")
            XCTAssertEqual(try store.read { try Int64.fetchAll($0, sql: "SELECT n FROM t ORDER BY id") }, [1, 3])
            try store.close()
            directory.remove()
            directory = try TemporaryDirectory(prefix: "hongbao-statement-test")
        }
    }
}
