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

    /// The monitor's questions go over one connection a server, kept from poll to poll: the same server processes
    /// answer poll after poll (with a connection a question, none would be there between polls). A standby killed
    /// and restarted under its kept connection is read again on a new one.
    func testPollsKeepOneConnectionAServerAndReconnectAfterARestart() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 1)
        let monitor = ClusterMonitor(cluster: postgres.cluster, interval: .milliseconds(50))
        let polling = Task { await monitor.run() }
        await waitUntil("both servers seen up", timeout: .seconds(20), interval: .milliseconds(20)) {
            monitor.latest.status?.servers.allSatisfy { $0.state == .up } == true
        }
        XCTAssertEqual(monitor.keptConnections, 2, "one for the primary's two questions, one for the standby")
        let primary = postgres.primary.with(database: "postgres")
        let monitorBackends = "SELECT count(*)::bigint FROM pg_stat_activity WHERE backend_type = 'client backend' "
            + "AND datname = 'postgres' AND pid <> pg_backend_pid() AND backend_start < now() - interval '1 second'"
        let pollsBefore = monitor.latest.polls
        try await Task.sleep(for: .milliseconds(1_500))
        XCTAssertGreaterThan(monitor.latest.polls, pollsBefore + 5)
        let kept = try await SQL.with(primary) { try await SQL.int($0, monitorBackends) }
        XCTAssertEqual(kept, 1, "the primary's kept connection, open for more than a second of polls")

        try await postgres.cluster.fault(.down, server: "b")
        await waitUntil("the standby seen down", timeout: .seconds(20), interval: .milliseconds(20)) {
            monitor.latest.status?.server("b")?.state == .down
        }
        try await postgres.cluster.fault(.restore, server: "b")
        await waitUntil("the restarted standby read again", timeout: .seconds(30), interval: .milliseconds(20)) {
            monitor.latest.status?.server("b")?.state == .up
        }
        XCTAssertEqual(monitor.keptConnections, 2)
        polling.cancel()
        await polling.value
        XCTAssertEqual(monitor.keptConnections, 0, "closed when the monitor stops")

        // One reading right after the restart, on the connection kept from before it: the server is shown up (the
        // stale connection is dropped and the question asked again), not unreachable for that reading.
        let connections = KeptConnections()
        let first = try await postgres.cluster.status(kept: connections)
        XCTAssertEqual(first.server("b")?.state, .up)
        XCTAssertEqual(connections.count, 2)
        try await postgres.cluster.fault(.down, server: "b")
        try await postgres.cluster.fault(.restore, server: "b")
        await waitUntil("the standby answering again", timeout: .seconds(30), interval: .milliseconds(50)) {
            (try? await postgres.cluster.status().server("b")?.state) == .up
        }
        let reading = try await postgres.cluster.status(kept: connections).server("b")
        XCTAssertEqual(reading?.state, .up, reading?.problem ?? "")
        XCTAssertEqual(connections.count, 2)
        connections.closeAll()
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
