import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresCluster
import PostgresNIO

/// A URL that names several servers (`postgres://u:p@h1:p1,h2:p2/db`): the stores work on the one that takes
/// writes, found by asking each whether it is in recovery (`pg_is_in_recovery()`), as libpq's
/// `target_session_attrs=read-write` does; after a failover made by whatever manages that cluster, the pool
/// moves to the new primary when its writes start failing the way a lost primary makes them fail.
extension PostgresPool {
    /// What one server said when asked whether it takes writes.
    enum ServerAnswer: Sendable, Equatable {
        /// Takes writes, on this timeline (nil: it did not say).
        case primary(timeline: UInt32?)
        case standby
        case unreachable(String)

        /// The timeline of a server that takes writes (0 when it did not say); nil for any other answer.
        var timelineIfPrimary: UInt32? {
            if case let .primary(timeline) = self { return timeline ?? 0 }
            return nil
        }
    }

    /// How long one server may take to connect and answer.
    static let probeTimeout: Duration = .seconds(3)

    /// `settings` pointed at the server of its list that takes writes (with two, the one on the newer timeline:
    /// `Timeline.newest`: the promoted one, whose commits the standbys follow; the first in URL order could be an
    /// old primary started again, whose writes would be lost to the rest of the cluster). A URL that names one
    /// server is returned as it is, unasked (its server is checked by whatever connects first). When none takes
    /// writes the error names what each one said.
    public static func primary(of settings: PostgresSettings) async throws(PostgresStoreError) -> PostgresSettings {
        guard settings.servers.count > 1 else { return settings }
        let answers = await askEveryServer(settings)
        if let index = Timeline.newest(settings.servers.map { answers[$0]?.timelineIfPrimary }) {
            return settings.on(settings.servers[index])
        }
        let said = settings.servers.map { server -> String in
            switch answers[server] ?? .unreachable("no answer") {
            case .primary: "\(server) takes writes"
            case .standby: "\(server) is a standby"
            case let .unreachable(reason): "\(server): \(reason)"
            }
        }
        throw .unavailable("none of the \(settings.servers.count) servers takes writes (\(said.joined(separator: "; ")))")
    }

    /// `primary(of:)` for those who write: a URL that names one server is asked too, and refused with one line
    /// when that server is a standby (the writes would each fail with "read-only transaction"). One that cannot
    /// be asked is returned as it is: connecting says why.
    public static func writableServer(of settings: PostgresSettings) async throws(PostgresStoreError) -> PostgresSettings {
        guard settings.servers.count == 1 else { return try await primary(of: settings) }
        guard case .standby = await askOne(settings) else { return settings }
        throw .unavailable("\(settings.server) is a standby: it takes no writes; give the primary, "
            + "or the cluster's servers (postgres://user:password@host1:port1,host2:port2/database)")
    }

    /// Every server of the list asked at once, each within `probeTimeout`.
    static func askEveryServer(_ settings: PostgresSettings) async -> [PostgresSettings.Server: ServerAnswer] {
        await onEveryServer(settings) { await askOne($0) }
    }

    /// `ask` run on every server of `settings`' list at once (given the settings pointed at it); its answers by
    /// server.
    static func onEveryServer<T: Sendable>(
        _ settings: PostgresSettings, _ ask: @escaping @Sendable (PostgresSettings) async -> T
    ) async -> [PostgresSettings.Server: T] {
        await withTaskGroup(of: (PostgresSettings.Server, T).self) { group in
            for server in settings.servers {
                group.addTask { (server, await ask(settings.on(server))) }
            }
            var answers: [PostgresSettings.Server: T] = [:]
            for await (server, answer) in group { answers[server] = answer }
            return answers
        }
    }

    /// One server asked, on a connection of its own that is closed after the answer or at the timeout.
    private static func askOne(_ settings: PostgresSettings) async -> ServerAnswer {
        let asked = await probe(settings) { connection, logger -> ServerAnswer in
            var answer = ServerAnswer.unreachable("no answer")
            for try await (inRecovery, walFile) in try await connection.query("""
                SELECT pg_is_in_recovery(), \(unescaped: Timeline.walFileColumn)
                """, logger: logger).decode((Bool, String?).self) {
                answer = inRecovery ? .standby : .primary(timeline: Timeline.of(walFile: walFile))
            }
            return answer
        }
        switch asked {
        case let .success(answer): return answer
        case let .failure(reason): return .unreachable(reason.text)
        }
    }

