import PostgresNIO
@testable import PostgresStores
import Synchronization
import TestKit
import XCTest

/// Every call on the pool ends, whatever the server does: a connection the server closed fails the call at
/// once (postgres-nio never answers a statement written to a connection that has already closed), and a server
/// that does not answer fails it after the pool's answer timeout.
final class PostgresPoolTests: PostgresServerTestCase {
    /// `work`'s result, or nil (and a test failure) when it has not returned after `limit`: a call that waits
    /// forever fails the test instead of hanging it.
    private func returns<T: Sendable>(within limit: Duration = .seconds(60), file: StaticString = #filePath,
                                      line: UInt = #line, _ work: @escaping @Sendable () async -> T) async -> T? {
        let result = Mutex<T?>(nil)
        let task = Task {
            let value = await work()
            result.withLock { $0 = value }
        }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let value = result.withLock({ $0 }) { return value }
            try? await Task.sleep(for: .milliseconds(20))
        }
        XCTFail("the call did not return within \(limit)", file: file, line: line)
        _ = task
        return nil
    }

    /// A pool's warm-up opens its warm connections before any load, every one of them, and the pool keeps them:
    /// under load no caller pays for a connect and a login (the engine warms all of its 48 at start). Asked for
    /// all at once, postgres-nio's pool opened 20 of 24 (of 48, 34) and left the rest to the load.
    func testTheWarmUpOpensEveryWarmConnectionAndThePoolKeepsThem() async throws {
        let server = try running()
        let settings = try server.freshDatabase()
        let pool = PostgresPool(settings: settings, maxConnections: 26, warmConnections: 24)
        pools.append(pool)
        let backends = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '\(settings.database)'"
        XCTAssertEqual(try server.psql(backends), "0", "no connection before the warm-up")
        await pool.warmUp { _ in [] }
        XCTAssertEqual(try server.psql(backends), "24")
        let rows = try await pool.rows("SELECT 1")
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(try server.psql(backends), "24", "the call used a warm connection")
    }

    private final class Backends: Sendable {
        let pids = Mutex<[Int32]>([])

        final class Prepared: Sendable {
            let names = Mutex<[[String]]>([])
        }
    }

    /// The warm-up runs its calls once on each warm connection (four connections: four server processes, once
    /// each), and its calls write nothing: run again each in a transaction that commits, without an error,
    /// they leave the stores' tables as they were and both audits clean.
    func testTheWarmUpRunsOnceOnEveryWarmConnectionAndWritesNothing() async throws {
        let pool = PostgresPool(settings: try running().freshDatabase(), maxConnections: 6, warmConnections: 4)
        pools.append(pool)
        let ledger = try await PostgresLedger(pool: pool)
        let packets = try await PostgresPacketStore(pool: pool)
        let queue = try await PostgresCreditQueue(pool: pool, name: "credits", maxReceiveCount: 5)
        let backends = Backends()
        let pid: PostgresPool.WarmUpCall = { connection, logger in
            for try await row in try await connection.query("SELECT pg_backend_pid()", logger: logger) {
                let pid = try row.decode(Int32.self)
                backends.pids.withLock { $0.append(pid) }
            }
        }
        let prepared = Backends.Prepared()
        let preparedHere: PostgresPool.WarmUpCall = { connection, logger in
            var names: [String] = []
            for try await row in try await connection.query("SELECT name FROM pg_prepared_statements ORDER BY name", logger: logger) {
                names.append(try row.decode(String.self))
            }
            prepared.names.withLock { $0.append(names) }
        }
        await pool.warmUp { [pid] + ledger.warmUpCalls(connection: $0) + packets.warmUpCalls + queue.warmUpCalls + [preparedHere] }
        let seen = backends.pids.withLock { $0 }
        XCTAssertEqual(seen.count, 4, "\(seen)")
        XCTAssertEqual(Set(seen).count, 4, "a connection was warmed twice: \(seen)")
        // Every warm connection has the open path's statements prepared, the queue's send and receive among them.
        for names in prepared.names.withLock({ $0 }) {
            XCTAssertTrue(Set(["hb_queue_send", "hb_queue_receive", TransferBatchCall.name]).isSubset(of: Set(names)), "\(names)")
        }
        XCTAssertEqual(prepared.names.withLock { $0.count }, 4)

        let rows = """
            SELECT (SELECT COUNT(*) FROM account) || '/' || (SELECT COUNT(*) FROM transfer) || '/' ||
                   (SELECT COUNT(*) FROM packet) || '/' || (SELECT COUNT(*) FROM grab) || '/' || (SELECT COUNT(*) FROM claim)
                   || '/' || (SELECT COUNT(*) FROM queue_message)
            """
        let before = try await pool.rows(PostgresQuery(unsafeSQL: rows)).first?.decode(String.self)
        for call in ledger.warmUpCalls(connection: 0) + packets.warmUpCalls + queue.warmUpCalls {
            try await pool.transaction { connection in try await call(connection, pool.logger) }
        }
        let after = try await pool.rows(PostgresQuery(unsafeSQL: rows)).first?.decode(String.self)
        XCTAssertEqual(after, before)
        XCTAssertEqual(before?.hasSuffix("/0/0/0/0/0"), true, before ?? "")
        let ledgerAudit = try await ledger.auditAccounts()
        XCTAssertEqual(ledgerAudit, [])
        let packetAudit = try await packets.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(packetAudit, [])
    }

    /// Two connections' warm-ups do not wait for each other: a transfer batch holds an advisory lock on each of its
    /// ids until its transaction ends, and each connection's warm-up transfer has an id of its own. While one
    /// connection's warm-up transfer holds its transaction open, another's runs under a lock timeout and ends.
    /// (With one id for every connection, the second waited for the first's transaction to end.)
    func testOneConnectionsWarmUpTransferDoesNotWaitForAnothers() async throws {
        let pool = PostgresPool(settings: try running().freshDatabase(), maxConnections: 3)
        pools.append(pool)
        let ledger = try await PostgresLedger(pool: pool)
        let first = try XCTUnwrap(ledger.warmUpCalls(connection: 0).first)
        let second = try XCTUnwrap(ledger.warmUpCalls(connection: 1).first)
        try await pool.transaction { holding in
            try await first(holding, pool.logger)
            try await pool.transaction { other in
                try await other.query("SET LOCAL lock_timeout = '5s'", logger: pool.logger)
                try await second(other, pool.logger)
            }
        }
    }

    /// Neither the pool's connections nor the display connection let the server compile statements with LLVM
    /// (`jit = off`): a read of `packet_now` on a table not yet analysed cost more in compilation than in running.
    func testTheStoresConnectionsRunWithoutJITCompilation() async throws {
        let server = try running()
        let settings = try server.freshDatabase()
        try server.psql("ALTER DATABASE \(settings.database) SET jit = on")
        XCTAssertEqual(try server.psql("SHOW jit", database: settings.database), "on", "the database's default")
        let pool = PostgresPool(settings: settings, maxConnections: 2)
        pools.append(pool)
        let pooled = try await pool.rows("SHOW jit").first?.decode(String.self)
        XCTAssertEqual(pooled, "off")
        XCTAssertEqual(try pool.rowsNow("SHOW jit").first?.decode(String.self), "off")
    }

    /// The body ends its own backend and waits until the connection has closed, then sends one more statement:
    /// postgres-nio drops that statement without an answer, so before the pool watched its connections'
    /// closes this transaction never returned.
    func testAStatementSentOnAConnectionTheServerClosedFailsInsteadOfWaitingForever() async throws {
        let pool = try freshPool()
        let outcome = await returns {
            do {
                _ = try await pool.transaction { connection in
                    _ = try? await connection.query("SELECT pg_terminate_backend(pg_backend_pid())", logger: pool.logger)
                    try? await connection.closeFuture.get()
                    return try await connection.query("SELECT 1", logger: pool.logger).collect().count
                }
                return "committed"
            } catch {
                return PostgresPool.isLostConnection(error) ? "lost" : "other error: \(error)"
            }
        }
        XCTAssertEqual(outcome, "lost")
        // As the stores read: through `retrying`. The postgres-nio pool may still hand out the closed connection
        // once before it has seen it close (a single statement then fails with "the connection to the server
        // closed": the suite failed once so); the retry then gets a new one.
        let after = try await pool.retrying { try await pool.rows("SELECT 2") }
        XCTAssertEqual(try after.first?.decode(Int.self), 2, "the pool connects again")
    }

    /// A body that fails after its connection was lost: the transaction ends as a lost connection. Before, the
    /// pool wrote a ROLLBACK to the closed connection and the transaction never returned.
    func testATransactionWhoseConnectionWasLostEndsWithoutARollbackOnIt() async throws {
        let pool = try freshPool()
        let outcome = await returns {
            do {
                _ = try await pool.transaction { connection -> Int in
                    _ = try? await connection.query("SELECT pg_terminate_backend(pg_backend_pid())", logger: pool.logger)
                    try? await connection.closeFuture.get()
                    throw CancellationError() // what the body saw of it; the pool must not roll back there
                }
                return "committed"
            } catch {
                return PostgresPool.isLostConnection(error) ? "lost" : "other error: \(error)"
            }
        }
        XCTAssertEqual(outcome, "lost")
    }

    /// A statement the server does not answer (here a sleep; a stopped server or a commit waiting for a standby
    /// that never comes look the same) is given up after the answer timeout, its connection closed, and the
    /// retrying read fails with a one-line reason instead of waiting forever.
    func testAStatementWithNoAnswerIsGivenUpAfterTheAnswerTimeout() async throws {
        let pool = PostgresPool(settings: try running().freshDatabase(), retryWindow: .seconds(2),
                                answerTimeout: .milliseconds(500))
        pools.append(pool)
        let outcome = await returns {
            do {
                _ = try await pool.retrying { try await pool.rows("SELECT pg_sleep(3600)") }
                return "answered"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(outcome?.hasPrefix("PostgreSQL unavailable: no answer from the server within 500 ms"), true,
                       outcome ?? "")
        // Retried as the stores retry: on a loaded machine a new connection's first answer can itself take
        // longer than this pool's 500 ms (the suite once saw it), which is not what this test is about.
        let after = try await pool.retrying { try await pool.rows("SELECT 2") }
        XCTAssertEqual(try after.first?.decode(Int.self), 2, "the pool answers again on a new connection")
    }

    /// A statement in a transaction of its own whose commit waits for a standby, and whose backend is
    /// terminated during that wait, is not taken as done: its commit may be on the primary only, and the caller
    /// must treat it as an unclear commit (a lost connection, which the stores retry by id). The server answers
    /// such a statement before it commits; with warnings sent to the client, the termination's warning flushed
    /// that answer out and postgres-nio returned the rows as if committed. The statement runs on one of the
    /// pool's connections as postgres-nio gives it (`pool.rows` also watches the connection's close, which may
    /// or may not come first).
    func testAStatementCutShortWhileItsCommitWaitsForAStandbyIsALostConnection() async throws {
        let server = try running()
        let pool = try freshPool()
        addTeardownBlock {
            _ = try? server.psql("ALTER SYSTEM RESET synchronous_standby_names")
            _ = try? server.psql("SELECT pg_reload_conf()")
        }
        _ = try await pool.rows("CREATE TABLE written (x INTEGER)")
        let insert = try await server.withUnclearCommit(database: pool.settings.database) { () -> String in
            do {
                let rows = try await pool.client.withConnection { connection in
                    try await connection.query("INSERT INTO written VALUES (7) RETURNING x", logger: pool.logger).collect()
                }
                return "answered \(rows.count) row(s)"
            } catch {
                return PostgresPool.isLostConnection(error) ? "lost" : "other error: \(error)"
            }
        }
        XCTAssertTrue(insert.caughtWaiting, "no commit waited for the standby")
        XCTAssertEqual(insert.value, "lost")
        XCTAssertEqual(try server.psql("SELECT COUNT(*) FROM written", database: pool.settings.database), "1",
                       "committed on the primary all the same")
    }
}
