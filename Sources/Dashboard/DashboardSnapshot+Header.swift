import Primitives

/// How a failed credit is handled: parked in the queue and retried, or retried inline in one transaction.
public enum CreditMode: String, Sendable, Equatable, CaseIterable {
    /// The failed credit goes to the queue; the user sees "on its way".
    case queue
    /// The credit is retried inline; when it gives up the user sees a failure.
    case transaction
}

/// The result of the live conservation check (money is neither created nor destroyed).
public enum ConservationStatus: Sendable, Equatable {
    /// Not checked yet.
    case unknown
    /// Balances sum to zero across all accounts (the mint included).
    case ok
    /// The books do not balance; the message says by how much and where.
    case violated(String)
}

/// The header line: throughput, latency and the health of the whole system.
public struct HeaderStats: Sendable, Equatable {
    /// Shares opened per second, averaged over the last few seconds.
    public var opensPerSecond: Double
    /// Credits that reached a recipient per second.
    public var creditsPerSecond: Double
    /// Median time to open a share over the last few seconds; nil when no share was opened in them (shown as
    /// a dash: no measurement is not a latency of zero).
    public var openLatencyP50: Duration?
    /// 99th percentile time to open a share over the last few seconds; nil when none was opened in them.
    public var openLatencyP99: Duration?
    /// The durability mode of the stores ("FULL", "NORMAL"); nil before the engine has said (a dash).
    public var durability: String?
    /// When the engine started, for the uptime; nil before the engine has said.
    public var startedAt: Timestamp?
    /// The active credit mode.
    public var creditMode: CreditMode
    /// The live conservation check.
    public var conservation: ConservationStatus
    /// A scenario's caption ("the Gala starts: 2,000 opens per second"), or `nil` when none is playing.
    public var caption: String?
    /// The scenario is paused (space): the PAUSED badge shows until play resumes.
    public var scenarioPaused: Bool

    public init(
        opensPerSecond: Double = 0,
        creditsPerSecond: Double = 0,
        openLatencyP50: Duration? = nil,
        openLatencyP99: Duration? = nil,
        durability: String? = nil,
        startedAt: Timestamp? = nil,
        creditMode: CreditMode = .queue,
        conservation: ConservationStatus = .unknown,
        caption: String? = nil,
        scenarioPaused: Bool = false
    ) {
        self.scenarioPaused = scenarioPaused
        self.opensPerSecond = opensPerSecond
        self.creditsPerSecond = creditsPerSecond
        self.openLatencyP50 = openLatencyP50
        self.openLatencyP99 = openLatencyP99
        self.durability = durability
        self.startedAt = startedAt
        self.creditMode = creditMode
        self.conservation = conservation
        self.caption = caption
    }
}
