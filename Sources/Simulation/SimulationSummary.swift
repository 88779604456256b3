import Engine
import Ledger
import Primitives

/// What a simulation did, printed at the end of `hongbao simulate` (and as JSON).
public struct SimulationSummary: Sendable, Codable {
    public var seed: UInt64
    public var creditMode: String
    public var durationSeconds: Double
    public var targetRate: Int
    public var packetsSent: Int
    public var opens: Int
    public var opensPerSecond: Double
    public var creditedImmediately: Int
    public var creditedByRetry: Int
    public var failedForUser: Int
    public var rollbacks: Int
    public var maxAttempts: Int
    public var deadLettered: Int
    public var openLatencyP50Milliseconds: Double
    public var openLatencyP99Milliseconds: Double
    public var openLatencyP999Milliseconds: Double
    public var timeToCreditP99Milliseconds: UInt64
    public var drainSeconds: Double?
    public var stillWaiting: Int
    public var auditViolations: [String]
}
