/// Figures for a queue kept elsewhere (the PostgreSQL credit queue), in the shape the dashboard reads.
extension QueueCounters {
    /// A queue known only by how many messages it holds (counted visible) and how many it dead-lettered.
    public static func counts(name: String, messages: Int, deadLettered: Int) -> QueueCounters {
        counts(name: name, visible: messages, inFlight: 0, delayed: 0, deadLettered: deadLettered, oldestAge: .zero)
    }

    /// A queue known by its messages in each state and the age of its oldest (zero when empty).
    public static func counts(name: String, visible: Int, inFlight: Int, delayed: Int, deadLettered: Int,
                              oldestAge: Duration) -> QueueCounters {
        QueueCounters(name: name, visible: visible, inFlight: inFlight, delayed: delayed, deadLettered: deadLettered,
                      halfPending: 0, halfExhausted: 0, checkBacks: 0, oldestAge: oldestAge, sentPerSecond: 0,
                      receivedPerSecond: 0, deletedPerSecond: 0, totals: QueueTotals())
    }
}

extension QueueSnapshot {
    /// Queues without replicas or sequence numbers of this queue's own.
    public init(queues: [QueueCounters]) {
        self.init(queues: queues, replicas: [], lastSequence: 0, acknowledgedSequence: 0)
    }
}
