import Foundation
import PostgresCluster
import TestKit
import XCTest

/// The monitor a screen reads: it keeps the last status, polls on its own until cancelled, and says why there is
/// no status when there is no cluster.
final class ClusterMonitorTests: XCTestCase {
    func testTheMonitorKeepsPollingAndSeesAFault() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 0)
        let monitor = ClusterMonitor(cluster: postgres.cluster, interval: .milliseconds(50))
        XCTAssertNil(monitor.latest.status)
        XCTAssertEqual(monitor.latest.polls, 0)
        let polling = Task { await monitor.run() }
        await waitUntil("the primary seen up", timeout: .seconds(20), interval: .milliseconds(20)) {
            monitor.latest.status?.server("a")?.state == .up
        }
        let before = monitor.latest.polls
        try await postgres.cluster.fault(.slow, server: "a")
        await waitUntil("the fault seen by the monitor", timeout: .seconds(20), interval: .milliseconds(20)) {
            monitor.latest.status?.server("a")?.state == .slow
        }
        XCTAssertGreaterThan(monitor.latest.polls, before)
        try await postgres.cluster.fault(.restore, server: "a")
        await waitUntil("the primary seen up again", timeout: .seconds(20), interval: .milliseconds(20)) {
            monitor.latest.status?.server("a")?.state == .up
        }
        polling.cancel()
        await polling.value
    }

    func testWithoutAClusterTheMonitorSaysWhy() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-monitor")
        defer { directory.remove() }
        let monitor = ClusterMonitor(cluster: LocalCluster(dataDirectory: directory.path))
        let reading = await monitor.poll()
        XCTAssertNil(reading.status)
        XCTAssertEqual(reading.polls, 1)
        XCTAssertEqual(reading.problem, ClusterError.noCluster(path: directory.appending("cluster")).description)
    }
}
