import Primitives

/// What the retry workers have done, for the dashboard and `simulate`'s summary.
public struct RetryStats: Sendable, Equatable, Codable {
    /// A recent failure and when the credit will be tried again.
    public struct PendingRetry: Sendable, Equatable, Codable {
        public let claim: ClaimID
        public let attempt: Int
        public let nextTryAt: Timestamp

        public init(claim: ClaimID, attempt: Int, nextTryAt: Timestamp) {
            self.claim = claim
            self.attempt = attempt
            self.nextTryAt = nextTryAt
        }
    }

    public var workers: [WorkerState] = []
    /// Credits each worker has landed, by worker index.
    public var completedByWorker: [Int] = []
    public var attempts = 0
    public var succeeded = 0
    public var failed = 0
    /// Credits that landed, by the attempt that landed them (index 0 = first retry).
    public var successesByAttempt: [Int] = []
    /// The highest attempt number that landed a credit.
    public var maxAttempt = 0
    /// The most recent failures, newest last.
    public var recentRetries: [PendingRetry] = []

    /// How many recent retries are kept for display.
    public static let recentRetryCapacity = 32
    /// Attempts beyond this share the last histogram bucket.
    public static let histogramBuckets = 12

    mutating func recordSuccess(attempt: Int, worker: Int?) {
        attempts += 1
        succeeded += 1
        if let worker, completedByWorker.indices.contains(worker) { completedByWorker[worker] += 1 }
        maxAttempt = max(maxAttempt, attempt)
        let bucket = min(max(attempt, 1), RetryStats.histogramBuckets) - 1
        if successesByAttempt.count <= bucket {
            successesByAttempt += Array(repeating: 0, count: bucket + 1 - successesByAttempt.count)
        }
        successesByAttempt[bucket] += 1
    }

    mutating func recordFailure(_ retry: PendingRetry) {
        attempts += 1
        failed += 1
        recentRetries.append(retry)
        if recentRetries.count > RetryStats.recentRetryCapacity {
            recentRetries.removeFirst(recentRetries.count - RetryStats.recentRetryCapacity)
        }
    }
}
