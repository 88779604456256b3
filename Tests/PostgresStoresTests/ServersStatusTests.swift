import PostgresCluster
import PostgresNIO
@testable import PostgresStores
import TestKit
import XCTest

/// The servers a `--postgres` URL names, read over SQL for the replicas pane: each one's role and position, the
/// standbys matched to the primary's `pg_stat_replication` by the name they stream under; a server that does not
/// answer says why; a user who may not see the replication state is told nothing about which standbys confirm.
final class ServersStatusTests: XCTestCase {
    /// The test cluster's servers as a URL names them, the standbys first.
    private func listed(_ server: TestPostgres, user: String? = nil, password: String? = nil) -> PostgresSettings {
        let logins = ["b", "c", "a"].map { server.settings.settings(for: $0) }
        var settings = PostgresSettings(host: logins[0].host, port: logins[0].port, user: user ?? logins[0].user,
                                        password: password ?? logins[0].password, database: logins[0].database)
        settings.servers = logins.map { PostgresSettings.Server(host: $0.host, port: $0.port) }
        return settings
    }

    private func name(_ server: TestPostgres, _ letter: String) -> String {
        let login = server.settings.settings(for: letter)
        return PostgresSettings.Server(host: login.host, port: login.port).description
    }

    func testAListsServersAreReadWithTheirRolesLagsAndSyncStatesAndAKilledOneSaysWhy() async throws {
        let server = try await TestPostgres.start(self, standbys: 2)
        let settings = listed(server)
        let (a, b, c) = (name(server, "a"), name(server, "b"), name(server, "c"))

        let status = try await waitForStatus(settings) { status in
            status.servers.filter { $0.syncState == "quorum" && $0.replication == "streaming" }.count == 2
        }
        XCTAssertEqual(status.servers.map(\.name), [b, c, a], "in the URL's order")
        XCTAssertEqual(status.primary, a)
        XCTAssertEqual(status.servers.map(\.role), [.standby, .standby, .primary])
        XCTAssertEqual(status.servers.map(\.state), [.up, .up, .up])
        XCTAssertEqual(status.synchronousCount, 1, "ANY 1 (b, c)")
        XCTAssertNotEqual(status.replicationVisible, false)
        XCTAssertFalse(status.commitsWait)
        for standby in status.servers where standby.role == .standby {
            XCTAssertNotNil(standby.lagBytes, standby.name)
            XCTAssertNotNil(standby.lsn.flatMap(LSN.parse), standby.name)
        }
        XCTAssertNotNil(status.server(a)?.lsn.flatMap(LSN.parse))

        _ = try await server.cluster.fault(.down, server: "b")
        let oneDown = try await waitForStatus(settings) { $0.server(b)?.state == .unreachable }
        XCTAssertEqual(oneDown.server(b)?.problem, "connection refused")
        XCTAssertFalse(oneDown.commitsWait, "c still confirms")
        _ = try await server.cluster.fault(.down, server: "c")
        let bothDown = try await waitForStatus(settings) { $0.server(c)?.state == .unreachable }
        XCTAssertTrue(bothDown.commitsWait, "no standby confirms a commit")
        XCTAssertEqual(bothDown.confirmingStandbys, 0)

        _ = try await server.cluster.fault(.restore, server: "b")
        _ = try await waitForStatus(settings) { !$0.commitsWait }
    }

    func testAUserWhoMayNotSeeTheReplicationStateIsToldNothingAboutWhichStandbysConfirm() async throws {
        let server = try await TestPostgres.start(self, standbys: 2)
        let primary = PostgresSettings(host: server.primary.host, port: server.primary.port, user: server.primary.user,
                                       password: server.primary.password, database: server.primary.database)
        let admin = PostgresPool(settings: primary, maxConnections: 1)
        _ = try await admin.rows(PostgresQuery(unsafeSQL: "CREATE ROLE watcher LOGIN PASSWORD 'watcher-secret'"))
        await admin.close()
        let settings = listed(server, user: "watcher", password: "watcher-secret")

        let status = try await waitForStatus(settings) { $0.servers.allSatisfy { $0.state == .up } }
        XCTAssertEqual(status.primary, name(server, "a"))
        XCTAssertEqual(status.replicationVisible, false)
        XCTAssertEqual(status.servers.compactMap(\.syncState), [], "hidden from this user")
        XCTAssertFalse(status.commitsWait, "unknown, so not claimed")
        for standby in status.servers where standby.role == .standby {
            XCTAssertNotNil(standby.lagBytes, "from the two servers' own positions: \(standby.name)")
        }
    }

