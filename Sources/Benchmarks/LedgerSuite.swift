import Ledger

/// `hongbao bench ledger`: group commit against raw sqlite3 batched with the batch size group commit
/// achieved (the honest baseline), at FULL and NORMAL; one commit per transfer shown for scale.
public enum LedgerSuite {
    /// Concurrent submitters: enough to fill a group commit, as many opens in flight do.
    static let concurrency = 256
    /// The ledger's goals: group commit keeps at least this share of raw sqlite3's rate, and FULL durability
    /// sustains at least this many transfers per second.
    static let minimumRatio = 0.7
    static let minimumFullTransfersPerSecond = 10_000.0

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        let transfers = context.quick ? 2_000 : 50_000
        let perCommitTransfers = context.quick ? 100 : 1_000
        var figures: [BenchFigure] = []
        for durability in [Durability.full, .normal] {
            var grouped: [Double] = [], raw: [Double] = [], single: [Double] = [], batches: [Double] = []
            for run in 1...context.runs {
                context.progress("ledger \(durability.rawValue): run \(run)/\(context.runs)")
                try await context.withScratch("ledger") { directory in
                    let group = try await LedgerBenchmark.groupCommit(
                        directory: directory, durability: durability, transfers: transfers, concurrency: concurrency)
                    let batch = max(1, group.transfers / max(1, group.commits))
                    let batched = try LedgerBenchmark.rawSQLite(
                        directory: directory, durability: durability, transfers: transfers, batch: batch)
                    let perCommit = try LedgerBenchmark.rawSQLite(
                        directory: directory, durability: durability, transfers: perCommitTransfers, batch: 1)
                    grouped.append(group.transfersPerSecond)
                    raw.append(batched.transfersPerSecond)
                    single.append(perCommit.transfersPerSecond)
                    batches.append(Double(batch))
                }
            }
            let name = durability.rawValue.uppercased()
            let batch = Samples(batches).median
            var figure = BenchFigure(
                suite: "ledger", name: "group commit \(name)", unit: "transfers/s", samples: Samples(grouped),
                higherIsBetter: true, baselineName: "raw sqlite3 \(name), \(Int(batch))/commit", baseline: Samples(raw),
                note: "\(concurrency) concurrent submitters, \(transfers) transfers, mean batch \(Int(batch))")
            let ratioMet = (figure.ratio ?? 0) >= minimumRatio
            if durability == .full {
                figure = figure.with(goal: "≥ 0.7× raw, ≥ 10,000/s",
                                     met: ratioMet && figure.median >= minimumFullTransfersPerSecond)
            } else {
                figure = figure.with(goal: "≥ 0.7× raw", met: ratioMet)
            }
            figures.append(figure)
            figures.append(BenchFigure(
                suite: "ledger", name: "raw sqlite3 \(name), 1/commit", unit: "transfers/s", samples: Samples(single),
                higherIsBetter: true, baselineName: "group commit \(name)", baseline: Samples(grouped),
                note: "\(perCommitTransfers) transfers, one fsync'd commit each"))
        }
        return figures
    }
}
