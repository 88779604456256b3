@testable import PostgresCluster
import XCTest

/// The local cluster's status marks a second server that takes writes only while the settings' primary takes
/// writes too: two writers. With that primary down (a failover's moment between the promotion and the settings'
/// rewrite) the promoted server is the one writer, and nothing is marked.
final class SecondWriterTests: XCTestCase {
    private func servers(primaryState: ServerStatus.State) -> [ServerStatus] {
        [ServerStatus(name: "a", port: 1, role: .primary, state: primaryState),
         ServerStatus(name: "b", port: 2, role: .primary, state: .up),
         ServerStatus(name: "c", port: 3, role: .standby, state: .up)]
    }

    private func marked(primaryState: ServerStatus.State, timelines: [UInt32?]) -> [String?] {
        var status = ClusterStatus(servers: servers(primaryState: primaryState), primary: "a",
                                   synchronousStandbyNames: "ANY 1 (b, c)", synchronousCount: 1)
        LocalCluster.markSecondWriters(&status, timelines: timelines)
        return status.servers.map(\.problem)
    }

    func testTwoWritersAreASplitBrainAndOneIsNot() {
        XCTAssertEqual(marked(primaryState: .up, timelines: [1, 2, nil]), [nil, "split brain: timeline 2, a on 1", nil])
        XCTAssertEqual(marked(primaryState: .up, timelines: [nil, nil, nil])[1], "split brain: timeline ?, a on ?")
        XCTAssertEqual(marked(primaryState: .down, timelines: [nil, 2, nil]), [nil, nil, nil])
    }
}
