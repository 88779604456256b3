import Foundation
import Primitives
import PostgresNIO
#if canImport(Glibc)
import Glibc
#endif

/// PostgreSQL servers on this machine, run from the installed programs: one primary and up to two streaming
/// standbys, every commit confirmed by `ANY 1` of the standbys (`synchronous_commit = on`).
///
/// Layout (see docs/DESIGN.md, "The PostgreSQL cluster"):
/// ```
/// <data>/cluster/                 0700, the invoking user's
///   cluster.json                  0600: servers, ports, the primary now, user, generated password, database
///   LOCK                          held while a command changes the cluster
///   servers/ -> SERVER-ROOT       (a symbolic link when run as root; the directory itself otherwise)
/// SERVER-ROOT/                    0700, the server user's: <data>/cluster/servers, or as root
///                                 ~postgres/hongbao/<id> (postgres cannot enter root's 0700 data directory)
///   a/ b/ c/                      each server's data directory (PGDATA)
///   a.log b.log c.log             each server's log
/// ```
/// Servers listen on 127.0.0.1 only (no Unix socket), and `pg_hba.conf` allows scram-sha-256 from 127.0.0.1 and
/// nothing else. Every change of role rewrites a server's `hongbao.conf` (included from `postgresql.conf`).
public final class LocalCluster: Sendable {
    /// The servers' names in order; the first is the primary of a new cluster.
    public static let serverNames = ["a", "b", "c"]
    /// The database user and database the cluster makes.
    public static let userName = "hongbao"
    public static let databaseName = "hongbao"
    /// At most two standbys (three servers).
    public static let maximumStandbys = 2
    /// Ports are chosen among these (and checked free on 127.0.0.1), away from PostgreSQL's 5432.
    static let portRange = 20_000..<30_000
    /// How long `pg_ctl` waits for a server to start or stop.
    static let serverWaitSeconds = 60

    /// `<data>/cluster`.
    public let directory: String

    /// The cluster in `directory` (`<data>/cluster`); nothing is touched until a command runs.
    public init(directory: String) {
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
    }

    /// The cluster of a Hongbao data directory: `<data>/cluster`.
    public convenience init(dataDirectory: String) {
        self.init(directory: URL(fileURLWithPath: dataDirectory).standardizedFileURL.path + "/cluster")
    }

    /// What `up` did.
    public struct UpResult: Sendable {
        public let settings: ClusterSettings
        /// Whether this call made the cluster (initdb and base backups).
        public let created: Bool
        /// The servers this call started or resumed; empty when everything was already up.
        public let started: [String]
        public var alreadyUp: Bool { started.isEmpty }
    }

    /// The saved settings (the primary's port, user, password, database).
    public func settings() throws(ClusterError) -> ClusterSettings {
        try checkDirectory(mustExist: true)
        return try ClusterSettings.load(clusterDirectory: directory)
    }

    /// Makes the cluster if there is none (one primary and `standbys` standbys), then starts every server that
    /// is not running and resumes any stopped one. Idempotent: with everything up it starts nothing.
    /// - Parameter durable: false makes a new cluster's servers skip fsync (`fsync = off`, `initdb --no-sync`):
    ///   for tests, whose faults kill processes and never the machine. An existing cluster keeps its setting.
    public func up(standbys: Int = maximumStandbys, durable: Bool = true) async throws(ClusterError) -> UpResult {
        guard (0...LocalCluster.maximumStandbys).contains(standbys) else {
            throw .refused(reason: "a cluster has 0 to \(LocalCluster.maximumStandbys) standbys, not \(standbys)")
        }
        try checkDirectory(mustExist: false)
        if !FileManager.default.fileExists(atPath: ClusterSettings.path(in: directory)) {
            // What is missing is said before anything is made.
            _ = try PostgresInstallation.find()
            _ = try ServerUser.current()
            do {
                try DirectoryMaker.make(directory)
            } catch {
                throw .cannotMake(path: directory, reason: error.description)
            }
        }
        let lock = try await ClusterLock(directory: directory)
        defer { lock.release() }
        return try await mapped {
            var created = false
            var settings: ClusterSettings
            if FileManager.default.fileExists(atPath: ClusterSettings.path(in: directory)) {
                settings = try ClusterSettings.load(clusterDirectory: directory)
            } else {
                settings = try prepare(standbys: standbys, durable: durable)
                created = true
            }
            let user = try ServerUser.current(serverUserName: settings.serverUser)
            let installation = PostgresInstallation(binDirectory: settings.binDirectory, major: nil)
            try checkInstallation(installation)
            var started: [String] = []
            // The primary first: the standbys are copied from it and stream from it.
            for name in [settings.primary] + settings.standbyNames {
                if try await ensure(name, settings: settings, user: user, installation: installation) {
                    started.append(name)
                }
                // As saved now: a server made now may have been given another port (`ensure`), which the next
                // ones (a standby copies from the primary) and the result read here.
                settings = try ClusterSettings.load(clusterDirectory: directory)
                if name == settings.primary { try await ensureDatabase(settings) }
            }
            return UpResult(settings: settings, created: created, started: started)
        }
    }

