import ArgumentParser
import Benchmarks
import Foundation
import PostgresStores

/// `hongbao bench`: the headline numbers, each the median of several runs beside its baseline measured in
/// the same run. A progress line on stderr while it runs; a table (or `--json`) at the end.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput and latency against baselines in the same run (use a release build).")
    @OptionGroup var output: OutputOptions
    @Argument(help: "ledger | queue | e2e | render | scale | sqs | all (those six) | pgqueue | pgstores | pgfaults") var suite = "all"
    @Flag(help: "Smaller runs: a full `all` in under two minutes (a smoke test, no thresholds).") var quick = false
    @Option(help: "Where scratch data directories go (default: the temporary directory); each bench gets a fresh one.")
    var data: String?
    @Option(help: "Runs per figure, 1 to 20 (median and spread are over these).") var runs = "3"
    @Option(help: "The PostgreSQL server for pgqueue and pgstores, and for sqs (the queues of serve --store postgres, beside SQLite's): postgres://user:password@host:port/database, or a cluster's servers host1:port1,host2:port2 (it makes and drops a scratch database on the one that takes writes).")
    var postgres: String?
    @Option(help: "Storage for the engine: sqlite, or postgres for e2e (on the --postgres server, beside SQLite in the same run).")
    var store: StoreKind = .sqlite
    @Option(help: "For pgfaults: the data directory of a `hongbao cluster up` cluster (a primary and two standbys); the bench kills and restores its servers and leaves it with a new primary.")
    var cluster: String?
    @Option(help: "For pgfaults: opens/s offered while the servers are killed, 1 to 100,000 (default 1,000; --quick 200).")
    var rate: String?

    func validate() throws {
        guard suite == "all" || BenchSuite(rawValue: suite) != nil else {
            throw ValidationError("unknown suite '\(suite)': use ledger, queue, e2e, render, scale, all, sqs, pgqueue, pgstores or pgfaults")
        }
    }

    func run() async throws {
        let runs = try NumberOption.integer(runs, "--runs", 1...20)
        if let data, data.isEmpty { throw UserError(message: "--data is empty; name a directory", exitCode: ExitStatus.usage) }
        let isFaults = suite == BenchSuite.pgfaults.rawValue
        if !isFaults, cluster != nil || rate != nil {
            throw UserError(message: "--cluster and --rate are for bench pgfaults", exitCode: ExitStatus.usage)
        }
        let offered = try NumberOption.integer(rate, "--rate", 1...100_000)
        if isFaults, (cluster ?? "").isEmpty {
            throw UserError(message: "bench pgfaults needs a cluster it may kill servers of: --cluster DIR, the data directory of hongbao cluster up --data DIR",
                            exitCode: ExitStatus.usage)
        }
        let suites = suite == "all" ? BenchSuite.standard : BenchSuite(rawValue: suite).map { [$0] } ?? []
        if store == .postgres && suite != BenchSuite.e2e.rawValue {
            throw UserError(message: "bench \(suite) does not run on --store postgres in this version; bench e2e --store postgres runs the engine on PostgreSQL beside SQLite, bench pgstores and pgqueue take --postgres URL",
                            exitCode: ExitStatus.usage)
        }
        let fromEnvironment = ProcessInfo.processInfo.environment["HONGBAO_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
        let server = try (postgres ?? (store == .postgres ? fromEnvironment : nil)).map { url in
            do {
                return try PostgresSettings(url: url)
            } catch {
                throw UserError(message: "--postgres: \(error)", exitCode: ExitStatus.usage)
            }
        }
        if store == .postgres, server == nil {
            throw UserError(message: "bench e2e --store postgres needs a PostgreSQL server: --postgres postgres://user:password@host:port/db (it makes and drops a scratch database there per run)",
                            exitCode: ExitStatus.usage)
        }
        if let needing = suites.first(where: \.needsPostgres), server == nil {
            throw UserError(message: "bench \(needing.rawValue) needs a PostgreSQL server: --postgres postgres://user:password@host:port/db",
                            exitCode: ExitStatus.usage)
        }
        let progress = ProgressLine()
        let context = BenchContext(quick: quick, dataRoot: data, executablePath: BenchCommand.executablePath(),
                                   runs: runs, postgres: server, cluster: cluster, rate: offered,
                                   progress: { progress.show($0) })
        let report: BenchReport
        do {
            report = store == .postgres
                ? try await BenchReport.runEndToEndOnPostgres(context: context)
                : try await BenchReport.run(suites, context: context)
        } catch {
            progress.clear()
            throw UserError(message: "bench failed: \(error)", exitCode: ExitStatus.checkFailed)
        }
        progress.clear()
        if output.json { return try Output.json(report) }
        BenchTable.print(report)
    }

    /// This binary, for the `kill -9` recovery bench.
    static func executablePath() -> String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first
    }
}
