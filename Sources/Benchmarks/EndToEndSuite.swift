import Engine
import PostgresStores
import Primitives

/// `hongbao bench e2e`, at FULL durability with 0 % and 20 % credit failures: the highest sustainable opens/s
/// (searched, see `sustainedRuns`; the goal is 10,000 at 20 %), and the open latency and the drain time at 8,000
/// opens/s, the goal's latency rate (below the sustained goal: latency at the edge of saturation is the queueing
/// of an overloaded system, not the design's).
public enum EndToEndSuite {
    /// Accounts seeded per run. The quick smoke checks the suite's shape, not its speed: a tenth of them.
    static func accounts(_ context: BenchContext) -> Int { context.quick ? 1_000 : 10_000 }
    static let minimumOpensPerSecond = 10_000.0
    /// Where the latency and the drain are measured (their goals: p99 ≤ 50 ms, drain ≤ 10 s).
    static let latencyRate = 8_000
    static let maximumP99Milliseconds = 50.0
    static let maximumDrainSeconds = 10.0
    /// Where the search for the sustained rate starts (see `RateSearch`).
    static func startingRate(_ context: BenchContext) -> Int { context.quick ? 500 : 4_000 }
    static let maximumSteps = 8

    /// How long each run offers its load.
    static func runDuration(_ context: BenchContext) -> Duration { context.quick ? .seconds(1) : .seconds(10) }

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        let latencyRate = context.quick ? 500 : Self.latencyRate
        let duration = runDuration(context)
        var figures: [BenchFigure] = []
        var baseline: (throughput: [OpenLoadBenchmark.Run], latency: [OpenLoadBenchmark.Run], peak: OpenLoadBenchmark.Run?) = ([], [], nil)
        for failure in [0, 20] {
            let (throughput, peak) = try await sustainedRuns(context, creditFailurePercent: failure)
            var latency: [OpenLoadBenchmark.Run] = []
            for run in 1...context.runs {
                context.progress("e2e \(failure)% failures: latency at \(latencyRate) opens/s, run \(run)/\(context.runs)")
                latency.append(try await once(context, rate: latencyRate, duration: duration, failure: failure))
            }
            if failure == 0 { baseline = (throughput, latency, peak) }
            figures += self.figures(context, throughput: throughput, latency: latency, failure: failure,
                                    baseline: (baseline.throughput, baseline.latency))
            figures.append(saturation(peak, failure: failure, baseline: failure == 0 ? nil : baseline.peak))
        }
        return figures
    }

    /// The most opens/s any step of the search achieved, sustained or not, beside the sustained figure, which one
    /// pause of 512 / rate anywhere in a run fails: a lower bound on what the engine carries (the search offers
    /// no more than its first failed step, so the step may not have saturated it). No goal: the goal is on the
    /// sustained figure.
    static func saturation(_ peak: OpenLoadBenchmark.Run?, failure: Int, baseline: OpenLoadBenchmark.Run?,
                           label: String = "", baselineName: String? = "0% failures") -> BenchFigure {
        let note = peak.map { "offered \($0.offeredPerSecond)/s, \($0.skipped) skipped at the in-flight limit\(skipWindow($0))" }
        return BenchFigure(suite: "e2e", name: "most opens/s in the search, \(failure)% credit failures\(label)", unit: "opens/s",
                           samples: Samples(peak.map { [$0.achievedPerSecond] } ?? []), higherIsBetter: true,
                           baselineName: baseline == nil ? nil : baselineName,
                           baseline: baseline.map { Samples([$0.achievedPerSecond]) }, note: note)
    }

    /// When in the run the load met its in-flight limit: one pause of 512 / rate fails a step, wherever it falls.
    static func skipWindow(_ run: OpenLoadBenchmark.Run) -> String {
        guard let window = run.skipWindow else { return "" }
        return String(format: " (%.1f–%.1f s into the load)", window.lowerBound, window.upperBound)
    }

    /// Finds the highest sustainable rate (`RateSearch`: a run sustained is a lower bound, one not sustained an
    /// upper bound; double, then bisect), then repeats it until there are `context.runs` runs at that rate. Also
    /// returns the search's run that achieved the most (`peak`), sustained or not.
    static func sustainedRuns(_ context: BenchContext, creditFailurePercent: Int, on server: PostgresSettings? = nil,
                              firstOffer: Int? = nil) async throws -> (runs: [OpenLoadBenchmark.Run], peak: OpenLoadBenchmark.Run?) {
        let duration = runDuration(context)
        let label = server == nil ? "" : " on PostgreSQL"
        var search = RateSearch()
        var offered: Int? = firstOffer ?? startingRate(context)
        var best: OpenLoadBenchmark.Run?
        var last: OpenLoadBenchmark.Run?
        var peak: OpenLoadBenchmark.Run?
        var step = 0
        while let rate = offered, step < (context.quick ? 2 : maximumSteps) {
            step += 1
            context.progress("e2e\(label) \(creditFailurePercent)% failures: offering \(rate) opens/s (step \(step))")
            let run = try await once(context, rate: rate, duration: duration, failure: creditFailurePercent, on: server)
            context.progress("e2e\(label) \(creditFailurePercent)% failures: \(rate) offered, \(Int(run.achievedPerSecond)) achieved, "
                             + "\(run.skipped) skipped at the in-flight limit\(skipWindow(run)): "
                             + (run.sustained ? "sustained" : "not sustained"))
            last = run
            if run.achievedPerSecond > peak?.achievedPerSecond ?? -1 { peak = run }
            if run.sustained, run.offeredPerSecond > best?.offeredPerSecond ?? 0 { best = run }
            offered = search.next(offered: rate, achieved: run.achievedPerSecond, wasSustained: run.sustained)
        }
        guard let first = best ?? last else { return ([], peak) }
        var runs = [first]
        while runs.count < context.runs {
            let rate = first.offeredPerSecond
            context.progress("e2e\(label) \(creditFailurePercent)% failures: \(rate) opens/s, run \(runs.count + 1)/\(context.runs)")
            runs.append(try await once(context, rate: rate, duration: duration, failure: creditFailurePercent, on: server))
        }
        return (runs, peak)
    }

    static func once(_ context: BenchContext, rate: Int, duration: Duration, failure: Int,
                     on server: PostgresSettings? = nil) async throws -> OpenLoadBenchmark.Run {
        try await context.withScratch("e2e") { directory in
            guard let server else {
                return try await OpenLoadBenchmark.run(directory: directory, accounts: accounts(context), rate: rate,
                                                       duration: duration, creditFailurePercent: failure)
            }
            return try await PostgresQueueBenchmark.withScratchDatabase(server) { scratch in
                try await OpenLoadBenchmark.run(directory: directory, accounts: accounts(context), rate: rate, duration: duration,
                                                creditFailurePercent: failure, store: .postgres(scratch))
            }
        }
    }

    static func figures(
        _ context: BenchContext, throughput: [OpenLoadBenchmark.Run], latency: [OpenLoadBenchmark.Run], failure: Int,
        baseline: (throughput: [OpenLoadBenchmark.Run], latency: [OpenLoadBenchmark.Run])
    ) -> [BenchFigure] {
        let label = "\(failure)% credit failures"
        let offered = throughput.last?.offeredPerSecond ?? 0
        let note = "offered \(offered)/s, \(throughput.filter(\.sustained).count)/\(throughput.count) runs sustained "
            + "(≥ 95 %, nothing skipped), FULL, \(accounts(context)) accounts"
        let rate = latency.first?.offeredPerSecond ?? 0
        let latencyNote = "offered \(rate)/s: \(latency.filter(\.sustained).count)/\(latency.count) runs sustained"
        let baseName = failure == 0 ? nil : "0% failures"
        func figure(_ name: String, _ unit: String, _ runs: [OpenLoadBenchmark.Run], _ base: [OpenLoadBenchmark.Run],
                    _ key: (OpenLoadBenchmark.Run) -> Double, higherIsBetter: Bool = false, note: String? = nil) -> BenchFigure {
            BenchFigure(suite: "e2e", name: name, unit: unit, samples: Samples(runs.map(key)), higherIsBetter: higherIsBetter,
                        baselineName: baseName, baseline: failure == 0 ? nil : Samples(base.map(key)), note: note)
        }
        var opens = figure("opens/s sustained, \(label)", "opens/s", throughput, baseline.throughput, \.achievedPerSecond,
                           higherIsBetter: true, note: note)
        let p50 = figure("open p50 at \(rate)/s, \(label)", "ms", latency, baseline.latency, \.p50Milliseconds,
                         note: latencyNote)
        var p99 = figure("open p99 at \(rate)/s, \(label)", "ms", latency, baseline.latency, \.p99Milliseconds)
        let p999 = figure("open p99.9 at \(rate)/s, \(label)", "ms", latency, baseline.latency, \.p999Milliseconds)
        var drain = figure("drain after \(rate)/s, \(label)", "s", latency, baseline.latency, \.drainSeconds)
        if failure == 20 {
            opens = opens.with(goal: "≥ \(NumberText.grouped(Int(minimumOpensPerSecond)))/s",
                               met: opens.median >= minimumOpensPerSecond)
            p99 = p99.with(goal: "≤ 50 ms", met: p99.median <= maximumP99Milliseconds)
            drain = drain.with(goal: "≤ 10 s", met: drain.median <= maximumDrainSeconds)
        }
        return [opens, p50, p99, p999, drain]
    }
}