    /// Why a probe got no answer, in a few words (`probeReason`).
    struct ProbeFailure: Error {
        let text: String
        /// Cut off at the timeout (not a failure of the connection itself).
        var timedOut = false
    }

    /// `body` run on a connection of its own to the one server `settings` names, closed after it or cut off at
    /// `timeout`: a server that connects and then never answers (stopped, or starting up) fails at the timeout.
    /// - Parameter kept: where the connection is kept between calls (the dashboard's polls of a URL's servers),
    ///   as `KeptConnections.using` keeps it; a kept one cut off at the timeout is not tried again.
    static func probe<T: Sendable>(
        _ settings: PostgresSettings, timeout: Duration = probeTimeout, kept: KeptConnections? = nil,
        _ body: (PostgresConnection, Logger) async throws -> T
    ) async -> Result<T, ProbeFailure> {
        var logger = Logger(label: "hongbao.postgres.probe")
        logger.logLevel = .critical
        let key = KeptConnections.Key(host: settings.host, port: settings.port, user: settings.user,
                                      database: settings.database)
        let limit = TimeAmount.nanoseconds(Int64(timeout / .nanoseconds(1)))
        do {
            return .success(try await KeptConnections.using(kept, key, open: {
                var configuration = try settings.connectionConfiguration()
                configuration.options.connectTimeout = limit
                return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            }, close: { try? await $0.close() }, stale: { ($0 as? ProbeFailure)?.timedOut == false }) { connection in
                try await ask(connection, body, logger: logger, timeout: timeout)
            })
        } catch let failure as ProbeFailure {
            return .failure(failure)
        } catch {
            return .failure(ProbeFailure(text: probeReason(error, timeout: timeout)))
        }
    }

    /// `body` on `connection`, cut off at `timeout` (the connection closed under it); a connection that fails is
    /// closed (postgres-nio requires it closed before it goes), and the failure said as a `ProbeFailure`.
    private static func ask<T: Sendable>(
        _ connection: PostgresConnection, _ body: (PostgresConnection, Logger) async throws -> T,
        logger: Logger, timeout: Duration
    ) async throws(ProbeFailure) -> T {
        let limit = TimeAmount.nanoseconds(Int64(timeout / .nanoseconds(1)))
        let timer = connection.eventLoop.scheduleTask(in: limit) { let _: EventLoopFuture<Void> = connection.close() }
        do {
            let value = try await body(connection, logger)
            timer.cancel()
            return value
        } catch {
            timer.cancel()
            try? await connection.close()
            // Closed by the timer above: the only close of this connection while `body` runs.
            let timedOut = (error as? PSQLError)?.code == .clientClosedConnection
            throw ProbeFailure(text: probeReason(error, timeout: timeout), timedOut: timedOut)
        }
    }

    /// Why a server could not be asked, in a few words: "connection refused", "no answer within 3 s", the
    /// server's own message ("the database system is starting up").
    static func probeReason(_ error: any Error, timeout limit: Duration = probeTimeout) -> String {
        guard let error = error as? PSQLError else { return reason(error) }
        if let message = error.serverInfo?[.message] { return message }
        let timeout = "no answer within \(limit.components.seconds) s"
        if let failure = error.underlying as? NIOConnectionError {
            if let io = failure.connectionErrors.first?.error as? IOError {
                return String(cString: strerror(io.errnoCode)).lowercased()
            }
            if failure.dnsAError != nil || failure.dnsAAAAError != nil { return "cannot resolve \(failure.host)" }
        }
        if let channel = error.underlying as? ChannelError, case .connectTimeout = channel { return timeout }
        switch error.code {
        case .clientClosedConnection: return timeout // closed by the probe's timer
        case .serverClosedConnection, .uncleanShutdown: return "it closed the connection"
        default: return reason(error)
        }
    }

