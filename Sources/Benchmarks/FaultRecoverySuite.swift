import Engine
import Foundation
import PostgresCluster
import PostgresStores
import Primitives
import Simulation
import Synchronization

/// `hongbao bench pgfaults --cluster DIR`: what a server fault costs the engine's opens, on a `hongbao cluster up`
/// cluster under a steady offered load with 20 % credit failures. Each run kills a standby with SIGKILL (then
/// restores it) and then kills the primary with `failover`, and times how long the opens/s took to come back.
/// After the standby's kill: the end of the last one-second window whose opens/s was below 90 % of the rate
/// before it (0: no window fell below). After the failover: the end of the last such window that is followed by
/// five seconds of windows at 90 % or more, the service back and holding; and, strictly, the end of the last
/// window below 90 % before the run ends, which takes in the old primary's rewind and catch-up on the same two
/// cores, 15-30 s after the promotion. After the faults the load stops, the engine is closed and started again (its
/// start-up scan re-queues what an open cut short at the kill left half done, as after any crash), the queue
/// drains, and the audit of both stores and the queue must be clean with nothing awaiting recovery, or the run
/// fails: a recovery time is only worth quoting if nothing acknowledged was lost and nothing credited twice.
/// The cluster is left with its new primary (the old one rejoins as a standby).
public enum FaultRecoverySuite {
    static let failurePercent = 20
    static let defaultRate = 1_000
    static let quickRate = 200
    /// The goals: opens/s back within 2 s of a standby's kill, service back within 10 s of the failover.
    static let standbyGoalSeconds = 2.0
    static let failoverGoalSeconds = 10.0
    /// Opens/s is "back" when every one-second window after the fault holds at least this share of the rate
    /// before it.
    static let recoveredShare = 0.9
    static let window = 1.0
    static let sampleInterval: Duration = .milliseconds(100)

    struct Phases {
        var warmUp: Duration
        /// The rate before a fault is measured over this much time just before it.
        var before: Duration
        var standbyDown: Duration
        var afterRestore: Duration
        /// How long the opens/s must have stayed back after the failover before the run ends, and the longest
        /// it is waited for.
        var steadyAfterFailover: Duration
        var failoverLimit: Duration
        var accounts: Int
    }

    static func phases(_ context: BenchContext) -> Phases {
        context.quick
            ? Phases(warmUp: .seconds(3), before: .seconds(2), standbyDown: .seconds(3), afterRestore: .seconds(3),
                     steadyAfterFailover: .seconds(2), failoverLimit: .seconds(60), accounts: 200)
            : Phases(warmUp: .seconds(8), before: .seconds(4), standbyDown: .seconds(10), afterRestore: .seconds(6),
                     steadyAfterFailover: .seconds(5), failoverLimit: .seconds(90), accounts: 10_000)
    }

