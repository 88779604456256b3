import Primitives

/// A queue's settings. `nil` fields take the defaults of `QueueLimits` when the queue is created.
public struct QueueAttributes: Sendable, Equatable, Codable {
    /// How long a received message stays invisible.
    public var visibilityTimeout: Duration
    /// How long a new message waits before its first delivery.
    public var delay: Duration
    /// How long a message is kept before it is purged.
    public var retention: Duration
    /// The largest body this queue accepts, in UTF-8 bytes.
    public var maxMessageSizeBytes: Int
    /// Deliveries after which a message moves to `deadLetterQueue` (when one is set).
    public var maxReceiveCount: Int
    /// Where messages go after `maxReceiveCount` deliveries; nil keeps redelivering them.
    public var deadLetterQueue: String?
    /// How long a half message waits for its producer's decision before the first check-back.
    public var checkBackDelay: Duration
    /// Check-backs after which an undecided half message is left `exhausted`.
    public var maxCheckBacks: Int
    /// How long a receive that names no wait of its own long-polls (zero: it returns at once).
    public var receiveWaitTime: Duration
    /// Which queues may use this one as their dead-letter queue (SQS's RedriveAllowPolicy JSON, kept verbatim).
    public var redriveAllowPolicy: String?
    /// The queue's tags (cost allocation tags in SQS), key to value.
    public var tags: [String: String]
    /// Other named settings a client gave the queue, kept and returned verbatim (an SQS policy, say).
    public var properties: [String: String]
    /// How far back `rewind` may reach (CMQ's rewind). Zero, the default, turns rewinding off: a deleted
    /// message is removed at once. Above zero, a deleted message is kept (on every replica, invisible) until
    /// this long, or the retention period if shorter, after it was sent, so that a rewind can deliver it again.
    public var rewindWindow: Duration
    /// A FIFO queue (its name ends in `.fifo`): every message has a group; a group delivers in arrival order
    /// and not while one of its messages is in flight; a deduplication id sent within `deduplicationWindow`
    /// is stored once. Deleted messages are kept (invisible) for that window, so that duplicates are still
    /// recognised after a restart. Fixed when the queue is created.
    public var fifo: Bool

    /// How long a FIFO queue remembers a deduplication id (SQS's five minutes).
    public static let deduplicationWindow: Duration = .seconds(300)

    /// The defaults of `limits`, with any given field overridden.
    public init(
        limits: QueueLimits = QueueLimits(),
        visibilityTimeout: Duration? = nil,
        delay: Duration? = nil,
        retention: Duration? = nil,
        maxMessageSizeBytes: Int? = nil,
        maxReceiveCount: Int? = nil,
        deadLetterQueue: String? = nil,
        checkBackDelay: Duration? = nil,
        maxCheckBacks: Int? = nil,
        receiveWaitTime: Duration = .zero,
        redriveAllowPolicy: String? = nil,
        tags: [String: String] = [:],
        properties: [String: String] = [:],
        rewindWindow: Duration = .zero,
        fifo: Bool = false
    ) {
        self.fifo = fifo
        self.visibilityTimeout = visibilityTimeout ?? limits.defaultVisibilityTimeout
        self.delay = delay ?? limits.defaultDelay
        self.retention = retention ?? limits.defaultRetention
        self.maxMessageSizeBytes = maxMessageSizeBytes ?? limits.maxMessageSizeBytes
        self.maxReceiveCount = maxReceiveCount ?? limits.defaultMaxReceiveCount
        self.deadLetterQueue = deadLetterQueue
        self.checkBackDelay = checkBackDelay ?? limits.defaultCheckBackDelay
        self.maxCheckBacks = maxCheckBacks ?? limits.defaultMaxCheckBacks
        self.receiveWaitTime = receiveWaitTime
        self.redriveAllowPolicy = redriveAllowPolicy
        self.tags = tags
        self.properties = properties
        self.rewindWindow = rewindWindow
    }

    /// Throws the first attribute outside its range in `limits`.
    func validate(_ limits: QueueLimits) throws(MessageQueueError) {
        try QueueAttributes.checkVisibility(visibilityTimeout, limits)
        try QueueAttributes.checkDelay(delay, limits)
        guard retention >= limits.minRetention, retention <= limits.maxRetention else {
            throw .invalidRetention(retention)
        }
        guard maxMessageSizeBytes >= limits.minMessageSizeLimitBytes,
              maxMessageSizeBytes <= limits.maxMessageSizeBytes
        else { throw .invalidMessageSizeLimit(maxMessageSizeBytes) }
        guard maxReceiveCount >= limits.minMaxReceiveCount, maxReceiveCount <= limits.maxMaxReceiveCount else {
            throw .invalidMaxReceiveCount(maxReceiveCount)
        }
        guard checkBackDelay >= limits.minCheckBackDelay, checkBackDelay <= limits.maxCheckBackDelay else {
            throw .invalidCheckBackDelay(checkBackDelay)
        }
        guard maxCheckBacks >= limits.minMaxCheckBacks, maxCheckBacks <= limits.maxMaxCheckBacks else {
            throw .invalidMaxCheckBacks(maxCheckBacks)
        }
        guard receiveWaitTime >= .zero, receiveWaitTime <= limits.maxPollingWait else {
            throw .invalidPollingWait(receiveWaitTime)
        }
        guard rewindWindow >= .zero, rewindWindow <= limits.maxRetention else {
            throw .invalidRewindWindow(rewindWindow, limit: limits.maxRetention)
        }
    }

    /// How long after it was sent a deleted message stays kept for rewinding (zero: not kept).
    var keepsConsumedFor: Duration {
        min(max(rewindWindow, fifo ? QueueAttributes.deduplicationWindow : .zero), retention)
    }

    static func checkVisibility(_ timeout: Duration, _ limits: QueueLimits) throws(MessageQueueError) {
        guard timeout >= limits.minVisibilityTimeout, timeout <= limits.maxVisibilityTimeout else {
            throw .invalidVisibilityTimeout(timeout)
        }
    }

    static func checkDelay(_ delay: Duration, _ limits: QueueLimits) throws(MessageQueueError) {
        guard delay >= .zero, delay <= limits.maxDelay else { throw .invalidDelay(delay) }
    }
}
