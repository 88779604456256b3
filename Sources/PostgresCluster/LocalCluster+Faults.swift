import Foundation
import PostgresNIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fault an operator puts on one server.
public enum ClusterFault: String, Sendable, CaseIterable, Codable {
    /// SIGKILL the server's postmaster: a crash. Its children notice and exit (the fault returns once they have);
    /// a standby that is down no longer confirms commits.
    case down
    /// SIGSTOP every process of the server: it answers nothing (and confirms nothing) until restored.
    case slow
    /// SIGCONT a stopped server, or start a killed one: it catches up by streaming from the primary.
    case restore
}

/// What `failover` did.
public struct FailoverResult: Sendable, Codable, Equatable {
    public var oldPrimary: String
    public var newPrimary: String
    /// How much WAL each standby held when the choice was made (received, or replayed from its own `pg_wal`); the
    /// JSON key keeps its first name.
    public var receivedLSNs: [String: String]
    /// From the start of the failover until the new primary took writes and the settings named it.
    public var promotedMilliseconds: Int
    /// How the old primary came back: `pg_rewind`, `base backup`, or why it did not.
    public var rejoined: String
    /// The whole failover, the old primary's return included.
    public var totalMilliseconds: Int
}

extension LocalCluster {
    /// Puts `fault` on the server `name`. Returns false when the server already was in that state (down, slow, or
    /// up for `restore`): "already done" is a result.
    @discardableResult
    public func fault(_ fault: ClusterFault, server name: String) async throws(ClusterError) -> Bool {
        let settings = try self.settings()
        guard let server = settings.server(name) else {
            throw .unknownServer(name: name, known: settings.servers.map(\.name))
        }
        let lock = try await ClusterLock(directory: directory)
        defer { lock.release() }
        let state = ServerProcess.inspect(directory: server.directory).state
        switch fault {
        case .down:
            guard ServerProcess.killPostmaster(directory: server.directory) else { return false }
            // Down when this returns: the children exit only once they notice the postmaster gone, and until then
            // a standby's walreceiver still confirms commits (under a loaded CI run, one confirmed a commit made
            // after both standbys were faulted).
            _ = await ServerProcess.waitUntilGone(directory: server.directory, timeout: .seconds(10), reaped: false)
            return true
        case .slow:
            switch state {
            case .gone: throw .refused(reason: "server \(name) is down; restore it before making it slow")
            case .stopped: return false
            case .running:
                ServerProcess.signal(SIGSTOP, directory: server.directory)
                _ = await ServerProcess.waitUntilStopped(directory: server.directory, timeout: .seconds(2))
                return true
            }
        case .restore:
            let user = try ServerUser.current(serverUserName: settings.serverUser)
            let installation = PostgresInstallation(binDirectory: settings.binDirectory, major: nil)
            return try await mapped {
                if state == .gone {
                    // A killed server's children may outlive it for a moment and hold its shared memory.
                    _ = await ServerProcess.waitUntilGone(directory: server.directory, timeout: .seconds(10))
                }
                return try await ensure(name, settings: settings, user: user, installation: installation)
            }
        }
    }

