import Synchronization

/// Faults an operator injects into the account service, changed live from the dashboard or a scenario.
public final class CreditFaults: Sendable {
    /// A copy of the current settings.
    public struct Settings: Sendable, Equatable, Codable {
        /// Percentage of credits that fail before touching the ledger (0–100).
        public var failurePercent: Int = 0
        /// Latency added to every credit, as a slow account system would.
        public var addedLatencyMilliseconds: Int = 0
        /// Every credit fails at once.
        public var outage: Bool = false

        public init(failurePercent: Int = 0, addedLatencyMilliseconds: Int = 0, outage: Bool = false) {
            self.failurePercent = failurePercent
            self.addedLatencyMilliseconds = addedLatencyMilliseconds
            self.outage = outage
        }
    }

    private let state: Mutex<Settings>

    public init(_ settings: Settings = Settings()) {
        state = Mutex(settings)
    }

    public var settings: Settings { state.withLock { $0 } }

    public func update(_ change: (inout Settings) -> Void) {
        state.withLock { settings in
            change(&settings)
            settings.failurePercent = min(100, max(0, settings.failurePercent))
            settings.addedLatencyMilliseconds = min(60_000, max(0, settings.addedLatencyMilliseconds))
        }
    }
}
