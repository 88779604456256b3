/// A `Limits` value whose parts contradict each other (for example a retry worker batch larger than the
/// queue's batch limit): refused at start, before anything is opened, instead of failing on first use.
public struct LimitsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong, in one line naming the limits involved.
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { "inconsistent limits: \(reason)" }
}

extension Limits {
    /// Throws the first relation between limits that does not hold. Engines and command-line entry points
    /// call this at start.
    public func validate() throws(LimitsError) {
        try queue.validate()
        try credit.validate(against: queue)
        try packets.validate(against: money)
        try check(ledger.maxTransactionsPerCommit >= 1, "ledger.maxTransactionsPerCommit must be at least 1")
    }
}

extension QueueLimits {
    /// The number of replicas of the real queue (`replica-a`, `-b`, `-c`).
    public static let replicaCount = 3

    /// Throws the first relation between the queue's limits that does not hold; `replicas` is how many
    /// replicas the queue is opened with.
    public func validate(replicas: Int = QueueLimits.replicaCount) throws(LimitsError) {
        try check(quorum >= 1 && quorum <= replicas, "queue.quorum \(quorum) must be between 1 and the \(replicas) replica(s)")
        try check(maxBatchCount >= 1, "queue.maxBatchCount must be at least 1")
        // Zero is allowed: SQS lets a consumer make a message visible again at once (VisibilityTimeout 0).
        try check(minVisibilityTimeout >= .zero && minVisibilityTimeout <= maxVisibilityTimeout,
                  "queue.minVisibilityTimeout must be within 0…queue.maxVisibilityTimeout")
        try check(within(defaultVisibilityTimeout, minVisibilityTimeout, maxVisibilityTimeout),
                  "queue.defaultVisibilityTimeout must be within the visibility timeout range")
        try check(defaultDelay >= .zero && defaultDelay <= maxDelay, "queue.defaultDelay must be within 0…queue.maxDelay")
        try check(within(defaultRetention, minRetention, maxRetention),
                  "queue.defaultRetention must be within queue.minRetention…queue.maxRetention")
        try check(minMessageSizeLimitBytes >= 1 && minMessageSizeLimitBytes <= maxMessageSizeBytes,
                  "queue.minMessageSizeLimitBytes must be within 1…queue.maxMessageSizeBytes")
        try check(minMaxReceiveCount >= 1 && within(defaultMaxReceiveCount, minMaxReceiveCount, maxMaxReceiveCount),
                  "queue.defaultMaxReceiveCount must be within queue.minMaxReceiveCount…queue.maxMaxReceiveCount")
        try check(minCheckBackDelay > .zero && within(defaultCheckBackDelay, minCheckBackDelay, maxCheckBackDelay),
                  "queue.defaultCheckBackDelay must be within queue.minCheckBackDelay…queue.maxCheckBackDelay")
        try check(minMaxCheckBacks >= 1 && within(defaultMaxCheckBacks, minMaxCheckBacks, maxMaxCheckBacks),
                  "queue.defaultMaxCheckBacks must be within queue.minMaxCheckBacks…queue.maxMaxCheckBacks")
        try check(checkBackConcurrency >= 1 && maxCheckBackInterval > .zero && maxCheckBacksPerPass >= 1 && checkBackPollInterval > .zero,
                  "queue.checkBackConcurrency, maxCheckBackInterval, maxCheckBacksPerPass and checkBackPollInterval must be positive")
        try check(maxOperationsPerCommit >= 1, "queue.maxOperationsPerCommit must be at least 1")
        try check(catchUpChunkOperations >= 1 && catchUpChunkOperations <= catchUpOperationLimit,
                  "queue.catchUpChunkOperations must be within 1…queue.catchUpOperationLimit")
        try check(maxQueueNameLength >= 1 && maxQueues >= 1 && maxMessageIDLength >= 1 && rateWindowSeconds >= 1,
                  "queue name length, queue count, message id length and rate window must be at least 1")
    }
}

extension CreditLimits {
    /// Throws the first relation between the credit path's limits and the queue's that does not hold.
    public func validate(against queue: QueueLimits) throws(LimitsError) {
        try check(workerBatchSize >= 1 && workerBatchSize <= queue.maxBatchCount,
                  "credit.workerBatchSize \(workerBatchSize) must be within 1…queue.maxBatchCount (\(queue.maxBatchCount))")
        try check(within(workerVisibility, queue.minVisibilityTimeout, queue.maxVisibilityTimeout),
                  "credit.workerVisibility must be within the queue's visibility timeout range")
        try check(workerPollWait >= .zero && workerPollWait <= queue.maxPollingWait,
                  "credit.workerPollWait must be within 0…queue.maxPollingWait")
        try check(within(maxReceiveCount, queue.minMaxReceiveCount, queue.maxMaxReceiveCount),
                  "credit.maxReceiveCount must be within queue.minMaxReceiveCount…queue.maxMaxReceiveCount")
        try check(retryBase > .zero && retryBase <= retryCap, "credit.retryBase must be positive and at most credit.retryCap")
        try check(retryCap <= queue.maxVisibilityTimeout,
                  "credit.retryCap must be at most queue.maxVisibilityTimeout (a retry waits by changing visibility)")
        try check(deadline > .zero && maxConcurrentCredits >= 1 && defaultWorkers >= 0,
                  "credit.deadline and maxConcurrentCredits must be positive, defaultWorkers not negative")
        // The credit queue and its dead-letter queue ("<name>-dlq") must both be valid queue names.
        try check(!queueName.isEmpty && queueName.count + 4 <= queue.maxQueueNameLength,
                  "credit.queueName must be 1…\(queue.maxQueueNameLength - 4) characters (its dead-letter queue adds \"-dlq\")")
    }
}

extension PacketLimits {
    /// Throws the first relation between the packet rules and the money limits that does not hold.
    public func validate(against money: MoneyLimits) throws(LimitsError) {
        try check(minShares >= 1 && minShares <= maxShares, "packets.minShares must be within 1…packets.maxShares")
        try check(minShare.minorUnits >= 1, "packets.minShare must be positive")
        try check(maxPersonalAmount.minorUnits >= minShare.minorUnits && maxGroupAmount.minorUnits >= minShare.minorUnits,
                  "packets.maxPersonalAmount and maxGroupAmount must be at least packets.minShare")
        try check(maxPersonalAmount <= money.maxSingleAmount && maxGroupAmount <= money.maxSingleAmount,
                  "packet amounts must be at most money.maxSingleAmount")
        try check(minTimeToLive > .zero && minTimeToLive <= defaultTimeToLive && defaultTimeToLive <= maxTimeToLive,
                  "packets.defaultTimeToLive must be within packets.minTimeToLive…packets.maxTimeToLive")
        try check(maxNameLength >= 1, "packets.maxNameLength must be at least 1")
        try check(settleSendsAfter > .zero, "packets.settleSendsAfter must be positive")
    }
}

/// Whether `low ≤ value ≤ high` (false, not a trap, when `low > high`).
private func within<T: Comparable>(_ value: T, _ low: T, _ high: T) -> Bool { low <= value && value <= high }

private func check(_ holds: Bool, _ reason: @autoclosure () -> String) throws(LimitsError) {
    guard holds else { throw LimitsError(reason()) }
}
