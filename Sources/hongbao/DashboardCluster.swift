import Dashboard
import Foundation
import Engine
import PostgresCluster
import PostgresStores
import Synchronization

/// The PostgreSQL cluster under a dashboard that runs on `--store postgres`: its three servers, read by a
/// `ClusterMonitor`, shown in the replicas pane (role, WAL position, replay lag, sync state), and the replica
/// keys and `:replica` commands acting on them through the cluster's fault functions: *down* kills a server's
/// postmaster with SIGKILL, *slow* stops it with SIGSTOP, *restore* brings it back (it catches up by streaming).
///
/// Or the servers a `--postgres` URL names, when the data directory holds no cluster of this machine's: shown the
/// same way, read over SQL alone (`PostgresPool.serversStatus`), and never faulted (they are not this dashboard's
/// to kill).
final class DashboardCluster: Sendable {
    /// The local cluster the keys fault; nil for servers named by a URL.
    let cluster: LocalCluster?
    let monitor: ClusterMonitor
    /// Whether commits waited for a standby at the last reading, to say so once when it changes.
    private let waiting = Mutex<Bool?>(nil)

    init(cluster: LocalCluster, monitor: ClusterMonitor? = nil) {
        self.cluster = cluster
        self.monitor = monitor ?? ClusterMonitor(cluster: cluster)
    }

    private init(monitor: ClusterMonitor) {
        cluster = nil
        self.monitor = monitor
    }

    /// The cluster in the data directory, when there is one (`hongbao cluster up`); nil otherwise.
    static func inDataDirectory(_ path: String) -> DashboardCluster? {
        let cluster = LocalCluster(dataDirectory: path)
        guard (try? cluster.settings()) != nil else { return nil }
        return DashboardCluster(cluster: cluster)
    }

    /// The servers `settings` names (one, or a cluster's list), shown but not faulted.
    static func listed(_ settings: PostgresSettings, interval: Duration = ClusterMonitor.defaultInterval) -> DashboardCluster {
        DashboardCluster(monitor: ClusterMonitor(interval: interval) { kept in
            await PostgresPool.serversStatus(of: settings, kept: kept)
        })
    }

    /// Why the keys cannot fault these servers, short enough for the status line; nil when they can (a local
    /// cluster: `hongbao cluster up` in the data directory).
    var notFaultable: String? {
        cluster == nil
            ? "servers given by --postgres are not this dashboard's to kill"
            : nil
    }

    /// The servers as the replicas pane shows them; empty before the first reading.
    func replicas() -> [Dashboard.ReplicaStatus] {
        guard let status = monitor.latest.status else { return [] }
        return status.servers.map { DashboardCluster.replica($0, in: status) }
    }

    /// Servers that must take part in a commit: the primary and `ANY n` standbys.
    func writeQuorum() -> Int? {
        monitor.latest.status.map { $0.synchronousCount + 1 }
    }

    /// A line for the event log when commits start or stop waiting for a standby; nil when nothing changed.
    func commitsWaitChange() -> String? {
        guard let status = monitor.latest.status else { return nil }
        let now = status.commitsWait
        let before = waiting.withLock { state -> Bool? in
            defer { state = now }
            return state
        }
        guard let before, before != now else { return nil }
        return now
            ? "commits WAIT: no standby confirms them (\(status.synchronousStandbyNames)); they go on when one is back"
            : "commits confirmed again by a standby (\(status.confirmingStandbys) confirming)"
    }

