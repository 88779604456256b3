import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a client logs in to one PostgreSQL server: loopback, a password (scram-sha-256), a database.
public struct PostgresLogin: Codable, Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var database: String

    public init(host: String, port: Int, user: String, password: String, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// The same server, another database (`postgres` for maintenance).
    public func with(database: String) -> PostgresLogin {
        var copy = self
        copy.database = database
        return copy
    }

    /// A libpq connection string (`host=… port=… user=… password=… dbname=…`), for PostgreSQL's own programs.
    public var keywordValue: String {
        "host=\(host) port=\(port) user=\(user) password=\(password) dbname=\(database)"
    }

    /// A `postgres://` URL, for clients that take one.
    public var url: String { "postgres://\(user):\(password)@\(host):\(port)/\(database)" }
}

/// What `<data>/cluster/cluster.json` holds (0600, written by replacing the file): the servers, which one is the
/// primary now, and the credentials. Clients read it to reach the primary; failover rewrites it.
public struct ClusterSettings: Codable, Sendable, Equatable {
    /// One server of the cluster.
    public struct Server: Codable, Sendable, Equatable {
        /// `a`, `b`, `c`: also the server's `application_name` as a standby.
        public var name: String
        public var port: Int
        /// The server's data directory (PGDATA).
        public var directory: String
    }

    /// The format of this file; a file with another is refused rather than guessed at.
    public static let currentFormat = 1

    public var format: Int
    /// A random id chosen at the first `up` (it names the servers' directory when run as root).
    public var id: String
    public var host: String
    public var user: String
    public var password: String
    public var database: String
    /// The directory under which the servers' data directories and logs live.
    public var serverRoot: String
    /// The OS user the servers run as (`postgres` when the cluster was made by root, else the user who made it).
    public var serverUser: String
    public var servers: [Server]
    /// The name of the server that is the primary now.
    public var primary: String
    /// The PostgreSQL programs' directory the cluster was made with.
    public var binDirectory: String
    /// Whether the servers fsync (`fsync = on`, the default). Tests turn it off for speed: their faults kill
    /// processes, never the machine, and a killed process loses nothing the kernel has.
    public var durable: Bool

    /// The settings a client uses for the primary.
    public var primarySettings: PostgresLogin { settings(for: primary) }

    /// The log of server `name` (`pg_ctl start -l`).
    func logPath(of name: String) -> String { serverRoot + "/\(name).log" }

    /// The settings for any one server (by name); the primary's port when there is no such name.
    public func settings(for name: String) -> PostgresLogin {
        let port = servers.first { $0.name == name }?.port ?? servers.first { $0.name == primary }?.port ?? 0
        return PostgresLogin(host: host, port: port, user: user, password: password, database: database)
    }

    /// The server of that name.
    public func server(_ name: String) -> Server? { servers.first { $0.name == name } }

    /// The standbys' names: every server but the primary, in order.
    public var standbyNames: [String] { servers.map(\.name).filter { $0 != primary } }

    /// The settings file in a cluster directory.
    public static func path(in clusterDirectory: String) -> String { clusterDirectory + "/cluster.json" }

    /// Reads the settings of the cluster in `clusterDirectory`.
    public static func load(clusterDirectory: String) throws(ClusterError) -> ClusterSettings {
        let file = path(in: clusterDirectory)
        guard FileManager.default.fileExists(atPath: file) else { throw .noCluster(path: clusterDirectory) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw .settings(path: file, reason: (error as NSError).localizedDescription)
        }
        guard let settings = try? JSONDecoder().decode(ClusterSettings.self, from: data) else {
            throw .foreignDirectory(path: clusterDirectory, reason: "cluster.json is not a Hongbao cluster's settings")
        }
        guard settings.format == currentFormat else {
            throw .foreignDirectory(path: clusterDirectory, reason: "cluster.json has format \(settings.format), not \(currentFormat)")
        }
        return settings
    }

    /// Writes the settings 0600 to a temporary file in the same directory, flushes it and renames it over the old
    /// one, so that a reader sees the old settings or the new ones, never half of either.
    public func save(clusterDirectory: String) throws(ClusterError) {
        let file = ClusterSettings.path(in: clusterDirectory)
        let temporary = file + ".new"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { throw .settings(path: file, reason: "cannot encode") }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .settings(path: file, reason: String(cString: strerror(errno))) }
        _ = fchmod(descriptor, 0o600)
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == data.count, synced, rename(temporary, file) == 0 else {
            unlink(temporary)
            throw .settings(path: file, reason: String(cString: strerror(errno)))
        }
    }
}
