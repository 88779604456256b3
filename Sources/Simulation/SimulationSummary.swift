import Engine
import Ledger
import Primitives

/// What a simulation did, printed at the end of `hongbao simulate` (and as JSON).
public struct SimulationSummary: Sendable, Codable {
    public var seed: UInt64
    public var creditMode: String
    public var durationSeconds: Double
    /// Opens per second asked for (0 when a scenario sets the rate, or for no load).
    public var targetRate: Int
    /// The scenario that drove the load, if any.
    public var scenario: String?
    public var packetsSent: Int
    /// Of those, the packets that opens sent themselves because they found no share in the load's stock (a
    /// send is a payment and a packet, two more commits in front of that open).
    public var packetsSentByOpeners: Int
    public var opens: Int
    public var opensPerSecond: Double
    /// Opens the load did not start because its limit of `maxOpensInFlight` was already in flight: the engine
    /// fell behind the target rate (0: the load never met its limit).
    public var skippedOpens: Int
    /// Seconds into the load of the first and the last skip (nil when nothing was skipped).
    public var skipWindowSeconds: ClosedRange<Double>?
    public var maxOpensInFlight: Int
    public var creditedImmediately: Int
    /// Credits the retry workers landed for this run's opens.
    public var creditedByRetry: Int
    /// Credits the retry workers landed for opens of earlier runs of the same data directory.
    public var creditedFromEarlierRuns: Int
    public var failedForUser: Int
    public var rollbacks: Int
    public var maxAttempts: Int
    public var deadLettered: Int
    /// Open latency percentiles: nil (absent from the JSON) when there were no opens, rather than a 0 never measured.
    public var openLatencyP50Milliseconds: Double?
    public var openLatencyP99Milliseconds: Double?
    public var openLatencyP999Milliseconds: Double?
    /// Open to credit of the credits this run's retries landed: nil when they landed none.
    public var timeToCreditP99Milliseconds: UInt64?
    public var drainSeconds: Double?
    /// How long the run waited for the queue to drain before giving up.
    public var drainLimitSeconds: Double
    public var stillWaiting: Int
    public var auditViolations: [String]
}
