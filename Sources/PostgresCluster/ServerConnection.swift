import Foundation
import Logging
import PostgresNIO

/// Short-lived connections to one server for the cluster's own questions (role, LSNs, replication) and its few
/// statements (create the database, promote, checkpoint, reload). Every call has a deadline: a server stopped by
/// SIGSTOP accepts a TCP connection and then never answers.
enum ServerConnection {
    static let logger: Logger = {
        var logger = Logger(label: "hongbao.cluster")
        logger.logLevel = .critical
        return logger
    }()

    /// Connects to `settings`, runs `body`, closes. Throws `ClusterError.timedOut` after `timeout`.
    static func with<T: Sendable>(
        _ settings: PostgresLogin, timeout: Duration = .seconds(5),
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        var configured = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: .disable)
        configured.options.connectTimeout = .milliseconds(Int64(timeout.components.seconds * 1000 + 1))
        let configuration = configured
        let connection = try await deadline(timeout, what: "\(settings.host):\(settings.port)") {
            try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        }
        do {
            // On time-out the connection is closed, which fails the query that waits on it.
            let value = try await deadline(timeout, what: "\(settings.host):\(settings.port)", onTimeout: { close(connection) }) {
                try await body(connection)
            }
            close(connection)
            return value
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

    /// Runs `body`, or throws `ClusterError.timedOut` (after calling `onTimeout`) when it takes longer than `timeout`.
    static func deadline<T: Sendable>(
        _ timeout: Duration, what: String, onTimeout: @Sendable () -> Void = {},
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let value = result { return value }
                onTimeout()
                throw ClusterError.timedOut(what: what)
            }
            throw ClusterError.timedOut(what: what)
        }
    }

    /// Runs one statement and returns its rows.
    static func rows(_ connection: PostgresConnection, _ sql: String) async throws -> [PostgresRow] {
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
    }
}
