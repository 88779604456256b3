import Primitives

/// One queue in memory: attributes, messages by id, and a heap ordering them by visibility.
struct QueueRecord: Sendable {
    var name: String
    var attributes: QueueAttributes
    var createdAt: Timestamp
    var messages: [String: StoredMessage] = [:]
    var heap = MessageHeap()
    /// Deleted messages kept for rewinding (only when the queue has a rewind window), by id: invisible to
    /// receivers, purged `keepsConsumedFor` after they were sent.
    var consumed: [String: StoredMessage] = [:]
    /// Half messages, invisible to receivers until committed.
    var halves: [String: HalfMessage] = [:]
    /// Check-backs made since the queue was created (durable, unlike `totals`).
    var checkBacksMade = 0
    /// Events since this process opened the queue (for rates and the dashboard).
    var totals = QueueTotals()
    /// On a FIFO queue: deduplication id to the id of the newest message (live or kept) sent with it. An entry
    /// counts only while that message is still held and was sent within the deduplication window, so it is
    /// what the messages themselves say (and what a restart rebuilds).
    var deduplication: [String: String] = [:]

    init(name: String, attributes: QueueAttributes, createdAt: Timestamp) {
        self.name = name
        self.attributes = attributes
        self.createdAt = createdAt
    }

    mutating func insert(_ message: StoredMessage) {
        messages[message.id] = message
        heap.push(.init(visibleAt: message.visibleAt, order: message.order, messageID: message.id))
        if attributes.fifo, let key = message.deduplicationID { remember(key, message) }
    }

    /// The message (live or kept) that makes a send with deduplication id `key` a duplicate at `now`, if any.
    func duplicate(of key: String, now: Timestamp) -> StoredMessage? {
        guard let id = deduplication[key], let message = messages[id] ?? consumed[id],
              message.deduplicationID == key, now < message.sentAt + QueueAttributes.deduplicationWindow
        else { return nil }
        return message
    }

    private mutating func remember(_ key: String, _ message: StoredMessage) {
        if let id = deduplication[key], let held = messages[id] ?? consumed[id], held.deduplicationID == key,
           held.order > message.order {
            return
        }
        deduplication[key] = message.id
        // Entries of messages gone or past the window are dropped now and then, so memory follows the messages.
        if deduplication.count > 64 + 2 * (messages.count + consumed.count) { rebuildDeduplication() }
    }

    /// Rebuilds the deduplication index from the messages held (after loading from a replica).
    mutating func rebuildDeduplication() {
        deduplication.removeAll()
        guard attributes.fifo else { return }
        for message in messages.values.sorted(by: { $0.order < $1.order }) + consumed.values.sorted(by: { $0.order < $1.order }) {
            guard let key = message.deduplicationID else { continue }
            if let id = deduplication[key], let held = messages[id] ?? consumed[id], held.order > message.order { continue }
            deduplication[key] = message.id
        }
    }

    mutating func setVisibleAt(
        _ id: String, _ visibleAt: Timestamp, receiveCount: Int? = nil, receivedAt: Timestamp? = nil
    ) {
        guard var message = messages[id] else { return }
        message.visibleAt = visibleAt
        if let receiveCount { message.receiveCount = receiveCount }
        // The first delivery (again after a redrive reset the count) records when it happened.
        if let receivedAt, receiveCount == 1 || message.firstReceivedAt == nil { message.firstReceivedAt = receivedAt }
        messages[id] = message
        heap.push(.init(visibleAt: visibleAt, order: message.order, messageID: id))
    }

    /// Makes every message sent at or after `cutoff` that was deleted (and kept) or is in flight visible at
    /// `now`, as if never received; returns how many. Messages not yet delivered are left as they are.
    @discardableResult
    mutating func rewind(sentSince cutoff: Timestamp, at now: Timestamp) -> Int {
        var rewound = 0
        let kept = consumed.values.filter { $0.sentAt >= cutoff }
        let inFlight = messages.values.filter { $0.sentAt >= cutoff && $0.receiveCount > 0 }
        for var message in kept + inFlight {
            consumed[message.id] = nil
            message.consumedAt = nil
            message.visibleAt = now
            message.receiveCount = 0
            message.receiptNonce = ""
            message.firstReceivedAt = nil
            insert(message)
            rewound += 1
        }
        totals.rewound += rewound
        return rewound
    }

    /// Drops heap entries that no longer describe their message; returns the first valid one.
    mutating func validTop() -> MessageHeap.Entry? {
        while let top = heap.top {
            if let message = messages[top.messageID], message.visibleAt == top.visibleAt,
               message.order == top.order {
                return top
            }
            heap.pop()
        }
        return nil
    }

    /// Rebuilds the heap when stale entries outnumber live ones (keeps memory bounded).
    mutating func compactIfNeeded() {
        guard heap.entries.count > 64, heap.entries.count > 4 * messages.count else { return }
        var fresh = MessageHeap()
        for message in messages.values {
            fresh.push(.init(visibleAt: message.visibleAt, order: message.order, messageID: message.id))
        }
        heap = fresh
    }
}

/// Cumulative event counts of one queue since the process opened it.
public struct QueueTotals: Sendable, Equatable, Codable {
    public var sent = 0
    public var received = 0
    public var deleted = 0
    public var redeliveries = 0
    public var deadLettered = 0
    public var redriven = 0
    public var purged = 0
    /// Half messages stored, committed (by the producer or a check-back), rolled back.
    public var halfSent = 0
    public var halfCommitted = 0
    public var halfRolledBack = 0
    /// Check-backs made (each call of the producer's handler whose answer was recorded).
    public var checkBacks = 0
    /// Messages made deliverable again by rewinds.
    public var rewound = 0
    public init() {}
}
