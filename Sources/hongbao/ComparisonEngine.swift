import Dashboard
import Engine
import PostgresStores
import Foundation
import Ledger
import Primitives
import Simulation
import Synchronization

/// How to start the second engine of the side-by-side view: its own data directory, the same accounts and load.
struct ComparisonSettings: Sendable {
    var dataPath: String
    var durability: Durability
    var workers: Int
    var demoAccounts: Int
    var seed: UInt64
    /// Where its books are: SQLite files in `dataPath`, or on the first engine's PostgreSQL server in databases of
    /// their own (`transactionStore(beside:)`).
    var store: StoreChoice = .sqlite
    /// On PostgreSQL: where the primary is now, as for the first engine.
    var postgresPrimary: (@Sendable () -> PostgresSettings?)?
    /// On PostgreSQL: the first engine's server and database, beside which `store`'s database is made.
    var postgresBeside: PostgresSettings?

    /// Settings for the second engine beside a first one on `store`: on PostgreSQL its books go in the database
    /// named after the first's with `_transaction` (and its own `_ledger` and `_queue`), made when missing, so
    /// that neither engine's books hold the other's.
    init(dataPath: String, durability: Durability, workers: Int, demoAccounts: Int, seed: UInt64,
         beside store: StoreChoice = .sqlite, postgresPrimary: (@Sendable () -> PostgresSettings?)? = nil) {
        self.dataPath = dataPath
        self.durability = durability
        self.workers = workers
        self.demoAccounts = demoAccounts
        self.seed = seed
        if case let .postgres(settings) = store {
            self.store = .postgres(settings.inDatabase(settings.database + Self.transactionSuffix))
            self.postgresPrimary = postgresPrimary
            postgresBeside = settings
        }
    }

    /// These settings on the primary of the moment: the data directory's cluster names another server than the
    /// first engine started on once a failover has moved its primary, and the second engine, started later, must
    /// make its databases and open its books there (a URL's list of servers is asked by the engine itself).
    func onPrimaryOfTheMoment() -> ComparisonSettings {
        guard case let .postgres(books) = store, let first = postgresBeside, let now = postgresPrimary?() else {
            return self
        }
        var moved = self
        moved.store = .postgres(now.inDatabase(books.database))
        moved.postgresBeside = now.inDatabase(first.database)
        return moved
    }

    static let transactionSuffix = "_transaction"
    /// The second engine's connections on PostgreSQL: half the first's, so that both fit under the server's
    /// `max_connections` (100 on `hongbao cluster`) beside the monitors.
    static let postgresConnections = 24
}

/// The second engine of the side-by-side view, in transaction mode, with its own load generator driven by the same
/// seed and rate as the first. Started on demand, closed when the dashboard ends.
final class ComparisonEngine: Sendable {
    let engine: Engine
    let load: LoadGenerator
    private let tasks: Mutex<[Task<Void, Never>]>

    private init(engine: Engine, load: LoadGenerator) {
        self.engine = engine
        self.load = load
        self.tasks = Mutex([])
    }

    static func start(_ named: ComparisonSettings) async throws -> ComparisonEngine {
        let settings = named.onPrimaryOfTheMoment()
        if case let .postgres(books) = settings.store, let first = settings.postgresBeside {
            try await PostgresDatabases.make(books.database, beside: first)
        }
        var configuration = EngineConfiguration(dataPath: settings.dataPath, workers: settings.workers)
        configuration.durability = settings.durability
        configuration.creditMode = .transaction
        configuration.store = settings.store
        configuration.postgresPrimary = settings.postgresPrimary
        configuration.postgresConnections = ComparisonSettings.postgresConnections
        configuration.postgresWarmConnections = ComparisonSettings.postgresConnections
        let engine = try await Engine.start(configuration)
        engine.setCreditMode(.transaction)
        let users = try await SimulationRunner.prepareUsers(engine: engine, count: settings.demoAccounts, seed: settings.seed)
        let load = LoadGenerator(engine: engine, shape: LoadGenerator.Shape(users: users), random: SeededRandomSource(seed: settings.seed))
        let comparison = ComparisonEngine(engine: engine, load: load)
        comparison.tasks.withLock {
            $0 = [Task { await engine.run() }, Task { await load.run() }]
        }
        return comparison
    }

    /// Stops the load and the engine and closes its stores.
    func close() async {
        let running = tasks.withLock { tasks -> [Task<Void, Never>] in defer { tasks = [] }; return tasks }
        for task in running { task.cancel() }
        for task in running { await task.value }
        await engine.close()
    }
}

/// The second engine's place, shared by the dashboard backend and the scenario target: off, starting, or running
/// (and mirroring the first engine's load and faults while the side-by-side view is shown).
final class ComparisonSlot: Sendable {
    enum State {
        case off
        /// Starting; `mirrored` says what the side-by-side view wants by the time it is up (it may be stopped,
        /// or the dashboard closed, while the engine is still starting).
        case starting(mirrored: Bool)
        case running(ComparisonEngine, mirrored: Bool)
        case failed(String)
    }

