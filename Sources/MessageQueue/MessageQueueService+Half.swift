import Primitives

/// Transactional messages (CMQ's, RocketMQ's "half messages"). A producer stores a half message, runs its
/// local transaction, then commits the message (it becomes deliverable) or rolls it back (it is gone). A
/// producer that crashed, or never decided, is asked: when a half message is still undecided past its
/// check-back time, the queue calls the handler registered for its queue, and performs the answer; an
/// `unknown` answer is asked again later (exponential backoff from the queue's `checkBackDelay`, capped at
/// `QueueLimits.maxCheckBackInterval`), at most `maxCheckBacks` times; then the message is `exhausted`.
///
/// Every step is an operation like any other: replicated, acknowledged at the quorum, durable across
/// `kill -9`; the check-back count and the next check-back time are part of the message, so the timer
/// resumes where it was once a handler is registered again after a restart.
extension MessageQueueService {
    /// Stores a half message: invisible to receivers until `commitHalf`. With an `id` that is already a half
    /// message or live in the queue, returns it and stores nothing. `delay` applies from the commit.
    public func sendHalf(
        _ queue: String, body: String, id: String? = nil, delay: Duration? = nil
    ) async throws(MessageQueueError) -> SendResult {
        let results = try await sendHalfBatch(queue, [OutgoingMessage(body: body, id: id, delay: delay)])
        guard let result = results.first else { throw .storage("send produced no result") }
        return result
    }

    /// Stores up to `QueueLimits.maxBatchCount` half messages; all or none are stored.
    public func sendHalfBatch(
        _ queue: String, _ messages: [OutgoingMessage]
    ) async throws(MessageQueueError) -> [SendResult] {
        try checkQuorum()
        let ids = messages.map { $0.id == nil ? "m-" + random.identifier(count: 20) : "" }
        let (operations, results) = try state.sendHalf(queue, messages, newIDs: ids, now: clock.now())
        try await commit(operations)
        return results
    }

    /// Commits a half message: it becomes an ordinary message, delivered after its delay. Committing a
    /// message that is already committed changes nothing; an id that is neither is `unknownHalfMessage`.
    public func commitHalf(_ queue: String, id: String) async throws(MessageQueueError) {
        try await commitHalfBatch(queue, ids: [id])
    }

    /// Commits up to `QueueLimits.maxBatchCount` half messages; one unknown id commits none.
    public func commitHalfBatch(_ queue: String, ids: [String]) async throws(MessageQueueError) {
        try checkQuorum()
        try await commit(try state.commitHalf(queue, ids: ids, now: clock.now()))
    }

    /// Rolls a half message back: it is gone. An id that was committed is `halfMessageAlreadyCommitted`;
    /// one that is not a half message (never sent, rolled back already, forged) is `unknownHalfMessage`.
    public func rollbackHalf(_ queue: String, id: String) async throws(MessageQueueError) {
        try await rollbackHalfBatch(queue, ids: [id])
    }

    /// Rolls back up to `QueueLimits.maxBatchCount` half messages; one bad id rolls back none.
    public func rollbackHalfBatch(_ queue: String, ids: [String]) async throws(MessageQueueError) {
        try checkQuorum()
        try await commit(try state.rollbackHalf(queue, ids: ids))
    }

    /// A queue's half messages in arrival order, undecided and exhausted alike.
    public func halfMessages(in queue: String) throws(MessageQueueError) -> [HalfMessage] {
        _ = try state.record(queue)
        return Array(state.halfMessages(in: queue).prefix(limits.maxPeekCount))
    }

