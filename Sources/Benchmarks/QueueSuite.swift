import MessageQueue

/// `hongbao bench queue`: send → receive → delete cycles/s with three replicas (quorum two) against one
/// replica and against raw sqlite3, then p99 send latency offered at half the three-copy rate.
public enum QueueSuite {
    /// Concurrent clients cycling batches of 16.
    static let workers = 16
    static let minimumCyclesPerSecond = 10_000.0
    static let minimumRatioToOneReplica = 0.5

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        let messages = context.quick ? 4_000 : 100_000
        var three: [Double] = [], one: [Double] = [], raw: [Double] = []
        for run in 1...context.runs {
            context.progress("queue: run \(run)/\(context.runs)")
            try await context.withScratch("queue") { directory in
                three.append(try await QueueBenchmark.fullCycle(
                    name: "3 replicas", root: directory + "/three", replicaIDs: ReplicaID.allCases,
                    messages: messages, workers: workers).messagesPerSecond)
                one.append(try await QueueBenchmark.fullCycle(
                    name: "1 replica", root: directory + "/one", replicaIDs: [.a], messages: messages,
                    workers: workers).messagesPerSecond)
                raw.append(try QueueBenchmark.sqliteBaseline(path: directory + "/raw.sqlite", messages: messages)
                    .messagesPerSecond)
            }
        }
        let threeFigure = BenchFigure(
            suite: "queue", name: "3 replicas, quorum 2", unit: "cycles/s", samples: Samples(three),
            higherIsBetter: true, baselineName: "1 replica", baseline: Samples(one),
            note: "\(messages) messages, \(workers) clients, batches of 16, FULL")
        let met = threeFigure.median >= minimumCyclesPerSecond && (threeFigure.ratio ?? 0) >= minimumRatioToOneReplica
        var figures = [threeFigure.with(goal: "≥ 10,000/s, ≥ 0.5× 1 replica", met: met)]
        figures.append(BenchFigure(
            suite: "queue", name: "1 replica", unit: "cycles/s", samples: Samples(one), higherIsBetter: true,
            baselineName: "raw sqlite3, 1 db", baseline: Samples(raw)))
        figures.append(BenchFigure(
            suite: "queue", name: "3 replicas vs raw sqlite3", unit: "cycles/s", samples: Samples(three),
            higherIsBetter: true, baselineName: "raw sqlite3, 1 db", baseline: Samples(raw)))
        figures.append(try await latency(context, rate: Int(Samples(three).median / 2)))
        return figures
    }

    /// p99 of single sends offered at `rate` per second (half the three-copy throughput).
    static func latency(_ context: BenchContext, rate: Int) async throws -> BenchFigure {
        let seconds = context.quick ? 1 : 5
        var p99: [Double] = [], p50: [Double] = []
        var offered = rate
        for run in 1...context.runs {
            context.progress("queue: send latency at \(rate)/s, run \(run)/\(context.runs)")
            try await context.withScratch("queue-latency") { directory in
                let result = try await QueueBenchmark.sendLatency(root: directory, rate: max(200, rate), seconds: seconds)
                guard result.failures == 0, result.sends == result.offeredPerSecond * seconds else {
                    throw BenchError.verificationFailed(
                        "send latency: \(result.sends) sent, \(result.failures) failed of \(result.offeredPerSecond * seconds)")
                }
                offered = result.offeredPerSecond
                p99.append(result.p99Milliseconds)
                p50.append(result.p50Milliseconds)
            }
        }
        return BenchFigure(
            suite: "queue", name: "send p99 at \(offered)/s (3 replicas)", unit: "ms", samples: Samples(p99),
            higherIsBetter: false, baselineName: "p50", baseline: Samples(p50),
            note: "single sends, offered at half the three-copy rate for \(seconds) s")
    }
}
