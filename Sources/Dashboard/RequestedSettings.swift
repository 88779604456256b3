import Primitives

/// Settings the operator asked for that the snapshot may not show yet. A key that steps or toggles a setting
/// (`f`, `L`, `G`, `m`, `P`, `d`, `w`) steps from the value the previous press asked for, however fast the presses
/// come: the snapshot lags the engine by up to a refresh interval and the command by its own run time.
///
/// An entry is forgotten once every command for its setting has been answered and a snapshot taken after the
/// last answer has arrived: from then on the engine's own value (which a scenario may also change) is the truth.
public struct RequestedSettings: Sendable, Equatable {
    /// What a command sets. Commands that set nothing (send, open, redrive) have no knob.
    enum Knob: Hashable, Sendable {
        case creditFailure
        case latency
        case gala
        case creditMode
        case workers
        case replica(String)
    }

    struct Entry: Sendable, Equatable {
        var command: DashboardCommand
        var pending: Int
        var settledAt: Timestamp?
    }

    private(set) var entries: [Knob: Entry] = [:]

    public init() {}

    /// Whether nothing is awaited.
    public var isEmpty: Bool { entries.isEmpty }

    static func knob(of command: DashboardCommand) -> Knob? {
        switch command {
        case .setCreditFailureRate: return .creditFailure
        case .setLedgerLatency: return .latency
        case .gala(.start), .gala(.stop): return .gala
        case .setCreditMode: return .creditMode
        case .workers: return .workers
        case .replica(let name, _): return .replica(name)
        case .send, .grabAndOpen, .gala(.faster), .gala(.slower), .redriveDeadLetters, .rewindQueue, .toggleScenarioPause, .scenarioStep,
             .compare, .failover:
            return nil
        }
    }

    /// A command was sent.
    mutating func sent(_ command: DashboardCommand) {
        guard let knob = Self.knob(of: command) else { return }
        let pending = (entries[knob]?.pending ?? 0) + 1
        entries[knob] = Entry(command: command, pending: pending, settledAt: nil)
    }

    /// A command was answered. A refusal forgets what was asked (the engine did not change).
    mutating func finished(_ command: DashboardCommand, succeeded: Bool, now: Timestamp) {
        guard let knob = Self.knob(of: command), var entry = entries[knob] else { return }
        guard succeeded else {
            entries[knob] = nil
            return
        }
        entry.pending = max(0, entry.pending - 1)
        if entry.pending == 0 { entry.settledAt = now }
        entries[knob] = entry
    }

    /// Forgets the settings a snapshot taken after their last answer already shows.
    mutating func reconcile(with snapshot: DashboardSnapshot) {
        entries = entries.filter { _, entry in
            guard entry.pending == 0, let settled = entry.settledAt else { return true }
            return snapshot.takenAt < settled
        }
    }

    // MARK: The values keys step from

    func creditFailurePercent(_ snapshot: DashboardSnapshot) -> Int {
        if case .setCreditFailureRate(let percent)? = entries[.creditFailure]?.command { return percent }
        return snapshot.faults.creditFailurePercent
    }

    func latencyMilliseconds(_ snapshot: DashboardSnapshot) -> Int {
        if case .setLedgerLatency(let milliseconds)? = entries[.latency]?.command { return milliseconds }
        return snapshot.faults.ledgerLatencyMilliseconds
    }

    func galaRunning(_ snapshot: DashboardSnapshot) -> Bool {
        switch entries[.gala]?.command {
        case .gala(.start)?: return true
        case .gala(.stop)?: return false
        default: return snapshot.faults.loadRunning
        }
    }

    func creditMode(_ snapshot: DashboardSnapshot) -> CreditMode {
        if case .setCreditMode(let mode)? = entries[.creditMode]?.command { return mode }
        return snapshot.header.creditMode
    }

    func workersPaused(_ snapshot: DashboardSnapshot) -> Bool {
        if case .workers(let action)? = entries[.workers]?.command { return action == .pause }
        return snapshot.retries.workers.contains { $0.state == .paused }
    }

    func replicaState(_ replica: ReplicaStatus) -> ReplicaState {
        guard case .replica(_, let action)? = entries[.replica(replica.name)]?.command else { return replica.state }
        switch action {
        case .down: return .down
        case .slow: return .slow
        case .corrupt: return .corrupted
        case .restore: return .up
        }
    }
}
