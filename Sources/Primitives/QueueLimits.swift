/// Message queue limits, following Tencent CMQ (and Amazon SQS, which CMQ mirrors). Every queue attribute
/// has a default and an allowed range here; the queue module rejects anything outside them.
public struct QueueLimits: Sendable, Equatable {
    // MARK: Queue attributes

    /// How long a received message stays invisible before it is delivered again: 30 s (CMQ's default).
    public var defaultVisibilityTimeout: Duration = .seconds(30)
    /// The shortest visibility timeout: 1 s. Zero would hand the same message to every poller at once.
    public var minVisibilityTimeout: Duration = .seconds(1)
    /// The longest visibility timeout: 12 h (CMQ and SQS).
    public var maxVisibilityTimeout: Duration = .seconds(12 * 60 * 60)

    /// How long a message is kept before it is purged, delivered or not: 4 days (CMQ's default).
    public var defaultRetention: Duration = .seconds(4 * 24 * 60 * 60)
    /// The shortest retention: 1 minute.
    public var minRetention: Duration = .seconds(60)
    /// The longest retention: 15 days (CMQ).
    public var maxRetention: Duration = .seconds(15 * 24 * 60 * 60)

    /// Delivery delay of a new message: none by default.
    public var defaultDelay: Duration = .zero
    /// The longest delivery delay: 1 hour (CMQ's `delaySeconds` limit).
    public var maxDelay: Duration = .seconds(60 * 60)

    /// The largest message body, in UTF-8 bytes: 64 KiB (CMQ's default and maximum).
    public var maxMessageSizeBytes: Int = 64 * 1024
    /// The smallest per-queue message size limit an operator may set: 1 KiB (CMQ).
    public var minMessageSizeLimitBytes: Int = 1024

    /// Deliveries after which a message moves to the dead-letter queue: 5 by default.
    public var defaultMaxReceiveCount: Int = 5
    /// The allowed range of the max receive count: 1…1000 (SQS's redrive policy range).
    public var minMaxReceiveCount: Int = 1
    public var maxMaxReceiveCount: Int = 1000

    /// The longest queue name, in characters (CMQ: 64).
    public var maxQueueNameLength: Int = 64
    /// The most queues one data directory holds: bounds memory and the `list` output.
    public var maxQueues: Int = 1000
    /// The longest caller-supplied message id, in UTF-8 bytes (a claim id fits with room to spare).
    public var maxMessageIDLength: Int = 128
    /// Characters of the random part of a receipt (31-letter identifier alphabet: 20 characters ≈ 99 bits), drawn
    /// per delivery, so that receipts cannot be guessed.
    public var receiptNonceLength: Int = 20

    // MARK: Transactional (half) messages

    /// How long a half message waits for its producer's commit or rollback before the queue asks the
    /// producer's check-back handler (CMQ's first query interval): 10 s by default.
    public var defaultCheckBackDelay: Duration = .seconds(10)
    /// The allowed range of that delay: 1 s … 12 h (CMQ).
    public var minCheckBackDelay: Duration = .seconds(1)
    public var maxCheckBackDelay: Duration = .seconds(12 * 60 * 60)
    /// Check-backs after which an undecided half message is left `exhausted` for the operator (CMQ's
    /// max query count): 15 by default, 1…1000 allowed.
    public var defaultMaxCheckBacks: Int = 15
    public var minMaxCheckBacks: Int = 1
    public var maxMaxCheckBacks: Int = 1000
    /// Check-backs back off exponentially from the queue's delay (delay·2^n after the n-th) up to this
    /// interval, or up to the queue's delay when that is longer.
    public var maxCheckBackInterval: Duration = .seconds(5 * 60)
    /// Check-back handlers the queue runs at once.
    public var checkBackConcurrency: Int = 16
    /// The most check-backs one pass asks (the rest come in the next pass, at once): keeps a pass short
    /// after a restart that finds many overdue half messages.
    public var maxCheckBacksPerPass: Int = 1024
    /// The longest the check-back timer sleeps before it looks for due half messages again.
    public var checkBackPollInterval: Duration = .seconds(1)

    // MARK: Verbs

    /// The most messages one `sendBatch` / `receiveBatch` / `deleteBatch` handles: 16 (CMQ).
    public var maxBatchCount: Int = 16
    /// The longest a receive may wait for a message (long poll): 30 s (CMQ).
    public var maxPollingWait: Duration = .seconds(30)
    /// The most messages `peek` shows.
    public var maxPeekCount: Int = 100_000

    // MARK: Replication

    /// Replicas that must commit an operation before it is acknowledged (of three).
    public var quorum: Int = 2
    /// The most operations folded into one transaction per replica (group commit). Bounds the latency
    /// added to the first operation of a group and the work a failed commit throws away.
    public var maxOperationsPerCommit: Int = 4096
    /// How long the leader of a group commit may wait for more operations before it sends a group of fewer than
    /// `commitLingerOperations` (zero, the default: it never waits). Each group costs every replica a transaction,
    /// WAL writes, locks and an fsync whatever its size, so single operations arriving apart (SQS clients sending
    /// one message per call) cost far less CPU each when they share one; the price is up to this much latency. A
    /// wait that gathers nothing turns waiting off for the next `commitLingerRest` groups, so that a lone
    /// sequential caller hardly pays it.
    public var commitLinger: Duration = .zero
    /// A group this large is sent at once, without waiting.
    public var commitLingerOperations: Int = 8
    /// Groups sent without waiting after a wait that gathered nothing.
    public var commitLingerRest: Int = 16
    /// A replica further behind than this many operations is rebuilt by a full copy instead of replaying
    /// the operation log. Also how many recent operations each replica's log (and memory) keeps.
    public var catchUpOperationLimit: Int = 50_000
    /// Operations replayed per transaction while a replica catches up, so that it reports progress.
    public var catchUpChunkOperations: Int = 2_000
    /// The largest injected replica latency (fault control `slow`): 10 s.
    public var maxReplicaLatency: Duration = .seconds(10)
    /// How each replica commits: `full` (fsync every commit) in the real system; deterministic simulations
    /// use `normal`, because they model process crashes, not power loss, and fsyncs would dominate their run.
    public var replicaDurability: ReplicaDurability = .full

    // MARK: Counters

    /// The window over which sends / receives / deletes per second are averaged.
    public var rateWindowSeconds: Int = 5

    public init() {}
}
