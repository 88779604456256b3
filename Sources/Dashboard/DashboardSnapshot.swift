import Primitives

/// Everything the dashboard shows, captured at one instant. Immutable and `Sendable`: the engine builds one
/// (about 10 times a second) and the renderer reads it; the dashboard owns no business state.
///
/// Every field has a neutral default so that a backend can fill only what it knows; `DashboardSnapshot.empty`
/// renders as a calm, empty screen.
public struct DashboardSnapshot: Sendable, Equatable {
    /// When the engine took this snapshot.
    public var takenAt: Timestamp
    /// Throughput, latency, durability, uptime, credit mode and the conservation check.
    public var header: HeaderStats
    /// Top balances and credits still on their way.
    public var accounts: AccountsSummary
    /// Packet counts, recent and expiring packets, best luck.
    public var packets: PacketsSummary
    /// Queue depth, replicas and the depth history.
    public var queue: QueueSummary
    /// Retry attempts, the next retries due and the workers.
    public var retries: RetriesSummary
    /// Failures seen by users in each credit mode, for the side-by-side comparison.
    public var failures: FailureComparison
    /// The faults and load the operator has injected.
    public var faults: FaultSettings
    /// The most recent events, oldest first.
    public var events: [EventLine]
    /// The scenario being played, if any.
    public var scenario: ScenarioStatus?
    /// Both credit modes side by side, while the comparison runs.
    public var comparison: Comparison?
    /// Why the side-by-side view's second engine did not start (shown in its place until `c` tries again).
    public var comparisonFailure: String?

    public init(
        takenAt: Timestamp,
        header: HeaderStats = HeaderStats(),
        accounts: AccountsSummary = AccountsSummary(),
        packets: PacketsSummary = PacketsSummary(),
        queue: QueueSummary = QueueSummary(),
        retries: RetriesSummary = RetriesSummary(),
        failures: FailureComparison = FailureComparison(),
        faults: FaultSettings = FaultSettings(),
        events: [EventLine] = [],
        scenario: ScenarioStatus? = nil,
        comparison: Comparison? = nil
    ) {
        self.takenAt = takenAt
        self.header = header
        self.accounts = accounts
        self.packets = packets
        self.queue = queue
        self.retries = retries
        self.failures = failures
        self.faults = faults
        self.events = events
        self.scenario = scenario
        self.comparison = comparison
    }

    /// A snapshot with nothing in it, taken at the epoch: what the dashboard shows before the first real one.
    public static let empty = DashboardSnapshot(takenAt: Timestamp(millisecondsSinceEpoch: 0))
}
