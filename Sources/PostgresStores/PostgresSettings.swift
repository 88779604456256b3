import Foundation
import PostgresNIO

/// Where a PostgreSQL server is and how to log in: read from a `postgres://user:password@host:port/database`
/// URL (the form `psql` and libpq accept), or from one naming several servers of a cluster,
/// `postgres://user:password@host1:port1,host2:port2/database`: the stores then work on whichever of them takes
/// writes (`PostgresPool.primary(of:)`) and follow it when it moves (`PostgresPool.followWritableServer`).
/// Loopback servers only need no TLS; any other host gets TLS preferred.
public struct PostgresSettings: Sendable, Equatable {
    /// One server of the list: where it listens.
    public struct Server: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `host:port`, an IPv6 address in brackets.
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// The server the stores connect to now.
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// Every server the URL named, in its order; one for a URL that names one.
    public var servers: [Server]

    /// Most servers one URL may name: every one of them is asked at start and after each lost primary.
    public static let maximumServers = 16

    public init(host: String, port: Int, user: String, password: String?, database: String, servers: [Server]? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.servers = servers ?? [Server(host: host, port: port)]
    }

    /// Reads a `postgres://` or `postgresql://` URL, with one server or a comma-separated list of them (each with
    /// its own port, 5432 when left out). A bad URL is a one-line `PostgresStoreError.badURL`, which shows the
    /// URL without its password.
    public init(url text: String) throws(PostgresStoreError) {
        let shown = PostgresSettings.withoutPassword(text)
        guard let parts = URLParts(text), ["postgres", "postgresql"].contains(String(parts.scheme)) else {
            throw .badURL(shown, reason: "it must start with postgres://")
        }
        let userInfo = parts.userInfo.map { $0 + "@" } ?? ""
        let hostList = parts.hosts
        let entries = hostList.split(separator: ",", omittingEmptySubsequences: false)
        guard entries.count <= PostgresSettings.maximumServers else {
            throw .badURL(shown, reason: "it names \(entries.count) servers; at most \(PostgresSettings.maximumServers)")
        }
        let tail = parts.tail
        var servers: [Server] = []
        var first: URLComponents?
        for entry in entries {
            guard !entry.isEmpty else {
                throw .badURL(shown, reason: entries.count > 1 ? "its list of servers has an empty entry" : "it names no host")
            }
            // Each server read as the only one of the URL: the same rules for every entry.
            guard let components = URLComponents(string: "postgres://\(userInfo)\(entry)\(tail)") else {
                throw .badURL(shown, reason: "cannot read the server \(entry)")
            }
            guard var host = components.host, !host.isEmpty else { throw .badURL(shown, reason: "it names no host") }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) } // IPv6
            // A port too large for an integer reads as none: it must not become the default.
            let portText = entry.hasSuffix("]") ? "" : entry.split(separator: ":", omittingEmptySubsequences: false).dropFirst().last ?? ""
            guard components.port != nil || portText.isEmpty else { throw .badURL(shown, reason: "the port is out of range") }
            let port = components.port ?? 5432
            guard (1...65_535).contains(port) else { throw .badURL(shown, reason: "the port is out of range") }
            let server = Server(host: host, port: port)
            guard !servers.contains(server) else { throw .badURL(shown, reason: "it names the server \(server) twice") }
            servers.append(server)
            if first == nil { first = components }
        }
        guard let components = first, let server = servers.first else { throw .badURL(shown, reason: "it names no host") }
        guard let user = components.user, !user.isEmpty else { throw .badURL(shown, reason: "it names no user") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.init(host: server.host, port: server.port, user: user, password: components.password,
                  database: path.isEmpty ? user : path, servers: servers)
    }

    /// `text` with the password of its user information, if any, replaced by `***`.
    static func withoutPassword(_ text: String) -> String {
        guard let userInfo = URLParts(text)?.userInfo, let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<text.index(after: colon)]) + "***" + String(text[userInfo.endIndex...])
    }

    /// A URL cut where `init(url:)` and `withoutPassword` need it: `scheme://userInfo@hosts` then `tail` (the
    /// path, query and fragment). The user information ends at the authority's last `@`.
    private struct URLParts {
        let scheme: Substring
        let userInfo: Substring?
        let hosts: Substring
        let tail: Substring

        init?(_ text: String) {
            guard let schemeEnd = text.range(of: "://") else { return nil }
            scheme = text[..<schemeEnd.lowerBound]
            let rest = text[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { "/?#".contains($0) } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            let at = authority.lastIndex(of: "@")
            userInfo = at.map { authority[..<$0] }
            hosts = at.map { authority[authority.index(after: $0)...] } ?? authority
            tail = rest[authorityEnd...]
        }
    }

    /// These settings pointed at `server` (one of `servers`).
    public func on(_ server: Server) -> PostgresSettings {
        var settings = self
        settings.host = server.host
        settings.port = server.port
        return settings
    }

    /// The server the stores connect to now.
    public var server: Server { Server(host: host, port: port) }

    /// The URL without the password (for messages and logs).
    public var redacted: String { "postgres://\(user)@\(server)/\(database)" }

    var isLoopback: Bool { host == "127.0.0.1" || host == "localhost" || host == "::1" }

    func clientConfiguration(maxConnections: Int, warmConnections: Int = 0) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: isLoopback ? .disable : .prefer(.makeClientConfiguration()))
        configuration.options.maximumConnections = maxConnections
        // No minimum: postgres-nio 1.33's pool with one stops the process on a precondition
        // (`minimumConcurrentConnections <= stats.active`) when a connection is asked for while the server is
        // gone, so a restarted server crashed the engine. The warm connections are opened by `warmUp` instead,
        // and kept while idle for as long as a presenter's pause.
        configuration.options.minimumConnections = 0
        if warmConnections > 0 { configuration.options.connectionIdleTimeout = PostgresSettings.warmIdleTimeout }
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

    /// How long an idle connection of a pool with warm connections stays open (a minute without them).
    static let warmIdleTimeout: Duration = .seconds(600)

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
