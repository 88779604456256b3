import Engine
import Foundation
import Crediting
import Ledger
import MessageQueue
import Primitives
import RedPackets
import RetryWorker

/// TigerBeetle-style simulation of the whole credit path, on the production code, one step at a time.
///
/// One task drives a real engine (ledger and three-replica queue in a scratch directory, see `directory`) on a manual
/// clock and seeded randomness. Each step is chosen by the seed: send, grab, open (through `Engine.open`: draw, in-line
/// credit with injected failures, and on failure the credit path queues the claim), a retry worker step
/// (`RetryWorkerPool.receive` / `process`), clock advances, expiry, replica down / corrupt / restore (sometimes two
/// down: no quorum), worker crashes (held messages dropped unacknowledged), account-system outages, and restarts
/// (`Engine.start` runs recovery), including crashes between draw and queueing.
///
/// Then a convergence phase with faults off drives workers and time until nothing is owed, and the checks
/// run: every claim credited exactly once with its amount, balances sum to zero and match a model of every
/// user's money, audits clean, queue empty, replicas agree. The same seed gives the same summary.
public final class DeterministicSimulation {
    /// What to run.
    public struct Options: Sendable {
        public var seed: UInt64
        /// Steps of the fault phase.
        public var operations: Int
        /// Demo accounts the steps draw from.
        public var accounts = 200
        /// Retry workers simulated (each holds what it received until it processes it).
        public var workers = 4
        /// Percent of credits (in line and by workers) that fail during the fault phase.
        public var creditFailurePercent = 30
        /// Allow a second replica down at once (the queue has no quorum; enqueues fail).
        public var allowQuorumLoss = true
        /// Most convergence rounds before the run is declared stuck.
        public var maxConvergenceRounds = 20_000

        public init(seed: UInt64, operations: Int) {
            self.seed = seed
            self.operations = operations
        }
    }

    /// What the model expects, kept outside the system under test.
    struct Model {
        /// Every claim opened: its amount and recipient.
        var claims: [ClaimID: (amount: Money, user: String)] = [:]
        /// What each user has sent into packets.
        var sent: [String: Money] = [:]
        /// Packets that may still be grabbed; for personal packets, their recipient.
        var live: [(id: PacketID, recipient: String?)] = []
        /// Shares grabbed and not opened yet.
        var grabbed: [(packet: PacketID, user: String)] = []
    }

    let options: Options
    let limits: Limits
    let clock = ManualClock()
    let decisions: SeededRandomSource
    let engineRandom: SeededRandomSource
    /// A fresh directory for the engine's data, removed by `run`: memory-backed where the machine has it
    /// (`ScratchRoot`), since the simulation crashes the process, never the machine, and on a disk its
    /// hundreds of restarts (each closing five databases) spent half the run waiting for fsyncs.
    let directory: String
    var engineSlot: Engine?
    var users: [String] = []
    var initialBalances: [String: Money] = [:]
    var model = Model()
    var held: [[CreditMessage<EngineCreditQueue.Receipt>]]
    var counts = DeterministicSummary.Counts()
    var step = 0
    var outageUntil: Timestamp?
    let startedAt: Timestamp

    /// Limits of the real system, except replicas commit with `synchronous=NORMAL` (see `ReplicaDurability`).
    public static func limits() -> Limits {
        var limits = Limits.default
        limits.queue.replicaDurability = .normal
        return limits
    }

    public init(_ options: Options) throws {
        self.options = options
        limits = DeterministicSimulation.limits()
        decisions = SeededRandomSource(seed: options.seed)
        engineRandom = SeededRandomSource(seed: options.seed ^ 0x5151_D00D_CAFE_F00D)
        directory = ScratchRoot.path() + "/hongbao-sim-" + UUID().uuidString.prefix(8)
        held = Array(repeating: [], count: max(1, options.workers))
        startedAt = clock.now()
    }

    /// Runs the fault phase, the convergence phase and the checks; removes the data directory at the end.
    /// Call it once per simulation value.
    public func run() async throws -> DeterministicSummary {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await startEngine()
        try seedUsers()
        for index in 0..<options.operations {
            step = index
            try await performRandomStep()
        }
        let (rounds, convergedIn) = try await converge()
        let summary = try await check(convergenceRounds: rounds, convergenceVirtualSeconds: convergedIn)
        await engineSlot?.close()
        engineSlot = nil
        return summary
    }

    // MARK: Engine life

    func engine() throws(DeterministicSimulationError) -> Engine {
        guard let engineSlot else { throw .engineNotRunning }
        return engineSlot
    }

    /// Starts the engine the way the binary does (recovery included), on the simulation's clock and seed.
    func startEngine() async throws {
        var configuration = EngineConfiguration(dataPath: directory + "/data", workers: options.workers)
        configuration.durability = .normal
        configuration.limits = limits
        configuration.clock = clock
        configuration.random = engineRandom
        configuration.ledgerWrites = .immediate
        let engine = try await Engine.start(configuration)
        engine.setCreditFailure(percent: outageUntil == nil ? options.creditFailurePercent : 0)
        engine.setOutage(outageUntil != nil)
        engineSlot = engine
    }

    /// A crash and a restart: whatever the workers held is dropped, and only the disk survives.
    func restart() async throws {
        counts.restarts += 1
        for index in held.indices { held[index] = [] }
        await engineSlot?.close(settle: false) // a crash settles nothing: the start's recovery does
        engineSlot = nil // releases the data directory's lock before the new engine takes it
        try await startEngine()
    }

    func seedUsers() throws {
        let ledger = try engine().sqlite().ledger
        let seeder = DemoSeeder(ledger: ledger, random: SeededRandomSource(seed: options.seed &+ 17))
        _ = try seeder.seed(count: options.accounts)
        users = DemoSeeder.namedPeople + DemoSeeder.numberedNames(count: options.accounts)
        for user in users {
            initialBalances[user] = try ledger.account(named: user)?.balance ?? .zero
        }
    }

    // MARK: Randomness

    func roll(_ range: ClosedRange<Int64>) -> Int64 { decisions.uniform(in: range) }

    func chance(_ perMille: Int64) -> Bool { roll(0...999) < perMille }

    func index(_ count: Int) -> Int { Int(roll(0...Int64(max(1, count) - 1))) }

    func randomUser() -> String { users[index(users.count)] }
}
