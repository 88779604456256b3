import Foundation
import PostgresNIO

extension LocalCluster {
    /// How long one server may take to answer the status's questions before it counts as unreachable.
    static let probeTimeout: Duration = .seconds(1)

    /// Every server's process state, role and WAL position, and the primary's view of its standbys
    /// (`pg_stat_replication`). Takes no lock and changes nothing.
    /// - Parameter kept: connections kept between readings (a monitor's); nil opens and closes one per question.
    public func status(kept: KeptConnections? = nil) async throws(ClusterError) -> ClusterStatus {
        let settings = try self.settings()
        return await LocalCluster.status(of: settings, kept: kept)
    }

    static func status(of settings: ClusterSettings, kept: KeptConnections? = nil) async -> ClusterStatus {
        let probes = await withTaskGroup(of: (String, (status: ServerStatus, timeline: UInt32?)).self) { group in
            for server in settings.servers {
                group.addTask { (server.name, await probe(server, settings: settings, kept: kept)) }
            }
            var byName: [String: (status: ServerStatus, timeline: UInt32?)] = [:]
            for await (name, status) in group { byName[name] = status }
            return byName
        }
        var servers = settings.servers.compactMap { probes[$0.name]?.status }
        let primaryName = settings.primary
        if servers.first(where: { $0.name == primaryName })?.state == .up,
           let replication = try? await replication(settings.primarySettings.with(database: "postgres"), kept: kept) {
            for index in servers.indices where servers[index].name != primaryName {
                guard let row = replication[servers[index].name] else { continue }
                servers[index].replication = row.state
                servers[index].syncState = row.syncState
                servers[index].lagBytes = row.lagBytes
                servers[index].replayLagMilliseconds = row.replayLagMilliseconds
            }
        }
        let names = ServerConfiguration.synchronousStandbyNames(server: primaryName, settings: settings)
        var status = ClusterStatus(servers: servers, primary: primaryName, synchronousStandbyNames: names,
                                   synchronousCount: settings.servers.count > 1 ? 1 : 0)
        markSecondWriters(&status, timelines: settings.servers.map { probes[$0.name]?.timeline })
        return status
    }

    /// A second writer beside the settings' primary (`ClusterStatus.isSecondWriter`: a standby promoted by hand,
    /// not by `failover`) gets a problem saying so, with both timelines (`timelines`, one per server of `status`).
    /// The engine writes to the settings' primary, the one the other standbys follow; what the second one takes
    /// reaches no standby.
    static func markSecondWriters(_ status: inout ClusterStatus, timelines: [UInt32?]) {
        let primaryTimeline = zip(status.servers, timelines).first { $0.0.name == status.primary }?.1
        for (index, timeline) in zip(status.servers.indices, timelines)
        where status.isSecondWriter(status.servers[index]) {
            status.servers[index].problem = ClusterStatus.splitBrainWords
                + "timeline \(timeline.map(String.init) ?? "?"), \(status.primary) on \(primaryTimeline.map(String.init) ?? "?")"
        }
    }

    private static func probe(_ server: ClusterSettings.Server, settings: ClusterSettings, kept: KeptConnections?) async
        -> (status: ServerStatus, timeline: UInt32?) {
        let expected: ServerStatus.Role = server.name == settings.primary ? .primary : .standby
        var status = ServerStatus(name: server.name, port: server.port, role: expected, state: .down)
        let process = ServerProcess.inspect(directory: server.directory)
        status.pid = process.pid
        switch process.state {
        case .gone: return (status, nil)
        case .stopped:
            status.state = .slow
            return (status, nil)
        case .running: break
        }
        struct Answer: Sendable {
            var inRecovery: Bool
            var lsn: String?
            var received: String?
            var timeline: UInt32?
        }
        let answer = try? await ServerConnection.with(settings.settings(for: server.name).with(database: "postgres"),
                                                      timeout: probeTimeout, kept: kept) { connection in
            let rows = try await ServerConnection.rows(connection, """
                SELECT pg_is_in_recovery(),
                       (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text,
                       pg_last_wal_receive_lsn()::text, \(Timeline.walFileColumn)
                """)
            guard let row = rows.first else { return Answer(inRecovery: false) }
            let (inRecovery, lsn, received, walFile) = try row.decode((Bool, String?, String?, String?).self)
            return Answer(inRecovery: inRecovery, lsn: lsn, received: received, timeline: Timeline.of(walFile: walFile))
        }
        guard let answer else {
            status.state = .unreachable
            return (status, nil)
        }
        status.state = .up
        status.role = answer.inRecovery ? .standby : .primary
        status.lsn = answer.lsn
        status.receivedLSN = answer.received
        return (status, answer.timeline)
    }

    struct ReplicationRow: Sendable {
        var state: String
        var syncState: String
        var lagBytes: Int64?
        var replayLagMilliseconds: Double?
    }

    /// `pg_stat_replication` on the primary, by standby name (`application_name`).
    static func replication(_ settings: PostgresLogin, kept: KeptConnections? = nil) async throws -> [String: ReplicationRow] {
        try await ServerConnection.with(settings, timeout: probeTimeout, kept: kept) { connection in
            let rows = try await ServerConnection.rows(connection, """
                SELECT application_name, state, sync_state,
                       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,
                       (EXTRACT(EPOCH FROM replay_lag) * 1000)::float8
                FROM pg_stat_replication
                """)
            var byName: [String: ReplicationRow] = [:]
            for row in rows {
                let (name, state, sync, lag, lagMilliseconds) = try row.decode((String, String?, String?, Int64?, Double?).self)
                byName[name] = ReplicationRow(state: state ?? "", syncState: sync ?? "", lagBytes: lag,
                                              replayLagMilliseconds: lagMilliseconds)
            }
            return byName
        }
    }
}
