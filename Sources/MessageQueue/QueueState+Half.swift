import Primitives

/// Transactional (half) messages in the pure core: the verbs (validate first, then perform) and how their
/// operations apply.
extension QueueState {
    /// Check-backs made in a queue since it was created (0 for an unknown queue).
    public func checkBacksMade(in queue: String) -> Int { queues[queue]?.checkBacksMade ?? 0 }

    /// Half messages of a queue in arrival order (for the operator, audits and tests).
    public func halfMessages(in queue: String) -> [HalfMessage] {
        (queues[queue]?.halves.values.sorted { $0.order < $1.order }) ?? []
    }

    /// Stores half messages; `newIDs` supplies an id for each message without one. An id that is already a
    /// half message, or already live in the queue, is not stored again: its result says `alreadyPresent`.
    mutating func sendHalf(
        _ queue: String, _ messages: [OutgoingMessage], newIDs: [String], now: Timestamp
    ) throws(MessageQueueError) -> (operations: [QueueOperation], results: [SendResult]) {
        let attributes = try record(queue).attributes
        try checkOutgoing(messages, attributes: attributes)
        var operations: [QueueOperation] = []
        var results: [SendResult] = []
        for (index, message) in messages.enumerated() {
            let id = message.id ?? newIDs[index]
            if queues[queue]?.halves[id] != nil || isLive(id, in: queue, attributes: attributes) {
                results.append(SendResult(messageID: id, alreadyPresent: true))
                continue
            }
            operations.append(perform(.init(
                kind: .sendHalf, queue: queue, messageID: id, text: message.body, time: now,
                visibleAt: now + attributes.checkBackDelay,
                count: message.delay.map { Int($0.wholeMilliseconds) } ?? -1)))
            results.append(SendResult(messageID: id, alreadyPresent: false))
        }
        return (operations, results)
    }

    /// Commits half messages: each becomes an ordinary message, visible after its delay. An id that is
    /// already live in the queue (committed before) is left as it is; any other id is `unknownHalfMessage`,
    /// and then nothing is committed.
    mutating func commitHalf(
        _ queue: String, ids: [String], now: Timestamp
    ) throws(MessageQueueError) -> [QueueOperation] {
        let attributes = try record(queue).attributes
        try checkBatch(ids.count)
        for id in ids where queues[queue]?.halves[id] == nil && !isLive(id, in: queue, attributes: attributes) {
            throw .unknownHalfMessage(queue: queue, id: id)
        }
        var operations: [QueueOperation] = []
        for id in ids {
            guard let half = queues[queue]?.halves[id] else { continue }
            operations += dropKept(id, in: queue)
            operations.append(perform(.init(
                kind: .commitHalf, queue: queue, messageID: id, time: now,
                visibleAt: now + (half.delay ?? attributes.delay))))
        }
        return operations
    }

    /// Rolls half messages back. An id that was committed is `halfMessageAlreadyCommitted`; an id that is
    /// not a half message is `unknownHalfMessage`; either way nothing is rolled back.
    mutating func rollbackHalf(_ queue: String, ids: [String]) throws(MessageQueueError) -> [QueueOperation] {
        let attributes = try record(queue).attributes
        try checkBatch(ids.count)
        for id in ids where queues[queue]?.halves[id] == nil {
            if isLive(id, in: queue, attributes: attributes) { throw .halfMessageAlreadyCommitted(queue: queue, id: id) }
            throw .unknownHalfMessage(queue: queue, id: id)
        }
        var operations: [QueueOperation] = []
        for id in ids where queues[queue]?.halves[id] != nil {
            operations.append(perform(.init(kind: .rollbackHalf, queue: queue, messageID: id)))
        }
        return operations
    }

    /// Undecided half messages whose check-back is due at `now`, oldest first (exhausted ones excluded).
    func dueHalfMessages(now: Timestamp) -> [(queue: String, message: HalfMessage)] {
        var due: [(queue: String, message: HalfMessage)] = []
        for name in queueNames {
            guard let record = queues[name] else { continue }
            for half in record.halves.values
            where half.checkBackAt <= now && half.checkBacks < record.attributes.maxCheckBacks {
                due.append((name, half))
            }
        }
        return due.sorted { $0.message.order < $1.message.order }
    }

    /// The earliest check-back due among the undecided half messages of `queues`, if any.
    func nextCheckBack(in names: some Sequence<String>) -> Timestamp? {
        var next: Timestamp?
        for name in names {
            guard let record = queues[name] else { continue }
            for half in record.halves.values where half.checkBacks < record.attributes.maxCheckBacks {
                if next.map({ half.checkBackAt < $0 }) ?? true { next = half.checkBackAt }
            }
        }
        return next
    }

    /// Records a check-back of `id` that found it after `seenCheckBacks` earlier ones, and performs the
    /// producer's verdict. Returns no operation when the message was decided (or checked) meanwhile.
    mutating func recordCheckBack(
        _ queue: String, id: String, seenCheckBacks: Int, verdict: CheckBackVerdict, now: Timestamp
    ) -> [QueueOperation] {
        guard let record = queues[queue], let half = record.halves[id], half.checkBacks == seenCheckBacks,
              half.checkBacks < record.attributes.maxCheckBacks else { return [] }
        let made = half.checkBacks + 1
        let exponent = min(made, 30)
        let delay = record.attributes.checkBackDelay
        let interval = min(delay * (1 << exponent), max(limits.maxCheckBackInterval, delay))
        var operations = [perform(.init(
            kind: .checkBack, queue: queue, messageID: id, visibleAt: now + interval, count: made))]
        switch verdict {
        case .commit:
            operations += dropKept(id, in: queue)
            operations.append(perform(.init(
                kind: .commitHalf, queue: queue, messageID: id, time: now,
                visibleAt: now + (half.delay ?? record.attributes.delay))))
        case .rollback:
            operations.append(perform(.init(kind: .rollbackHalf, queue: queue, messageID: id)))
        case .unknown:
            break
        }
        return operations
    }

    /// Applies a half-message operation (see `QueueOperation.Kind`); a no-op when its target is missing.
    mutating func applyHalf(_ operation: QueueOperation) {
        let queue = operation.queue, id = operation.messageID
        guard queues[queue] != nil else { return }
        switch operation.kind {
        case .sendHalf:
            guard queues[queue]?.halves[id] == nil else { return }
            queues[queue]?.halves[id] = HalfMessage(
                id: id, body: operation.text, preparedAt: operation.time, checkBackAt: operation.visibleAt,
                checkBacks: 0, delay: operation.count < 0 ? nil : .milliseconds(operation.count),
                order: operation.sequence)
            queues[queue]?.totals.halfSent += 1
        case .commitHalf:
            guard let half = queues[queue]?.halves.removeValue(forKey: id) else { return }
            queues[queue]?.totals.halfCommitted += 1
            guard queues[queue]?.messages[id] == nil else { return }
            queues[queue]?.insert(StoredMessage(
                id: id, body: half.body, sentAt: operation.time, visibleAt: operation.visibleAt, receiveCount: 0,
                origin: nil, order: operation.sequence))
        case .rollbackHalf:
            guard queues[queue]?.halves.removeValue(forKey: id) != nil else { return }
            queues[queue]?.totals.halfRolledBack += 1
        case .checkBack:
            guard queues[queue]?.halves[id] != nil else { return }
            queues[queue]?.halves[id]?.checkBacks = operation.count
            queues[queue]?.halves[id]?.checkBackAt = operation.visibleAt
            queues[queue]?.checkBacksMade += 1
            queues[queue]?.totals.checkBacks += 1
        default:
            return
        }
    }
}
