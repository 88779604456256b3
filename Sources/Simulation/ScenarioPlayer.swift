import Engine
import MessageQueue
import Primitives
import Synchronization

/// What a scenario's actions act on: one engine and its load, or (side by side) two engines at once.
public protocol ScenarioTarget: Sendable {
    func perform(_ action: Scenario.Action) async
}

/// One engine and its load.
public struct EngineScenarioTarget: ScenarioTarget {
    public let engine: Engine
    let load: LoadGenerator

    public init(engine: Engine, load: LoadGenerator) {
        self.engine = engine
        self.load = load
    }

    public func perform(_ action: Scenario.Action) async {
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

/// Plays a scenario against a target: each step's actions at its time. The timeline can wait for a start, pause,
/// jump to the next or previous step (whose actions are applied again) and restart. `speed` runs the scenario's
/// clock faster than the wall clock (rehearsals and tests); `loadPercent` offers that share of each step's rate
/// (a rehearsal on a small machine; tests that look at the captions, not at the load).
public final class ScenarioPlayer: Sendable {
    /// Where the timeline stands.
    public struct Position: Sendable, Equatable {
        /// Steps reached, 0 before the first; the current step is `steps[step - 1]`.
        public var step: Int
        public var stepCount: Int
        public var caption: String
        public var started: Bool
        public var paused: Bool
        public var finished: Bool
        public var elapsed: Duration
    }

    private struct State {
        var elapsed: Duration = .zero
        var reached = 0
        var started: Bool
        var paused = false
        var finished = false
    }

    public let scenario: Scenario
    private let target: any ScenarioTarget
    private let clock: any WallClock
    private let speed: Double
    /// The share of each step's rate that is offered, 1 to 100.
    public let loadPercent: Int
    private let state: Mutex<State>
    /// Actions of jumps made by key, to perform from the playing task in order.
    private let pending = Mutex<[Int]>([])

    public convenience init(scenario: Scenario, engine: Engine, load: LoadGenerator, clock: any WallClock = SystemClock()) {
        self.init(scenario: scenario, target: EngineScenarioTarget(engine: engine, load: load), clock: clock)
    }

    /// `waitForStart`: the timeline stands at 0 until `togglePause` starts it.
    /// `loadPercent` (1 to 100): the share of each step's rate that is offered; a rate above 0 stays above 0.
    public init(scenario: Scenario, target: any ScenarioTarget, clock: any WallClock = SystemClock(), speed: Double = 1,
                waitForStart: Bool = false, loadPercent: Int = 100) {
        self.scenario = scenario
        self.target = target
        self.clock = clock
        self.speed = speed.isFinite && speed > 0 ? speed : 1
        self.loadPercent = min(100, max(1, loadPercent))
        self.state = Mutex(State(started: !waitForStart))
    }

    public var position: Position {
        state.withLock { state in
            Position(step: state.reached, stepCount: scenario.steps.count,
                     caption: state.reached > 0 ? scenario.steps[state.reached - 1].caption : "",
                     started: state.started, paused: state.paused, finished: state.finished, elapsed: state.elapsed)
        }
    }

    /// The caption of the latest step.
    public var caption: String { position.caption }
    public var isPaused: Bool { state.withLock { $0.paused || !$0.started } }
    public var progress: (step: Int, of: Int) { (state.withLock { $0.reached }, scenario.steps.count) }
    /// The view the current step asks for, by name ("presenter", "compare", "panes"), if any.
    public var requestedView: String? {
        state.withLock { state in
            // The latest step at or before the current one that names a view; before the start, the first step's
            // (the stage is set for it while the scenario waits for Space).
            state.reached == 0 ? scenario.steps.first?.view : scenario.steps.prefix(state.reached).last { $0.view != nil }?.view
        }
    }

    /// Starts a waiting scenario, or pauses / resumes the timeline (the engine and the load keep their settings).
    public func togglePause() {
        state.withLock { state in
            if !state.started {
                state.started = true
                state.paused = false
            } else {
                state.paused.toggle()
            }
        }
    }

    /// Jumps to the start of the next step and applies it; `false` at the last step.
    @discardableResult
    public func next() -> Bool {
        jump { $0.reached < self.scenario.steps.count ? $0.reached : nil }
    }

    /// Goes back to the start of the previous step and applies it again; `false` at the first step.
    @discardableResult
    public func previous() -> Bool {
        jump { $0.reached >= 2 ? $0.reached - 2 : nil }
    }

    /// Plays the scenario again from its first step.
    public func restart() {
        state.withLock { state in
            state.elapsed = .zero
            state.reached = 0
            state.finished = false
            state.started = true
            state.paused = false
        }
    }

    private func jump(_ choose: (State) -> Int?) -> Bool {
        let index: Int? = state.withLock { state in
            guard let index = choose(state) else { return nil }
            state.started = true
            state.elapsed = scenario.steps[index].at
            state.reached = index + 1
            state.finished = false
            return index
        }
        guard let index else { return false }
        pending.withLock { $0.append(index) }
        return true
    }

    /// Plays until cancelled (after the last step it waits, so that keys can still step back or restart).
    public func run() async {
        let tick = Duration.milliseconds(50)
        while !Task.isCancelled {
            for index in pending.withLock({ jumps -> [Int] in defer { jumps = [] }; return jumps }) {
                await apply(index)
            }
            let due: [Int] = state.withLock { state in
                guard state.started, !state.paused else { return [] }
                var fired: [Int] = []
                while state.reached < scenario.steps.count, scenario.steps[state.reached].at <= state.elapsed {
                    fired.append(state.reached)
                    state.reached += 1
                }
                if state.elapsed >= scenario.duration, state.reached == scenario.steps.count { state.finished = true }
                return fired
            }
            for index in due { await apply(index) }
            try? await clock.sleep(for: tick)
            if Task.isCancelled { return }
            state.withLock { state in
                if state.started, !state.paused, !state.finished { state.elapsed += tick * speed }
            }
        }
    }

    private func apply(_ index: Int) async {
        for action in scenario.steps[index].actions { await target.perform(scaled(action)) }
    }

    /// The action with its rate at `loadPercent`.
    func scaled(_ action: Scenario.Action) -> Scenario.Action {
        guard case let .rate(rate) = action, loadPercent < 100, rate > 0 else { return action }
        return .rate(max(1, rate * loadPercent / 100))
    }
}
