import Primitives

/// The verbs of the core. Each validates everything before it changes anything, then returns the
/// operations it performed (already applied) for the caller to replicate.
extension QueueState {
    mutating func createQueue(
        _ name: String, attributes: QueueAttributes, now: Timestamp
    ) throws(MessageQueueError) -> [QueueOperation] {
        try checkName(name)
        guard attributes.fifo == name.hasSuffix(QueueState.fifoSuffix) else { throw .fifoQueueName(name) }
        guard queues[name] == nil else { throw .duplicateQueue(name) }
        guard queues.count < limits.maxQueues else { throw .tooManyQueues(limit: limits.maxQueues) }
        try attributes.validate(limits)
        if let deadLetter = attributes.deadLetterQueue {
            guard deadLetter != name, queues[deadLetter] != nil else { throw .unknownQueue(deadLetter) }
        }
        return [perform(.init(kind: .createQueue, queue: name, text: attributes.encoded, time: now))]
    }

    /// Replaces a queue's attributes (validated as at creation; the dead-letter queue must exist).
    mutating func setAttributes(
        _ name: String, _ attributes: QueueAttributes
    ) throws(MessageQueueError) -> [QueueOperation] {
        let current = try record(name).attributes
        guard attributes.fifo == current.fifo else { throw .fifoQueueName(name) }
        try attributes.validate(limits)
        if let deadLetter = attributes.deadLetterQueue {
            guard deadLetter != name, queues[deadLetter] != nil else { throw .unknownQueue(deadLetter) }
        }
        return [perform(.init(kind: .setAttributes, queue: name, text: attributes.encoded))]
    }

    /// Removes every message of a queue (delivered or not).
    mutating func purgeQueue(_ name: String) throws(MessageQueueError) -> [QueueOperation] {
        _ = try record(name)
        return messages(in: name).map { perform(.init(kind: .purge, queue: name, messageID: $0.id)) }
    }

    mutating func deleteQueue(_ name: String) throws(MessageQueueError) -> [QueueOperation] {
        _ = try record(name)
        if let user = queues.values.first(where: { $0.attributes.deadLetterQueue == name }) {
            throw .queueInUse(name: name, by: user.name)
        }
        return [perform(.init(kind: .deleteQueue, queue: name))]
    }

    /// Sends messages; `newIDs` supplies an id for each message without one. An id already live in the
    /// queue (or dead-lettered from it, or held as a half message) is not stored again: its result says
    /// `alreadyPresent`.
    mutating func send(
        _ queue: String, _ messages: [OutgoingMessage], newIDs: [String], now: Timestamp
    ) throws(MessageQueueError) -> (operations: [QueueOperation], results: [SendResult]) {
        // Only the attributes are kept: holding the record would make every insert copy its messages.
        let attributes = try record(queue).attributes
        try checkOutgoing(messages, attributes: attributes)
        var operations: [QueueOperation] = []
        var results: [SendResult] = []
        for (index, message) in messages.enumerated() {
            let id = message.id ?? newIDs[index]
            if isLive(id, in: queue, attributes: attributes) || queues[queue]?.halves[id] != nil {
                results.append(SendResult(messageID: id, alreadyPresent: true, order: queues[queue]?.messages[id]?.order ?? 0))
                continue
            }
            if attributes.fifo, let key = message.deduplicationID,
               let earlier = queues[queue]?.duplicate(of: key, now: now) {
                results.append(SendResult(messageID: earlier.id, alreadyPresent: true, order: earlier.order))
                continue
            }
            let visibleAt = now + (message.delay ?? attributes.delay)
            operations += dropKept(id, in: queue)
            let operation = perform(.init(
                kind: .send, queue: queue, messageID: id, text: message.body, time: now, visibleAt: visibleAt,
                extra: FifoFields.frame(
                    attributes: message.attributes, groupID: message.groupID, deduplicationID: message.deduplicationID)))
            operations.append(operation)
            results.append(SendResult(messageID: id, alreadyPresent: false, order: operation.sequence))
        }
        return (operations, results)
    }

