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
}
