import Primitives

/// Everything the operator can ask of the engine from the dashboard (by key, form or `:` command line).
/// The dashboard only describes the request; the backend performs it and answers with one line of text.
public enum DashboardCommand: Sendable, Equatable {
    /// Send a packet from `sender`.
    case send(PacketRequest)
    /// Grab a share and open it at once. `packet == nil`: the newest open packet. `user == nil`: the backend
    /// picks a demo user who has not grabbed that packet yet.
    case grabAndOpen(packet: PacketID?, user: String?)
    /// Control the Gala load generator.
    case gala(GalaAction)
    /// Make the account service fail this percentage of credits (0–100).
    case setCreditFailureRate(percent: Int)
    /// Add this latency to every credit the account service makes ("account latency" on screen).
    case setLedgerLatency(milliseconds: Int)
    /// Break or repair one queue replica ("a", "b" or "c").
    case replica(name: String, action: ReplicaAction)
    /// On the PostgreSQL cluster: kill the primary, promote the synchronous standby with the most WAL, and bring
    /// the old primary back as a standby (the engine follows the new primary).
    case failover
    /// Control the retry workers.
    case workers(WorkerAction)
    /// Switch how failed credits are handled.
    case setCreditMode(CreditMode)
    /// Move every dead letter back to the credit queue.
    case redriveDeadLetters
    /// Deliver again every message of `queue` sent in the last `seconds`, deleted ones included (CMQ's rewind;
    /// the queue needs a rewind window).
    case rewindQueue(queue: String, seconds: Int)
    /// Pause or resume the scenario being played (`--scenario`); a no-op answer when none is playing.
    case toggleScenarioPause
    /// Jump to the next or previous caption of the scenario, or play it again from the start.
    case scenarioStep(ScenarioStep)
    /// Run (or stop feeding) the second engine, in transaction mode, for the side-by-side view.
    case compare(Bool)
}

/// Moving through a scenario by hand.
public enum ScenarioStep: String, Sendable, Equatable, CaseIterable {
    case next
    case previous
    case restart
}

/// A packet to send.
public struct PacketRequest: Sendable, Equatable {
    public var sender: String
    public var amount: Money
    public var kind: Kind
    /// An optional greeting ("恭喜发财").
    public var greeting: String?

    /// Personal (one recipient) or group (lucky or equal split).
    public enum Kind: Sendable, Equatable {
        case personal(recipient: String)
        case lucky(shares: Int)
        case equal(shares: Int)
    }

    public init(sender: String, amount: Money, kind: Kind, greeting: String? = nil) {
        self.sender = sender
        self.amount = amount
        self.kind = kind
        self.greeting = greeting
    }
}

/// Gala load generator controls.
public enum GalaAction: Sendable, Equatable {
    /// Start at the given rate (opens per second), or at the backend's default.
    case start(ratePerSecond: Int?)
    case stop
    /// Double the rate.
    case faster
    /// Halve the rate.
    case slower
}

/// What to do to a replica.
public enum ReplicaAction: String, Sendable, Equatable, CaseIterable {
    case down
    case slow
    /// Destructive: the replica's copy is damaged and must be rebuilt. Asks y/N first.
    case corrupt
    /// Back to `up`: it catches up first, and a corrupted replica is rebuilt from a healthy copy.
    case restore

    /// The word people read ("restore" meant nothing to them: it brings the replica back up).
    public var word: String {
        switch self {
        case .down: return "down"
        case .slow: return "slow"
        case .corrupt: return "corrupt"
        case .restore: return "back up"
        }
    }
}

/// What to do to the retry workers.
public enum WorkerAction: String, Sendable, Equatable, CaseIterable {
    case pause
    case resume
    case crash
    case restart
}

/// Why the backend refused or failed a command; the text goes to the status line as is.
public enum DashboardCommandError: Error, Sendable, Equatable {
    /// The request broke a rule (insufficient funds, sold out, unknown account).
    case rejected(String)
    /// The engine could not do it now (shutting down, not supported by this backend).
    case unavailable(String)

    /// One line for the status bar.
    public var message: String {
        switch self {
        case .rejected(let text): return text
        case .unavailable(let text): return "unavailable: \(text)"
        }
    }
}
