import Engine
import Foundation
import MessageQueue
import Primitives
import RedPackets

/// Runs the engine under the Gala load for a while, then lets the workers drain, then audits.
public struct SimulationRunner: Sendable {
    public struct Options: Sendable {
        public var seed: UInt64 = 1
        public var duration: Duration = .seconds(10)
        public var rate = 1_000
        public var accounts = 10_000
        /// How long to wait for the queue to drain after the load stops.
        public var drainLimit: Duration = .seconds(60)
        public var scenario: Scenario?

        public init() {}
    }

    /// One line of progress, once a second.
    public struct Progress: Sendable {
        public let elapsed: Duration
        public let snapshot: EngineSnapshot
        public let load: LoadGenerator.Counters
        public let phase: String
        /// Opens per second since the previous line (since the start for the first one).
        public let opensPerSecond: Double
    }

    public let engine: Engine
    public let options: Options

    public init(engine: Engine, options: Options) {
        self.engine = engine
        self.options = options
    }

    /// Seeds demo accounts if needed and returns the users the load draws from.
    public static func prepareUsers(engine: Engine, count: Int, seed: UInt64) async throws -> [String] {
        try await engine.seedDemoAccounts(count: count, random: SeededRandomSource(seed: seed))
        return DemoSeeder.namedPeople + DemoSeeder.numberedNames(count: count)
    }

    public func run(progress: @escaping @Sendable (Progress) -> Void) async throws -> SimulationSummary {
        let users = try await SimulationRunner.prepareUsers(engine: engine, count: options.accounts, seed: options.seed)
        let load = LoadGenerator(engine: engine, shape: try await .identified(users, on: engine),
                                 random: SeededRandomSource(seed: options.seed &+ 1), rate: options.rate)
        let started = ContinuousClock.now
        var drainSeconds: Double?
        // No load at all for a zero duration: the run only lets the workers drain what is queued.
        let loadDuration = options.duration
        // Started engine, load, its timer, scenario; stopped in reverse once drained: the scenario, the load,
        // then the engine (swift-service-lifecycle's discipline, see `ServiceStack`).
        let engine = self.engine
        var services: [ServiceStack.Service] = [{ await engine.run() }]
        if loadDuration > .zero {
            services.append { await load.run() }
            // The load stops at its duration, not at the next progress line.
            services.append {
                try? await Task.sleep(for: loadDuration)
                load.setRate(0)
            }
            if let scenario = options.scenario {
                services.append { await ScenarioPlayer(scenario: scenario, engine: engine, load: load).run() }
            }
        }
        try await ServiceStack.run(services) {
            var phase = loadDuration > .zero ? "load" : "drain"
            var loadStoppedAt: ContinuousClock.Instant? = loadDuration > .zero ? nil : started
            var previous = (at: started, opens: engine.metricsSnapshot().opens)
            while true {
                try? await Task.sleep(for: .seconds(1))
                let now = ContinuousClock.now
                let elapsed = now - started
                let snapshot = await engine.snapshot()
                if loadStoppedAt == nil && elapsed >= loadDuration {
                    load.setRate(0)
                    loadStoppedAt = now
                    phase = "drain"
                }
                let interval = (now - previous.at).secondsDouble
                let rate = interval > 0 ? Double(snapshot.metrics.opens - previous.opens) / interval : 0
                previous = (now, snapshot.metrics.opens)
                progress(Progress(elapsed: elapsed, snapshot: snapshot, load: load.counters, phase: phase,
                                  opensPerSecond: rate))
                if let stoppedAt = loadStoppedAt {
                    if SimulationRunner.isDrained(snapshot, engine: engine) {
                        drainSeconds = (ContinuousClock.now - stoppedAt).secondsDouble
                        break
                    }
                    if ContinuousClock.now - stoppedAt >= options.drainLimit { break }
                }
            }
        }
        return try await summarize(load: load, elapsed: ContinuousClock.now - started, drainSeconds: drainSeconds)
    }

    /// Nothing queued, in flight, or waiting to be credited (dead-lettered credits wait for the operator).
    /// The claims being credited are read here, not in every snapshot: listing the uncredited claims in order
    /// sorts all of them, which under a retry backlog cost the dashboard's refresh more than everything else.
    public static func isDrained(_ snapshot: EngineSnapshot, engine: Engine) -> Bool {
        func messages(in name: String) -> Int {
            snapshot.queue.queues.first { $0.name == name }.map { $0.visible + $0.inFlight + $0.delayed } ?? 0
        }
        guard messages(in: "credits") == 0 && snapshot.unqueuedCredits == 0 else { return false }
        // The snapshot's queue counts may be older than the last open (on PostgreSQL they are counted in the
        // background), so the claims decide: none being credited, and none waiting but the dead-lettered.
        let deadLettered = messages(in: "credits-dlq")
        guard let crediting = try? engine.packets.uncreditedClaims(in: .crediting, limit: 1),
              let waiting = try? engine.packets.uncreditedClaims(in: .waiting, limit: deadLettered + 1) else { return false }
        return crediting.isEmpty && waiting.count <= deadLettered
    }

    private func summarize(load: LoadGenerator, elapsed: Duration, drainSeconds: Double?) async throws -> SimulationSummary {
        let metrics = engine.metricsSnapshot()
        let retries = engine.workers.snapshot
        let violations = try await engine.audit()
        let stats = try engine.packets.stats() // counted in SQL, not by loading every uncredited claim
        let stillWaiting = stats.claimsCrediting + stats.claimsWaiting
        let loadSeconds = min(elapsed, options.duration).secondsDouble
        return SimulationSummary(
            seed: options.seed, creditMode: engine.creditMode.rawValue, durationSeconds: loadSeconds,
            targetRate: options.rate, scenario: options.scenario?.name, packetsSent: load.counters.packetsSent,
            packetsSentByOpeners: load.counters.packetsSentByOpeners, opens: metrics.opens,
            opensPerSecond: loadSeconds > 0 ? Double(metrics.opens) / loadSeconds : 0,
            skippedOpens: load.counters.skipped, skipWindowSeconds: load.counters.skipWindow,
            maxOpensInFlight: load.maxOpensInFlight,
            creditedImmediately: metrics.creditedImmediately, creditedByRetry: metrics.creditedByRetry,
            creditedFromEarlierRuns: metrics.creditedFromEarlierRuns,
            failedForUser: metrics.failedForUserQueueMode + metrics.failedForUserTransactionMode,
            rollbacks: metrics.rollbacks, maxAttempts: retries.maxAttempt,
            deadLettered: await engine.deadLetteredCount(),
            openLatencyP50Milliseconds: metrics.opens > 0 ? Double(metrics.allTimeOpenLatencyP50Microseconds) / 1_000 : nil,
            openLatencyP99Milliseconds: metrics.opens > 0 ? Double(metrics.allTimeOpenLatencyP99Microseconds) / 1_000 : nil,
            openLatencyP999Milliseconds: metrics.opens > 0 ? Double(metrics.allTimeOpenLatencyP999Microseconds) / 1_000 : nil,
            timeToCreditP99Milliseconds: metrics.creditedByRetry > 0 ? metrics.timeToCreditP99Milliseconds : nil,
            drainSeconds: drainSeconds, drainLimitSeconds: options.drainLimit.secondsDouble, stillWaiting: stillWaiting,
            auditViolations: violations.map(\.description))
    }
}
