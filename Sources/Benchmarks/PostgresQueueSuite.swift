import PostgresCluster
import PostgresStores

/// `hongbao bench pgqueue --postgres URL`: queue cycles (send 16, receive 16, delete 16; three commits) through
/// the project's PostgreSQL queue on that server (a three-server cluster: each commit waits for a standby)
/// against two baselines in the same run, alternating run by run: the plain SKIP LOCKED loop written directly,
/// on the same server with the same clients (what the queue's semantics cost), and the same queue on one
/// server with no standbys that the bench makes from the installed PostgreSQL programs for the run (what the
/// copies cost). The plain loop runs on that one server too: what the copies cost PostgreSQL's own loop, on
/// the same cores, is the reference for the second ratio (on this machine's two cores, the standbys' replay
/// and WAL receipt share the CPU with the primary, and the plain loop keeps about 0.7× of its one-server
/// figure). A fourth measurement splits that cost: the same queue on the same cluster with its commits not
/// waiting for a standby (`synchronous_commit = local` in its scratch database; the standbys still receive and
/// replay everything), so that the queue's figure beside it is what the wait for the second copy costs, apart
/// from the standbys' work on the shared cores. Each measurement has a scratch database of its own, made and
/// dropped on its server.
public enum PostgresQueueSuite {
    static let clients = 16
    static let minimumRatioToPlainLoop = 0.9
    static let minimumRatioToOneServer = 0.8

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        guard let settings = context.postgres else {
            throw BenchError.setupFailed("pgqueue needs a server: --postgres postgres://user:password@host:port/db")
        }
        return try await context.withScratch("pgqueue-one-server") { directory in
            let single = try await OneServer.start(in: directory, context)
            do {
                let figures = try await measure(context, settings, single: single?.settings)
                await single?.cluster.remove()
                return figures
            } catch {
                await single?.cluster.remove()
                throw error
            }
        }
    }

    private static func measure(_ context: BenchContext, _ settings: PostgresSettings, single: PostgresSettings?)
        async throws -> [BenchFigure] {
        let duration: Duration = context.quick ? .seconds(1) : .seconds(5)
        var project: [Double] = [], plain: [Double] = [], noWait: [Double] = []
        var oneServer: [Double] = [], plainOneServer: [Double] = []
        // Each measurement in a database of its own: the plain loop makes a new table per run, and the project's
        // queue table would otherwise carry the earlier runs' dead rows into the next run's index scans.
        for run in 1...context.runs {
            context.progress("pgqueue: run \(run)/\(context.runs), project queue")
            project.append(try await projectQueue(on: settings, duration: duration))
            context.progress("pgqueue: run \(run)/\(context.runs), plain SKIP LOCKED loop")
            plain.append(try await plainLoop(on: settings, duration: duration))
            context.progress("pgqueue: run \(run)/\(context.runs), project queue, commits not waiting for a standby")
            noWait.append(try await projectQueue(on: settings, duration: duration, commitsWaitForStandbys: false))
            if let single {
                context.progress("pgqueue: run \(run)/\(context.runs), project queue on one server, no standbys")
                oneServer.append(try await projectQueue(on: single, duration: duration))
                context.progress("pgqueue: run \(run)/\(context.runs), plain loop on one server, no standbys")
                plainOneServer.append(try await plainLoop(on: single, duration: duration))
            }
        }
        let note = "\(clients) clients, batches of 16, \(duration) per run, \(settings.redacted)"
        let versusPlain = BenchFigure(
            suite: "pgqueue", name: "PostgreSQL queue cycles", unit: "messages/s", samples: Samples(project),
            higherIsBetter: true, baselineName: "plain SKIP LOCKED loop", baseline: Samples(plain), note: note)
        var figures = [versusPlain.with(goal: "≥ 0.9× the plain loop",
                                        met: (versusPlain.ratio ?? 0) >= minimumRatioToPlainLoop)]
        figures.append(BenchFigure(
            suite: "pgqueue", name: "PostgreSQL queue cycles, the wait", unit: "messages/s", samples: Samples(project),
            higherIsBetter: true, baselineName: "commits not waiting", baseline: Samples(noWait),
            note: "the same queue on the same servers, synchronous_commit = local: the standbys still replay every commit, no commit waits for one"))
        if single != nil {
            let versusOne = BenchFigure(
                suite: "pgqueue", name: "PostgreSQL queue cycles, copies", unit: "messages/s", samples: Samples(project),
                higherIsBetter: true, baselineName: "one server, no standbys", baseline: Samples(oneServer),
                note: "the same queue and clients; the one server made by the bench from the installed programs, fsync on")
            figures.append(versusOne.with(goal: "≥ 0.8× one server",
                                          met: (versusOne.ratio ?? 0) >= minimumRatioToOneServer))
            figures.append(BenchFigure(
                suite: "pgqueue", name: "plain SKIP LOCKED loop, copies", unit: "messages/s", samples: Samples(plain),
                higherIsBetter: true, baselineName: "one server, no standbys", baseline: Samples(plainOneServer),
                note: "the reference for the ratio above: what the copies cost PostgreSQL's own loop on the same cores"))
        }
        return figures
    }

    private static func plainLoop(on settings: PostgresSettings, duration: Duration) async throws -> Double {
        try await PostgresQueueBenchmark.withScratchDatabase(settings) { scratch in
            try await PostgresQueueBenchmark.plainLoop(scratch, clients: clients, duration: duration).messagesPerSecond
        }
    }

    private static func projectQueue(on settings: PostgresSettings, duration: Duration,
                                     commitsWaitForStandbys: Bool = true) async throws -> Double {
        try await PostgresQueueBenchmark.withScratchDatabase(settings, commitsWaitForStandbys: commitsWaitForStandbys) { scratch in
            try await PostgresQueueBenchmark.projectQueue(scratch, clients: clients, duration: duration)
                .messagesPerSecond
        }
    }

    /// The single-server baseline's server: a `LocalCluster` of one primary and no standbys under the bench's
    /// scratch directory, durable as a `hongbao cluster up` server is, removed after the run, or by a watchdog
    /// when the bench dies first.
    struct OneServer {
        let cluster: LocalCluster
        let settings: PostgresSettings

        /// Nil (said on the progress line) where the PostgreSQL programs are not installed: that figure is left out.
        static func start(in directory: String, _ context: BenchContext) async throws -> OneServer? {
            do {
                _ = try PostgresInstallation.find()
            } catch {
                context.progress("pgqueue: no single-server baseline (\(error.description))")
                return nil
            }
            context.progress("pgqueue: starting one server with no standbys for the baseline")
            let cluster = LocalCluster(dataDirectory: directory)
            do {
                let login = try await cluster.up(standbys: 0, durable: true).settings.primarySettings
                // A bench killed or interrupted before its tear-down leaves no server running.
                try cluster.removeAfterExit(alsoRemove: [directory])
                return OneServer(cluster: cluster, settings: PostgresSettings(
                    host: login.host, port: login.port, user: login.user, password: login.password,
                    database: login.database))
            } catch {
                await cluster.remove()
                throw BenchError.setupFailed("pgqueue: cannot start the single-server baseline: \(error)")
            }
        }
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
