import PostgresStores

/// `hongbao bench pgqueue --postgres URL`: queue cycles (send 16, receive 16, delete 16; three commits) through
/// the project's PostgreSQL queue against the plain SKIP LOCKED loop written directly, same server, same
/// clients, same run, alternating run by run, each measurement in a scratch database of its own made and dropped
/// on that server.
public enum PostgresQueueSuite {
    static let clients = 16
    static let minimumRatioToPlainLoop = 0.9

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        guard let settings = context.postgres else {
            throw BenchError.setupFailed("pgqueue needs a server: --postgres postgres://user:password@host:port/db")
        }
        let duration: Duration = context.quick ? .seconds(2) : .seconds(5)
        var project: [Double] = [], plain: [Double] = []
        // Each measurement in a database of its own: the plain loop makes a new table per run, and the project's
        // queue table would otherwise carry the earlier runs' dead rows into the next run's index scans.
        for run in 1...context.runs {
            context.progress("pgqueue: run \(run)/\(context.runs), project queue")
            project.append(try await PostgresQueueBenchmark.withScratchDatabase(settings) { scratch in
                try await PostgresQueueBenchmark.projectQueue(scratch, clients: clients, duration: duration)
                    .messagesPerSecond
            })
            context.progress("pgqueue: run \(run)/\(context.runs), plain SKIP LOCKED loop")
            plain.append(try await PostgresQueueBenchmark.withScratchDatabase(settings) { scratch in
                try await PostgresQueueBenchmark.plainLoop(scratch, clients: clients, duration: duration)
                    .messagesPerSecond
            })
        }
        let figure = BenchFigure(
            suite: "pgqueue", name: "PostgreSQL queue cycles", unit: "messages/s", samples: Samples(project),
            higherIsBetter: true, baselineName: "plain SKIP LOCKED loop", baseline: Samples(plain),
            note: "\(clients) clients, batches of 16, \(duration) per run, \(settings.redacted)")
        return [figure.with(goal: "≥ 0.9× the plain loop", met: (figure.ratio ?? 0) >= minimumRatioToPlainLoop)]
    }
}

/// `hongbao bench pgstores --postgres URL`: opens/s through the same service stack (send, grab, open with the
/// in-line credit, 20 % injected credit failures retried from the queue) on PostgreSQL's stores and on SQLite's,
/// alternating run by run; each run drains its queue and audits both systems before it counts.
public enum PostgresStoresSuite {
    static let clients = 32
    static let failurePercent = 20

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        guard let settings = context.postgres else {
            throw BenchError.setupFailed("pgstores needs a server: --postgres postgres://user:password@host:port/db")
        }
        let duration: Duration = context.quick ? .seconds(3) : .seconds(10)
        var postgres: [Double] = [], sqlite: [Double] = [], drains: [Double] = []
        for run in 1...context.runs {
            context.progress("pgstores: run \(run)/\(context.runs), PostgreSQL")
            let pg = try await PostgresQueueBenchmark.withScratchDatabase(settings) { scratch in
                try await StoreOpenBenchmark.postgres(scratch, clients: clients, duration: duration,
                                                      failurePercent: failurePercent)
            }
            postgres.append(pg.opensPerSecond)
            drains.append(pg.drainSeconds)
            context.progress("pgstores: run \(run)/\(context.runs), SQLite")
            sqlite.append(try await context.withScratch("pgstores") { directory in
                try await StoreOpenBenchmark.sqlite(directory: directory, clients: clients, duration: duration,
                                                    failurePercent: failurePercent).opensPerSecond
            })
        }
        let opens = BenchFigure(
            suite: "pgstores", name: "opens/s on PostgreSQL stores, \(failurePercent)% credit failures", unit: "opens/s",
            samples: Samples(postgres), higherIsBetter: true, baselineName: "same stack on SQLite", baseline: Samples(sqlite),
            note: "\(clients) closed-loop clients, packets of \(StoreOpenBenchmark.shares), \(StoreOpenBenchmark.packetBatches) packet group commit(s) at once, \(duration) per run, drained and audited, \(settings.redacted)")
        let drain = BenchFigure(suite: "pgstores", name: "drain after the load (PostgreSQL)", unit: "s",
                                samples: Samples(drains), higherIsBetter: false)
        return [opens.with(goal: "≥ 5,000/s", met: opens.median >= 5_000), drain]
    }
}