    /// Stops every server (the primary first, so the standbys receive its shutdown checkpoint). Returns the
    /// servers it stopped; empty when none ran.
    @discardableResult
    public func down() async throws(ClusterError) -> [String] {
        let settings = try self.settings()
        let lock = try await ClusterLock(directory: directory)
        defer { lock.release() }
        let user = try ServerUser.current(serverUserName: settings.serverUser)
        let installation = PostgresInstallation(binDirectory: settings.binDirectory, major: nil)
        var stopped: [String] = []
        for name in [settings.primary] + settings.standbyNames {
            guard let server = settings.server(name) else { continue }
            if try await stop(server, settings: settings, user: user, installation: installation) { stopped.append(name) }
        }
        return stopped
    }

    /// Stops every server at once and deletes the cluster: its servers' directories and this directory. For
    /// `cluster remove`, for tests and for starting over; the data is gone. The servers' root is deleted only where
    /// `prepare` puts one (`servers` here, or `~postgres/hongbao/<id>` as root), whatever the settings file says.
    ///
    /// Each server gets an immediate shutdown (SIGQUIT to its postmaster, after SIGCONT if it was stopped): no
    /// checkpoint, as abrupt as a kill for the data, but the postmaster unlinks its dynamic shared memory, which a
    /// durable server keeps in `/dev/shm` (`PostgreSQL.<handle>`). What has not exited after `shutdownGrace` is
    /// killed (SIGKILL), and the segments its processes had mapped are unlinked. A killed postmaster unlinks
    /// nothing: `remove` used to leave about 1 MB per durable server there, in memory, until the machine restarted.
    public func remove() async {
        if let settings = try? ClusterSettings.load(clusterDirectory: directory) {
            var segments: Set<String> = []
            for server in settings.servers {
                segments.formUnion(ServerProcess.sharedMemorySegments(directory: server.directory))
                let process = ServerProcess.inspect(directory: server.directory)
                if process.state == .stopped { ServerProcess.signal(SIGCONT, directory: server.directory) }
                if let pid = process.pid { kill(pid, SIGQUIT) }
            }
            for server in settings.servers {
                if await !ServerProcess.waitUntilGone(directory: server.directory, timeout: LocalCluster.shutdownGrace,
                                                      reaped: false) {
                    ServerProcess.signal(SIGKILL, directory: server.directory)
                }
            }
            for segment in segments { unlink(segment) }
            if isServerRoot(settings) { try? FileManager.default.removeItem(atPath: settings.serverRoot) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// How long `remove` waits for a server's immediate shutdown before it kills what is left.
    static let shutdownGrace: Duration = .seconds(5)

    /// Whether `settings.serverRoot` is a root `prepare` made for this cluster.
    func isServerRoot(_ settings: ClusterSettings) -> Bool {
        let root = URL(fileURLWithPath: settings.serverRoot).standardizedFileURL
        if root.path == directory + "/servers" { return true }
        let id = settings.id
        return id.count == 12 && id.allSatisfy(\.isHexDigit) && root.lastPathComponent == id
            && root.deletingLastPathComponent().lastPathComponent == "hongbao"
    }

    // MARK: - Making the cluster

    /// Chooses the id, ports and password, makes the directories and saves the settings. The servers are made by
    /// `ensure` (so that an `up` interrupted half-way is finished by the next one).
    private func prepare(standbys: Int, durable: Bool) throws -> ClusterSettings {
        let installation = try PostgresInstallation.find()
        let user = try ServerUser.current()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let id = LocalCluster.randomText(length: 12, alphabet: "0123456789abcdef")
        let serverRoot: String
        if user.switches {
            let parent = user.home + "/hongbao"
            try makeDirectory(parent, owner: user)
            serverRoot = parent + "/" + id
            try makeDirectory(serverRoot, owner: user)
            try? FileManager.default.removeItem(atPath: directory + "/servers")
            try FileManager.default.createSymbolicLink(atPath: directory + "/servers", withDestinationPath: serverRoot)
        } else {
            serverRoot = directory + "/servers"
            try makeDirectory(serverRoot, owner: user)
        }
        let names = Array(LocalCluster.serverNames.prefix(1 + standbys))
        let ports = try LocalCluster.freePorts(count: names.count)
        let settings = ClusterSettings(
            format: ClusterSettings.currentFormat, id: id, host: "127.0.0.1", user: LocalCluster.userName,
            password: LocalCluster.randomText(length: 32, alphabet: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
            database: LocalCluster.databaseName, serverRoot: serverRoot, serverUser: user.name,
            servers: zip(names, ports).map { .init(name: $0, port: $1, directory: serverRoot + "/" + $0) },
            primary: names[0], binDirectory: installation.binDirectory, durable: durable)
        try settings.save(clusterDirectory: directory)
        return settings
    }

    /// Makes the server `name` if its data directory is empty (initdb for the primary, a base backup for a
    /// standby), then starts or resumes it. Returns whether it started or resumed it.
    func ensure(_ name: String, settings: ClusterSettings, user: ServerUser, installation: PostgresInstallation) async throws -> Bool {
        var settings = settings
        guard var server = settings.server(name) else { throw ClusterError.unknownServer(name: name, known: settings.servers.map(\.name)) }
        let process = ServerProcess.inspect(directory: server.directory)
        switch process.state {
        case .running: return false
        case .stopped:
            ServerProcess.signal(SIGCONT, directory: server.directory)
            return true
        case .gone: break
        }
        let made = !FileManager.default.fileExists(atPath: server.directory + "/PG_VERSION")
        if made {
            if name == settings.primary {
                try await initialize(server, settings: settings, user: user, installation: installation)
            } else {
                try await copyFromPrimary(server, settings: settings, user: user, installation: installation)
            }
        } else {
            // Written afresh at every start, so that a cluster made by an older hongbao runs this one's settings.
            try configure(server, settings: settings, user: user)
        }
        // The port was free when the cluster was planned, or while the server last ran; another program (another
        // cluster made meanwhile) may have taken it since. A server never started yet, or a standby (no client
        // but hongbao's own status reads, which take the port from the settings), simply gets another one. A
        // CI run once saw a rejoining old primary's port taken while it was down for the failover.
        if made || name != settings.primary, !LocalCluster.isPortFree(server.port) {
            (server, settings) = try movePort(of: server, user: user)
        }
        try await start(server, settings: settings, user: user, installation: installation)
        return true
    }

    /// Gives the server `server` (never started, or a standby) a free port: in the saved settings and in its
    /// configuration.
    private func movePort(of server: ClusterSettings.Server, user: ServerUser) throws -> (ClusterSettings.Server, ClusterSettings) {
        var settings = try ClusterSettings.load(clusterDirectory: directory)
        let taken = Set(settings.servers.map(\.port))
        guard let index = settings.servers.firstIndex(where: { $0.name == server.name }),
              let port = try LocalCluster.freePorts(count: taken.count + 1).first(where: { !taken.contains($0) }) else {
            throw ClusterError.portTaken(server: server.name, port: server.port)
        }
        settings.servers[index].port = port
        try settings.save(clusterDirectory: directory)
        let moved = settings.servers[index]
        try configure(moved, settings: settings, user: user)
        return (moved, settings)
    }

    /// `initdb` with the generated password (scram-sha-256), then the configuration.
    private func initialize(_ server: ClusterSettings.Server, settings: ClusterSettings, user: ServerUser,
                            installation: PostgresInstallation) async throws {
        try? FileManager.default.removeItem(atPath: server.directory)
        let passwordFile = settings.serverRoot + "/.initdb-password"
        try writeFile(passwordFile, settings.password + "\n", owner: user)
        defer { unlink(passwordFile) }
        try await ProgramRunner.check(installation.path("initdb"), [
            "-D", server.directory, "-U", settings.user, "--pwfile=\(passwordFile)",
            "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--no-locale", "--encoding=UTF8", "--no-instructions",
        ] + (settings.durable ? [] : ["--no-sync"]), as: user, directory: settings.serverRoot)
        let conf = server.directory + "/postgresql.conf"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: conf))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\n# Hongbao's settings for this server (rewritten on every change of role):\ninclude 'hongbao.conf'\n".utf8))
        try handle.close()
        try writeFile(server.directory + "/pg_hba.conf", ServerConfiguration.hostBasedAuthentication, owner: user)
        try configure(server, settings: settings, user: user)
    }

    /// A standby made by `pg_basebackup` from the primary (WAL streamed during the copy), then configured to
    /// stream from it.
    private func copyFromPrimary(_ server: ClusterSettings.Server, settings: ClusterSettings, user: ServerUser,
                                 installation: PostgresInstallation) async throws {
        try? FileManager.default.removeItem(atPath: server.directory)
        let primary = settings.primarySettings
        try await ProgramRunner.check(installation.path("pg_basebackup"), [
            "-D", server.directory, "-h", primary.host, "-p", "\(primary.port)", "-U", settings.user,
            "-X", "stream", "-c", "fast", "-w",
        ] + (settings.durable ? [] : ["--no-sync"]), as: user, directory: settings.serverRoot, environment: ["PGPASSWORD": settings.password])
        try configure(server, settings: settings, user: user)
    }

    /// Writes the server's `hongbao.conf` for its role now, and `standby.signal` for a standby.
    func configure(_ server: ClusterSettings.Server, settings: ClusterSettings, user: ServerUser) throws {
        try writeFile(server.directory + "/hongbao.conf", ServerConfiguration.render(server: server.name, settings: settings), owner: user)
        let signal = server.directory + "/standby.signal"
        if server.name == settings.primary {
            unlink(signal)
        } else {
            try writeFile(signal, "", owner: user)
        }
    }

    /// Starts a server with `pg_ctl` and waits until it accepts connections. A server killed a moment ago may
    /// still have children holding its shared memory: the start is retried for a few seconds.
    func start(_ server: ClusterSettings.Server, settings: ClusterSettings, user: ServerUser,
               installation: PostgresInstallation) async throws {
        guard LocalCluster.isPortFree(server.port) else {
            throw ClusterError.portTaken(server: server.name, port: server.port)
        }
        let log = settings.logPath(of: server.name)
        var lastFailure: ClusterError?
        for _ in 0..<20 {
            let result = try await ProgramRunner.run(installation.path("pg_ctl"), [
                "start", "-D", server.directory, "-l", log, "-w", "-t", "\(LocalCluster.serverWaitSeconds)", "-s",
            ], as: user, directory: settings.serverRoot)
            if result.status == 0 { return }
            let logTail = LocalCluster.tail(of: log)
            lastFailure = .commandFailed(command: "pg_ctl start (server \(server.name))", status: result.status,
                                         detail: logTail.isEmpty ? result.tail : logTail)
            guard logTail.contains("still in use") || logTail.contains("already exists") else { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw lastFailure ?? ClusterError.timedOut(what: "server \(server.name) to start")
    }

    /// Stops a server (fast shutdown; a stopped one is resumed first). Returns false when it was not running.
    func stop(_ server: ClusterSettings.Server, settings: ClusterSettings, user: ServerUser,
              installation: PostgresInstallation) async throws(ClusterError) -> Bool {
        let process = ServerProcess.inspect(directory: server.directory)
        guard process.pid != nil else { return false }
        if process.state == .stopped { ServerProcess.signal(SIGCONT, directory: server.directory) }
        let result = try await ProgramRunner.run(installation.path("pg_ctl"), [
            "stop", "-D", server.directory, "-m", "fast", "-w", "-t", "\(LocalCluster.serverWaitSeconds)", "-s",
        ], as: user, directory: settings.serverRoot)
        if result.status != 0, ServerProcess.inspect(directory: server.directory).state != .gone {
            throw .commandFailed(command: "pg_ctl stop (server \(server.name))", status: result.status, detail: result.tail)
        }
        return true
    }

    /// Creates the `hongbao` database on the primary unless it exists.
    private func ensureDatabase(_ settings: ClusterSettings) async throws {
        let maintenance = settings.primarySettings.with(database: "postgres")
        let database = settings.database
        try await ServerConnection.with(maintenance, timeout: .seconds(30)) { connection in
            // Before the standbys exist: this session's commits wait for no standby.
            _ = try await ServerConnection.rows(connection, "SET synchronous_commit = local")
            let rows = try await ServerConnection.rows(connection, "SELECT 1 FROM pg_database WHERE datname = '\(database)'")
            if rows.isEmpty { _ = try await ServerConnection.rows(connection, "CREATE DATABASE \(database)") }
        }
    }

    // MARK: - Helpers

    /// Refuses a path that is a file, or a directory with other things in it and no `cluster.json`.
    func checkDirectory(mustExist: Bool) throws(ClusterError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            if mustExist { throw .noCluster(path: directory) }
            return
        }
        guard isDirectory.boolValue else { throw .foreignDirectory(path: directory, reason: "it is not a directory") }
        if FileManager.default.fileExists(atPath: ClusterSettings.path(in: directory)) { return }
        let contents = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0 != "LOCK" }
        if !contents.isEmpty { throw .foreignDirectory(path: directory, reason: "it holds files but no cluster.json") }
        if mustExist { throw .noCluster(path: directory) }
    }

    private func checkInstallation(_ installation: PostgresInstallation) throws(ClusterError) {
        for program in PostgresInstallation.programs where !FileManager.default.isExecutableFile(atPath: installation.path(program)) {
            throw .noBinaries(lookedIn: installation.binDirectory)
        }
    }

    private func makeDirectory(_ path: String, owner: ServerUser) throws {
        if !FileManager.default.fileExists(atPath: path) {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
        }
        owner.own(path, mode: 0o700)
    }

    func writeFile(_ path: String, _ text: String, owner: ServerUser) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ClusterError.settings(path: path, reason: String(cString: strerror(errno))) }
        let data = Data(text.utf8)
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        _ = fsync(descriptor)
        close(descriptor)
        guard written == data.count else { throw ClusterError.settings(path: path, reason: "short write") }
        owner.own(path, mode: 0o600)
    }

