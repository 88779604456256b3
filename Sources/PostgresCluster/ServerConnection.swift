import Foundation
import Logging
import PostgresNIO
import Primitives

/// Short-lived connections to one server for the cluster's own questions (role, LSNs, replication) and its few
/// statements (create the database, promote, checkpoint, reload). Every call has a deadline: a server stopped by
/// SIGSTOP accepts a TCP connection and then never answers.
enum ServerConnection {
    static let logger: Logger = {
        var logger = Logger(label: "hongbao.cluster")
        logger.logLevel = .critical
        return logger
    }()

    /// Connects to `settings`, runs `body`, closes. Throws `ClusterError.timedOut` after `timeout`, and
    /// `CancellationError` at once when the calling task is cancelled (the dashboard's quit).
    /// - Parameter kept: where a connection is kept between calls (a monitor's polls), as `KeptConnections.using`
    ///   keeps it; a kept one that times out, or whose caller is cancelled, is not tried again.
    static func with<T: Sendable>(
        _ settings: PostgresLogin, timeout: Duration = .seconds(5), kept: KeptConnections? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let key = KeptConnections.Key(host: settings.host, port: settings.port, user: settings.user,
                                      database: settings.database)
        var configured = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: .disable)
        configured.options.connectTimeout = .milliseconds(Int64(timeout.components.seconds * 1000 + 1))
        let configuration = configured
        let what = "\(settings.host):\(settings.port)"
        return try await KeptConnections.using(kept, key, open: {
            // A connection that comes after the deadline is closed as soon as it comes.
            try await deadline(timeout, what: what, late: { close($0) }) {
                try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
            }
        }, close: { close($0) }, stale: { !($0 is ClusterError || $0 is CancellationError) }) { connection in
            try await run(body, on: connection, timeout: timeout, what: what)
        }
    }

    /// `body` on `connection` within `timeout`; the connection is closed when it fails or times out.
    private static func run<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T, on connection: PostgresConnection,
        timeout: Duration, what: String
    ) async throws -> T {
        do {
            // On time-out the connection is closed, which fails the query that waits on it.
            return try await deadline(timeout, what: what, onTimeout: { close(connection) }) {
                try await body(connection)
            }
        } catch {
            close(connection)
            throw error
        }
    }

    /// Closes without waiting: closing a connection whose server was killed under it was seen never to finish. The
    /// connection is kept until its channel has closed (PostgresNIO asserts that a connection is closed before it
    /// goes away).
    static func close(_ connection: PostgresConnection) {
        _ = connection.close() as EventLoopFuture<Void>
        connection.closeFuture.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// `body`'s value, or `ClusterError.timedOut` (after calling `onTimeout`) when it takes longer than
    /// `timeout`, or `CancellationError` when the calling task is cancelled. Whichever comes first is
    /// returned without waiting for `body` to end: postgres-nio leaves a statement written to a connection
    /// that closed under it unanswered for ever, and a wait for it would hold the caller (and a quit) with it.
    /// `body` runs on, on its own task; a value it gives after the caller has gone goes to `late`.
    static func deadline<T: Sendable>(
        _ timeout: Duration, what: String, onTimeout: @escaping @Sendable () -> Void = {},
        late: @escaping @Sendable (T) -> Void = { _ in },
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let answer = FirstResult<T>()
        let work = Task {
            do {
                let value = try await body()
                if !answer.resume(with: .success(value)) { late(value) }
            } catch {
                answer.resume(with: .failure(error))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled, answer.resume(with: .failure(ClusterError.timedOut(what: what))) { onTimeout() }
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { answer.set($0) }
        } onCancel: {
            work.cancel()
            answer.resume(with: .failure(CancellationError()))
        }
    }

    /// Runs one statement and returns its rows.
    static func rows(_ connection: PostgresConnection, _ sql: String) async throws -> [PostgresRow] {
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
    }
}
