import Synchronization

/// Polls a cluster's status (about twice a second) for a screen to read: `latest` is the last status taken,
/// never waited for. A service: `run()` polls until its task is cancelled.
public final class ClusterMonitor: Sendable {
    /// How often the status is taken.
    public static let defaultInterval: Duration = .milliseconds(500)

    /// What the monitor saw last.
    public struct Reading: Sendable {
        /// The last status taken; nil before the first one, or when the cluster's settings cannot be read.
        public var status: ClusterStatus?
        /// Why there is no status (no cluster, unreadable settings), for the screen to say.
        public var problem: String?
        /// How many statuses have been taken.
        public var polls: Int
    }

    private let read: @Sendable (KeptConnections) async throws -> ClusterStatus
    private let interval: Duration
    /// The servers' connections, kept from one poll to the next (closed when `run()` ends).
    private let connections = KeptConnections()
    private let reading = Mutex(Reading(status: nil, problem: nil, polls: 0))

    /// Polls the local cluster `cluster` (`LocalCluster.status()`).
    public convenience init(cluster: LocalCluster, interval: Duration = ClusterMonitor.defaultInterval) {
        self.init(interval: interval) { kept in try await cluster.status(kept: kept) }
    }

    /// Polls whatever `read` reads (the servers a URL names, read over SQL) on the connections it is given to
    /// keep; an error it throws is the problem.
    public init(interval: Duration = ClusterMonitor.defaultInterval,
                read: @escaping @Sendable (KeptConnections) async throws -> ClusterStatus) {
        self.read = read
        self.interval = interval
    }

    /// The last reading (does not wait).
    public var latest: Reading { reading.withLock { $0 } }

    /// Takes one status now and keeps it.
    @discardableResult
    public func poll() async -> Reading {
        let next: Reading
        do {
            let status = try await read(connections)
            next = reading.withLock {
                $0 = Reading(status: status, problem: nil, polls: $0.polls + 1)
                return $0
            }
        } catch {
            next = reading.withLock {
                $0 = Reading(status: nil, problem: "\(error)", polls: $0.polls + 1)
                return $0
            }
        }
        return next
    }

    /// How many server connections are kept between polls now.
    public var keptConnections: Int { connections.count }

    /// Polls every `interval` until the calling task is cancelled, then closes the kept connections.
    public func run() async {
        while !Task.isCancelled {
            await poll()
            try? await Task.sleep(for: interval)
        }
        connections.closeAll()
    }
}
