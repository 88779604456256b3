import Primitives

/// The message queue: CMQ semantics over three SQLite replicas. Every verb validates its input against the
/// in-memory state (the pure `QueueState`), turns into sequenced operations, and returns once a quorum of
/// replicas has committed them. Operations that arrive while a commit is in flight share the next one.
///
/// Open it with `MessageQueueService.open(root:...)`; call `close()` before the process exits.
public actor MessageQueueService {
    enum CommitOutcome: Sendable {
        case done
        case lead
        case failed(MessageQueueError)
    }

    struct CommitWaiter {
        let last: Int64
        let continuation: CheckedContinuation<CommitOutcome, Never>
    }

    struct Rates {
        var sent: RateWindow
        var received: RateWindow
        var deleted: RateWindow
    }

    /// The limits this queue enforces.
    public nonisolated let limits: QueueLimits
    /// The directory holding `replica-a`, `replica-b`, `replica-c`.
    public nonisolated let rootPath: String
    let clock: any WallClock
    let random: any RandomSource
    nonisolated let replicas: [Replica]
    let quorum: Int
    nonisolated let pollers = PollRegistry()
    /// What opening the queue repaired (also in the durable repair log): damaged replicas rebuilt, replicas
    /// behind caught up.
    public nonisolated let repairsAtOpen: [ReplicaRepair]
    let repairLog: ReplicaRepairLog
    /// Where the state is kept instead of replicas (`open(journal:)`), or nil: the three SQLite replicas.
    public nonisolated let journal: (any QueueJournal)?
    /// A journal commit failed and reloading the state from the journal failed too: every verb is refused
    /// until a reload succeeds (`journalReload` retries it).
    var journalUnreadable: String?
    var journalReload: Task<Void, Never>?

    var state: QueueState
    var acknowledgedSequence: Int64
    var dispatchedSequence: Int64
    var pending: [QueueOperation] = []
    var commitWaiters: [CommitWaiter] = []
    var flushing = false
    /// The leader waiting for more operations (`QueueLimits.commitLinger`), woken early by a full group.
    var lingerWake: CheckedContinuation<Void, Never>?
    /// Counts waits, so that a wait's timer only ends its own.
    var lingerCount: UInt64 = 0
    /// Groups still to be sent without waiting, after a wait that gathered nothing.
    var lingerRest = 0
    /// Recent operations, in sequence order: the in-memory operation log that restored replicas replay.
    var recentOperations: [QueueOperation] = []
    var rates: [String: Rates] = [:]
    /// Producers' check-back handlers, by queue.
    var checkBackHandlers: [String: CheckBackHandler] = [:]
    /// Half messages whose check-back is being asked right now (`queue`, NUL, `id`).
    var checkBacksInFlight: Set<String> = []
    /// Whether registering a handler starts `checkBackTimer` (false: the owner calls `runCheckBacks`).
    let runsCheckBackTimer: Bool
    var checkBackTimer: Task<Void, Never>?
    var isClosed = false

    /// Transactions the replicas have committed since the queue opened, all three together (benchmarks divide
    /// operations by it: how well commits are grouped).
    public nonisolated var replicaCommits: Int { replicas.reduce(0) { $0 + $1.commits } }

    init(
        rootPath: String, limits: QueueLimits, clock: any WallClock, random: any RandomSource,
        replicas: [Replica], quorum: Int, state: QueueState, runsCheckBackTimer: Bool = true,
        repairsAtOpen: [ReplicaRepair] = [], journal: (any QueueJournal)? = nil
    ) {
        self.journal = journal
        self.runsCheckBackTimer = runsCheckBackTimer
        self.rootPath = rootPath
        self.repairsAtOpen = repairsAtOpen
        self.repairLog = ReplicaRepairLog(root: rootPath)
        self.limits = limits
        self.clock = clock
        self.random = random
        self.replicas = replicas
        self.quorum = quorum
        self.state = state
        self.acknowledgedSequence = state.lastSequence
        self.dispatchedSequence = state.lastSequence
    }

    // MARK: Queues

    /// Creates a queue. Its dead-letter queue, if any, must exist already.
    public func createQueue(_ name: String, attributes: QueueAttributes? = nil) async throws(MessageQueueError) {
        try checkQuorum()
        let operations = try state.createQueue(
            name, attributes: attributes ?? QueueAttributes(limits: limits), now: clock.now())
        try await commit(operations)
    }

    /// Replaces a queue's attributes; every replica gets the change like any other operation.
    public func setAttributes(_ name: String, _ attributes: QueueAttributes) async throws(MessageQueueError) {
        try checkQuorum()
        try await commit(try state.setAttributes(name, attributes))
        pollers.wakeAll(of: name)
    }

    /// Removes every message of a queue, in flight or not; returns how many.
    @discardableResult
    public func purgeQueue(_ name: String) async throws(MessageQueueError) -> Int {
        try checkQuorum()
        let operations = try state.purgeQueue(name)
        try await commit(operations)
        return operations.count
    }

    /// The queues whose dead-letter queue is `name`, sorted.
    public func deadLetterSources(of name: String) throws(MessageQueueError) -> [String] {
        _ = try state.record(name)
        return state.queueNames.filter { state.attributes(of: $0)?.deadLetterQueue == name }
    }

    /// Deletes a queue and every message in it.
    public func deleteQueue(_ name: String) async throws(MessageQueueError) {
        try checkQuorum()
        try await commit(try state.deleteQueue(name))
        pollers.wakeAll(of: name)
    }

    /// Queue names, sorted.
    public func listQueues() -> [String] { state.queueNames }

    /// A queue's attributes.
    public func attributes(of queue: String) throws(MessageQueueError) -> QueueAttributes {
        try state.record(queue).attributes
    }

    /// When a queue was created.
    public func createdAt(of queue: String) throws(MessageQueueError) -> Timestamp {
        try state.record(queue).createdAt
    }

    // MARK: Messages

    /// Sends one message. With an `id` that is already live in the queue, returns it and stores nothing.
    public func send(
        _ queue: String, body: String, id: String? = nil, delay: Duration? = nil
    ) async throws(MessageQueueError) -> SendResult {
        let results = try await sendBatch(queue, [OutgoingMessage(body: body, id: id, delay: delay)])
        guard let result = results.first else { throw .storage("send produced no result") }
        return result
    }

    /// Sends up to `QueueLimits.maxBatchCount` messages; all or none are stored.
    public func sendBatch(_ queue: String, _ messages: [OutgoingMessage]) async throws(MessageQueueError) -> [SendResult] {
        try checkQuorum()
        let ids = messages.map { $0.id == nil ? "m-" + random.identifier(count: 20) : "" }
        let (operations, results) = try state.send(queue, messages, newIDs: ids, now: clock.now())
        try await commit(operations)
        return results
    }

    /// Receives at most one message (see `receiveBatch`).
    public func receive(
        _ queue: String, visibilityTimeout: Duration? = nil, pollingWait: Duration = .zero
    ) async throws(MessageQueueError) -> ReceivedMessage? {
        try await receiveBatch(queue, maxCount: 1, visibilityTimeout: visibilityTimeout, pollingWait: pollingWait).first
    }

    /// Receives up to `maxCount` visible messages. With a `pollingWait`, an empty queue is watched until a
    /// message becomes visible (woken by the send, or by the clock at the earliest visibility deadline) or
    /// the wait ends. A cancelled wait returns what it has (nothing).
    public func receiveBatch(
        _ queue: String, maxCount: Int, visibilityTimeout: Duration? = nil, pollingWait: Duration = .zero
    ) async throws(MessageQueueError) -> [ReceivedMessage] {
        guard pollingWait >= .zero, pollingWait <= limits.maxPollingWait else { throw .invalidPollingWait(pollingWait) }
        let deadline = clock.now() + pollingWait
        while true {
            try checkQuorum()
            let now = clock.now()
            let (operations, messages) = try state.receive(
                queue, maxCount: maxCount, visibilityTimeout: visibilityTimeout, now: now,
                newNonce: { random.identifier(count: limits.receiptNonceLength) })
            try await commit(operations)
            if !messages.isEmpty || now >= deadline || Task.isCancelled { return messages }
            if !operations.isEmpty { continue }
            let wake = min(deadline, state.nextVisibleAt(queue) ?? deadline)
            await waitForMessages(in: queue, until: wake)
        }
    }

    /// Deletes a received message. A receipt from an earlier delivery is `staleReceipt`.
    public func delete(_ queue: String, receipt: ReceiptHandle) async throws(MessageQueueError) {
        try await deleteBatch(queue, receipts: [receipt])
    }

    /// Deletes up to `QueueLimits.maxBatchCount` received messages; one bad receipt deletes none.
    public func deleteBatch(_ queue: String, receipts: [ReceiptHandle]) async throws(MessageQueueError) {
        try checkQuorum()
        try await commit(try state.delete(queue, receipts: receipts, now: clock.now()))
    }

    /// CMQ's rewind: every message sent in the last `window` (at most the queue's rewind window) that retention
    /// still holds and that was deleted or is in flight becomes deliverable again at once, with a fresh
    /// receipt; returns how many. Earlier receipts of those messages no longer work.
    @discardableResult
    public func rewind(_ queue: String, window: Duration) async throws(MessageQueueError) -> Int {
        try checkQuorum()
        let (operations, rewound) = try state.rewind(queue, window: window, now: clock.now())
        try await commit(operations)
        return rewound
    }

    /// Sets a received message to become visible `timeout` from now (zero: at once).
    public func changeVisibility(
        _ queue: String, receipt: ReceiptHandle, timeout: Duration
    ) async throws(MessageQueueError) {
        try checkQuorum()
        try await commit(try state.changeVisibility(queue, receipt: receipt, timeout: timeout, now: clock.now()))
    }

    /// Moves every message of a dead-letter queue back to the queue it came from, or to `destination` when
    /// one is given; returns how many.
    @discardableResult
    public func redrive(deadLetterQueue: String, to destination: String? = nil) async throws(MessageQueueError) -> Int {
        try checkQuorum()
        let operations = try state.redrive(deadLetterQueue, to: destination, now: clock.now())
        try await commit(operations)
        return operations.count
    }

    /// Purges every message past its queue's retention, and every deleted message kept for rewinding past its
    /// queue's rewind window; returns how many. `keptOnly` purges only the latter.
    @discardableResult
    public func purgeExpired(keptOnly: Bool = false) async throws(MessageQueueError) -> Int {
        try checkQuorum()
        let operations = state.purgeExpired(now: clock.now(), keptOnly: keptOnly)
        try await commit(operations)
        return operations.count
    }

    /// Up to `count` messages of a queue in arrival order, without receiving them.
    public func peek(_ queue: String, count: Int) throws(MessageQueueError) -> [StoredMessage] {
        _ = try state.record(queue)
        return Array(state.messages(in: queue).prefix(max(0, min(count, limits.maxPeekCount))))
    }

    // MARK: Counters

    /// A queue's counters now.
    public func counters(of queue: String) throws(MessageQueueError) -> QueueCounters {
        let now = clock.now()
        guard var counters = state.counters(of: queue, now: now) else { throw .unknownQueue(queue) }
        if let rate = rates[queue] {
            counters.sentPerSecond = rate.sent.perSecond(at: now)
            counters.receivedPerSecond = rate.received.perSecond(at: now)
            counters.deletedPerSecond = rate.deleted.perSecond(at: now)
        }
        return counters
    }

    /// Every replica's health, last applied operation and lag.
    public func replicaStatuses() -> [ReplicaStatus] {
        replicas.map { replica in
            let applied = replica.appliedSequence
            // Damage SQLite's checks missed still needs a rebuild: it is reported as corrupted, not merely down.
            let health: ReplicaHealth = replica.health == .down && replica.forceRebuild ? .corrupted : replica.health
            return ReplicaStatus(
                id: replica.id, health: health, appliedSequence: applied,
                lag: max(0, state.lastSequence - applied))
        }
    }

    /// Everything the dashboard shows, in one call (cheap enough for ten calls a second).
    public func snapshot() -> QueueSnapshot {
        QueueSnapshot(
            queues: state.queueNames.compactMap { try? counters(of: $0) },
            replicas: replicaStatuses(), lastSequence: state.lastSequence,
            acknowledgedSequence: acknowledgedSequence)
    }

    /// Every replica detection and repair recorded in this queue's root, oldest first.
    public nonisolated func repairHistory() -> [ReplicaRepair] { repairLog.entries() }

    /// The state as this process holds it (for audits and tests).
    public func currentState() -> QueueState { state }

    /// Stops the check-back timer, waits for every replica to apply what it was sent, then closes their
    /// databases.
    public func close() {
        isClosed = true
        checkBackTimer?.cancel()
        checkBackTimer = nil
        journalReload?.cancel()
        journalReload = nil
        for replica in replicas { replica.close() }
    }

    // MARK: Internals

    /// Waits until every replica has applied everything it was sent (tests compare replicas after this).
    func settle() {
        for replica in replicas { replica.drain() }
    }

    func checkQuorum() throws(MessageQueueError) {
        if journal != nil {
            if let journalUnreadable { throw .storage(journalUnreadable) }
            return
        }
        let live = replicas.count(where: { $0.health.isLive })
        guard live >= quorum else { throw .noQuorum(available: live, required: quorum) }
    }

    private func waitForMessages(in queue: String, until wake: Timestamp) async {
        let id = pollers.makeID()
        let delay = wake - clock.now()
        guard delay > .zero else { return }
        let clock = self.clock, pollers = self.pollers
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                pollers.register(id, queue: queue, continuation: continuation)
                // An unstructured task on purpose: a structured child would have to be awaited even after
                // a send woke us, and a test clock's sleep only ends when the test moves time.
                pollers.attach(Task {
                    try? await clock.sleep(for: delay)
                    pollers.wake(id)
                }, to: id)
            }
        } onCancel: {
            pollers.wake(id)
        }
    }
}
