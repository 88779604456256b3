/// One server as `hongbao cluster status` and the dashboard show it.
public struct ServerStatus: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable {
        case primary, standby
    }

    public enum State: String, Codable, Sendable {
        /// Running and answering.
        case up
        /// Stopped by SIGSTOP (the *slow* fault): running, answering nothing until restored.
        case slow
        /// Running but not answering (starting, or stuck).
        case unreachable
        /// No server process (killed by the *down* fault, or the cluster is down).
        case down
    }

    public var name: String
    public var port: Int
    /// What the server says it is when it answers; else what the cluster's settings say it should be.
    public var role: Role
    public var state: State
    public var pid: Int32?
    /// The primary's current WAL position, or a standby's replay position (`0/3000148`).
    public var lsn: String?
    /// A standby's position received and flushed to its disk.
    public var receivedLSN: String?
    /// For a standby: how far its replay is behind the primary's current position, in bytes (from
    /// `pg_stat_replication`).
    public var lagBytes: Int64?
    /// For a standby: `replay_lag` from `pg_stat_replication` (null once it has caught up and the primary is idle).
    public var replayLagMilliseconds: Double?
    /// For a standby: `sync_state` from `pg_stat_replication` (`quorum` under `ANY 1`, `sync`, `async`), or nil
    /// when the primary does not see it streaming.
    public var syncState: String?
    /// For a standby: the walsender's `state` (`streaming`, `catchup`, `startup`), nil when not connected.
    public var replication: String?
    /// What is wrong with a server that the state and role do not say: why a server named by a URL did not answer
    /// ("connection refused"; a local cluster's process state says that), or that it takes writes beside the
    /// primary (a split brain).
    public var problem: String?

    public init(name: String, port: Int, role: Role, state: State) {
        self.name = name
        self.port = port
        self.role = role
        self.state = state
    }
}

/// The whole cluster at one moment.
public struct ClusterStatus: Codable, Sendable, Equatable {
    public var servers: [ServerStatus]
    /// The server the settings name as the primary (where clients connect).
    public var primary: String
    /// The primary's `synchronous_standby_names`, e.g. `ANY 1 (b, c)`; empty with no standbys.
    public var synchronousStandbyNames: String
    /// How many standbys must confirm a commit (1 with `ANY 1`, 0 with no standbys).
    public var synchronousCount: Int
    /// False when the primary hides its standbys' replication state from the user that reads it (not a superuser
    /// nor `pg_read_all_stats`): which standbys confirm commits is then unknown, and `commitsWait` claims nothing.
    /// Nil: visible (a local cluster's status is read as its superuser).
    public var replicationVisible: Bool?

    public init(servers: [ServerStatus], primary: String, synchronousStandbyNames: String, synchronousCount: Int) {
        self.servers = servers
        self.primary = primary
        self.synchronousStandbyNames = synchronousStandbyNames
        self.synchronousCount = synchronousCount
    }

    /// The standbys that confirm commits now: answering, streaming, in the synchronous set. A stopped (slow)
    /// standby's connection still looks like streaming to the primary until `wal_sender_timeout`; it confirms
    /// nothing, so it does not count.
    public var confirmingStandbys: Int {
        servers.filter {
            $0.role == .standby && $0.state == .up && $0.replication == "streaming"
                && ($0.syncState == "quorum" || $0.syncState == "sync")
        }.count
    }

    /// Whether `server` takes writes beside the primary while the primary takes writes too: a split brain (a standby
    /// promoted by hand, an old primary started again). With the primary down there is one writer, not two: so it
    /// is for a moment in every failover, between the promotion and the settings' rewrite.
    public func isSecondWriter(_ server: ServerStatus) -> Bool {
        guard server.name != primary, server.role == .primary, server.state == .up,
              let writer = self.server(primary) else { return false }
        return writer.role == .primary && writer.state == .up
    }

    /// The words a split brain's `problem` starts with; the replicas pane's state word says them already.
    public static let splitBrainWords = "split brain: "

    /// Whether a commit on the primary would wait now: fewer standbys confirm than `synchronousCount`.
    public var commitsWait: Bool { replicationVisible != false && confirmingStandbys < synchronousCount }

    /// Whether every server answers.
    public var allUp: Bool { servers.allSatisfy { $0.state == .up } }

    /// Whether no server process runs.
    public var allDown: Bool { servers.allSatisfy { $0.state == .down } }

    /// The status of one server.
    public func server(_ name: String) -> ServerStatus? { servers.first { $0.name == name } }
}