    /// Validates a batch of outgoing messages against the queue's attributes and the limits.
    func checkOutgoing(_ messages: [OutgoingMessage], attributes: QueueAttributes) throws(MessageQueueError) {
        try checkBatch(messages.count)
        for message in messages {
            guard !message.body.isEmpty else { throw .emptyMessage }
            let size = message.body.utf8.count + message.attributes.utf8.count
            guard size <= attributes.maxMessageSizeBytes else {
                throw .messageTooLarge(sizeBytes: size, limitBytes: attributes.maxMessageSizeBytes)
            }
            if let id = message.id {
                guard !id.isEmpty, id.utf8.count <= limits.maxMessageIDLength,
                      !id.unicodeScalars.contains(where: TerminalText.isUnsafe) else { throw .invalidMessageID(id) }
            }
            if let delay = message.delay { try QueueAttributes.checkDelay(delay, limits) }
            if attributes.fifo, message.groupID == nil { throw .missingMessageGroup }
            for tag in [message.groupID, message.deduplicationID].compactMap({ $0 }) {
                guard !tag.isEmpty, tag.utf8.count <= QueueState.maxFifoTagLength,
                      !tag.unicodeScalars.contains(where: TerminalText.isUnsafe) else { throw .invalidFifoTag(tag) }
            }
        }
    }

    /// The suffix that names a FIFO queue.
    static let fifoSuffix = ".fifo"
    /// The longest message group or deduplication id (SQS's 128 characters).
    static let maxFifoTagLength = 128

    /// Whether a message with this id is live in `queue` (or parked in its dead-letter queue).
    func isLive(_ id: String, in queue: String, attributes: QueueAttributes) -> Bool {
        if queues[queue]?.messages[id] != nil { return true }
        guard let deadLetter = attributes.deadLetterQueue,
              let parked = queues[deadLetter]?.messages[id] else { return false }
        return parked.origin == queue
    }

    /// Delivers up to `maxCount` visible messages. On the way it purges messages past retention and moves
    /// messages past the max receive count to the dead-letter queue.
    /// `newNonce` draws the random part of each delivery's receipt.
    mutating func receive(
        _ queue: String, maxCount: Int, visibilityTimeout: Duration?, now: Timestamp, newNonce: () -> String
    ) throws(MessageQueueError) -> (operations: [QueueOperation], messages: [ReceivedMessage]) {
        let attributes = try record(queue).attributes
        try checkBatch(maxCount)
        let timeout = visibilityTimeout ?? attributes.visibilityTimeout
        try QueueAttributes.checkVisibility(timeout, limits)
        if attributes.fifo {
            return receiveInGroups(queue, attributes: attributes, maxCount: maxCount, timeout: timeout, now: now, newNonce: newNonce)
        }
        var operations: [QueueOperation] = []
        var delivered: [ReceivedMessage] = []
        while delivered.count < maxCount, let top = queues[queue]?.validTop(), top.visibleAt <= now,
              let message = queues[queue]?.messages[top.messageID] {
            if message.sentAt + attributes.retention <= now {
                operations.append(perform(.init(kind: .purge, queue: queue, messageID: message.id)))
            } else if let deadLetter = attributes.deadLetterQueue,
                      message.receiveCount >= attributes.maxReceiveCount, queues[deadLetter] != nil {
                operations += dropKept(message.id, in: deadLetter)
                operations.append(perform(.init(
                    kind: .deadLetter, queue: queue, messageID: message.id, text: deadLetter,
                    time: now, visibleAt: now)))
            } else {
                let (operation, received) = lease(message, in: queue, timeout: timeout, now: now, newNonce: newNonce)
                operations.append(operation)
                delivered.append(received)
            }
        }
        return (operations, delivered)
    }

    /// Delivers `message` until `now + timeout`.
    private mutating func lease(
        _ message: StoredMessage, in queue: String, timeout: Duration, now: Timestamp, newNonce: () -> String
    ) -> (QueueOperation, ReceivedMessage) {
        let count = message.receiveCount + 1
        let visibleAt = now + timeout
        let nonce = newNonce()
        let operation = perform(.init(
            kind: .lease, queue: queue, messageID: message.id, text: nonce, time: now, visibleAt: visibleAt,
            count: count))
        let received = ReceivedMessage(
            id: message.id, body: message.body,
            receipt: ReceiptHandle(messageID: message.id, receiveCount: count, nonce: nonce),
            receiveCount: count, sentAt: message.sentAt, visibleAt: visibleAt,
            attributes: message.attributes,
            firstReceivedAt: count == 1 ? now : (message.firstReceivedAt ?? now),
            order: message.order, groupID: message.groupID, deduplicationID: message.deduplicationID)
        return (operation, received)
    }

