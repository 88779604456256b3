import Engine
import MessageQueue
import Primitives

/// A timeline of load and faults, read from a TOML file (see `ScenarioFile`).
public struct Scenario: Sendable, Equatable {
    /// One thing that happens at a moment of the timeline.
    public enum Action: Sendable, Equatable {
        case rate(Int)
        case creditFailure(percent: Int)
        case ledgerLatency(milliseconds: Int)
        case outage(Bool)
        case replicaDown(ReplicaID)
        case replicaUp(ReplicaID)
        case replicaSlow(ReplicaID, milliseconds: Int)
        case replicaCorrupt(ReplicaID)
        case replicaRestore(ReplicaID)
        case workersPause
        case workersCrash
        case workersRestart
        case creditMode(CreditMode)
        case redrive
    }

    public struct Step: Sendable, Equatable {
        /// When, from the start of the scenario.
        public let at: Duration
        public let actions: [Action]
        /// Shown on the dashboard's caption line while this step is the latest: what and why.
        public let caption: String
        /// The dashboard view this step shows ("panes", "presenter" or "compare"), or `nil` to keep the current one.
        public let view: String?

        public init(at: Duration, actions: [Action], caption: String, view: String? = nil) {
            self.at = at
            self.actions = actions
            self.caption = caption
            self.view = view
        }
    }

    /// The dashboard views a step may name.
    public static let views: Set<String> = ["panes", "presenter", "compare"]

    public let name: String
    public let steps: [Step]
    /// The scenario ends (load stops) at this time.
    public let duration: Duration
}