    /// Registers (or, with nil, removes) the producer's check-back handler of `queue`. Half messages of a
    /// queue without a handler wait, and no check-back counts against them. Unless the queue was opened
    /// with `checkBackTimer: false`, the first registration starts the timer that asks about them.
    public func setCheckBackHandler(
        for queue: String, _ handler: CheckBackHandler?
    ) throws(MessageQueueError) {
        _ = try state.record(queue)
        checkBackHandlers[queue] = handler
        if handler != nil, runsCheckBackTimer, checkBackTimer == nil, !isClosed {
            let clock = self.clock
            checkBackTimer = Task { [weak self] in
                while !Task.isCancelled {
                    guard let wait = await self?.checkBackTick() else { return }
                    try? await clock.sleep(for: wait)
                }
            }
        }
    }

    /// Asks the handlers about the undecided half messages whose check-back is due now (oldest first, at
    /// most `QueueLimits.maxCheckBacksPerPass`, `checkBackConcurrency` at once), records each check-back and
    /// performs each answer.
    /// Returns how many check-backs were recorded. Deterministic runs call this instead of the timer.
    @discardableResult
    public func runCheckBacks() async -> Int {
        // Without a quorum no answer could be recorded: ask nobody.
        guard !isClosed, (try? checkQuorum()) != nil else { return 0 }
        let candidates = state.dueHalfMessages(now: clock.now()).lazy.compactMap {
            entry -> (String, HalfMessage, CheckBackHandler)? in
            guard let handler = self.checkBackHandlers[entry.queue],
                  !self.checkBacksInFlight.contains(Self.inFlightKey(entry.queue, entry.message.id)) else { return nil }
            return (entry.queue, entry.message, handler)
        }
        let due = Array(candidates.prefix(max(1, limits.maxCheckBacksPerPass)))
        guard !due.isEmpty else { return 0 }
        for (queue, message, _) in due { checkBacksInFlight.insert(Self.inFlightKey(queue, message.id)) }
        let verdicts = await Self.ask(due, concurrency: max(1, limits.checkBackConcurrency))
        for (queue, message, _) in due { checkBacksInFlight.remove(Self.inFlightKey(queue, message.id)) }
        guard !isClosed, (try? checkQuorum()) != nil else { return 0 }
        let now = clock.now()
        var operations: [QueueOperation] = []
        for (index, (queue, message, _)) in due.enumerated() {
            operations += state.recordCheckBack(
                queue, id: message.id, seenCheckBacks: message.checkBacks, verdict: verdicts[index], now: now)
        }
        do {
            try await commit(operations)
        } catch {
            // The state was reloaded from the replicas; the check-backs that were not recorded come again.
            return 0
        }
        return operations.count(where: { $0.kind == .checkBack })
    }

    /// One round of the timer: run what is due, then say how long to sleep (until the next check-back of a
    /// queue with a handler, at least 10 ms, at most `QueueLimits.checkBackPollInterval`).
    func checkBackTick() async -> Duration? {
        guard !isClosed else { return nil }
        await runCheckBacks()
        guard !isClosed else { return nil }
        let poll = limits.checkBackPollInterval
        guard let next = state.nextCheckBack(in: checkBackHandlers.keys) else { return poll }
        return min(max(next - clock.now(), .milliseconds(10)), poll)
    }

    private static func inFlightKey(_ queue: String, _ id: String) -> String { queue + "\u{0}" + id }

    /// Calls the handlers, at most `concurrency` at once; the answers come back in the order asked.
    private static func ask(
        _ due: [(String, HalfMessage, CheckBackHandler)], concurrency: Int
    ) async -> [CheckBackVerdict] {
        await withTaskGroup(of: (Int, CheckBackVerdict).self) { group in
            var verdicts = [CheckBackVerdict](repeating: .unknown, count: due.count)
            var next = 0
            func addNext() {
                guard next < due.count else { return }
                let (queue, message, handler) = due[next]
                let index = next
                group.addTask { (index, await handler(queue, message)) }
                next += 1
            }
            for _ in 0..<min(concurrency, due.count) { addNext() }
            while let (index, verdict) = await group.next() {
                verdicts[index] = verdict
                addNext()
            }
            return verdicts
        }
    }
}
