import Engine
import MessageQueue
import Primitives
import Synchronization

/// Plays a scenario against a running engine and load: each step's actions at its time.
public final class ScenarioPlayer: Sendable {
    private let scenario: Scenario
    private let engine: Engine
    private let load: LoadGenerator
    private let clock: any WallClock
    private let state = Mutex<(caption: String, paused: Bool, step: Int)>(("", false, 0))

    public init(scenario: Scenario, engine: Engine, load: LoadGenerator, clock: any WallClock = SystemClock()) {
        self.scenario = scenario
        self.engine = engine
        self.load = load
        self.clock = clock
    }

    /// The caption of the latest step.
    public var caption: String { state.withLock { $0.caption } }
    public var isPaused: Bool { state.withLock { $0.paused } }
    public var progress: (step: Int, of: Int) { (state.withLock { $0.step }, scenario.steps.count) }

    /// Pauses or resumes the timeline (the engine and the load keep their current settings).
    public func togglePause() { state.withLock { $0.paused.toggle() } }

    public func run() async {
        var elapsed = Duration.zero
        let tick = Duration.milliseconds(100)
        for (index, step) in scenario.steps.enumerated() {
            while elapsed < step.at {
                try? await clock.sleep(for: tick)
                if Task.isCancelled { return }
                if !isPaused { elapsed += tick }
            }
            state.withLock {
                $0.caption = step.caption
                $0.step = index + 1
            }
            for action in step.actions { await perform(action) }
        }
    }

    func perform(_ action: Scenario.Action) async {
        do {
            switch action {
            case let .rate(rate): load.setRate(rate)
            case let .creditFailure(percent): engine.setCreditFailure(percent: percent)
            case let .ledgerLatency(milliseconds): engine.setLedgerLatency(milliseconds: milliseconds)
            case let .outage(down): engine.setOutage(down)
            case let .replicaDown(replica): try await engine.setReplica(replica, down: true)
            case let .replicaUp(replica): try await engine.setReplica(replica, down: false)
            case let .replicaSlow(replica, milliseconds):
                try await engine.slowReplica(replica, latency: .milliseconds(milliseconds))
            case let .replicaCorrupt(replica): try await engine.corruptReplica(replica)
            case let .replicaRestore(replica): try await engine.restoreReplica(replica)
            case .workersPause: engine.pauseWorkers()
            case .workersCrash: engine.crashWorkers()
            case .workersRestart: engine.restartWorkers()
            case let .creditMode(mode): engine.setCreditMode(mode)
            case .redrive: try await engine.redriveDeadLetters()
            }
        } catch {
            engine.note(.failure, "scenario step failed: \(error)")
        }
    }
}
