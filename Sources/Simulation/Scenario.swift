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
    }

    public let name: String
    public let steps: [Step]
    /// The scenario ends (load stops) at this time.
    public let duration: Duration
}