    /// Promotes the standby with the most WAL (received, or replayed from its own `pg_wal`) once every standby has
    /// said how much it holds (`standbyPositions`), after killing every process of the old primary (so that it
    /// can take no more writes). The other standby is
    /// re-pointed to the new primary, the settings name the new primary (clients reconnect there), and the old
    /// primary comes back as a standby: `pg_rewind`, or a fresh base backup when rewinding fails.
    /// `progress` hears each step as it happens (the dashboard's events line).
    public func failover(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws(ClusterError) -> FailoverResult {
        try await failover(progress: progress, afterRewind: nil)
    }

    /// The failover, with `afterRewind` run between a successful `pg_rewind` of the old primary and its start
    /// (the tests' way to make the new primary recycle the WAL the rewound server will ask for).
    func failover(progress: @escaping @Sendable (String) -> Void,
                  afterRewind: (@Sendable (ClusterSettings) async -> Void)?) async throws(ClusterError) -> FailoverResult {
        let clock = ContinuousClock()
        let began = clock.now
        var settings = try self.settings()
        guard settings.servers.count > 1 else { throw .refused(reason: "a single server has no standby to promote") }
        let lock = try await ClusterLock(directory: directory)
        defer { lock.release() }
        let user = try ServerUser.current(serverUserName: settings.serverUser)
        let installation = PostgresInstallation(binDirectory: settings.binDirectory, major: nil)
        return try await mapped {
            let oldPrimary = settings.primary
            guard let old = settings.server(oldPrimary) else { throw ClusterError.refused(reason: "the settings name no primary") }
            // Fence the old primary: every one of its processes, so that none sends WAL or acknowledges a commit.
            ServerProcess.fence(directory: old.directory)
            // Its processes gone is enough to promote; its zombie postmaster is waited for before the rewind.
            _ = await ServerProcess.waitUntilGone(directory: old.directory, timeout: .seconds(10), reaped: false)
            progress("failover: primary \(oldPrimary) killed (SIGKILL); promoting the standby with the most WAL")

            let positions = try await standbyPositions(settings, user: user, installation: installation, progress: progress)
            let received = positions.mapValues(\.text)
            var best: (name: String, position: UInt64)?
            for name in settings.standbyNames {
                guard let position = positions[name]?.position else { continue }
                if let current = best, current.position >= position { continue } // a tie keeps the first
                best = (name, position)
            }
            guard let best else { throw ClusterError.refused(reason: "the cluster has no standby to promote") }
            let promoted = settings.settings(for: best.name).with(database: "postgres")
            try await ServerConnection.with(promoted, timeout: .seconds(70)) { connection in
                let rows = try await ServerConnection.rows(connection, "SELECT pg_promote(true, 60)")
                guard try rows.first?.decode(Bool.self) == true else { throw ClusterError.timedOut(what: "server \(best.name) to be promoted") }
                // pg_rewind reads the new timeline from the control file, which the end-of-recovery checkpoint writes.
                _ = try await ServerConnection.rows(connection, "CHECKPOINT")
            }
            settings.primary = best.name
            if let server = settings.server(best.name) { try configure(server, settings: settings, user: user) }
            try settings.save(clusterDirectory: directory)
            let promotedAt = clock.now
            progress("failover: \(best.name) promoted at \(received[best.name] ?? "?") in "
                + "\(LocalCluster.milliseconds(promotedAt - began)) ms; \(oldPrimary) rejoins as a standby")

            for name in settings.standbyNames where name != oldPrimary {
                guard let server = settings.server(name) else { continue }
                try configure(server, settings: settings, user: user)
                if ServerProcess.inspect(directory: server.directory).state == .running {
                    _ = try? await ServerConnection.with(settings.settings(for: name).with(database: "postgres"), timeout: .seconds(3)) {
                        try await ServerConnection.rows($0, "SELECT pg_reload_conf()")
                    }
                }
            }
            let rejoined = await rejoin(old, settings: settings, user: user, installation: installation,
                                        progress: progress, afterRewind: afterRewind)
            return FailoverResult(
                oldPrimary: oldPrimary, newPrimary: best.name, receivedLSNs: received,
                promotedMilliseconds: LocalCluster.milliseconds(promotedAt - began), rejoined: rejoined,
                totalMilliseconds: LocalCluster.milliseconds(clock.now - began))
        }
    }

    /// Every standby's WAL position: the most it holds on disk, received by streaming or replayed from its own
    /// `pg_wal`. With `ANY 1`, a commit was acknowledged once one standby had it, so the promotion is safe only
    /// from the standby that holds the most, and that is known only when every standby has answered: one that
    /// does not answer stops the failover (promoting another could lose commits it alone confirmed). A stopped
    /// standby is continued. A killed one is started: it replays its own WAL, then finds no primary to stream
    /// from, which its log says ("could not connect to the primary server"), and its position is read then.
    /// Each position is read once the standby's walreceiver no longer streams.
    private func standbyPositions(_ settings: ClusterSettings, user: ServerUser, installation: PostgresInstallation,
                                  progress: @Sendable (String) -> Void) async throws -> [String: (text: String, position: UInt64)] {
        let clock = ContinuousClock()
        let deadline = clock.now + LocalCluster.failoverAnswerLimit
        var positions: [String: (text: String, position: UInt64)] = [:]
        for name in settings.standbyNames {
            guard let server = settings.server(name) else { continue }
            let log = settings.logPath(of: name)
            var startedAt: UInt64?
            switch ServerProcess.inspect(directory: server.directory).state {
            case .running: break
            case .stopped: ServerProcess.signal(SIGCONT, directory: server.directory) // a slow standby still counts
            case .gone:
                progress("failover: standby \(name) is down; starting it to read the WAL it holds")
                startedAt = LocalCluster.size(of: log)
                _ = await ServerProcess.waitUntilGone(directory: server.directory, timeout: .seconds(10))
                _ = try await ensure(name, settings: settings, user: user, installation: installation)
            }
            let login = settings.settings(for: name).with(database: "postgres")
            var answer: (text: String, position: UInt64)?
            while answer == nil, clock.now < deadline {
                if let startedAt, !LocalCluster.text(of: log, from: startedAt).contains(LocalCluster.noPrimaryMessage) {
                    try? await Task.sleep(for: .milliseconds(50))
                    continue
                }
                // Read once its walreceiver has stopped: until then it may still be writing what the old primary
                // sent before it died (a standby continued from SIGSTOP has a socket's worth of it).
                let text = try? await ServerConnection.with(login, timeout: .seconds(5)) { connection -> String? in
                    let rows = try await ServerConnection.rows(connection, """
                        SELECT greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text,
                               EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')
                        """)
                    guard let (text, streaming) = try rows.first?.decode((String?, Bool).self), !streaming else { return nil }
                    return text
                }
                if let text, let position = LSN.parse(text) {
                    answer = (text, position)
                } else {
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            guard let answer else {
                throw ClusterError.refused(reason: "standby \(name) did not say how much WAL it holds within "
                    + "\(LocalCluster.failoverAnswerLimit.components.seconds) s, and it may hold commits no other "
                    + "standby has, so none was promoted; make it answer (hongbao cluster fault restore \(name)) "
                    + "and run failover again")
            }
            positions[name] = answer
        }
        return positions
    }

    /// How long the failover waits for every standby to say how much WAL it holds.
    static let failoverAnswerLimit: Duration = .seconds(30)
    /// A standby's log line when its primary does not answer: a standby started with no primary has replayed all
    /// of its own WAL before it tries to stream.
    static let noPrimaryMessage = "could not connect to the primary server"

    /// Brings the old primary back as a standby of the new one: `pg_rewind` (which first finishes the crash
    /// recovery of the killed server), else a fresh base backup. Says how, or why it could not.
    ///
    /// A rewound server replays from its last checkpoint before the failover, and streams what it lacks of
    /// that from the new primary. When the new primary no longer keeps that WAL (it keeps `wal_keep_size`, about
    /// a minute at 3,000 opens/s, behind its newest checkpoint, and recycles the rest), the rewound server
    /// asks for it twice a second forever: it never becomes consistent, or it does from the WAL
    /// `pg_rewind` copied and then never streams. Its log says so ("has already been removed"): it is then
    /// stopped and copied afresh instead. So a rejoin by `pg_rewind` counts only once the new primary streams
    /// to the server.
    private func rejoin(_ server: ClusterSettings.Server, settings: ClusterSettings, user: ServerUser,
                        installation: PostgresInstallation, progress: @Sendable (String) -> Void,
                        afterRewind: (@Sendable (ClusterSettings) async -> Void)?) async -> String {
        let clock = ContinuousClock()
        let began = clock.now
        func seconds() -> String { String(format: "%.1f s", Double(LocalCluster.milliseconds(clock.now - began)) / 1_000) }
        _ = await ServerProcess.waitUntilGone(directory: server.directory, timeout: .seconds(10))
        let source = settings.primarySettings.with(database: "postgres")
        var how = "pg_rewind"
        let rewound = try? await ProgramRunner.run(installation.path("pg_rewind"), [
            "--target-pgdata=\(server.directory)",
            "--source-server=host=\(source.host) port=\(source.port) user=\(source.user) dbname=postgres",
            // Its own sync of all it copied at once stalls the servers' WAL flushes: PacedSync does it instead.
            "--no-sync",
        ], as: user, directory: settings.serverRoot, environment: ["PGPASSWORD": settings.password])
        do {
            if rewound?.status == 0 {
                // pg_rewind copied the new primary's configuration: this server's own is written after it.
                try configure(server, settings: settings, user: user)
                if settings.durable { try await PacedSync.sync(server.directory) }
                progress("failover: \(server.name) rewound by pg_rewind in \(seconds()); starting it as a standby")
                await afterRewind?(settings)
                guard let failure = await startRewound(server, settings: settings, user: user, installation: installation) else {
                    progress("failover: \(server.name) streams from \(settings.primary), \(seconds()) after the promotion")
                    return how
                }
                how = "base backup (after pg_rewind: \(failure))"
                _ = ServerProcess.killPostmaster(directory: server.directory)
                _ = await ServerProcess.waitUntilGone(directory: server.directory, timeout: .seconds(10))
            } else {
                how = "base backup (pg_rewind: \(rewound?.tail ?? "did not run"))"
            }
            progress("failover: \(server.name) copied afresh from \(settings.primary) by a base backup")
            try? FileManager.default.removeItem(atPath: server.directory)
            _ = try await ensure(server.name, settings: settings, user: user, installation: installation)
            return how
        } catch {
            return "not rejoined: \(error); hongbao cluster fault restore \(server.name) retries"
        }
    }

    /// Starts a rewound server and waits until the new primary streams to it; nil when it does, else why not: its
    /// start failed, or its log says the WAL it must replay is gone from the new primary (then it is killed at
    /// once rather than waited for). A server still not streaming after `rejoinStreamingLimit`, with no such
    /// line, is left to catch up and counts as rejoined.
    private func startRewound(_ server: ClusterSettings.Server, settings: ClusterSettings, user: ServerUser,
                              installation: PostgresInstallation) async -> String? {
        let log = settings.logPath(of: server.name)
        let logStart = LocalCluster.size(of: log)
        let directory = server.directory
        let walGone = Atomic(false)
        let watcher = Task {
            while !Task.isCancelled {
                if LocalCluster.text(of: log, from: logStart).contains(LocalCluster.walGoneMessage) {
                    _ = ServerProcess.killPostmaster(directory: directory)
                    walGone.store(true, ordering: .sequentiallyConsistent)
                    return
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        defer { watcher.cancel() }
        do {
            _ = try await ensure(server.name, settings: settings, user: user, installation: installation)
        } catch {
            watcher.cancel()
            await watcher.value
            return walGone.load(ordering: .sequentiallyConsistent) ? LocalCluster.walGoneReason : "\(error)"
        }
        // Accepting connections is not rejoined: a server consistent from the WAL pg_rewind copied may still
        // be unable to stream what follows.
        let primary = settings.primarySettings.with(database: "postgres")
        let clock = ContinuousClock()
        let deadline = clock.now + LocalCluster.rejoinStreamingLimit
        while clock.now < deadline, !walGone.load(ordering: .sequentiallyConsistent) {
            if (try? await LocalCluster.replication(primary))?[server.name]?.state == "streaming" { return nil }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return walGone.load(ordering: .sequentiallyConsistent) ? LocalCluster.walGoneReason : nil
    }

    /// How long a rejoin by `pg_rewind` waits for the new primary to stream to the rewound server.
    static let rejoinStreamingLimit: Duration = .seconds(30)
    static let walGoneReason = "the WAL from its last checkpoint is gone from the new primary"

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
