import Dashboard
@testable import hongbao
import PostgresCluster
import XCTest

/// A second server that takes writes (a standby promoted by hand, an old primary started again) is shown in the
/// replicas pane as the split brain it is: not up, not in sync, not counted toward the write quorum. Before, it
/// was "▲ UP" and counted, and the pane's summary said "3/3 up, in sync".
final class SplitBrainPaneTests: XCTestCase {
    private func status() -> ClusterStatus {
        var a = ServerStatus(name: "a", port: 1, role: .primary, state: .up)
        a.lsn = "0/4000060"
        var b = ServerStatus(name: "b", port: 2, role: .primary, state: .up)
        b.lsn = "0/4000140"
        b.problem = "split brain: timeline 2, a on 1"
        var c = ServerStatus(name: "c", port: 3, role: .standby, state: .up)
        c.lsn = "0/4000060"
        c.lagBytes = 0
        c.replication = "streaming"
        c.syncState = "quorum"
        return ClusterStatus(servers: [a, b, c], primary: "a", synchronousStandbyNames: "ANY 1 (b, c)", synchronousCount: 1)
    }

    func testTheSecondPrimaryIsASplitBrainAndCountsForNothing() {
        let status = status()
        let replicas = status.servers.map { DashboardCluster.replica($0, in: status) }
        XCTAssertEqual(replicas.map(\.state), [.up, .splitBrain, .up])
        XCTAssertEqual(replicas.map(\.isLive), [true, false, true])
        XCTAssertEqual(replicas[1].detail?.first, "timeline 2, a on 1", "the state word says split brain already")
    }

    /// In a failover, between the promotion and the settings' rewrite, the promoted server takes writes and the
    /// settings still name the old primary, which is down: one writer, no split brain.
    func testAPromotedServerBesideADownPrimaryIsNoSplitBrain() {
        var status = status()
        status.servers[0].state = .down
        status.servers[1].problem = nil
        let replicas = status.servers.map { DashboardCluster.replica($0, in: status) }
        XCTAssertEqual(replicas.map(\.state), [.down, .up, .up])
        XCTAssertEqual(replicas[1].isLive, true)
    }
}
