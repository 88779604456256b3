import ArgumentParser
import Engine
import Foundation
import MessageQueue
import Primitives
import Simulation

extension CreditMode: ExpressibleByArgument {}

/// `hongbao simulate`: the Gala load with faults, headless, on a real data directory; then drain and audit.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the Gala load with faults headless, print a summary, then audit (exit 0 only if clean)."
    )
    @OptionGroup var data: DataOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .customLong("seed"), help: "Seed for the load's choices.") var seedText = "1"
    @Option(name: .customLong("duration"), help: "Seconds of load, 0 to 86,400 (a scenario sets its own); 0: no load, only drain what is queued.")
    var durationText = "10"
    @Option(name: .customLong("rate"), help: "Target opens per second, 0 to 1,000,000 (0: no load, just let the workers drain).")
    var rateText = "1000"
    @Option(name: .customLong("credit-failure"), help: "Percent of credits that fail (0–100).") var creditFailureText = "0"
    @Option(name: .customLong("latency"), help: "Milliseconds added to every credit, 0 to 60,000.") var latencyText = "0"
    @Option(name: .customLong("replica-down"), help: "Take this replica (a, b or c) down for the run.")
    var replicaDown: String?
    @Option(name: .customLong("workers"), help: "Retry workers, 1 to 256.") var workersText = String(Limits.default.credit.defaultWorkers)
    @Option(name: .customLong("credit-mode"), help: "queue (the CMQ way) or transaction (the old way).")
    var creditMode: CreditMode = .queue
    @Option(name: .customLong("accounts"), help: "Demo accounts the load draws from, 2 to 10,000,000.") var accountsText = "10000"
    @Option(name: .customLong("drain"), help: "Most seconds to wait for the queue to drain after the load, 0 to 3,600.")
    var drainText = "60"
    @Option(help: "A scenario file (TOML): a timeline of load and faults.") var scenario: String?
    @Flag(help: ArgumentHelp(
        "Run the deterministic simulation instead: one task, virtual clock, seeded faults, temporary directory.",
        discussion: "Uses --seed and --operations, with its own fault schedule (30 % credit failures, replica, "
            + "worker, account-system and process faults). The same seed prints the same summary, byte for byte."))
    var deterministic = false
    @Option(name: .customLong("operations"), help: "Steps of the deterministic simulation's fault phase, 0 to 100,000,000.")
    var operationsText = "100000"

    func validate() throws {
        if let replicaDown, ReplicaID(rawValue: replicaDown) == nil {
            throw ValidationError("--replica-down takes a, b or c")
        }
    }

    func run() async throws {
        let seed = try NumberOption.seed(seedText)
        let duration = try NumberOption.integer(durationText, "--duration", 0...86_400, unit: "s")
        let rate = try NumberOption.integer(rateText, "--rate", 0...1_000_000, unit: "opens/s")
        let creditFailure = try NumberOption.integer(creditFailureText, "--credit-failure", 0...100, unit: "%")
        let latency = try NumberOption.integer(latencyText, "--latency", 0...60_000, unit: "ms")
        let workers = try NumberOption.integer(workersText, "--workers", 1...256)
        let accounts = try NumberOption.integer(accountsText, "--accounts", 2...10_000_000)
        let drain = try NumberOption.integer(drainText, "--drain", 0...3_600, unit: "s")
        let operations = try NumberOption.integer(operationsText, "--operations", 0...100_000_000)
        if deterministic { return try await runDeterministic(seed: seed, operations: operations) }
        let loaded = try scenario.map { path in try userErrors { try ScenarioFile.load(path: path) } }
        if data.store == .postgres, replicaDown != nil {
            throw UserError(message: "--replica-down takes down a SQLite queue replica; on --store postgres the copies are the cluster's servers (hongbao cluster fault)",
                            exitCode: ExitStatus.usage)
        }
        if data.store == .postgres, loaded.map(SimulateCommand.actsOnReplicas) == true {
            throw UserError(message: "this scenario has replica faults: simulate puts them on the SQLite queue's replicas only; play it in the dashboard (hongbao --store postgres --scenario FILE), whose replica steps act on the cluster's servers, or simulate it without --store postgres",
                            exitCode: ExitStatus.usage)
        }
        var configuration = try data.engineConfiguration(workers: workers)
        configuration.creditMode = creditMode
        let engine = try await userErrors { try await Engine.start(configuration) }
        engine.setCreditFailure(percent: creditFailure)
        engine.setLedgerLatency(milliseconds: latency)
        if let replicaDown, let replica = ReplicaID(rawValue: replicaDown) {
            try await userErrors { try await engine.setReplica(replica, down: true) }
        }
        var options = SimulationRunner.Options()
        options.seed = seed
        options.duration = loaded?.duration ?? .seconds(duration)
        // A scenario sets the rate itself; a zero duration means no load at all, whatever --rate says.
        options.rate = loaded == nil && duration > 0 ? rate : 0
        options.accounts = accounts
        options.drainLimit = .seconds(drain)
        options.scenario = loaded
        let json = output.json
        let summary = try await userErrors {
            try await SimulationRunner(engine: engine, options: options).run { progress in
                if !json {
                    Output.line(SimulateCommand.progressLine(progress))
                    fflush(nil) // a line a second even into a pipe or file (the bench's kill -9 run reads it)
                }
            }
        }
        if ProcessInfo.processInfo.environment["HONGBAO_PG_PROFILE"] != nil, case let .postgres(books) = engine.books {
            for (name, pool) in zip(["red packets", "ledger", "queue"], books.pools) {
                let lines = ["\(name) (database \(pool.settings.database)):"] + pool.profile.report()
                for line in lines { FileHandle.standardError.write(Data((line + "\n").utf8)) }
            }
        }
        await engine.close()
        if json {
            try Output.json(summary)
        } else {
            SimulateCommand.printSummary(summary)
        }
        if !summary.auditViolations.isEmpty { throw ExitCode(ExitStatus.checkFailed) }
    }

    /// Whether a scenario takes replicas down, slows, corrupts or restores them: what `simulate` does on the
    /// SQLite queue only. (A redrive of the dead letters is the credit queue's, on either store.)
    static func actsOnReplicas(_ scenario: Scenario) -> Bool {
        scenario.steps.contains { step in
            step.actions.contains { action in
                switch action {
                case .replicaDown, .replicaUp, .replicaSlow, .replicaCorrupt, .replicaRestore: true
                default: false
                }
            }
        }
    }

    /// `--deterministic`: prints the summary (text or JSON); exit 1 if a check failed.
    private func runDeterministic(seed: UInt64, operations: Int) async throws {
        let options = DeterministicSimulation.Options(seed: seed, operations: operations)
        let summary = try await userErrors { try await DeterministicSimulation(options).run() }
        if output.json { try Output.json(summary) } else { Output.lines(summary.text) }
        if !summary.passed { throw ExitCode(ExitStatus.checkFailed) }
    }

    static func progressLine(_ progress: SimulationRunner.Progress) -> String {
        let s = progress.snapshot
        let credits = s.queue.queues.first { $0.name == "credits" }
        let depth = credits.map { $0.visible + $0.inFlight + $0.delayed } ?? 0
        // No open in the last window: no latency to show, not a latency of zero.
        let p99 = s.metrics.recentOpenCount > 0
            ? String(format: "%6.1f ms", Double(s.metrics.openLatencyP99Microseconds) / 1_000) : "     -   "
        return String(format: "%5.0fs %@ opens %8d  %6.0f/s  p99 %@  credits %6.0f/s  queued %6d  retried %7d  dlq %4d",
                      progress.elapsed.secondsDouble, progress.phase.padding(toLength: 5, withPad: " ", startingAt: 0),
                      s.metrics.opens, progress.opensPerSecond, p99, s.metrics.creditsPerSecond, depth,
                      s.metrics.creditedByRetry, s.queue.queues.first { $0.name == "credits-dlq" }?.total ?? 0)
    }

    static func printSummary(_ summary: SimulationSummary) {
        let target = summary.scenario.map { " (rate set by scenario \($0))" }
            ?? (summary.targetRate > 0 ? " (target \(summary.targetRate)/s)" : " (no load asked for)")
        let drained = summary.drainSeconds.map { String(format: "in %.1f s", $0) }
            ?? String(format: "no: still busy after the %.0f s limit", summary.drainLimitSeconds)
        let earlier = summary.creditedFromEarlierRuns > 0
            ? "\ncredited from earlier runs \(summary.creditedFromEarlierRuns) (opened before this run, queued by it)" : ""
        // With nothing measured there is no figure to give: a dash, not percentiles of 0 ms.
        let retried = summary.timeToCreditP99Milliseconds.map {
            " (max attempts \(summary.maxAttempts), time to credit p99 \($0) ms)"
        } ?? ""
        let skipped = summary.skippedOpens == 0
            ? "0 (never at the limit of \(summary.maxOpensInFlight) in flight)"
            : "\(summary.skippedOpens) (at the limit of \(summary.maxOpensInFlight) in flight"
                + (summary.skipWindowSeconds.map { String(format: ", %.1f–%.1f s into the load)", $0.lowerBound, $0.upperBound) } ?? ")")
        let latency = if let p50 = summary.openLatencyP50Milliseconds, let p99 = summary.openLatencyP99Milliseconds,
                         let p999 = summary.openLatencyP999Milliseconds {
            String(format: "p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms", p50, p99, p999)
        } else {
            "— (no opens)"
        }
        Output.lines("""
            ── summary (seed \(summary.seed), \(summary.creditMode) mode) ──
            packets sent          \(summary.packetsSent)\(summary.packetsSentByOpeners > 0 ? " (\(summary.packetsSentByOpeners) by opens that found the stock empty)" : "")
            opens                 \(summary.opens) in \(String(format: "%.1f", summary.durationSeconds)) s = \(String(format: "%.0f", summary.opensPerSecond))/s\(target)
            not started           \(skipped)
            credited at once      \(summary.creditedImmediately)
            credited by retry     \(summary.creditedByRetry)\(retried)\(earlier)
            failed in front of user \(summary.failedForUser) (rollbacks \(summary.rollbacks))
            dead-lettered         \(summary.deadLettered)
            still waiting         \(summary.stillWaiting)
            open latency          \(latency)
            drained               \(drained)
            audit                 \(summary.auditViolations.isEmpty ? "✓ every invariant holds" : "✗ \(summary.auditViolations.count) broken")
            """)
        for violation in summary.auditViolations { Output.line("  ✗ \(violation)") }
    }
}
