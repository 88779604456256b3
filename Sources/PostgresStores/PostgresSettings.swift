import Foundation
import PostgresNIO

/// Where a PostgreSQL server is and how to log in: read from a `postgres://user:password@host:port/database`
/// URL (the form `psql` and libpq accept). Loopback servers only need no TLS; any other host gets TLS
/// preferred.
public struct PostgresSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String

    public init(host: String, port: Int, user: String, password: String?, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Reads a `postgres://` or `postgresql://` URL. A bad URL is a one-line `PostgresStoreError.badURL`.
    public init(url text: String) throws(PostgresStoreError) {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql" else {
            throw .badURL(text, reason: "it must start with postgres://")
        }
        guard let host = components.host, !host.isEmpty else { throw .badURL(text, reason: "it names no host") }
        guard let user = components.user, !user.isEmpty else { throw .badURL(text, reason: "it names no user") }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw .badURL(text, reason: "the port is out of range") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.init(host: host, port: port, user: user, password: components.password,
                  database: path.isEmpty ? user : path)
    }

    /// The URL without the password (for messages and logs).
    public var redacted: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    var isLoopback: Bool { host == "127.0.0.1" || host == "localhost" || host == "::1" }

    func clientConfiguration(maxConnections: Int, warmConnections: Int = 0) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: isLoopback ? .disable : .prefer(.makeClientConfiguration()))
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = warmConnections
        configuration.options.connectTimeout = .seconds(5)
        // No warnings or notices to the client. A statement in a transaction of its own is answered before it
        // commits, and the answer waits in the server's send buffer until the commit (and its wait for a
        // standby) is done, then goes with ReadyForQuery. A backend terminated during that wait sends a
        // warning first, which flushed the buffer: postgres-nio then took the statement as done although its
        // commit was on the primary only. Without the warning the connection just closes, and the write is an
        // unclear commit that its store retries by id (an explicit COMMIT is answered only once committed).
        configuration.options.additionalStartupParameters = [("client_min_messages", "error")] + PostgresSettings.planning
        return configuration
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: isLoopback ? .disable : .prefer(try .init(configuration: .makeClientConfiguration())))
        configuration.options.additionalStartupParameters = PostgresSettings.planning
        return configuration
    }

    /// No JIT compilation of statements (`jit = off`, on every connection the stores open). The server compiles
    /// a statement whose estimated cost passes `jit_above_cost` with LLVM each time it runs it: here the reads of
    /// `packet_now` that sum every packet's claims (the snapshot's open packets and counts, the settlement's
    /// unsettled packets on a table not yet analysed) cost 130-320 ms of compilation per call, 39 % of the
    /// primary's backend CPU under the e2e load, for statements that then ran in a few milliseconds.
    static let planning = [("jit", "off")]
}

/// What can go wrong in the PostgreSQL stores, apart from the ledger's and the packet store's own errors.
public enum PostgresStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case badURL(String, reason: String)
    /// The server could not be reached, or the connection was lost and did not come back in time.
    case unavailable(String)
    /// The server refused a statement (a bug or a schema from another program).
    case server(String)
    /// The database holds tables of another program or another schema version.
    case foreignSchema(String)
    /// Opened for reading only, and the tables are not there.
    case missing(String)

    public var description: String {
        switch self {
        case let .badURL(url, reason): "not a PostgreSQL URL (\(reason)): \(url)"
        case let .unavailable(message): "PostgreSQL unavailable: \(message)"
        case let .server(message): "PostgreSQL refused: \(message)"
        case let .foreignSchema(message): "PostgreSQL database not Hongbao's: \(message)"
        case let .missing(message): message
        }
    }
}
