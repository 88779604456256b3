import Engine
import Foundation
import Ledger
import MessageQueue
import Primitives
import Simulation

/// `hongbao bench scale`: the ledger, queue and open figures as the data grows (10k → 1M accounts, 0 → 1M
/// queued messages), startup and `kill -9` recovery with the largest state, and peak RSS.
public enum ScaleSuite {
    static let maximumDrop = 0.2
    static let maximumStartSeconds = 2.0
    static let maximumPeakRSSMebibytes = 300.0
    /// Offered far above capacity: the scale figure for opens is the saturated throughput.
    static let saturatingRate = 20_000

    struct Sizes {
        var accounts: [Int]
        var backlog: Int
        var queuedAtStartup: Int
        var transfers: Int
        var openSeconds: Int
        var cycleMessages: Int
        /// Opens/s `hongbao simulate` offers in the `kill -9` run.
        var simulateRate: Int
    }

    static func sizes(_ context: BenchContext) -> Sizes {
        context.quick
            ? Sizes(accounts: [2_000, 10_000], backlog: 5_000, queuedAtStartup: 2_000, transfers: 1_000, openSeconds: 1,
                    cycleMessages: 2_000, simulateRate: 500)
            : Sizes(accounts: [10_000, 100_000, 1_000_000], backlog: 1_000_000, queuedAtStartup: 100_000,
                    transfers: 20_000, openSeconds: 4, cycleMessages: 50_000, simulateRate: 2_000)
    }

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        let sizes = sizes(context)
        var ledger: [(Int, Samples)] = [], raw: [(Int, Samples)] = [], opens: [(Int, Samples)] = []
        var figures: [BenchFigure] = []
        for accounts in sizes.accounts {
            try await context.withScratch("scale-\(accounts)") { directory in
                let result = try await accountScale(context, directory: directory, accounts: accounts, sizes: sizes)
                ledger.append((accounts, result.transfers))
                raw.append((accounts, result.raw))
                opens.append((accounts, result.opens))
                if accounts == sizes.accounts.last {
                    try await seedQueue(context, directory: directory, messages: sizes.queuedAtStartup)
                    figures += try await startupAndRecovery(context, directory: directory, accounts: accounts,
                                                            queued: sizes.queuedAtStartup, rate: sizes.simulateRate)
                }
            }
        }
        let growthFigures = growth(ledger, name: "ledger transfers/s", unit: "transfers/s")
            + growth(raw, name: "raw sqlite3 transfers/s", unit: "transfers/s", goal: false)
            + growth(opens, name: "opens/s saturated", unit: "opens/s")
        figures.insert(contentsOf: growthFigures, at: 0)
        figures.insert(contentsOf: try await queueScale(context, sizes: sizes), at: growthFigures.count)
        return figures
    }

    /// Ledger transfers/s and saturated opens/s on an engine seeded with `accounts` demo accounts.
    static func accountScale(
        _ context: BenchContext, directory: String, accounts: Int, sizes: Sizes
    ) async throws -> (transfers: Samples, raw: Samples, opens: Samples) {
        context.progress("scale: seeding \(accounts) accounts")
        let engine = try await Engine.start(EngineConfiguration(dataPath: directory))
        let shape = try await LoadGenerator.Shape.identified(
            SimulationRunner.prepareUsers(engine: engine, count: accounts, seed: 1), on: engine)
        let ids = try engine.sqlite().ledger.userAccountIDs()
        var transfers: [Double] = [], raw: [Double] = [], opens: [Double] = []
        for run in 1...context.runs {
            context.progress("scale \(accounts) accounts: ledger run \(run)/\(context.runs)")
            let grouped = try await LedgerBenchmark.groupCommit(
                ledger: engine.sqlite().ledger, ids: ids, transfers: sizes.transfers, concurrency: LedgerSuite.concurrency,
                tag: "s\(run)-")
            transfers.append(grouped.transfersPerSecond)
            // The same transfers through raw sqlite3 on the same file, batched like the group commit was: does
            // SQLite itself slow down as the tables grow?
            raw.append(try LedgerBenchmark.rawSQLite(
                ledger: engine.sqlite().ledger, ids: ids, transfers: sizes.transfers,
                batch: max(1, grouped.transfers / max(1, grouped.commits)), tag: "raw\(run)-").transfersPerSecond)
        }
        for run in 1...context.runs {
            context.progress("scale \(accounts) accounts: opens run \(run)/\(context.runs)")
            opens.append(try await OpenLoadBenchmark.measure(
                engine: engine, shape: shape, rate: saturatingRate, duration: .seconds(sizes.openSeconds),
                creditFailurePercent: 0).achievedPerSecond)
        }
        await engine.close()
        return (Samples(transfers), Samples(raw), Samples(opens))
    }

    /// Each size against the smallest: the ratio must not fall below 0.8.
    static func growth(_ series: [(Int, Samples)], name: String, unit: String, goal: Bool = true) -> [BenchFigure] {
        guard let (smallest, base) = series.first else { return [] }
        return series.map { accounts, samples in
            let figure = BenchFigure(suite: "scale", name: "\(name), \(count(accounts)) accounts", unit: unit, samples: samples,
                                     higherIsBetter: true, baselineName: accounts == smallest ? nil : "\(count(smallest)) accounts",
                                     baseline: accounts == smallest ? nil : base)
            guard accounts != smallest, goal else { return figure }
            return figure.with(goal: "drop ≤ 20 %", met: (figure.ratio ?? 0) >= 1 - maximumDrop)
        }
    }

    /// Three-copy cycles/s with nothing else queued and with a large backlog in another queue.
    static func queueScale(_ context: BenchContext, sizes: Sizes) async throws -> [BenchFigure] {
        var series: [(Int, Samples)] = []
        for backlog in [0, sizes.backlog] {
            context.progress("scale: queue cycles with \(count(backlog)) queued (filling first)")
            let rounds = try await context.withScratch("scale-queue") { directory in
                try await QueueBenchmark.fullCycles(
                    name: "3 replicas", root: directory, replicaIDs: ReplicaID.allCases, messages: sizes.cycleMessages,
                    workers: QueueSuite.workers, backlog: backlog, rounds: context.runs)
            }
            series.append((backlog, Samples(rounds.map(\.messagesPerSecond))))
        }
        guard let (_, empty) = series.first, let (backlog, full) = series.last else { return [] }
        return [
            BenchFigure(suite: "scale", name: "queue cycles/s, 0 queued", unit: "cycles/s", samples: empty, higherIsBetter: true),
            BenchFigure(suite: "scale", name: "queue cycles/s, \(count(backlog)) queued", unit: "cycles/s", samples: full,
                        higherIsBetter: true, baselineName: "0 queued", baseline: empty)
                .with(goal: "drop ≤ 20 %", met: full.median >= (1 - maximumDrop) * empty.median),
        ]
    }

    /// Leaves `messages` messages in a queue of the engine's data directory (they are loaded on every start).
    static func seedQueue(_ context: BenchContext, directory: String, messages: Int) async throws {
        context.progress("scale: queueing \(count(messages)) messages")
        let engine = try await Engine.start(EngineConfiguration(dataPath: directory))
        try await QueueBenchmark.fill(engine.sqlite().queue, queue: "backlog", messages: messages, workers: QueueSuite.workers)
        await engine.close()
    }

    /// Engine.start on the big state; then the real binary under load, `kill -9`, and the next start.
    static func startupAndRecovery(
        _ context: BenchContext, directory: String, accounts: Int, queued: Int, rate: Int
    ) async throws -> [BenchFigure] {
        let state = "\(count(accounts)) accounts, \(count(queued)) queued"
        var starts: [Double] = []
        for run in 1...context.runs {
            context.progress("scale: startup with \(state), run \(run)/\(context.runs)")
            starts.append(try await timedStart(directory: directory, queued: queued))
        }
        var figures = [BenchFigure(suite: "scale", name: "startup, \(state)", unit: "s", samples: Samples(starts),
                                   higherIsBetter: false).with(goal: "≤ 2 s", met: Samples(starts).median <= maximumStartSeconds)]
        guard let executable = context.executablePath else { return figures }
        var recoveries: [Double] = [], peaks: [Double] = [], anonymous: [Double] = []
        for run in 1...context.runs {
            context.progress("scale: simulate under load, kill -9, restart (run \(run)/\(context.runs))")
            let memory = try await killUnderLoad(executable: executable, directory: directory, rate: rate)
            peaks.append(memory.peak)
            anonymous.append(memory.anonymous)
            recoveries.append(try await timedStart(directory: directory, queued: queued))
        }
        figures.append(BenchFigure(suite: "scale", name: "kill -9 recovery, \(state)", unit: "s", samples: Samples(recoveries),
                                   higherIsBetter: false, baselineName: "clean startup", baseline: Samples(starts))
            .with(goal: "≤ 2 s", met: Samples(recoveries).median <= maximumStartSeconds))
        figures.append(BenchFigure(suite: "scale", name: "peak RSS, simulate, \(state)", unit: "MiB", samples: Samples(peaks),
                                   higherIsBetter: false, note: "VmHWM of `hongbao simulate` at \(rate) opens/s, 20 % failures")
            .with(goal: "≤ 300 MiB", met: Samples(peaks).max <= maximumPeakRSSMebibytes))
        figures.append(BenchFigure(suite: "scale", name: "peak anonymous RSS, simulate, \(state)", unit: "MiB",
                                   samples: Samples(anonymous), higherIsBetter: false,
                                   note: "largest RssAnon sampled every 100 ms: VmHWM minus the mmap'd database pages"))
        return figures
    }

    /// Seconds for `Engine.start` (stores opened, queue state loaded, recovery run); checks the state came back.
    static func timedStart(directory: String, queued: Int) async throws -> Double {
        let started = ContinuousClock.now
        let engine = try await Engine.start(EngineConfiguration(dataPath: directory))
        let seconds = (ContinuousClock.now - started).secondsDouble
        let kept = try await engine.sqlite().queue.counters(of: "backlog").total
        let violations = try await engine.audit()
        await engine.close()
        guard kept == queued, violations.isEmpty else {
            throw BenchError.verificationFailed("after start: \(kept) of \(queued) queued messages, audit \(violations.prefix(3))")
        }
        return seconds
    }

    /// Runs `hongbao simulate` on the directory until it has reported a few seconds of load, reads its peak
    /// RSS, and kills it with SIGKILL. Returns its peak RSS and the largest anonymous RSS seen, in MiB.
    static func killUnderLoad(executable: String, directory: String, rate: Int) async throws -> (peak: Double, anonymous: Double) {
        let output = directory + "/simulate.out"
        guard FileManager.default.createFile(atPath: output, contents: nil) else {
            throw BenchError.setupFailed("cannot create \(output)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["simulate", "--data", directory, "--duration", "600", "--rate", "\(rate)",
                             "--accounts", "10000", "--credit-failure", "20"]
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { throw BenchError.setupFailed("cannot run \(executable): \(error)") }
        let deadline = ContinuousClock.now + .seconds(180)
        var loaded = false
        var anonymous = 0.0
        while ContinuousClock.now < deadline, process.isRunning {
            anonymous = max(anonymous, BenchContext.anonymousRSSMebibytes(pid: process.processIdentifier) ?? 0)
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if text.split(separator: "\n").filter({ $0.contains(" load ") }).count >= 3 { loaded = true; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let peak = BenchContext.peakRSSMebibytes(pid: process.processIdentifier)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        guard loaded, let peak else {
            throw BenchError.setupFailed("`hongbao simulate` did not report load within the deadline")
        }
        return (peak, anonymous)
    }

    static func count(_ value: Int) -> String {
        value >= 1_000_000 && value % 1_000_000 == 0 ? "\(value / 1_000_000)M"
            : value >= 1_000 && value % 1_000 == 0 ? "\(value / 1_000)k" : "\(value)"
    }
}
