import Ledger
import PostgresStores
import Primitives

/// Everything an engine is started with. Passed in, never global.
public struct EngineConfiguration: Sendable {
    public var dataPath: String
    public var durability: Durability = .full
    public var limits: Limits = .default
    public var workers: Int
    public var creditMode: CreditMode = .queue
    public var clock: any WallClock = SystemClock()
    public var random: any RandomSource = SystemRandomSource()
    /// `.immediate` for the deterministic simulation (one task, no writer thread); group commit otherwise.
    public var ledgerWrites: LedgerWriteMode = .groupCommit
    /// Whether `start` expires due packets and re-queues stranded claims. `hongbao audit` turns it off: it
    /// opens the engine to check the queue, and must not change the books it checks.
    public var recoverOnStart = true
    /// Where the books are: SQLite files in `dataPath` (the default) or a PostgreSQL server.
    public var store: StoreChoice = .sqlite
    /// On PostgreSQL: where the primary is now (a local cluster's settings, which a failover rewrites), asked
    /// every `Engine.primaryCheckInterval`; the engine moves its connections there when it changes. Nil: the
    /// server never moves.
    public var postgresPrimary: (@Sendable () -> PostgresSettings?)?
    /// The most connections the PostgreSQL stores open (the credit path's writes, the workers, the reads), shared
    /// among the three systems' pools (`PostgresDatabases.connectionShares`). Most
    /// of a connection's time under load is a wait for its COMMIT to reach a standby, so there are enough for
    /// the group commits in flight and the queue's statements beside them.
    public var postgresConnections = 48
    /// How many of those are opened (and warmed) at start and kept open while idle up to 10 minutes (the others
    /// are opened on demand): a
    /// connection opened under load costs its caller a connect and a SCRAM login, on cores the load needs.
    public var postgresWarmConnections = 48
    /// On PostgreSQL: how many group commits of the open path's writes (grabs, draws, marks) may be under way
    /// at once. One at a time, every write waited for the batch in flight and then for its own.
    public var postgresPacketBatches = 4

    public init(dataPath: String, workers: Int? = nil) {
        self.dataPath = dataPath
        self.workers = workers ?? Limits.default.credit.defaultWorkers
    }
}