    struct Run {
        var rateBefore: Double
        var standbyBackSeconds: Double?
        /// The lowest one-second opens/s while the standby was down, as a share of the rate before.
        var standbyLowestShare: Double
        /// Back and held for `steadyAfterFailover` (the goal's figure); later dips do not count.
        var failoverBackSeconds: Double?
        /// Until the last window below the share before the run ended, the old primary's rejoin included.
        var failoverSteadySeconds: Double?
        var failoverLowestShare: Double
        /// Opens/s over the last second of the run, after the failover.
        var rateAtEnd: Double
        var failover: FailoverResult
        var failedOpens: Int
        var skippedOpens: Int
    }

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        figures(try await measure(context), context)
    }

    /// The runs themselves (each ends with the queue drained and the audit clean, or throws).
    static func measure(_ context: BenchContext) async throws -> [Run] {
        guard let directory = context.cluster else {
            throw BenchError.setupFailed("pgfaults needs a cluster it may kill servers of: --cluster DIR, the data directory of `hongbao cluster up --data DIR`")
        }
        let cluster = LocalCluster(dataDirectory: directory)
        let rate = rate(context)
        var runs: [Run] = []
        for run in 1...context.runs {
            runs.append(try await once(context, cluster: cluster, rate: rate, number: run))
        }
        return runs
    }

    private static func rate(_ context: BenchContext) -> Int { context.rate ?? (context.quick ? quickRate : defaultRate) }

    static func figures(_ runs: [Run], _ context: BenchContext) -> [BenchFigure] {
        let rate = rate(context)
        let note = "offered \(rate)/s, \(failurePercent) % credit failures, \(phases(context).accounts) accounts, \(runs.count) run\(runs.count == 1 ? "" : "s"); "
            + "back: every 1 s window after the fault ≥ \(Int(recoveredShare * 100)) % of the opens/s before it"
        let standby = Samples(runs.map { $0.standbyBackSeconds ?? .infinity })
        let failover = Samples(runs.map { $0.failoverBackSeconds ?? .infinity })
        let steady = Samples(runs.map { $0.failoverSteadySeconds ?? .infinity })
        let held = phases(context).steadyAfterFailover.secondsDouble
        let lowestStandby = runs.map(\.standbyLowestShare).min() ?? 0
        let lowestFailover = runs.map(\.failoverLowestShare).min() ?? 0
        let failed = runs.map(\.failedOpens).reduce(0, +), skipped = runs.map(\.skippedOpens).reduce(0, +)
        let promoted = runs.map { run -> String in
            let rejoin = Double(run.failover.totalMilliseconds - run.failover.promotedMilliseconds) / 1_000
            return "\(run.failover.promotedMilliseconds) ms (rejoined by \(run.failover.rejoined) in \(String(format: "%.1f", rejoin)) s)"
        }.joined(separator: ", ")
        return [
            BenchFigure(suite: "pgfaults", name: "opens/s before the faults", unit: "opens/s",
                        samples: Samples(runs.map(\.rateBefore)), higherIsBetter: true, note: note),
            BenchFigure(suite: "pgfaults", name: "opens/s back after a standby's SIGKILL", unit: "s", samples: standby,
                        higherIsBetter: false,
                        note: "lowest 1 s window while it was down: \(percent(lowestStandby)) of the rate before")
                .with(goal: "≤ 2 s", met: standby.median <= standbyGoalSeconds),
            BenchFigure(suite: "pgfaults", name: "opens/s back after failover (primary killed)", unit: "s",
                        samples: failover, higherIsBetter: false,
                        note: "back, and every 1 s window of the \(Int(held)) s after ≥ \(Int(recoveredShare * 100)) %; "
                            + "lowest 1 s window: \(percent(lowestFailover)); promoted in \(promoted); "
                            + "\(failed) opens failed in front of their users, \(skipped) skipped by the load at 512 in flight; "
                            + "audit clean after a restart")
                .with(goal: "≤ 10 s", met: failover.median <= failoverGoalSeconds),
            BenchFigure(suite: "pgfaults", name: "last 1 s window below 90 % after failover", unit: "s",
                        samples: steady, higherIsBetter: false,
                        note: "the strict reading: every window to the run's end counts, the old primary's rewind and catch-up on the same cores included"),
        ]
    }

    private static func percent(_ share: Double) -> String { "\(Int((share * 100).rounded())) %" }

    /// One run on a scratch database of the cluster's primary: the load, a standby killed and restored, the
    /// failover, then the restart, drain and audit.
    static func once(_ context: BenchContext, cluster: LocalCluster, rate: Int, number: Int) async throws -> Run {
        let settings = try clusterSettings(cluster)
        let standby = try await ready(cluster, settings)
        let database = try await PostgresQueueBenchmark.createScratchDatabase(
            on: postgresSettings(settings.primarySettings)).database
        let result: Result<Run, any Error>
        do {
            result = .success(try await measure(context, cluster: cluster, settings: settings, database: database,
                                                standby: standby, rate: rate, number: number))
        } catch {
            result = .failure(error)
        }
        // On the primary of the moment: after the failover that is another server.
        if let primary = try? clusterSettings(cluster).primarySettings {
            try? await PostgresQueueBenchmark.dropScratchDatabase(database, on: postgresSettings(primary))
        }
        return try result.get()
    }

    private static func measure(
        _ context: BenchContext, cluster: LocalCluster, settings: ClusterSettings, database: String, standby: String,
        rate: Int, number: Int
    ) async throws -> Run {
        let phases = phases(context)
        let primary: @Sendable () -> PostgresSettings? = {
            (try? cluster.settings().primarySettings).map { postgresSettings($0, database: database) }
        }
        // An engine in `directory` on the scratch database of the primary of the moment, following it.
        func configuration(_ directory: String) -> EngineConfiguration {
            var configuration = EngineConfiguration(dataPath: directory)
            configuration.store = .postgres(primary() ?? postgresSettings(settings.primarySettings, database: database))
            configuration.postgresPrimary = primary
            return configuration
        }
        let run = try await context.withScratch("pgfaults-\(number)") { directory in
            let engine = try await Engine.start(configuration(directory))
            let users = try await SimulationRunner.prepareUsers(engine: engine, count: phases.accounts, seed: 1)
            engine.setCreditFailure(percent: failurePercent)
            let load = LoadGenerator(engine: engine, shape: LoadGenerator.Shape(users: users),
                                     random: SeededRandomSource(seed: 7), rate: rate)
            let timeline = Timeline()
            let clock = ContinuousClock()
            let started = clock.now
            func now() -> Double { (clock.now - started).secondsDouble }
            let measured: Result<Run, any Error> = await withTaskGroup(of: Void.self) { group in
                group.addTask { await engine.run() }
                group.addTask { await load.run() }
                group.addTask {
                    while !Task.isCancelled {
                        timeline.record(at: now(), completed: load.counters.completed)
                        try? await Task.sleep(for: sampleInterval)
                    }
                }
                defer { group.cancelAll() }
                do {
                    context.progress("pgfaults: run \(number)/\(context.runs), \(rate) opens/s offered, warming up")
                    try await Task.sleep(for: phases.warmUp)
                    let killedAt = now()
                    let rateBefore = timeline.rate(from: killedAt - phases.before.secondsDouble, to: killedAt)
                    context.progress("pgfaults: run \(number)/\(context.runs), standby \(standby) killed (SIGKILL)")
                    try await cluster.fault(.down, server: standby)
                    try await Task.sleep(for: phases.standbyDown)
                    let restoredAt = now()
                    let standbyBack = timeline.recovery(after: killedAt, until: restoredAt, rateBefore: rateBefore,
                                                        share: recoveredShare, window: window)
                    context.progress("pgfaults: run \(number)/\(context.runs), standby \(standby) restored")
                    try await cluster.fault(.restore, server: standby)
                    try await Task.sleep(for: phases.afterRestore)
                    let failoverAt = now()
                    let rateBeforeFailover = timeline.rate(from: failoverAt - phases.before.secondsDouble, to: failoverAt)
                    context.progress("pgfaults: run \(number)/\(context.runs), failover: the primary killed")
                    let failover = try await cluster.failover { context.progress("pgfaults: run \(number)/\(context.runs), \($0)") }
                    // Until the opens/s has stayed back for a while, or the limit.
                    while now() - failoverAt < phases.failoverLimit.secondsDouble {
                        let end = now()
                        if let back = timeline.recovery(after: failoverAt, until: end, rateBefore: rateBeforeFailover,
                                                        share: recoveredShare, window: window),
                           end - (failoverAt + back) >= phases.steadyAfterFailover.secondsDouble { break }
                        try await Task.sleep(for: sampleInterval)
                    }
                    let end = now()
                    load.setRate(0)
                    if ProcessInfo.processInfo.environment[timelineVariable] != nil {
                        printTimeline(timeline, until: end, marks: [(killedAt, "standby \(standby) killed"),
                                                                    (restoredAt, "standby \(standby) restored"),
                                                                    (failoverAt, "failover began")])
                    }
                    return .success(Run(
                        rateBefore: rateBefore, standbyBackSeconds: standbyBack,
                        standbyLowestShare: timeline.lowestRate(from: killedAt, to: restoredAt, window: window) / rateBefore,
                        failoverBackSeconds: timeline.recovery(after: failoverAt, until: end, rateBefore: rateBeforeFailover,
                                                               share: recoveredShare, window: window,
                                                               held: phases.steadyAfterFailover.secondsDouble),
                        failoverSteadySeconds: timeline.recovery(after: failoverAt, until: end, rateBefore: rateBeforeFailover,
                                                                 share: recoveredShare, window: window),
                        failoverLowestShare: timeline.lowestRate(from: failoverAt, to: end, window: window) / rateBeforeFailover,
                        rateAtEnd: timeline.rate(from: end - window, to: end), failover: failover, failedOpens: 0, skippedOpens: 0))
                } catch {
                    return .failure(error)
                }
            }
            // Let the opens in flight finish (they may be retrying on the new primary) before the engine closes.
            let settled = ContinuousClock.now
            while !load.counters.isSettled, ContinuousClock.now - settled < .seconds(30) {
                try? await Task.sleep(for: .milliseconds(50))
            }
            await engine.close()
            var run = try measured.get()
            run.failedOpens = load.counters.failed
            run.skippedOpens = load.counters.skipped
            return run
        }
        context.progress("pgfaults: run \(number)/\(context.runs), restarted to drain and audit")
        try await context.withScratch("pgfaults-\(number)-restart") { directory in
            try await drainAndAudit(configuration(directory))
        }
        return run
    }

    /// Set, each run prints its opens/s second by second on stderr, with the faults marked.
    static let timelineVariable = "HONGBAO_BENCH_TIMELINE"

    private static func printTimeline(_ timeline: Timeline, until end: Double, marks: [(Double, String)]) {
        var lines: [String] = []
        var second = 1.0
        while second <= end {
            let events = marks.filter { $0.0 > second - 1 && $0.0 <= second }.map(\.1)
            lines.append(String(format: "%6.0f s %8.0f opens/s", second, timeline.rate(from: second - 1, to: second))
                         + (events.isEmpty ? "" : "   <- " + events.joined(separator: ", ")))
            second += 1
        }
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// A fresh engine on the same database: its start-up scan settles what the kill left half done; then the
    /// queue drains and the audit must be clean.
    static func drainAndAudit(_ configuration: EngineConfiguration) async throws {
        let engine = try await Engine.start(configuration)
        engine.setCreditFailure(percent: 0)
        let drained: Bool = await withTaskGroup(of: Void.self) { group in
            group.addTask { await engine.run() }
            defer { group.cancelAll() }
            return await OpenLoadBenchmark.waitUntilDrained(engine) != nil
        }
        let report: AuditReport
        do {
            report = try await engine.auditReport()
        } catch {
            await engine.close()
            throw error
        }
        await engine.close()
        guard drained, report.violations.isEmpty, report.awaitingRecovery.isEmpty else {
            throw BenchError.verificationFailed(
                "pgfaults: after the faults the queue \(drained ? "drained" : "did not drain"); audit: \(report.violations.prefix(3)), \(report.awaitingRecovery.count) awaiting recovery")
        }
    }

    /// The standby the run kills: the first one; every server must be up before a run.
    static func ready(_ cluster: LocalCluster, _ settings: ClusterSettings) async throws -> String {
        guard let standby = settings.standbyNames.first, settings.standbyNames.count >= 2 else {
            throw BenchError.setupFailed("pgfaults needs a primary and two standbys (hongbao cluster up), so that one standby can be killed while the other confirms commits")
        }
        let status: ClusterStatus
        do {
            status = try await cluster.status()
        } catch {
            throw BenchError.setupFailed("pgfaults: the cluster's status: \(error)")
        }
        let notUp = status.servers.filter { $0.state != .up }.map(\.name)
        guard notUp.isEmpty else {
            throw BenchError.setupFailed("pgfaults: server \(notUp.joined(separator: ", ")) is not up; restore it first (hongbao cluster fault restore NAME)")
        }
        return standby
    }

    static func clusterSettings(_ cluster: LocalCluster) throws -> ClusterSettings {
        do {
            return try cluster.settings()
        } catch {
            throw BenchError.setupFailed("pgfaults: \(error)")
        }
    }

    static func postgresSettings(_ login: PostgresLogin, database: String? = nil) -> PostgresSettings {
        PostgresSettings(host: login.host, port: login.port, user: login.user, password: login.password,
                         database: database ?? login.database)
    }
}

