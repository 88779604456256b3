/// Why a cluster operation could not be done. The executable turns each case into one line and an exit status.
public enum ClusterError: Error, Equatable, Sendable {
    /// No PostgreSQL server programs were found where the cluster looks for them.
    case noBinaries(lookedIn: String)
    /// Run as root, but there is no `postgres` user for the servers to run as.
    case noServerUser(name: String)
    /// The cluster directory exists but holds something else (no `cluster.json`, or a file instead of a directory).
    case foreignDirectory(path: String, reason: String)
    /// There is no cluster here yet (`hongbao cluster up` makes one).
    case noCluster(path: String)
    /// A port a server needs is taken by another program.
    case portTaken(server: String, port: Int)
    /// No server of that name in this cluster.
    case unknownServer(name: String, known: [String])
    /// The request does not apply to the server in its present state (a fault on a single server, failover
    /// without a live standby, ...).
    case refused(reason: String)
    /// A PostgreSQL program failed; `detail` is the last lines it printed (or of the server's log).
    case commandFailed(command: String, status: Int32, detail: String)
    /// A server did not answer in time.
    case timedOut(what: String)
    /// The saved settings cannot be read or written.
    case settings(path: String, reason: String)
    /// The cluster directory cannot be made (`reason` names the path in the way).
    case cannotMake(path: String, reason: String)
}

extension ClusterError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .noBinaries(lookedIn):
            return "no PostgreSQL server programs found in \(lookedIn); install them with: \(PostgresInstallation.installCommand)"
        case let .noServerUser(name):
            return "running as root, the servers run as the '\(name)' user, which does not exist; install PostgreSQL "
                + "(\(PostgresInstallation.installCommand)) or run as an ordinary user"
        case let .foreignDirectory(path, reason):
            return "\(path) is not a Hongbao cluster directory (\(reason)); refusing to touch it"
        case let .noCluster(path):
            return "there is no cluster in \(path) (start one with: hongbao cluster up)"
        case let .portTaken(server, port):
            return "port \(port) of server \(server) is taken by another program on 127.0.0.1"
        case let .unknownServer(name, known):
            return "no server named '\(name)' in this cluster (servers: \(known.joined(separator: ", ")))"
        case let .refused(reason):
            return reason
        case let .commandFailed(command, status, detail):
            let tail = detail.isEmpty ? "" : ": " + detail
            return "\(command) failed (status \(status))\(tail)"
        case let .timedOut(what):
            return "timed out waiting for \(what)"
        case let .settings(path, reason):
            return "cannot use the cluster settings \(path): \(reason)"
        case let .cannotMake(path, reason):
            return "cannot make the cluster directory \(path): \(reason)"
        }
    }
}
