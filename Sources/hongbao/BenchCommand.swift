import ArgumentParser
import Benchmarks
import Foundation
import Ledger

/// `hongbao bench`: the headline numbers, each beside its baseline measured in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure throughput and latency against baselines (use a release build).")
    @OptionGroup var output: OutputOptions
    @Argument(help: "ledger | all") var suite = "all"
    @Flag(help: "Smaller runs (a smoke test).") var quick = false

    func run() async throws {
        let transfers = quick ? 5_000 : 50_000
        var results: [LedgerBenchmark.Result] = []
        for durability in [Durability.full, .normal] {
            let directory = NSTemporaryDirectory() + "hongbao-bench-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let grouped = try await LedgerBenchmark.groupCommit(directory: directory, durability: durability,
                                                                transfers: transfers, concurrency: 256)
            results.append(grouped)
            let batch = max(1, grouped.transfers / max(1, grouped.commits))
            results.append(try LedgerBenchmark.rawSQLite(directory: directory, durability: durability,
                                                         transfers: transfers, batch: batch))
            results.append(try LedgerBenchmark.rawSQLite(directory: directory, durability: durability,
                                                         transfers: min(transfers, 2_000), batch: 1))
        }
        if output.json { return try Output.json(results) }
        for result in results {
            Output.line(String(format: "%-34@ %-6@ %9.0f transfers/s  (%d transfers, %d commits)",
                               result.name, result.durability, result.transfersPerSecond, result.transfers, result.commits))
        }
    }
}
