import Foundation
import Logging
import PostgresCluster
import PostgresNIO

/// The servers a `--postgres` URL names, read over SQL alone for the replicas pane: what a cluster that this
/// machine did not make (`hongbao cluster up` made none here) says about itself to the URL's user. Each server
/// gives its role, WAL position and, as a standby, the name it streams under; the one that takes writes gives
/// its `synchronous_standby_names` and `pg_stat_replication`, matched to the standbys by that name.
extension PostgresPool {
    /// How long one server may take to answer before it counts as unreachable (the pane is read twice a second).
    static let statusTimeout: Duration = .seconds(1)

    /// What one server said.
    struct ServerReading: Sendable {
        var inRecovery: Bool
        /// The primary's current WAL position, or a standby's replay position.
        var lsn: String?
        /// The timeline a primary writes on (nil for a standby, or when not said).
        var timeline: UInt32?
        var received: String?
        /// For a standby: the `application_name` it streams under (its `pg_stat_wal_receiver.conninfo`'s, else its
        /// `cluster_name`, else `walreceiver`, as PostgreSQL picks it); nil when that cannot be read.
        var streamsAs: String?
        var synchronousCommit: String
        var standbyNames: String
        /// For the primary: `pg_stat_replication`, one row per connected standby.
        var replication: [ReplicationRow]
    }

    struct ReplicationRow: Sendable {
        var name: String
        /// Nil (with the others) when the user may not see them.
        var state: String?
        var syncState: String?
        var replayLSN: String?
        var replayLagMilliseconds: Double?
    }

    /// Every server of `settings`' list, asked at once, each within `statusTimeout`. The primary is the one that
    /// answers and is not in recovery, on the newest timeline when two are (as the stores pick it:
    /// `Timeline.newest`); another not in recovery is shown as an old primary. With none, there is no primary ("")
    /// and no standby confirms anything.
    /// - Parameter kept: connections kept between readings (a monitor's); nil opens and closes one a server.
    public static func serversStatus(of settings: PostgresSettings, kept: KeptConnections? = nil) async -> ClusterStatus {
        let readings = await onEveryServer(settings) { server in
            await probe(server, timeout: statusTimeout, kept: kept) { try await read($0, $1) }
        }
        let answered = settings.servers.map { server -> ServerReading? in
            if case let .success(reading) = readings[server] { return reading }
            return nil
        }
        let primaryIndex = Timeline.newest(answered.map { reading in
            reading.flatMap { $0.inRecovery ? nil : $0.timeline ?? 0 }
        })
        let primary = primaryIndex.flatMap { answered[$0] }
        let primaryLSN = primary?.lsn.flatMap(LSN.parse)
        let rows = Dictionary(primary?.replication.map { ($0.name, $0) } ?? [], uniquingKeysWith: { first, _ in first })
        let visible = primary.map { $0.replication.allSatisfy { $0.syncState != nil } } ?? true

        var servers: [ServerStatus] = []
        for (index, server) in settings.servers.enumerated() {
            var status = ServerStatus(name: server.description, port: server.port, role: .standby, state: .unreachable)
            guard let reading = answered[index] else {
                if case let .failure(failure) = readings[server] { status.problem = failure.text }
                servers.append(status)
                continue
            }
            status.state = .up
            status.role = reading.inRecovery ? .standby : .primary
            status.lsn = reading.lsn
            status.receivedLSN = reading.received
            if reading.inRecovery {
                let row = reading.streamsAs.flatMap { rows[$0] }
                status.replication = row?.state
                status.syncState = row?.syncState
                status.replayLagMilliseconds = row?.replayLagMilliseconds
                // The primary's view of the standby's replay when it shows it; else the two positions as each
                // server gave them (read a moment apart: never below zero).
                let replay = row?.replayLSN.flatMap(LSN.parse) ?? reading.lsn.flatMap(LSN.parse)
                if let primaryLSN, let replay { status.lagBytes = Int64(clamping: primaryLSN >= replay ? primaryLSN - replay : 0) }
            }
            servers.append(status)
        }
        let waitsFor = primary.map {
            standbysEachCommitWaitsFor(synchronousCommit: $0.synchronousCommit, standbyNames: $0.standbyNames)
        } ?? 0
        var status = ClusterStatus(servers: servers, primary: primaryIndex.map { settings.servers[$0].description } ?? "",
                                   synchronousStandbyNames: primary?.standbyNames ?? "", synchronousCount: waitsFor)
        status.replicationVisible = visible
        for index in status.servers.indices where status.isSecondWriter(status.servers[index]) {
            status.servers[index].problem = "old primary: timeline \(answered[index]?.timeline.map(String.init) ?? "?") < "
                + "\(primary?.timeline.map(String.init) ?? "?")"
        }
        return status
    }

    /// One server's answers: two statements on the primary, one on a standby.
    private static func read(_ connection: PostgresConnection, _ logger: Logger) async throws -> ServerReading {
        var reading: ServerReading?
        let rows = try await connection.query("""
            SELECT pg_is_in_recovery(),
                   (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text,
                   pg_last_wal_receive_lsn()::text,
                   (SELECT conninfo FROM pg_stat_wal_receiver LIMIT 1),
                   current_setting('cluster_name'),
                   current_setting('synchronous_commit'), current_setting('synchronous_standby_names'),
                   \(unescaped: Timeline.walFileColumn)
            """, logger: logger)
        for try await (inRecovery, lsn, received, conninfo, clusterName, commit, names, walFile)
            in rows.decode((Bool, String?, String?, String?, String, String, String, String?).self) {
            reading = ServerReading(
                inRecovery: inRecovery, lsn: lsn, timeline: Timeline.of(walFile: walFile), received: received,
                streamsAs: inRecovery ? streamingName(conninfo: conninfo, clusterName: clusterName) : nil,
                synchronousCommit: commit, standbyNames: names, replication: [])
        }
        guard var reading else { throw ProbeFailure(text: "no answer") }
        guard !reading.inRecovery else { return reading }
        let replication = try await connection.query("""
            SELECT application_name, state, sync_state, replay_lsn::text, (EXTRACT(EPOCH FROM replay_lag) * 1000)::float8
            FROM pg_stat_replication
            """, logger: logger)
        for try await (name, state, sync, replay, lag)
            in replication.decode((String?, String?, String?, String?, Double?).self) {
            reading.replication.append(ReplicationRow(name: name ?? "", state: state, syncState: sync,
                                                      replayLSN: replay, replayLagMilliseconds: lag))
        }
        return reading
    }

    /// The `application_name` a standby's WAL receiver connects with: the one its connection string sets, else
    /// `cluster_name`, else `walreceiver` (PostgreSQL's own order). Nil when the connection string is hidden
    /// from this user: the name it sets cannot be known then.
    static func streamingName(conninfo: String?, clusterName: String) -> String? {
        guard let conninfo else { return nil }
        for pair in conninfo.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0] == "application_name" else { continue }
            let value = parts[1].hasPrefix("'") && parts[1].hasSuffix("'") && parts[1].count >= 2
                ? parts[1].dropFirst().dropLast() : parts[1]
            return String(value)
        }
        return clusterName.isEmpty ? "walreceiver" : clusterName
    }
}
