import Synchronization
import Foundation
import Logging
import PostgresCluster
import PostgresNIO
import TestKit
import XCTest

/// Connections and small statements for the cluster tests.
enum SQL {
    static let logger: Logger = {
        var logger = Logger(label: "hongbao.cluster-tests")
        logger.logLevel = .critical
        return logger
    }()

    static func connect(_ settings: PostgresLogin, id: Int = 1) async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            configuration: .init(host: settings.host, port: settings.port, username: settings.user,
                                 password: settings.password, database: settings.database, tls: .disable),
            id: id, logger: logger)
    }

    struct TimedOut: Error {}

    /// `body`'s result, or `TimedOut` after `timeout`; a `body` that never returns is left behind rather than
    /// awaited, so that no test can hang on a connection whose server was killed under it.
    static func within<T: Sendable>(
        _ timeout: Duration = .seconds(20), _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let resumed = Mutex(false)
            let finish: @Sendable (Result<T, any Error>) -> Void = { result in
                let first = resumed.withLock { done -> Bool in
                    defer { done = true }
                    return !done
                }
                if first { continuation.resume(with: result) }
            }
            Task {
                do { finish(.success(try await body())) } catch { finish(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: timeout)
                finish(.failure(TimedOut()))
            }
        }
    }

    /// Runs `body` on a fresh connection, closed afterwards.
    static func with<T: Sendable>(
        _ settings: PostgresLogin, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await within { try await withUnbounded(settings, body) }
    }

    private static func withUnbounded<T: Sendable>(
        _ settings: PostgresLogin, _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await connect(settings)
        do {
            let value = try await body(connection)
            try? await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static func execute(_ connection: PostgresConnection, _ sql: String) async throws {
        _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
    }

    static func int(_ connection: PostgresConnection, _ sql: String) async throws -> Int {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
        return try rows.first?.decode(Int.self) ?? -1
    }

    static func ids(_ connection: PostgresConnection, table: String) async throws -> Set<Int> {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT id FROM \(table)"), logger: logger).collect()
        return Set(try rows.map { try $0.decode(Int.self) })
    }
}

/// Inserts rows one commit at a time until stopped, remembering the ids whose commit returned (acknowledged).
/// A failed commit (the primary killed) ends the loop; its row is not counted.
final class Writer: Sendable {
    private let acknowledged = Mutex<Set<Int>>([])
    private let stopFlag = Mutex(false)

    var rows: Set<Int> { acknowledged.withLock { $0 } }
    var count: Int { acknowledged.withLock { $0.count } }
    func stop() { stopFlag.withLock { $0 = true } }

    /// Writes into `table` on `settings` from id `first` on, until `stop()` or an error.
    func run(_ settings: PostgresLogin, table: String, first: Int = 1) async {
        let connecting: @Sendable () async throws -> PostgresConnection = { try await SQL.connect(settings, id: 7) }
        guard let connection = try? await SQL.within(.seconds(20), connecting) else { return }
        var id = first
        while !stopFlag.withLock({ $0 }) {
            let statement = "INSERT INTO \(table) (id) VALUES (\(id))"
            do {
                try await SQL.within { try await SQL.execute(connection, statement) }
            } catch {
                break
            }
            acknowledged.withLock { _ = $0.insert(id) }
            id += 1
        }
        // Bounded: closing a connection whose server was killed under it was seen never to finish.
        _ = try? await SQL.within(.seconds(5)) { try await connection.close() }
    }
}

extension XCTestCase {
    /// Waits until `name` has replayed everything the primary has written (its replay position reaches the
    /// primary's current one), through the cluster's status.
    func waitUntilCaughtUp(_ postgres: TestPostgres, standby name: String, timeout: Duration = .seconds(60)) async {
        await waitUntil("standby \(name) to catch up", timeout: timeout, interval: .milliseconds(100)) {
            guard let status = try? await postgres.cluster.status(),
                  let primary = status.server(status.primary), let standby = status.server(name),
                  standby.state == .up, standby.replication == "streaming",
                  let target = primary.lsn.flatMap(LSN.parse), let replayed = standby.lsn.flatMap(LSN.parse)
            else { return false }
            return replayed >= target
        }
    }
}
