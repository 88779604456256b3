/// The configuration Hongbao writes into each server's data directory.
enum ServerConfiguration {
    /// `pg_hba.conf`: password (scram-sha-256) connections from 127.0.0.1, for clients and for replication;
    /// nothing else (no Unix socket, no `trust`).
    static let hostBasedAuthentication = """
        # Written by hongbao cluster: loopback only, passwords only (scram-sha-256), no trust.
        # TYPE  DATABASE     USER  ADDRESS       METHOD
        host    all          all   127.0.0.1/32  scram-sha-256
        host    replication  all   127.0.0.1/32  scram-sha-256

        """

    /// `max_wal_size` and `wal_keep_size`, in MB.
    ///
    /// `wal_keep_size` is WAL kept behind the newest checkpoint: for a standby that is down, so that it catches
    /// up by streaming when restored, and for `pg_rewind` after a failover. The rewind first finishes the
    /// killed primary's crash recovery, which ends in a checkpoint that keeps `wal_keep_size` and no more, and
    /// then reads that server's WAL back to its last checkpoint before the divergence. Checkpoints come every
    /// `max_wal_size` / (1 + `checkpoint_completion_target`) of WAL or so, and the last one completed can be
    /// about that far back; with a quarter of `max_wal_size` kept, the rewind of a `bench pgfaults` run found
    /// the segment it needed gone and the old primary came back by a base backup. So as much is kept as
    /// `max_wal_size`. And both are half PostgreSQL's default: `pg_rewind` copies the new primary's WAL segments
    /// whole, so that a rejoin with 1 GB of each (1.5 GB in `pg_wal`) took 12-13 s of the load's two
    /// cores and `bench pgfaults` measured service back 20.8 s after the failover, against 8.6 s with 512 MB.
    /// The price is a checkpoint every 270 MB of WAL (about 36 s at 3,000 opens/s): 7 % more WAL bytes an open
    /// in the seconds after one (full-page images).
    static let walSizes = (max: 512, keep: 512)

    /// `synchronous_standby_names` for `server` as a primary: `ANY 1` of every other server (`ANY 1 (b, c)` for
    /// `a`). It is written on standbys too, where it waits unused until a promotion makes it apply.
    static func synchronousStandbyNames(server: String, settings: ClusterSettings) -> String {
        let others = settings.servers.map(\.name).filter { $0 != server }
        return others.isEmpty ? "" : "ANY 1 (\(others.joined(separator: ", ")))"
    }

    /// `hongbao.conf` for one server in its present role.
    static func render(server name: String, settings: ClusterSettings) -> String {
        let port = settings.server(name)?.port ?? 0
        var lines = [
            "# Written by hongbao cluster; rewritten on every change of role. Do not edit.",
            "listen_addresses = '127.0.0.1'",
            "port = \(port)",
            "unix_socket_directories = ''",
            "cluster_name = 'hongbao-\(name)'",
            "max_connections = 100",
            "shared_buffers = '128MB'",
            "wal_level = replica",
            "max_wal_senders = 10",
            "max_wal_size = '\(walSizes.max)MB'",
            "wal_keep_size = '\(walSizes.keep)MB'",
            // pg_rewind needs hint-bit changes in the WAL to bring a failed primary back as a standby.
            "wal_log_hints = on",
            "hot_standby = on",
            // Off: with it on, each standby holds the primary's cleanup horizon back to its last report (every
            // 10 s), so the dead rows of the queue's and the packets' churn could not be pruned, and every scan
            // walked them (`heap_hot_search_buffer` 17 % of the machine). The plain queue cycle of the bench
            // baseline did 239-260 transactions/s with it on and 597-677 off on the same three servers. Nothing
            // here runs long queries on a standby, which is what the feedback protects.
            "hot_standby_feedback = off",
            "synchronous_commit = on",
            "fsync = \(settings.durable ? "on" : "off")",
            "synchronous_standby_names = '\(synchronousStandbyNames(server: name, settings: settings))'",
            "recovery_target_timeline = 'latest'",
            // A standby whose primary changed (failover) tries the new one within half a second, not five.
            "wal_retrieve_retry_interval = '500ms'",
        ]
        if !settings.durable {
            // A throwaway server keeps its dynamic shared memory in files under its data directory, not in
            // /dev/shm: killed with SIGKILL and deleted without a restart, it would leave its segments there.
            lines.append("dynamic_shared_memory_type = mmap")
        }
        if name != settings.primary {
            let primary = settings.primarySettings
            lines.append("primary_conninfo = 'host=\(primary.host) port=\(primary.port) user=\(settings.user) "
                + "password=\(settings.password) application_name=\(name)'")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