    /// Turns any error into a `ClusterError` (a server's own message for a PostgreSQL error).
    func mapped<T>(_ body: () throws -> T) throws(ClusterError) -> T {
        do {
            return try body()
        } catch let error as ClusterError {
            throw error
        } catch {
            throw .settings(path: directory, reason: (error as NSError).localizedDescription)
        }
    }

    /// Turns any error into a `ClusterError` (a server's own message for a PostgreSQL error).
    func mapped<T>(_ body: () async throws -> T) async throws(ClusterError) -> T {
        do {
            return try await body()
        } catch let error as ClusterError {
            throw error
        } catch let error as PSQLError {
            throw .commandFailed(command: "PostgreSQL", status: 1,
                                 detail: error.serverInfo?[.message] ?? "\(error.code)")
        } catch {
            throw .commandFailed(command: "cluster", status: 1, detail: (error as NSError).localizedDescription)
        }
    }

    /// What a standby's log says when it asks its primary for WAL the primary has recycled.
    static let walGoneMessage = "has already been removed"

    /// The size of the file at `path` in bytes (0 if it cannot be read): where its text from now on begins.
    static func size(of path: String) -> UInt64 {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
    }

    /// The text of the file at `path` after its first `offset` bytes ("" if it cannot be read).
    static func text(of path: String, from offset: UInt64) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd() else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The last few lines of a log file, joined; "" when unreadable.
    static func tail(of path: String) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        return text.split(whereSeparator: \.isNewline).suffix(3).joined(separator: " / ")
    }

    /// Random text from the system's cryptographic generator (the password must not be predictable, so not an
    /// injected seeded source).
    static func randomText(length: Int, alphabet: String) -> String {
        let characters = Array(alphabet)
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in characters[Int.random(in: 0..<characters.count, using: &generator)] })
    }

    /// `count` distinct ports in `portRange` that nothing listens on now.
    static func freePorts(count: Int) throws -> [Int] {
        var chosen: [Int] = []
        for _ in 0..<500 where chosen.count < count {
            let port = Int.random(in: portRange)
            if !chosen.contains(port), isPortFree(port) { chosen.append(port) }
        }
        guard chosen.count == count else { throw ClusterError.refused(reason: "no free ports found in \(portRange)") }
        return chosen
    }

    /// Whether a TCP socket can bind 127.0.0.1:`port` now.
    static func isPortFree(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