    static func replica(_ server: ServerStatus, in status: ClusterStatus) -> Dashboard.ReplicaStatus {
        let streaming = server.replication == "streaming"
        let confirming = server.role == .standby && server.state == .up && streaming
            && (server.syncState == "quorum" || server.syncState == "sync")
        // A second server that takes writes beside the primary (a split brain) is no copy of the primary's: it
        // counts for nothing.
        let secondPrimary = status.isSecondWriter(server)
        let state: ReplicaState
        switch server.state {
        case .up: state = secondPrimary ? .splitBrain : server.role == .standby && !streaming ? .catchingUp : .up
        case .slow: state = .slow
        case .unreachable, .down: state = .down
        }
        // Phrases, most telling first, so that a narrow pane keeps them: role, lag, sync state, position, replay lag.
        // A split brain's state word says so already: its problem goes without the same words ("timeline 2, a on 1").
        var words: [String] = [server.problem.map { secondPrimary ? String($0.trimmingPrefix(ClusterStatus.splitBrainWords)) : $0 }
            ?? server.role.rawValue]
        // A server that did not answer (named by a URL) has its reason in place of its role, and nothing more.
        if server.role == .standby && server.problem == nil {
            // A stopped standby's walsender still reports its sync state ("quorum"), but the standby confirms
            // nothing: said first, in place of that state.
            if server.state == .slow { words.append("stopped: confirms nothing") }
            if let bytes = server.lagBytes { words.append("lag " + Dashboard.ReplicaStatus.lagText(bytes, unit: "B")) }
            if server.state != .slow {
                words.append(status.replicationVisible == false ? "sync state hidden" : server.syncState ?? "not streaming")
            }
        }
        if let lsn = server.lsn { words.append("lsn \(lsn)") }
        if server.role == .standby, let replay = server.replayLagMilliseconds {
            words.append(String(format: "replay %.1f ms", replay))
        }
        return Dashboard.ReplicaStatus(
            name: server.name, state: state, lastSequence: server.lsn.flatMap(LSN.parse).map { Int64(clamping: $0) } ?? 0,
            lag: server.lagBytes ?? 0, lagUnit: "B", detail: words,
            // Hidden replication: which standbys confirm commits is unknown; an answering one counts as up.
            takesWrites: server.role == .primary ? server.state == .up && !secondPrimary
                : (status.replicationVisible == false ? nil : confirming))
    }

    /// Kills the primary, promotes the synchronous standby with the most WAL and brings the old primary back as a
    /// standby (`LocalCluster.failover`), telling `note` each step as it happens; returns the outcome in words.
    func failover(note: @escaping @Sendable (String) -> Void) async throws -> String {
        guard let cluster else { throw DashboardCommandError.rejected(notFaultable ?? "") }
        let result = try await cluster.failover(progress: note)
        await monitor.poll()
        return "failover done in \(result.totalMilliseconds) ms: \(result.newPrimary) is the primary, "
            + "\(result.oldPrimary) \(result.rejoined.hasPrefix("not rejoined") ? result.rejoined : "is a standby (\(result.rejoined))")"
    }

    /// A scenario's replica step (`replica_down = "b"`) on the cluster's server of that name, as `:replica` does;
    /// returns what happened, in words. Down and slow refuse the primary: a scenario's replica steps stand for the
    /// copies, and killing the primary is the failover's, which promotes a standby; a step that killed it would
    /// leave the engine with no server that takes writes.
    func performScenarioStep(_ action: ReplicaAction, server name: String) async throws -> String {
        if action != .restore, let cluster, (try? cluster.settings())?.primary == name {
            throw DashboardCommandError.rejected("server \(name) is the cluster's primary now: a scenario's replica steps fault standbys (F fails the primary over)")
        }
        return try await perform(action, server: name)
    }

    /// Puts a fault on the server `name` (the replica keys and `:replica NAME down|slow|restore`); returns what
    /// happened, in words. A corrupted copy is the SQLite queue's fault only.
    func perform(_ action: ReplicaAction, server name: String) async throws -> String {
        let fault: ClusterFault
        switch action {
        case .down: fault = .down
        case .slow: fault = .slow
        case .restore: fault = .restore
        case .corrupt:
            throw DashboardCommandError.rejected("corrupt acts on the SQLite queue's replicas; on PostgreSQL: down, slow or restore")
        }
        guard let cluster else { throw DashboardCommandError.rejected(notFaultable ?? "") }
        let changed = try await cluster.fault(fault, server: name)
        await monitor.poll()
        switch fault {
        case .down: return changed ? "server \(name) DOWN (postmaster killed)" : "server \(name) was already down"
        case .slow: return changed ? "server \(name) SLOW (stopped until restored)" : "server \(name) was already stopped"
        case .restore: return changed ? "server \(name) back up; it catches up by streaming" : "server \(name) was already up"
        }
    }
}
