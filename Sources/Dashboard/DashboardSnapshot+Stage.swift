import Primitives

/// The scenario being played, as the presenter and the caption line show it.
public struct ScenarioStatus: Sendable, Equatable {
    public var name: String
    /// The current step, 1-based; 0 before the first step (waiting to start).
    public var step: Int
    public var stepCount: Int
    /// The current step's caption (empty before the first step).
    public var caption: String
    public var started: Bool
    public var paused: Bool
    /// Past the scenario's duration.
    public var finished: Bool
    /// The view the current step asks for; `nil` leaves the view as the operator chose it.
    public var view: DashboardView?
    /// The share of each step's rate that is offered (`--scenario-load`); below 100 the captions' figures are
    /// not what runs, and the step line says so.
    public var loadPercent: Int

    public init(name: String, step: Int, stepCount: Int, caption: String, started: Bool = true, paused: Bool = false,
                finished: Bool = false, view: DashboardView? = nil, loadPercent: Int = 100) {
        self.name = name
        self.step = step
        self.stepCount = stepCount
        self.caption = caption
        self.started = started
        self.paused = paused
        self.finished = finished
        self.view = view
        self.loadPercent = loadPercent
    }

    /// "Gala · step 3/11" (`separator` between the name and the step), and "at 10 % load" after it when the
    /// steps' rates are scaled down.
    public func stepLine(separator: String) -> String {
        "\(name)\(separator)step \(step)/\(stepCount)" + (loadPercent < 100 ? " at \(loadPercent) % load" : "")
    }
}

/// One half of the side-by-side view: one engine, in one credit mode, under the shared load and faults.
public struct ComparisonHalf: Sendable, Equatable {
    public var mode: CreditMode
    /// Opens that completed (credited at once or "on its way"), per second.
    public var opensPerSecond: Double
    /// Opens that ended with an error in front of the user, per second: with `opensPerSecond`, the rate
    /// opens were tried at, which is the load this half carries.
    public var failedOpensPerSecond: Double
    /// Opens that completed (credited at once or "on its way").
    public var opens: Int
    /// Opens that ended with an error in front of the user.
    public var usersWithError: Int
    /// Opens rolled back because their credit failed (transaction mode).
    public var rollbacks: Int
    /// Credits the user was told are on their way and that have not landed yet.
    /// Nil until first counted (a dash, not 0).
    public var onItsWayCount: Int?
    public var onItsWayAmount: Money?
    /// From open to credit, every credit of the last few seconds; nil when none landed in them (shown as a
    /// dash, not as zero).
    public var creditP50: Duration?
    public var creditP99: Duration?
    /// The live conservation check of this engine's books.
    public var conservation: ConservationStatus
    /// Fresh snapshots of this engine in the last second.
    public var updatesPerSecond: Int
    public var replicas: [ReplicaStatus]

    public init(mode: CreditMode, opensPerSecond: Double = 0, failedOpensPerSecond: Double = 0, opens: Int = 0, usersWithError: Int = 0, rollbacks: Int = 0,
                onItsWayCount: Int? = nil, onItsWayAmount: Money? = nil, creditP50: Duration? = nil, creditP99: Duration? = nil,
                conservation: ConservationStatus = .unknown, updatesPerSecond: Int = 0, replicas: [ReplicaStatus] = []) {
        self.mode = mode
        self.opensPerSecond = opensPerSecond
        self.failedOpensPerSecond = failedOpensPerSecond
        self.opens = opens
        self.usersWithError = usersWithError
        self.rollbacks = rollbacks
        self.onItsWayCount = onItsWayCount
        self.onItsWayAmount = onItsWayAmount
        self.creditP50 = creditP50
        self.creditP99 = creditP99
        self.conservation = conservation
        self.updatesPerSecond = updatesPerSecond
        self.replicas = replicas
    }
}

/// Both credit modes on the same load and the same faults.
public struct Comparison: Sendable, Equatable {
    public var queue: ComparisonHalf
    public var transaction: ComparisonHalf

    public init(queue: ComparisonHalf, transaction: ComparisonHalf) {
        self.queue = queue
        self.transaction = transaction
    }
}