    /// A split brain: the standby promoted while the old primary still runs as one. Both take writes; the one
    /// on the newer timeline is the primary, for the stores and for the status, though the URL names the old
    /// one first, and the status says which is the old one.
    func testOfTwoServersThatTakeWritesTheOneOnTheNewerTimelineIsThePrimary() async throws {
        let server = try await TestPostgres.start(self, standbys: 1)
        let logins = ["a", "b"].map { server.settings.settings(for: $0) }
        var settings = PostgresSettings(host: logins[0].host, port: logins[0].port, user: logins[0].user,
                                        password: logins[0].password, database: logins[0].database)
        settings.servers = logins.map { PostgresSettings.Server(host: $0.host, port: $0.port) }
        let before = try await PostgresPool.primary(of: settings)
        XCTAssertEqual(before.port, logins[0].port)

        let b = PostgresPool(settings: settings.on(settings.servers[1]), maxConnections: 1)
        _ = try await b.rows("SELECT pg_promote()")
        await b.close()

        let chosen = try await PostgresPool.primary(of: settings)
        XCTAssertEqual(chosen.port, logins[1].port, "the promoted server, on timeline 2, not the first in the URL")
        let status = try await waitForStatus(settings) { $0.servers.allSatisfy { $0.role == .primary } }
        XCTAssertEqual(status.primary, name(server, "b"))
        XCTAssertEqual(status.servers.map(\.problem), ["old primary: timeline 1 < 2", nil])

        // The data directory's own view: the engine writes to the primary its settings name (a), which the
        // failover command moves; b, promoted by hand, is shown as the second writer it is.
        let local = try await server.cluster.status()
        XCTAssertEqual(local.primary, "a")
        XCTAssertEqual(local.servers.map(\.role), [.primary, .primary])
        XCTAssertEqual(local.servers.map(\.problem), [nil, "split brain: timeline 2, a on 1"])
    }

    func testTheNewestTimelineWinsAndTheFirstInOrderAmongEquals() {
        XCTAssertEqual(Timeline.newest([nil, 1, 2, 2]), 2)
        XCTAssertEqual(Timeline.newest([0, 0]), 0, "no timelines said: URL order")
        XCTAssertEqual(Timeline.newest([0, 3]), 1)
        XCTAssertNil(Timeline.newest([nil, nil]))
        XCTAssertEqual(Timeline.of(walFile: "0000000A0000000000000003"), 10)
        XCTAssertNil(Timeline.of(walFile: "bogus"))
    }

    func testNoServerThatTakesWritesMeansNoPrimaryAndNothingConfirmed() async throws {
        var settings = PostgresSettings(host: "127.0.0.1", port: 9, user: "u", password: "p", database: "d")
        settings.servers = [.init(host: "127.0.0.1", port: 9), .init(host: "127.0.0.1", port: 1)]
        let status = await PostgresPool.serversStatus(of: settings)
        XCTAssertEqual(status.primary, "")
        XCTAssertEqual(status.servers.map(\.state), [.unreachable, .unreachable])
        XCTAssertEqual(status.servers.map(\.problem), ["connection refused", "connection refused"])
        XCTAssertEqual(status.confirmingStandbys, 0)
    }