    /// A FIFO queue's receive: messages in arrival order, group by group. A group whose oldest message is in
    /// flight (or not yet visible) delivers nothing, so that its messages are processed one delivery at a
    /// time and in order; from a group that is free, consecutive visible messages are delivered together.
    /// Expired messages are purged and over-delivered ones dead-lettered on the way, as in `receive`.
    private mutating func receiveInGroups(
        _ queue: String, attributes: QueueAttributes, maxCount: Int, timeout: Duration, now: Timestamp,
        newNonce: () -> String
    ) -> (operations: [QueueOperation], messages: [ReceivedMessage]) {
        var operations: [QueueOperation] = []
        var delivered: [ReceivedMessage] = []
        var blocked = Set<String>()
        for message in messages(in: queue) where delivered.count < maxCount {
            let group = message.groupID ?? message.id
            guard !blocked.contains(group) else { continue }
            if message.sentAt + attributes.retention <= now {
                operations.append(perform(.init(kind: .purge, queue: queue, messageID: message.id)))
            } else if message.visibleAt > now {
                blocked.insert(group)
            } else if let deadLetter = attributes.deadLetterQueue,
                      message.receiveCount >= attributes.maxReceiveCount, queues[deadLetter] != nil {
                operations += dropKept(message.id, in: deadLetter)
                operations.append(perform(.init(
                    kind: .deadLetter, queue: queue, messageID: message.id, text: deadLetter, time: now, visibleAt: now)))
            } else {
                let (operation, received) = lease(message, in: queue, timeout: timeout, now: now, newNonce: newNonce)
                operations.append(operation)
                delivered.append(received)
            }
        }
        return (operations, delivered)
    }

    /// The earliest instant a message of `queue` becomes visible (for long polls), or nil if it is empty.
    mutating func nextVisibleAt(_ queue: String) -> Timestamp? { queues[queue]?.validTop()?.visibleAt }

    /// Deletes received messages. Validates every receipt first: one bad receipt deletes nothing. A queue
    /// with a rewind window keeps them (invisible) for rewinding.
    mutating func delete(
        _ queue: String, receipts: [ReceiptHandle], now: Timestamp
    ) throws(MessageQueueError) -> [QueueOperation] {
        try checkBatch(receipts.count)
        for receipt in receipts { _ = try check(receipt, in: queue) }
        let keeps = (queues[queue]?.attributes.keepsConsumedFor ?? .zero) > .zero
        var operations: [QueueOperation] = []
        for receipt in Set(receipts) {
            operations.append(perform(keeps
                ? .init(kind: .delete, queue: queue, messageID: receipt.messageID, time: now, count: 1)
                : .init(kind: .delete, queue: queue, messageID: receipt.messageID)))
        }
        return operations
    }

    /// Rewinds a queue by `window`: every message sent in the last `window` that retention still holds and
    /// that was deleted (kept for rewinding) or is in flight becomes visible now, as if never received, so
    /// consumers read it again with a fresh receipt. Returns the operation and how many messages it rewound.
    mutating func rewind(
        _ queue: String, window: Duration, now: Timestamp
    ) throws(MessageQueueError) -> (operations: [QueueOperation], rewound: Int) {
        let attributes = try record(queue).attributes
        guard attributes.rewindWindow > .zero else { throw .rewindNotEnabled(queue) }
        guard window >= .seconds(1), window <= attributes.rewindWindow else {
            throw .invalidRewind(window, window: attributes.rewindWindow)
        }
        // Sent at or after the cutoff, and still within retention (sent after now − retention).
        let cutoff = max(now + (.zero - window), now + (.zero - attributes.retention) + .milliseconds(1))
        let before = queues[queue]?.totals.rewound ?? 0
        let operation = perform(.init(kind: .rewind, queue: queue, time: now, visibleAt: cutoff))
        return ([operation], (queues[queue]?.totals.rewound ?? 0) - before)
    }