/// Opens completed over time, sampled every `FaultRecoverySuite.sampleInterval`, and the rates read off it.
final class Timeline: Sendable {
    private let samples = Mutex<[(seconds: Double, completed: Int)]>([])

    init(_ samples: [(seconds: Double, completed: Int)] = []) {
        self.samples.withLock { $0 = samples }
    }

    func record(at seconds: Double, completed: Int) {
        samples.withLock { $0.append((seconds, completed)) }
    }

    /// Opens/s between the samples nearest after `from` and at or before `to` (0 with fewer than two samples).
    func rate(from: Double, to: Double) -> Double {
        samples.withLock { samples in
            guard let first = samples.first(where: { $0.seconds >= from }),
                  let last = samples.last(where: { $0.seconds <= to }), last.seconds > first.seconds else { return 0 }
            return Double(last.completed - first.completed) / (last.seconds - first.seconds)
        }
    }

    /// The windows of `window` seconds that start at or after `from` and end at or before `to`, one per sample.
    private func windows(from: Double, to: Double, window: Double) -> [(end: Double, rate: Double)] {
        samples.withLock { samples in
            var result: [(end: Double, rate: Double)] = []
            var start = samples.startIndex
            for end in samples.indices where samples[end].seconds >= from + window && samples[end].seconds <= to {
                // The window's first sample: the earliest in it (at most `window` before its end, never before `from`).
                while start < end, samples[start].seconds < samples[end].seconds - window { start += 1 }
                let span = samples[end].seconds - samples[start].seconds
                guard span > 0 else { continue }
                result.append((samples[end].seconds, Double(samples[end].completed - samples[start].completed) / span))
            }
            return result
        }
    }

