import Synchronization
import Foundation
import PostgresCluster
import PostgresNIO
import TestKit
import XCTest

/// The three-server cluster: synchronous replication (`ANY 1`), standbys killed and stopped under writes, and
/// failover. "Acknowledged" is a commit that returned to the client.
final class ReplicationFaultTests: XCTestCase {
    private func makeTable(_ postgres: TestPostgres, _ table: String = "rows") async throws {
        try await SQL.with(postgres.primary) { try await SQL.execute($0, "CREATE TABLE \(table) (id bigint PRIMARY KEY)") }
    }

    func testThreeServersStreamAndEveryCommitWaitsForOneStandby() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 2)
        await waitUntil("both standbys streaming", timeout: .seconds(30), interval: .milliseconds(100)) {
            (try? await postgres.cluster.status())?.confirmingStandbys == 2
        }
        let status = try await postgres.cluster.status()
        XCTAssertEqual(status.primary, "a")
        XCTAssertEqual(status.synchronousStandbyNames, "ANY 1 (b, c)")
        XCTAssertEqual(status.servers.map(\.role), [.primary, .standby, .standby])
        XCTAssertEqual(status.servers.compactMap(\.syncState), ["quorum", "quorum"])
        let (standbyNames, commit) = try await SQL.with(postgres.primary) { connection -> (String, String) in
            let rows = try await connection.query(
                "SELECT current_setting('synchronous_standby_names'), current_setting('synchronous_commit')",
                logger: SQL.logger).collect()
            return try rows[0].decode((String, String).self)
        }
        XCTAssertEqual(standbyNames, "ANY 1 (b, c)")
        XCTAssertEqual(commit, "on")
    }

    func testAStandbyKilledUnderWritesLosesNoAcknowledgedRowAndCatchesUp() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 2)
        try await makeTable(postgres)
        let writer = Writer()
        let primary = postgres.primary
        let writing = Task { await writer.run(primary, table: "rows") }
        await waitUntil("some writes", timeout: .seconds(30), interval: .milliseconds(20)) { writer.count >= 200 }

        let killed = try await postgres.cluster.fault(.down, server: "b")
        XCTAssertTrue(killed)
        await waitUntil("b seen down", timeout: .seconds(60), interval: .milliseconds(50)) {
            (try? await postgres.cluster.status())?.server("b")?.state == .down
        }
        let atKill = writer.count
        await waitUntil("writes continuing on c alone", timeout: .seconds(30), interval: .milliseconds(20)) {
            writer.count >= atKill + 200
        }
        let restored = try await postgres.cluster.fault(.restore, server: "b")
        XCTAssertTrue(restored)
        await waitUntil("more writes after the restore", timeout: .seconds(30), interval: .milliseconds(20)) {
            writer.count >= atKill + 400
        }
        writer.stop()
        await writing.value
        let acknowledged = writer.rows

        await waitUntilCaughtUp(postgres, standby: "b")
        let onB = try await SQL.with(postgres.settings.settings(for: "b")) { try await SQL.ids($0, table: "rows") }
        XCTAssertTrue(acknowledged.isSubset(of: onB), "b lacks \(acknowledged.subtracting(onB).count) acknowledged rows")
        let onPrimary = try await SQL.with(primary) { try await SQL.ids($0, table: "rows") }
        XCTAssertEqual(onPrimary, onB)
    }

    func testACommitWaitsWhileBothStandbysAreDownAndReturnsWhenOneIsRestored() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 2)
        try await makeTable(postgres)
        try await postgres.cluster.fault(.down, server: "b")
        try await postgres.cluster.fault(.slow, server: "c") // stopped: confirms nothing either
        let status = try await postgres.cluster.status()
        XCTAssertEqual(status.server("c")?.state, .slow)

        let returned = AsyncFlag()
        let committed = Mutex(false)
        let primary = postgres.primary
        let commit = Task {
            try await SQL.with(primary) { try await SQL.execute($0, "INSERT INTO rows (id) VALUES (1)") }
            committed.withLock { $0 = true }
            returned.fire()
        }
        // The server says the commit waits for synchronous replication (not a guess from elapsed time).
        await waitUntil("the commit to wait for a standby", timeout: .seconds(30), interval: .milliseconds(50)) {
            let waiting = try? await SQL.with(primary) {
                try await SQL.int($0, "SELECT count(*)::bigint FROM pg_stat_activity WHERE wait_event = 'SyncRep'")
            }
            return waiting == 1
        }
        XCTAssertFalse(committed.withLock { $0 }, "the commit returned with both standbys down")
        let stillWaiting = try await postgres.cluster.status()
        XCTAssertTrue(stillWaiting.commitsWait)

        try await postgres.cluster.fault(.restore, server: "b")
        await returned.wait()
        try await commit.value
        await waitUntilCaughtUp(postgres, standby: "b")
        let onB = try await SQL.with(postgres.settings.settings(for: "b")) { try await SQL.ids($0, table: "rows") }
        XCTAssertEqual(onB, [1])

        try await postgres.cluster.fault(.restore, server: "c")
        await waitUntilCaughtUp(postgres, standby: "c")
    }

    /// On servers that fsync, as `cluster up` makes them: the rejoin then syncs what pg_rewind copied (PacedSync),
    /// which a failure there would report as "not rejoined".
    func testFailoverKeepsEveryAcknowledgedRowAndTheOldPrimaryRejoinsAsAStandby() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 2, durable: true)
        try await makeTable(postgres)
        let writer = Writer()
        let oldPrimary = postgres.primary
        let writing = Task { await writer.run(oldPrimary, table: "rows") }
        await waitUntil("some writes", timeout: .seconds(30), interval: .milliseconds(20)) { writer.count >= 300 }

        let result = try await postgres.cluster.failover() // kills the primary under the writer
        await writing.value // the writer's connection died with the primary
        let acknowledged = writer.rows
        XCTAssertEqual(result.oldPrimary, "a")
        XCTAssertTrue(["b", "c"].contains(result.newPrimary))
        XCTAssertTrue(result.rejoined.hasPrefix("pg_rewind") || result.rejoined.hasPrefix("base backup"), result.rejoined)

        let settings = try postgres.cluster.settings()
        XCTAssertEqual(settings.primary, result.newPrimary)
        XCTAssertNotEqual(postgres.primary.port, oldPrimary.port)
        let onNewPrimary = try await SQL.with(postgres.primary) { try await SQL.ids($0, table: "rows") }
        XCTAssertTrue(acknowledged.isSubset(of: onNewPrimary),
                      "the new primary lacks \(acknowledged.subtracting(onNewPrimary).sorted()) of the acknowledged "
                          + "rows up to \(acknowledged.max() ?? 0); the standbys held \(result.receivedLSNs)")
        XCTAssertEqual(Set(result.receivedLSNs.keys), ["b", "c"], "every standby says how much WAL it holds")

        // The new primary takes writes confirmed by a standby, and both others follow it.
        let after = Writer()
        let writingAfter = Task { await after.run(postgres.primary, table: "rows", first: 1_000_000) }
        await waitUntil("writes on the new primary", timeout: .seconds(30), interval: .milliseconds(20)) { after.count >= 50 }
        after.stop()
        await writingAfter.value
        for standby in settings.standbyNames {
            await waitUntilCaughtUp(postgres, standby: standby)
        }
        let status = try await postgres.cluster.status()
        XCTAssertEqual(status.server("a")?.role, .standby)
        XCTAssertEqual(status.server(result.newPrimary)?.role, .primary)
        let onOldPrimary = try await SQL.with(settings.settings(for: "a")) { try await SQL.ids($0, table: "rows") }
        let onNewPrimaryAfter = try await SQL.with(postgres.primary) { try await SQL.ids($0, table: "rows") }
        XCTAssertEqual(onOldPrimary, onNewPrimaryAfter)
    }

    /// The standby that alone holds the newest acknowledged commits is down when the primary is killed: it is
    /// started, found to hold the most WAL, and promoted. Promoting the standby that answers (as the failover
    /// did before) lost every row written while the other was stopped.
    func testAFailoverStartsADownStandbyAndPromotesItWhenItAloneHoldsTheNewestCommits() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 2)
        try await makeTable(postgres)
        try await SQL.with(postgres.primary) { try await SQL.execute($0, "CREATE TABLE padding (id int, body text)") }
        try await postgres.cluster.fault(.slow, server: "c") // confirms nothing, receives nothing from here on
        // More WAL than the stopped c's socket can buffer, so that c, continued by the failover, still lacks the rows.
        try await SQL.with(postgres.primary) {
            try await SQL.execute($0, "INSERT INTO padding SELECT g, repeat('x', 1000) FROM generate_series(1, 30000) g")
        }
        let writer = Writer()
        let primary = postgres.primary
        let writing = Task { await writer.run(primary, table: "rows") }
        await waitUntil("writes confirmed by b alone", timeout: .seconds(30), interval: .milliseconds(20)) { writer.count >= 100 }
        writer.stop()
        await writing.value
        let acknowledged = writer.rows
        try await postgres.cluster.fault(.down, server: "b")

        let steps = Mutex<[String]>([])
        let result = try await postgres.cluster.failover { step in steps.withLock { $0.append(step) } }
        XCTAssertEqual(result.newPrimary, "b", "\(result.receivedLSNs)")
        XCTAssertTrue(steps.withLock { $0 }.contains { $0.contains("standby b is down; starting it") }, "\(steps.withLock { $0 })")
        let onNewPrimary = try await SQL.with(postgres.primary) { try await SQL.ids($0, table: "rows") }
        XCTAssertTrue(acknowledged.isSubset(of: onNewPrimary),
                      "the new primary lacks \(acknowledged.subtracting(onNewPrimary).count) of \(acknowledged.count) acknowledged rows")
        for standby in ["a", "c"] {
            await waitUntilCaughtUp(postgres, standby: standby)
        }
        let onC = try await SQL.with(postgres.settings.settings(for: "c")) { try await SQL.ids($0, table: "rows") }
        XCTAssertEqual(onC, onNewPrimary)
    }

    /// Commits that wait for a standby when the failover kills the primary are not acknowledged. A primary whose
    /// postmaster sees one of its processes die sends every other one SIGQUIT, and a backend that quits so sends
    /// its client what it had buffered: the CommandComplete of a statement whose commit waits at the Sync, which
    /// postgres-nio takes for success. So the fence stops the postmaster before it kills anything.
    func testCommitsWaitingForAStandbyWhenTheFailoverKillsThePrimaryAreNotAcknowledged() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 2)
        try await makeTable(postgres)
        try await postgres.cluster.fault(.slow, server: "b")
        try await postgres.cluster.fault(.slow, server: "c")
        let primary = postgres.primary
        let writers = 30
        let commits = (0..<writers).map { index in
            Task { () -> Bool in
                guard let connection = try? await SQL.within(.seconds(20), { try await SQL.connect(primary, id: 100 + index) }) else {
                    return false
                }
                let acknowledged = (try? await SQL.within(.seconds(60)) {
                    try await SQL.execute(connection, "INSERT INTO rows (id) VALUES (\(index))")
                }) != nil
                _ = try? await SQL.within(.seconds(5)) { try await connection.close() }
                return acknowledged
            }
        }
        await waitUntil("every commit to wait for a standby", timeout: .seconds(30), interval: .milliseconds(50)) {
            let waiting = try? await SQL.with(primary) {
                try await SQL.int($0, "SELECT count(*)::bigint FROM pg_stat_activity WHERE wait_event = 'SyncRep'")
            }
            return waiting == writers
        }
        _ = try await postgres.cluster.failover()
        var acknowledged: [Int] = []
        for (index, commit) in commits.enumerated() where await commit.value { acknowledged.append(index) }
        XCTAssertEqual(acknowledged, [], "commits no standby confirmed were acknowledged")
    }
}
