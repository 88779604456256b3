import Primitives

/// A queue replica's state.
public enum ReplicaState: String, Sendable, Equatable, CaseIterable {
    case up
    case down
    /// Answers, but late (injected latency).
    case slow
    /// Its copy failed a checksum; it is excluded until restored.
    case corrupted
    /// Back up and copying what it missed.
    case catchingUp = "catching up"
    /// A database server that takes writes of its own beside the cluster's primary (a standby promoted outside
    /// the failover, or an old primary started again): no copy of the primary's writes.
    case splitBrain = "split brain"
}

/// One replica of the credit queue.
public struct ReplicaStatus: Sendable, Equatable {
    /// "a", "b" or "c".
    public var name: String
    public var state: ReplicaState
    /// The last sequence number this replica has stored.
    public var lastSequence: Int64
    /// How far it is behind the leader: sequence numbers, or for a server of a database cluster, WAL bytes
    /// (`lagUnit`).
    public var lag: Int64
    /// The unit `lag` is written with ("B" for WAL bytes); nil: sequence numbers, written bare.
    public var lagUnit: String?
    /// For a server of a database cluster: phrases, most telling first and its role ("primary", "standby") the
    /// first, shown instead of the lag and sequence number, as many whole as fit (nil for the queue's own replicas).
    public var detail: [String]?
    /// Whether it takes part in a write now; nil: up or slow does (the queue's replicas). A database cluster
    /// says it per server (a stopped standby confirms no commit).
    public var takesWrites: Bool?

    public init(name: String, state: ReplicaState, lastSequence: Int64 = 0, lag: Int64 = 0, lagUnit: String? = nil,
                detail: [String]? = nil, takesWrites: Bool? = nil) {
        self.name = name
        self.state = state
        self.lastSequence = lastSequence
        self.lag = lag
        self.lagUnit = lagUnit
        self.detail = detail
        self.takesWrites = takesWrites
    }

    /// Counted toward the write quorum.
    public var isLive: Bool { takesWrites ?? (state == .up || state == .slow) }

    /// `lag` written whole, with its unit when it has one: "704", "35,144 B".
    public var lagText: String { Self.lagText(lag, unit: lagUnit) }

    /// A lag written whole, with its unit when it has one.
    public static func lagText(_ lag: Int64, unit: String?) -> String {
        DashboardText.count(Int(clamping: lag)) + (unit.map { " " + $0 } ?? "")
    }
}

/// The queue pane (CMQ model: visible, in flight, delayed, dead letters).
public struct QueueSummary: Sendable, Equatable {
    /// The queue's name, e.g. "credits".
    public var name: String
    public var visible: Int
    public var inFlight: Int
    public var delayed: Int
    public var deadLetters: Int
    /// Age of the oldest message (`nil` when the queue is empty).
    public var oldestAge: Duration?
    /// Total depth sampled at regular intervals, oldest first: feeds the sparkline.
    public var depthHistory: [Int]
    /// The replicas, in name order.
    public var replicas: [ReplicaStatus]
    /// Copies needed for a write to be acknowledged (2 of 3).
    public var writeQuorum: Int
    /// Programs using the queue over the SQS endpoint, when it is on.
    public var external: ExternalClients?
    /// Transactional (half) messages awaiting their producer's commit or rollback, over every queue.
    public var halfPending: Int
    /// Check-backs the queue has made to producers about undecided half messages, over every queue.
    public var checkBacks: Int
    /// Whether the queue has half messages at all (the SQLite queue's; the PostgreSQL queue has none, and its
    /// pane shows no line of zeros for them).
    public var hasHalfMessages: Bool

    public init(
        name: String = "credits", visible: Int = 0, inFlight: Int = 0, delayed: Int = 0, deadLetters: Int = 0,
        oldestAge: Duration? = nil, depthHistory: [Int] = [], replicas: [ReplicaStatus] = [], writeQuorum: Int = 2,
        external: ExternalClients? = nil, halfPending: Int = 0, checkBacks: Int = 0, hasHalfMessages: Bool = true
    ) {
        self.name = name
        self.visible = visible
        self.inFlight = inFlight
        self.delayed = delayed
        self.deadLetters = deadLetters
        self.oldestAge = oldestAge
        self.depthHistory = depthHistory
        self.replicas = replicas
        self.writeQuorum = writeQuorum
        self.external = external
        self.halfPending = halfPending
        self.checkBacks = checkBacks
        self.hasHalfMessages = hasHalfMessages
    }

    /// Messages not yet deleted, dead letters excluded.
    public var depth: Int { visible + inFlight + delayed }
}
