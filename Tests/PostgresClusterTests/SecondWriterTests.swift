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

    func testTwoWritersAreASplitBrainAndOneIsNot() {
        var both = servers(primaryState: .up)
        LocalCluster.markSecondWriters(&both, timelines: [1, 2, nil], primary: "a")
        XCTAssertEqual(both.map(\.problem), [nil, "split brain: timeline 2, a on 1", nil])

        var unknown = servers(primaryState: .up)
        LocalCluster.markSecondWriters(&unknown, timelines: [nil, nil, nil], primary: "a")
        XCTAssertEqual(unknown[1].problem, "split brain: timeline ?, a on ?")

        var promoted = servers(primaryState: .down)
        LocalCluster.markSecondWriters(&promoted, timelines: [nil, 2, nil], primary: "a")
        XCTAssertEqual(promoted.map(\.problem), [nil, nil, nil])
    }
}
