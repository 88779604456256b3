import Primitives

/// What the dashboard shows for one queue.
public struct QueueCounters: Sendable, Equatable, Codable {
    public var name: String
    /// Deliverable now.
    public var visible: Int
    /// Received and not yet deleted nor back to visible.
    public var inFlight: Int
    /// Sent with a delay that has not passed.
    public var delayed: Int
    /// Messages from this queue sitting in its dead-letter queue.
    public var deadLettered: Int
    /// Half messages waiting for their producer's commit or rollback (or the next check-back).
    public var halfPending: Int
    /// Half messages whose check-backs are used up: undecided until someone commits or rolls them back.
    public var halfExhausted: Int
    /// Check-backs made since the queue was created (durable).
    public var checkBacks: Int
    /// Age of the oldest message of the queue (zero when empty).
    public var oldestAge: Duration
    /// Averages over the last `QueueLimits.rateWindowSeconds`.
    public var sentPerSecond: Double
    public var receivedPerSecond: Double
    public var deletedPerSecond: Double
    /// Events since this process opened the queue.
    public var totals: QueueTotals

    /// Every message the queue holds (half messages are not messages yet: see `halfPending`).
    public var total: Int { visible + inFlight + delayed }
}

extension QueueState {
    /// Counts a queue's messages by state at `now` (rates are filled in by the service).
    public func counters(of queue: String, now: Timestamp) -> QueueCounters? {
        guard let record = queues[queue] else { return nil }
        var visible = 0, inFlight = 0, delayed = 0
        var oldest: Timestamp?
        for message in record.messages.values {
            if message.visibleAt <= now {
                visible += 1
            } else if message.receiveCount > 0 {
                inFlight += 1
            } else {
                delayed += 1
            }
            if oldest.map({ message.sentAt < $0 }) ?? true { oldest = message.sentAt }
        }
        var deadLettered = 0
        if let deadLetter = record.attributes.deadLetterQueue, let parked = queues[deadLetter] {
            deadLettered = parked.messages.values.reduce(0) { $0 + ($1.origin == queue ? 1 : 0) }
        }
        let exhausted = record.halves.values.reduce(0) {
            $0 + ($1.checkBacks >= record.attributes.maxCheckBacks ? 1 : 0)
        }
        return QueueCounters(
            name: queue, visible: visible, inFlight: inFlight, delayed: delayed, deadLettered: deadLettered,
            halfPending: record.halves.count - exhausted, halfExhausted: exhausted, checkBacks: record.checkBacksMade,
            oldestAge: oldest.map { max(.zero, now - $0) } ?? .zero,
            sentPerSecond: 0, receivedPerSecond: 0, deletedPerSecond: 0, totals: record.totals)
    }
}