    /// While the calling task runs: whenever attempts have failed as a lost primary makes them fail (`troubles`
    /// grew), asks the servers of the list which takes writes now, again every `interval` until one does, and
    /// moves the pool there (`move(to:)`) if it is another, then calls `moved`. The attempts that failed are
    /// retried there by `retrying`; calls waiting for a connection to the lost server fail when it is dropped.
    public func followWritableServer(every interval: Duration = .milliseconds(250),
                                     moved: @Sendable (PostgresSettings) -> Void) async {
        var seen = troubles.load(ordering: .relaxed)
        var looking = false
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let now = troubles.load(ordering: .relaxed)
            if now != seen {
                seen = now
                looking = true
            }
            // During a failover no server may take writes for a while: asked again at the next turn.
            guard looking, let primary = try? await PostgresPool.primary(of: settings) else { continue }
            looking = false
            if move(to: primary) { moved(primary) }
        }
    }
}

extension PostgresPool {
    /// Keeps this pool on the primary while the calling task runs (a pool of its own beside the engine's, as
    /// `serve` has): where `primary` says it is (a local cluster's settings, which a failover rewrites), read
    /// every `interval`; without it, for a URL naming several servers, the one that takes writes once writes fail
    /// (`followWritableServer`). A URL naming one server gives nothing to follow.
    public func followPrimary(_ primary: (@Sendable () -> PostgresSettings?)?, every interval: Duration = .milliseconds(250)) async {
        guard let primary else {
            if settings.servers.count > 1 { await followWritableServer(every: interval) { _ in } }
            return
        }
        while !Task.isCancelled {
            if let found = primary() { move(to: settings.on(found.server)) }
            try? await Task.sleep(for: interval)
        }
    }

    /// How durable an acknowledged commit is on this server, in a few words for a screen: read from its
    /// `synchronous_commit` and `synchronous_standby_names` (`PostgresPool.durabilityLabel`).
    public func commitDurability() async throws -> String {
        let rows = try await retrying {
            try await self.rows("""
                SELECT current_setting('synchronous_commit'), current_setting('synchronous_standby_names')
                """)
        }
        guard let (commit, standbys) = try rows.first?.decode((String, String).self) else { return "?" }
        return PostgresPool.durabilityLabel(synchronousCommit: commit, standbyNames: standbys)
    }

    /// "2 SERVERS": each acknowledged commit is on the primary's disk and on one standby's (`on` or
    /// `remote_apply` with `ANY 1 (…)`, `FIRST 1 (…)`, `1 (…)` or a bare list); "1 SERVER" with no synchronous
    /// standby or `local`; "ASYNC" with `off` (a commit may be acknowledged before it is on any disk);
    /// "1 SERVER + n WRITTEN" with `remote_write` (the standbys have it in memory, not on disk).
    public static func durabilityLabel(synchronousCommit: String, standbyNames: String) -> String {
        if synchronousCommit.lowercased() == "off" { return "ASYNC" }
        let count = standbysEachCommitWaitsFor(synchronousCommit: synchronousCommit, standbyNames: standbyNames)
        guard count > 0 else { return "1 SERVER" }
        return synchronousCommit.lowercased() == "remote_write" ? "1 SERVER + \(count) WRITTEN" : "\(count + 1) SERVERS"
    }

    /// How many standbys each commit waits for: none with `synchronous_commit` `off` or `local`; else as many as
    /// `synchronous_standby_names` says: `ANY n (…)`, `FIRST n (…)` or `n (…)` name how many, a bare list
    /// (`b, c`, `*`) means the first one, and an empty one none.
    static func standbysEachCommitWaitsFor(synchronousCommit: String, standbyNames: String) -> Int {
        guard !["off", "local"].contains(synchronousCommit.lowercased()) else { return 0 }
        var words = standbyNames.split(whereSeparator: { $0 == " " || $0 == "(" }).map { $0.uppercased() }[...]
        guard !words.isEmpty else { return 0 }
        if let method = words.first, method == "ANY" || method == "FIRST" { words = words.dropFirst() }
        return words.first.flatMap { Int($0) } ?? 1
    }
}