/// `hongbao bench e2e --store postgres`: the same engine and load on PostgreSQL's stores (a scratch database
/// on the server per run), at 20 % credit failures, each figure beside SQLite's measured in the same run: the
/// highest sustainable opens/s, and the open latency and drain at 3,000 opens/s.
public enum PostgresEndToEndSuite {
    static let failurePercent = 20
    static let latencyRate = 3_000
    static let minimumOpensPerSecond = 5_000.0

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        guard let server = context.postgres else {
            throw BenchError.setupFailed("e2e on PostgreSQL needs a server: --postgres postgres://user:password@host:port/db")
        }
        let duration = EndToEndSuite.runDuration(context)
        let rate = context.quick ? 1_000 : latencyRate
        let first = context.quick ? 2_000 : 6_000
        let (postgres, postgresPeak) = try await EndToEndSuite.sustainedRuns(
            context, creditFailurePercent: failurePercent, on: server, firstOffer: first)
        let (sqlite, sqlitePeak) = try await EndToEndSuite.sustainedRuns(context, creditFailurePercent: failurePercent)
        var latency: (postgres: [OpenLoadBenchmark.Run], sqlite: [OpenLoadBenchmark.Run]) = ([], [])
        for run in 1...context.runs {
            context.progress("e2e on PostgreSQL: latency at \(rate) opens/s, run \(run)/\(context.runs)")
            latency.postgres.append(try await EndToEndSuite.once(context, rate: rate, duration: duration,
                                                                 failure: failurePercent, on: server))
            context.progress("e2e on SQLite: latency at \(rate) opens/s, run \(run)/\(context.runs)")
            latency.sqlite.append(try await EndToEndSuite.once(context, rate: rate, duration: duration,
                                                               failure: failurePercent))
        }
        func figure(_ name: String, _ unit: String, _ runs: [OpenLoadBenchmark.Run], _ base: [OpenLoadBenchmark.Run],
                    _ key: (OpenLoadBenchmark.Run) -> Double, higherIsBetter: Bool = false, note: String? = nil) -> BenchFigure {
            BenchFigure(suite: "e2e", name: name + ", PostgreSQL", unit: unit, samples: Samples(runs.map(key)),
                        higherIsBetter: higherIsBetter, baselineName: "SQLite", baseline: Samples(base.map(key)), note: note)
        }
        let offered = postgres.last?.offeredPerSecond ?? 0
        var opens = figure("opens/s sustained, \(failurePercent)% credit failures", "opens/s", postgres, sqlite,
                           \.achievedPerSecond, higherIsBetter: true,
                           note: "offered \(offered)/s on PostgreSQL (\(server.redacted)), \(postgres.filter(\.sustained).count)/\(postgres.count) runs sustained; SQLite offered \(sqlite.last?.offeredPerSecond ?? 0)/s; \(EndToEndSuite.accounts(context)) accounts")
        opens = opens.with(goal: "≥ 5,000/s", met: opens.median >= minimumOpensPerSecond)
        var p99 = figure("open p99 at \(rate)/s", "ms", latency.postgres, latency.sqlite, \.p99Milliseconds,
                         note: "\(latency.postgres.filter(\.sustained).count)/\(latency.postgres.count) runs sustained on PostgreSQL")
        p99 = p99.with(goal: "≤ 50 ms", met: p99.median <= EndToEndSuite.maximumP99Milliseconds)
        return [
            opens,
            EndToEndSuite.saturation(postgresPeak, failure: failurePercent, baseline: sqlitePeak, label: ", PostgreSQL",
                                     baselineName: "SQLite"),
            figure("open p50 at \(rate)/s", "ms", latency.postgres, latency.sqlite, \.p50Milliseconds),
            p99,
            figure("drain after \(rate)/s", "s", latency.postgres, latency.sqlite, \.drainSeconds),
        ]
    }
}
