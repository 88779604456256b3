import Crediting
import Primitives
import Synchronization

/// N workers that long-poll the credit queue and run each delivery's `CreditFlow` (credit through the
/// account service, record it in the red-packet store, delete on success; back off on failure, exponential
/// with full jitter). Past the queue's max receive count a message is dead-lettered by the queue itself.
/// Workers can be paused, crashed and restarted while running.
///
/// `run()` is the service: it returns when cancelled, after every worker has stopped.
public final class RetryWorkerPool<Queue: CreditQueue>: Sendable {
    private let driver: CreditFlowDriver<Queue>
    private let limits: CreditLimits
    private let clock: any WallClock
    private let stats: Mutex<RetryStats>
    private let gates: [WorkerGate]
    private let onCredited: @Sendable (CreditOutcome) -> Void

    /// - Parameter onCredited: called for each credit a worker lands that moved money (not for replays of
    ///   credits already applied); the engine measures time to credit with it.
    public init(driver: CreditFlowDriver<Queue>, clock: any WallClock, workers: Int,
                onCredited: @escaping @Sendable (CreditOutcome) -> Void = { _ in }) {
        self.onCredited = onCredited
        self.driver = driver
        self.limits = driver.limits
        self.clock = clock
        let count = max(1, workers)
        gates = (0..<count).map { _ in WorkerGate() }
        var initial = RetryStats()
        initial.workers = Array(repeating: .running, count: count)
        initial.completedByWorker = Array(repeating: 0, count: count)
        stats = Mutex(initial)
    }

    public var workerCount: Int { gates.count }

    /// A copy of the counters and worker states.
    public var snapshot: RetryStats {
        var copy = stats.withLock { $0 }
        copy.workers = gates.map(\.state)
        return copy
    }

    /// Runs every worker until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for index in gates.indices {
                group.addTask { await self.work(index) }
            }
        }
    }

    // MARK: Operator controls (`nil` index = every worker)

    public func pause(_ index: Int? = nil) { each(index) { $0.set(.paused) } }
    public func crash(_ index: Int? = nil) { each(index) { $0.set(.crashed) } }
    public func restart(_ index: Int? = nil) { each(index) { $0.set(.running) } }

    private func each(_ index: Int?, _ body: (WorkerGate) -> Void) {
        if let index {
            if gates.indices.contains(index) { body(gates[index]) }
        } else {
            gates.forEach(body)
        }
    }

    // MARK: The worker loop

    private func work(_ index: Int) async {
        let gate = gates[index]
        while !Task.isCancelled {
            guard await gate.waitUntilRunning() else { return }
            let messages: [CreditMessage<Queue.Receipt>]
            do {
                messages = try await receive(wait: limits.workerPollWait)
            } catch {
                // The queue itself is unavailable (no quorum): back off and poll again.
                try? await clock.sleep(for: limits.retryBase)
                continue
            }
            // The batch's credits go out together, so they share the ledger's group commits (one at a time, a
            // worker would wait a whole commit cycle per message). A crash drops whatever is not yet
            // processed: those messages reappear after their visibility timeout.
            await withDiscardingTaskGroup { group in
                for message in messages {
                    group.addTask {
                        guard gate.state == .running, !Task.isCancelled else { return }
                        await self.process(message, worker: index)
                    }
                }
            }
        }
    }

    // MARK: One step at a time (the worker loop above, and the deterministic simulation)

    /// One receive as a worker makes it: up to `workerBatchSize` credits, each hidden for `workerVisibility`,
    /// waiting up to `wait` for one to appear (the simulation passes zero: it never waits).
    public func receive(wait: Duration) async throws -> [CreditMessage<Queue.Receipt>] {
        try await driver.queue.receive(max: limits.workerBatchSize, wait: wait, visibility: limits.workerVisibility)
    }

    /// One credit attempt for a received message (its `CreditFlow`): credit (idempotent), record it, delete
    /// on success; on failure show it again after an exponential, fully jittered backoff. Queue errors are
    /// left to the visibility timeout: an undeleted message comes back and its credit is a replay. Returns
    /// whether the credit landed.
    /// - Parameter worker: the worker's index, for its completed count (nil: not one of the pool's workers).
    @discardableResult
    public func process(_ message: CreditMessage<Queue.Receipt>, worker: Int? = nil) async -> Bool {
        switch await driver.creditDelivery(message) {
        case let .credited(outcome):
            if outcome.appliedNow { onCredited(outcome) }
            stats.withLock { $0.recordSuccess(attempt: message.receiveCount, worker: worker) }
            return true
        case let .retrying(_, delay):
            let retry = RetryStats.PendingRetry(claim: message.order.claim, attempt: message.receiveCount,
                                                nextTryAt: clock.now() + delay)
            stats.withLock { $0.recordFailure(retry) }
            return false
        case .queued, .unqueued:
            preconditionFailure("a delivery's credit flow never queues")
        }
    }
}