    /// Seconds from `fault` until the opens/s was back and stayed so for `held` seconds: the end of the last
    /// window below `share` of `rateBefore` that is followed by `held` seconds of windows at or above it (0 when
    /// the first `held` seconds after the fault held the rate). Nil when no such stretch came before `until`. A
    /// later dip does not move it; `recovery` counts that too.
    func recovery(after fault: Double, until: Double, rateBefore: Double, share: Double, window: Double,
                  held: Double) -> Double? {
        let threshold = share * rateBefore
        var backSince = fault
        for window in windows(from: fault, to: until, window: window) {
            if window.rate < threshold {
                backSince = window.end
            } else if window.end - backSince >= held {
                return backSince - fault
            }
        }
        return nil
    }

    /// Seconds from `fault` until the end of the last window (before `until`) whose opens/s was below `share` of
    /// `rateBefore`: after that, every window held the rate. 0 when none fell below; nil when the last window
    /// was still below (not back by `until`) or there is no window yet.
    func recovery(after fault: Double, until: Double, rateBefore: Double, share: Double, window: Double) -> Double? {
        let windows = windows(from: fault, to: until, window: window)
        guard let last = windows.last else { return nil }
        let threshold = share * rateBefore
        if last.rate < threshold { return nil }
        guard let lastBelow = windows.last(where: { $0.rate < threshold }) else { return 0 }
        return lastBelow.end - fault
    }

    /// The lowest opens/s of the windows between `from` and `to`.
    func lowestRate(from: Double, to: Double, window: Double) -> Double {
        windows(from: from, to: to, window: window).map(\.rate).min() ?? 0
    }
}
