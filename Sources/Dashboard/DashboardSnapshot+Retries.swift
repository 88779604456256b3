import Primitives

/// A retry worker's state.
public enum WorkerState: String, Sendable, Equatable, CaseIterable {
    case running
    case paused
    case crashed
}

/// One retry worker.
public struct WorkerStatus: Sendable, Equatable {
    public var name: String
    public var state: WorkerState
    /// Credits this worker has completed.
    public var completed: Int

    public init(name: String, state: WorkerState, completed: Int = 0) {
        self.name = name
        self.state = state
        self.completed = completed
    }
}

/// A credit waiting for its next attempt.
public struct RetryRow: Sendable, Equatable {
    public var claim: ClaimID
    public var recipient: String
    public var amount: Money
    /// The attempt that comes next (1 = first retry).
    public var attempt: Int
    /// Time until it becomes visible again (`nil` when not known: no worker has scheduled it in this run).
    public var dueIn: Duration?

    public init(claim: ClaimID, recipient: String, amount: Money, attempt: Int, dueIn: Duration?) {
        self.claim = claim
        self.recipient = recipient
        self.amount = amount
        self.attempt = attempt
        self.dueIn = dueIn
    }
}

/// The retries pane.
public struct RetriesSummary: Sendable, Equatable {
    /// `attemptHistogram[i]` = credits that succeeded (or are pending) after `i + 1` attempts; the last bucket
    /// collects everything beyond.
    public var attemptHistogram: [Int]
    /// Credits waiting for a retry, oldest first: the window of the list that was asked for (see `page`).
    public var next: [RetryRow]
    /// Where `next` sits in the whole (filtered) list.
    public var page: ListPage
    public var workers: [WorkerStatus]
    /// Credits completed by retries since start.
    public var succeeded: Int
    /// The current backoff policy, for people ("exp 100ms…30s").
    public var backoff: String

    public init(
        attemptHistogram: [Int] = [], next: [RetryRow] = [], page: ListPage = ListPage(), workers: [WorkerStatus] = [],
        succeeded: Int = 0, backoff: String = ""
    ) {
        self.page = page
        self.attemptHistogram = attemptHistogram
        self.next = next
        self.workers = workers
        self.succeeded = succeeded
        self.backoff = backoff
    }
}
