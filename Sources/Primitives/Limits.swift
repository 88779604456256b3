/// Every limit of the system in one value. Components take a `Limits` at construction; no limit is a
/// literal elsewhere. Each area's limits live in their own struct (and file) so that they stay readable.
public struct Limits: Sendable, Equatable {
    public var money: MoneyLimits
    public var packets: PacketLimits
    public var ledger: LedgerLimits
    public var queue: QueueLimits
    public var credit: CreditLimits
    public var output: OutputLimits

    public init(
        money: MoneyLimits = MoneyLimits(),
        packets: PacketLimits = PacketLimits(),
        ledger: LedgerLimits = LedgerLimits(),
        queue: QueueLimits = QueueLimits(),
        credit: CreditLimits = CreditLimits(),
        output: OutputLimits = OutputLimits()
    ) {
        self.money = money
        self.packets = packets
        self.ledger = ledger
        self.queue = queue
        self.credit = credit
        self.output = output
    }

    /// The limits of the real system, as described in DESIGN.md.
    public static let `default` = Limits()
}

/// Bounds on any single amount of money.
public struct MoneyLimits: Sendable, Equatable {
    /// The largest single transfer or deposit: ¥100,000,000.00. Far beyond any red packet, small enough that
    /// a million accounts at this balance still fit comfortably in Int64 minor units (≈ 9.2e18).
    public var maxSingleAmount: Money = Money(yuan: 100_000_000)

    public init() {}
}

/// Red-packet rules (WeChat's, as of the Spring Festival Gala).
public struct PacketLimits: Sendable, Equatable {
    /// A personal packet carries at most ¥200.00.
    public var maxPersonalAmount: Money = Money(yuan: 200)
    /// A group packet carries at most ¥20,000.00 in total.
    public var maxGroupAmount: Money = Money(yuan: 20_000)
    /// A group packet has between 1 and 100 shares.
    public var minShares: Int = 1
    public var maxShares: Int = 100
    /// No share is smaller than ¥0.01: every opener gets something.
    public var minShare: Money = Money(minorUnits: 1)
    /// A packet's unopened remainder is refunded to the sender after this long (24 h).
    public var defaultTimeToLive: Duration = .seconds(24 * 60 * 60)
    /// The shortest time to live an operator may ask for (demos use seconds).
    public var minTimeToLive: Duration = .seconds(1)
    /// The longest time to live an operator may ask for (7 days).
    public var maxTimeToLive: Duration = .seconds(7 * 24 * 60 * 60)
    /// A send still `paying` this long after its packet was created, and no longer under way, is settled while
    /// the engine runs (opened if its payment landed, cancelled if not). Long beside a send's own time, so that
    /// the settlement finds only sends that failed; the engine settles the rest when it closes.
    public var settleSendsAfter: Duration = .seconds(5)
    /// Longest account name, in characters.
    public var maxNameLength: Int = 64
    /// Longest greeting, in characters (grapheme clusters: 恭 and 👨‍👩‍👧 count one each).
    public var maxGreetingLength: Int = 64

    public init() {}
}

/// Ledger writer limits.
public struct LedgerLimits: Sendable, Equatable {
    /// The most transactions the group-commit writer folds into one SQLite commit. Bounds the work lost to
    /// one failed commit and the latency added to the first transaction of a batch.
    public var maxTransactionsPerCommit: Int = 512
    /// Page cache of the ledger's writer connection (64 MiB): holds the working set of a busy Gala.
    public var writerCacheBytes: Int = 64 * 1024 * 1024
    /// How much of the ledger file connections may memory-map for reading (64 MiB). Mapped pages count in the
    /// process's resident set once touched: with 1 GiB a full audit of a million-account ledger pushed peak
    /// RSS past 300 MiB. Reads beyond the map go through SQLite's page cache as usual.
    public var memoryMapBytes: Int = 64 * 1024 * 1024
    /// WAL pages between checkpoints (10,000 ≈ 40 MiB; SQLite's default is 1,000). Hot pages (balances, open
    /// packets) are rewritten many times per interval: a longer one copies each back to the database once
    /// instead of ten times. With group commit, most of the copying runs on a connection of its own every eighth
    /// of this (`WALCheckpointer`), and the writer's own checkpoint at this many copies only the rest.
    public var walAutocheckpointPages: Int = 10_000

    public init() {}
}

/// Bounds on what one command prints.
public struct OutputLimits: Sendable, Equatable {
    /// The most rows a list command (`account list`, `packet sent`, bills of `account show`) prints: 100,000.
    public var maxListRows: Int = 100_000

    public init() {}
}
