import Foundation
@testable import PostgresCluster
import TestKit
import XCTest

/// The old primary's rejoin after a failover when the new primary no longer has the WAL it needs.
final class RejoinTests: XCTestCase {
    /// Between the rewind and the start, the new primary writes five segments and checkpoints with
    /// `wal_keep_size = 0`: the segment the rewound server must stream from is recycled, and the server asks
    /// for it forever. The failover sees that in its log and copies the old primary afresh, which then follows
    /// the new primary with every row.
    func testARewoundServerWhoseWALIsGoneIsCopiedAfreshAndStreams() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 2)
        try await SQL.with(postgres.primary) { try await SQL.execute($0, "CREATE TABLE rows (id bigint PRIMARY KEY)") }
        try await SQL.with(postgres.primary) { try await SQL.execute($0, "INSERT INTO rows SELECT generate_series(1, 1000)") }

        let recycled = AsyncFlag()
        let result = try await postgres.cluster.failover(progress: { _ in }, afterRewind: { settings in
            do {
                try await SQL.with(settings.primarySettings) { connection in
                    try await SQL.execute(connection, "ALTER SYSTEM SET wal_keep_size = 0")
                    try await SQL.execute(connection, "SELECT pg_reload_conf()")
                    for round in 1...5 {
                        try await SQL.execute(connection,
                            "INSERT INTO rows SELECT generate_series(\(round * 10_000), \(round * 10_000 + 999))")
                        try await SQL.execute(connection, "SELECT pg_switch_wal()")
                    }
                    try await SQL.execute(connection, "CHECKPOINT")
                    try await SQL.execute(connection, "ALTER SYSTEM RESET wal_keep_size")
                    try await SQL.execute(connection, "SELECT pg_reload_conf()")
                }
                recycled.fire()
            } catch {
                XCTFail("recycling the WAL on the new primary: \(error)")
            }
        })
        XCTAssertTrue(recycled.hasFired)
        XCTAssertTrue(result.rejoined.hasPrefix("base backup (after pg_rewind: the WAL"), result.rejoined)

        // The copy follows the new primary: a row written now reaches it.
        try await SQL.with(postgres.primary) { try await SQL.execute($0, "INSERT INTO rows VALUES (1000000)") }
        await waitUntilCaughtUp(postgres, standby: "a")
        let status = try await postgres.cluster.status()
        XCTAssertEqual(status.server("a")?.role, .standby)
        let onOld = try await SQL.with(postgres.cluster.settings().settings(for: "a")) { try await SQL.ids($0, table: "rows") }
        let onNew = try await SQL.with(postgres.primary) { try await SQL.ids($0, table: "rows") }
        XCTAssertEqual(onNew.count, 6_001)
        XCTAssertEqual(onOld.count, onNew.count)
        XCTAssertTrue(onOld == onNew, "the old primary differs from the new in \(onOld.symmetricDifference(onNew).count) rows")
    }

    /// `pg_rewind` first finishes the killed primary's crash recovery, and that recovery ends in a checkpoint
    /// that keeps only `wal_keep_size` of WAL behind it; the rewind then reads the old primary's WAL back to
    /// its last checkpoint before the failover, which can be most of a checkpoint distance back. Here the
    /// primary writes three segments more than a quarter of `max_wal_size` (what was kept before) after its
    /// last checkpoint, with no checkpoint since (checked), and the old primary still comes back by
    /// `pg_rewind`, not by a base backup.
    func testTheOldPrimaryIsRewoundWhenItsLastCheckpointIsFurtherBackThanTheWALKeptForStandbys() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 2)
        let sizes = ServerConfiguration.walSizes
        let target = (sizes.max / 4 + 48) * 1_048_576
        let (written, checkpointMoved) = try await SQL.with(postgres.primary) { connection -> (Int, Bool) in
            try await SQL.execute(connection, "CREATE TABLE rows (id bigint PRIMARY KEY, filler text)")
            try await SQL.execute(connection, "CHECKPOINT")
            let lsn = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint"
            let checkpoint = "SELECT (checkpoint_lsn - '0/0'::pg_lsn)::bigint FROM pg_control_checkpoint()"
            let start = try await SQL.int(connection, lsn)
            let checkpointAtStart = try await SQL.int(connection, checkpoint)
            var next = 0
            while try await SQL.int(connection, lsn) - start < target {
                try await SQL.execute(connection,
                    "INSERT INTO rows SELECT g, repeat('x', 100) FROM generate_series(\(next), \(next + 9_999)) g")
                next += 10_000
            }
            return (try await SQL.int(connection, lsn) - start, try await SQL.int(connection, checkpoint) != checkpointAtStart)
        }
        XCTAssertFalse(checkpointMoved, "a checkpoint came after the test's: the case is not made")

        let result = try await postgres.cluster.failover()
        XCTAssertEqual(result.rejoined, "pg_rewind", "after \(written / 1_048_576) MB of WAL since the last checkpoint")
        await waitUntilCaughtUp(postgres, standby: "a")
    }
}