    func testTheNameAStandbyStreamsUnderIsPostgreSQLsOwnChoice() {
        let conninfo = "user=hongbao password=******** channel_binding=prefer dbname=replication host=127.0.0.1 "
            + "port=5432 application_name=b fallback_application_name=walreceiver sslmode=prefer"
        XCTAssertEqual(PostgresPool.streamingName(conninfo: conninfo, clusterName: "hongbao-b"), "b")
        XCTAssertEqual(PostgresPool.streamingName(conninfo: "host=h application_name='s1'", clusterName: ""), "s1")
        XCTAssertEqual(PostgresPool.streamingName(conninfo: "host=h port=5432", clusterName: "main"), "main")
        XCTAssertEqual(PostgresPool.streamingName(conninfo: "host=h port=5432", clusterName: ""), "walreceiver")
        XCTAssertNil(PostgresPool.streamingName(conninfo: nil, clusterName: "main"), "hidden from this user")
    }

    /// The status of `settings`' servers once `condition` holds (read every 100 ms, up to 30 s).
    /// Readings on kept connections (the dashboard's monitor) ask the same server processes each time: one
    /// connection a server, open from one reading to the next. A standby killed and restarted is read again on a
    /// new connection, and shown up in the first reading once it answers.
    func testReadingsOnKeptConnectionsAskTheSameServerProcessesEachTime() async throws {
        let server = try await TestPostgres.start(self, standbys: 1)
        var settings = listed(server)
        settings.servers = ["b", "a"].map { letter in
            let login = server.settings.settings(for: letter)
            return PostgresSettings.Server(host: login.host, port: login.port)
        }
        let (a, b) = (name(server, "a"), name(server, "b"))
        let kept = KeptConnections()
        defer { kept.closeAll() }
        // Asked from another database, so that this question's own connections (a backend may still be exiting
        // after its close) are not among those counted.
        XCTAssertNotEqual(settings.database, "postgres")
        let pids = "SELECT coalesce(array_agg(pid ORDER BY pid), '{}') FROM pg_stat_activity "
            + "WHERE backend_type = 'client backend' AND datname = '\(settings.database)'"
        var asker = settings.on(settings.servers[1])
        asker.database = "postgres"
        func readersOnPrimary() async throws -> [Int32] {
            try await PostgresPool.probe(asker) { connection, logger in
                var found: [Int32] = []
                for try await list in try await connection.query(PostgresQuery(unsafeSQL: pids), logger: logger)
                    .decode([Int32].self) { found = list }
                return found
            }.get()
        }
        let first = await PostgresPool.serversStatus(of: settings, kept: kept)
        XCTAssertEqual(first.servers.map(\.state), [.up, .up])
        XCTAssertEqual(first.primary, a)
        XCTAssertEqual(kept.count, 2)
        let before = try await readersOnPrimary()
        XCTAssertEqual(before.count, 1, "the kept connection, idle between readings")
        for _ in 0..<3 { _ = await PostgresPool.serversStatus(of: settings, kept: kept) }
        let after = try await readersOnPrimary()
        XCTAssertEqual(after, before, "the same server process answered every reading")

        _ = try await server.cluster.fault(.down, server: "b")
        _ = try await server.cluster.fault(.restore, server: "b")
        _ = try await waitForStatus(settings) { $0.server(b)?.state == .up }
        let reading = await PostgresPool.serversStatus(of: settings, kept: kept)
        XCTAssertEqual(reading.server(b)?.state, .up, reading.server(b)?.problem ?? "")
        XCTAssertEqual(kept.count, 2)
    }

    private func waitForStatus(_ settings: PostgresSettings, file: StaticString = #filePath, line: UInt = #line,
                               _ condition: @escaping @Sendable (ClusterStatus) -> Bool) async throws -> ClusterStatus {
        let deadline = ContinuousClock.now + .seconds(30)
        var status = await PostgresPool.serversStatus(of: settings)
        while !condition(status) {
            guard ContinuousClock.now < deadline else {
                XCTFail("the status never held; the last: \(status)", file: file, line: line)
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(100))
            status = await PostgresPool.serversStatus(of: settings)
        }
        return status
    }
}
