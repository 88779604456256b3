/// The health of one replica as the fault controls and the dashboard see it.
public enum ReplicaHealth: Sendable, Equatable, Codable {
    /// Applies every operation.
    case up
    /// Misses operations until restored.
    case down
    /// Applies every operation after an injected latency.
    case slow(latency: Duration)
    /// Its file failed SQLite's checks; not served until rebuilt by `restore`.
    case corrupted
    /// Being restored: this many operations behind the newest.
    case catchingUp(behind: Int64)

    /// Whether operations are sent to it.
    public var isLive: Bool {
        switch self {
        case .up, .slow: return true
        case .down, .corrupted, .catchingUp: return false
        }
    }

    /// A short word for tables and the dashboard.
    public var label: String {
        switch self {
        case .up: return "up"
        case .down: return "down"
        case let .slow(latency): return "slow(\(latency.wholeMilliseconds)ms)"
        case .corrupted: return "corrupted"
        case let .catchingUp(behind): return "catching-up(\(behind))"
        }
    }
}

/// One replica's state, last applied operation and lag behind the newest operation.
public struct ReplicaStatus: Sendable, Equatable, Codable {
    public var id: ReplicaID
    public var health: ReplicaHealth
    /// The sequence of the last operation it committed.
    public var appliedSequence: Int64
    /// Operations it is behind the newest one issued.
    public var lag: Int64
}

/// Everything the dashboard reads, in one value.
public struct QueueSnapshot: Sendable, Equatable, Codable {
    public var queues: [QueueCounters]
    public var replicas: [ReplicaStatus]
    /// The newest operation issued.
    public var lastSequence: Int64
    /// The newest operation committed on a quorum.
    public var acknowledgedSequence: Int64

    /// Half messages awaiting a decision, over every queue.
    public var halfPending: Int { queues.reduce(0) { $0 + $1.halfPending } }
    /// Half messages whose check-backs are used up, over every queue.
    public var halfExhausted: Int { queues.reduce(0) { $0 + $1.halfExhausted } }
    /// Check-backs made, over every queue.
    public var checkBacks: Int { queues.reduce(0) { $0 + $1.checkBacks } }
}
