import Primitives

/// Amazon SQS's documented limits, enforced by the endpoint before the queue sees a request.
public enum SQSLimits {
    /// Entries in one batch request.
    public static let maxBatchEntries = 10
    /// The largest message (body plus attributes) and the largest batch, in bytes: 1 MiB (SQS's limit
    /// since August 2025, and its default `MaximumMessageSize`).
    public static let maxMessageSize = 1_048_576
    /// The smallest `MaximumMessageSize` a queue may set.
    public static let minMessageSize = 1_024
    /// The longest `DelaySeconds`.
    public static let maxDelaySeconds = 900
    /// The longest `VisibilityTimeout`: 12 hours.
    public static let maxVisibilitySeconds = 43_200
    /// The longest long poll.
    public static let maxWaitSeconds = 20
    /// `MessageRetentionPeriod`'s range: 1 minute to 14 days.
    public static let minRetentionSeconds = 60
    public static let maxRetentionSeconds = 1_209_600
    /// Queue names: 1 to 80 characters.
    public static let maxQueueNameLength = 80
    /// Message attributes per message.
    public static let maxMessageAttributes = 10
    /// Tags per queue.
    public static let maxTags = 50

    /// How long a commit waits for more operations to share it (`QueueLimits.commitLinger`): SQS clients send
    /// one message per call, from many connections at once, and one replica commit per call was most of the CPU
    /// a call cost.
    public static let commitLinger = Duration.milliseconds(1)

    /// Queue limits that admit everything SQS admits (the endpoint narrows them to SQS's ranges itself), with
    /// commits that wait `commitLinger` for company unless `base` sets its own wait.
    public static func queueLimits(_ base: QueueLimits = QueueLimits()) -> QueueLimits {
        var limits = base
        if limits.commitLinger == .zero { limits.commitLinger = commitLinger }
        limits.minVisibilityTimeout = .zero
        limits.maxDelay = max(limits.maxDelay, .seconds(maxDelaySeconds))
        limits.maxMessageSizeBytes = max(limits.maxMessageSizeBytes, maxMessageSize)
        limits.maxQueueNameLength = max(limits.maxQueueNameLength, maxQueueNameLength)
        limits.maxRetention = max(limits.maxRetention, .seconds(maxRetentionSeconds))
        return limits
    }
}