    /// A purge of the deleted message `id` that `queue` keeps for rewinding, if it keeps one: a message
    /// arriving with its id replaces it (every replica's table holds one row per id).
    mutating func dropKept(_ id: String, in queue: String) -> [QueueOperation] {
        guard queues[queue]?.consumed[id] != nil else { return [] }
        return [perform(.init(kind: .purge, queue: queue, messageID: id))]
    }

    /// Sets when a received message becomes visible again (0 makes it visible now).
    mutating func changeVisibility(
        _ queue: String, receipt: ReceiptHandle, timeout: Duration, now: Timestamp
    ) throws(MessageQueueError) -> [QueueOperation] {
        _ = try check(receipt, in: queue)
        guard timeout >= .zero, timeout <= limits.maxVisibilityTimeout else { throw .invalidVisibilityTimeout(timeout) }
        return [perform(.init(
            kind: .changeVisibility, queue: queue, messageID: receipt.messageID, visibleAt: now + timeout))]
    }

    /// Moves every message of dead-letter queue `deadLetterQueue` back to the queue it came from.
    mutating func redrive(
        _ deadLetterQueue: String, to destination: String? = nil, now: Timestamp
    ) throws(MessageQueueError) -> [QueueOperation] {
        _ = try record(deadLetterQueue)
        if let destination {
            guard destination != deadLetterQueue, queues[destination] != nil else { throw .unknownQueue(destination) }
        }
        var operations: [QueueOperation] = []
        for message in messages(in: deadLetterQueue) {
            guard let origin = destination ?? message.origin, queues[origin] != nil else { continue }
            operations += dropKept(message.id, in: origin)
            operations.append(perform(.init(
                kind: .redrive, queue: deadLetterQueue, messageID: message.id, text: origin,
                time: now, visibleAt: now)))
        }
        return operations
    }

    /// Purges every message of every queue whose retention has passed, and every deleted message kept for
    /// rewinding past its queue's rewind window (or retention, if shorter).
    /// `keptOnly` leaves live messages alone.
    mutating func purgeExpired(now: Timestamp, keptOnly: Bool = false) -> [QueueOperation] {
        var operations: [QueueOperation] = []
        for name in queueNames {
            guard let attributes = queues[name]?.attributes else { continue }
            for message in messages(in: name) where !keptOnly && message.sentAt + attributes.retention <= now {
                operations.append(perform(.init(kind: .purge, queue: name, messageID: message.id)))
            }
            let kept = attributes.keepsConsumedFor
            for message in consumedMessages(in: name) where message.sentAt + kept <= now {
                operations.append(perform(.init(kind: .purge, queue: name, messageID: message.id)))
            }
        }
        return operations
    }

    private func check(_ receipt: ReceiptHandle, in queue: String) throws(MessageQueueError) -> StoredMessage {
        guard queues[queue] != nil else { throw .unknownQueue(queue) }
        guard let message = queues[queue]?.messages[receipt.messageID], message.receiveCount > 0 else {
            throw .unknownReceipt(receipt.description)
        }
        guard receipt.receiveCount <= message.receiveCount else { throw .unknownReceipt(receipt.description) }
        guard message.receiveCount == receipt.receiveCount else { throw .staleReceipt(receipt.description) }
        // The random part must be this delivery's: a receipt made up from a message id and a count is refused.
        guard !message.receiptNonce.isEmpty, message.receiptNonce == receipt.nonce else {
            throw .unknownReceipt(receipt.description)
        }
        return message
    }

    func checkBatch(_ count: Int) throws(MessageQueueError) {
        guard count >= 1, count <= limits.maxBatchCount else {
            throw .invalidBatchSize(count: count, limit: limits.maxBatchCount)
        }
    }

    /// A queue name: letters, digits, `-` and `_`, optionally ending in `.fifo` (a FIFO queue).
    private func checkName(_ name: String) throws(MessageQueueError) {
        let base = name.hasSuffix(QueueState.fifoSuffix) ? name.dropLast(QueueState.fifoSuffix.count) : Substring(name)
        let allowed = base.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" || $0 == "_"
        }
        guard !base.isEmpty, name.count <= limits.maxQueueNameLength, allowed else { throw .invalidQueueName(name) }
    }
}