    let settings: ComparisonSettings?
    private let state = Mutex<State>(.off)
    /// Each engine's counters when the comparison began: the halves count from there, so both start at zero.
    private let baselines = Mutex<(primary: MetricsSnapshot, secondary: MetricsSnapshot)?>(nil)

    var baseline: (primary: MetricsSnapshot, secondary: MetricsSnapshot)? { baselines.withLock { $0 } }

    func setBaseline(primary: MetricsSnapshot, secondary: MetricsSnapshot) {
        baselines.withLock { $0 = (primary, secondary) }
    }

    init(settings: ComparisonSettings?) {
        self.settings = settings
    }

    var current: State { state.withLock { $0 } }

    /// The second engine while it mirrors the first.
    var mirror: ComparisonEngine? {
        state.withLock { state in
            if case let .running(engine, true) = state { return engine }
            return nil
        }
    }

    /// Starts the second engine if needed and makes it mirror the first; `nil` when it is already starting.
    func activate() async throws -> ComparisonEngine? {
        guard let settings else { throw DashboardCommandError.unavailable("side by side needs the engine-backed dashboard") }
        let action: (start: Bool, engine: ComparisonEngine?) = state.withLock { state in
            switch state {
            case .off, .failed: state = .starting(mirrored: true); return (true, nil)
            case .starting: state = .starting(mirrored: true); return (false, nil)
            case let .running(engine, _): state = .running(engine, mirrored: true); return (false, engine)
            }
        }
        guard action.start else { return action.engine }
        do {
            let engine = try await ComparisonEngine.start(settings)
            // What was asked while it started: still wanted, stopped (rest its load), or the dashboard closed.
            let wanted: Bool? = state.withLock { state in
                guard case let .starting(mirrored) = state else { return nil }
                state = .running(engine, mirrored: mirrored)
                return mirrored
            }
            switch wanted {
            case true?: return engine
            case false?: engine.load.setRate(0); return nil
            case nil: await engine.close(); return nil
            }
        } catch {
            let message = UserError(error).userMessage
            state.withLock { $0 = .failed(message) }
            throw DashboardCommandError.rejected("the second engine did not start: \(message)")
        }
    }

    /// Stops mirroring; the second engine's load rests.
    func deactivate() {
        let engine: ComparisonEngine? = state.withLock { state in
            switch state {
            case let .running(engine, _):
                state = .running(engine, mirrored: false)
                return engine
            case .starting:
                state = .starting(mirrored: false) // it rests once it is up
                return nil
            case .off, .failed:
                return nil
            }
        }
        engine?.load.setRate(0)
    }

    /// Closes the second engine; one still starting is closed when its start returns.
    func close() async {
        let engine: ComparisonEngine? = state.withLock { state in
            defer { state = .off }
            if case let .running(engine, _) = state { return engine }
            return nil
        }
        await engine?.close()
    }
}

/// A scenario acts on the first engine and, while the side-by-side view runs, on the second one too (except the
/// credit mode: each half keeps its own). On PostgreSQL its replica steps act on the data directory's cluster's
/// servers of those names, once for both engines (they share the cluster), as the replica keys do (servers a URL
/// names are refused, with the reason in the events).
struct ComparedScenarioTarget: ScenarioTarget {
    let primary: EngineScenarioTarget
    let slot: ComparisonSlot
    var cluster: DashboardCluster? = nil

    func perform(_ action: Scenario.Action) async {
        if case .creditMode = action, slot.mirror != nil { return }
        if let cluster, let (server, fault) = Self.serverFault(action) {
            let engine = primary.engine
            do {
                engine.note(.fault, "scenario: " + (try await cluster.performScenarioStep(fault, server: server)))
            } catch let refused as DashboardCommandError {
                engine.note(.failure, "scenario step not taken: \(refused.message)")
            } catch {
                engine.note(.failure, "scenario step not taken: \(UserError(error).userMessage)")
            }
            return
        }
        await primary.perform(action)
        if let mirror = slot.mirror {
            await EngineScenarioTarget(engine: mirror.engine, load: mirror.load).perform(action)
        }
    }

    /// A replica step as the fault on the server of that name (a slow step stops it: its milliseconds are the
    /// SQLite replica's delay, which a stopped server has no use for).
    static func serverFault(_ action: Scenario.Action) -> (server: String, fault: ReplicaAction)? {
        switch action {
        case let .replicaDown(replica): (replica.rawValue, .down)
        case let .replicaUp(replica), let .replicaRestore(replica): (replica.rawValue, .restore)
        case let .replicaSlow(replica, _): (replica.rawValue, .slow)
        case let .replicaCorrupt(replica): (replica.rawValue, .corrupt)
        default: nil
        }
    }
}
