import Primitives

/// A message as the queue holds it.
public struct StoredMessage: Sendable, Equatable {
    /// The message id (caller-supplied or generated); unique within its queue.
    public var id: String
    /// The body, UTF-8 text.
    public var body: String
    /// When it was first sent (retention counts from here).
    public var sentAt: Timestamp
    /// Invisible until this instant (delay, or the visibility deadline of the current delivery).
    public var visibleAt: Timestamp
    /// How many times it has been delivered.
    public var receiveCount: Int
    /// For a message in a dead-letter queue: the queue it came from.
    public var origin: String?
    /// Arrival order in its queue (the sequence of the operation that put it there).
    public var order: Int64
    /// The sender's attributes, opaque to the queue (the SQS endpoint keeps message attributes here).
    public var attributes: String
    /// When it was first delivered (nil until then).
    public var firstReceivedAt: Timestamp?
    /// The random part of the current delivery's receipt ("" when never delivered, or moved since).
    public var receiptNonce: String
    /// When a consumer deleted it, for a message kept for rewinding (nil for a live message).
    public var consumedAt: Timestamp?
    /// Its message group, on a FIFO queue: a group delivers in order, one delivery in flight at a time.
    public var groupID: String?
    /// What makes a second send of it a duplicate on a FIFO queue, within `QueueAttributes.deduplicationWindow`.
    public var deduplicationID: String?

    public init(
        id: String, body: String, sentAt: Timestamp, visibleAt: Timestamp, receiveCount: Int,
        origin: String?, order: Int64, attributes: String = "", firstReceivedAt: Timestamp? = nil,
        receiptNonce: String = "", consumedAt: Timestamp? = nil, groupID: String? = nil, deduplicationID: String? = nil
    ) {
        self.groupID = groupID
        self.deduplicationID = deduplicationID
        self.receiptNonce = receiptNonce
        self.consumedAt = consumedAt
        self.id = id
        self.body = body
        self.sentAt = sentAt
        self.visibleAt = visibleAt
        self.receiveCount = receiveCount
        self.origin = origin
        self.order = order
        self.attributes = attributes
        self.firstReceivedAt = firstReceivedAt
    }
}

/// A message handed to a consumer by `receive`.
public struct ReceivedMessage: Sendable, Equatable {
    public var id: String
    public var body: String
    /// Pass this to `delete` or `changeVisibility`.
    public var receipt: ReceiptHandle
    /// 1 for the first delivery.
    public var receiveCount: Int
    public var sentAt: Timestamp
    /// Delivered again after this instant unless deleted.
    public var visibleAt: Timestamp
    /// The sender's attributes, as sent (empty when none).
    public var attributes: String = ""
    /// When the message was first delivered.
    public var firstReceivedAt: Timestamp
    /// Its place in arrival order (the sequence of the operation that put it in the queue).
    public var order: Int64 = 0
    /// Its message group, on a FIFO queue.
    public var groupID: String?
    /// Its deduplication id, on a FIFO queue.
    public var deduplicationID: String?
}

/// One message of a `sendBatch`.
public struct OutgoingMessage: Sendable, Equatable {
    public var body: String
    /// The idempotency key: sending an id that is already live returns it without a second copy.
    public var id: String?
    /// Overrides the queue's delivery delay.
    public var delay: Duration?
    /// Opaque attributes stored and returned with the message (counted in its size).
    public var attributes: String
    /// The message group (required on a FIFO queue, ignored on others).
    public var groupID: String?
    /// On a FIFO queue, a message whose deduplication id was sent within the last
    /// `QueueAttributes.deduplicationWindow` is a duplicate: it is not stored, and the earlier one is returned.
    public var deduplicationID: String?

    public init(
        body: String, id: String? = nil, delay: Duration? = nil, attributes: String = "", groupID: String? = nil,
        deduplicationID: String? = nil
    ) {
        self.groupID = groupID
        self.deduplicationID = deduplicationID
        self.body = body
        self.id = id
        self.delay = delay
        self.attributes = attributes
    }
}

/// The outcome of sending one message.
public struct SendResult: Sendable, Equatable {
    public var messageID: String
    /// True when the id was already live (or, on a FIFO queue, the deduplication id recently sent) and nothing
    /// new was stored.
    public var alreadyPresent: Bool
    /// The message's place in arrival order (SQS's SequenceNumber on a FIFO queue).
    public var order: Int64 = 0
}

/// How a message's group and deduplication id are stored with it: in front of its opaque attributes, in the
/// `send` operation and the replicas' attributes column, so that every copy (and every restart) has them.
/// A message without either is stored as its attributes alone, exactly as before FIFO queues.
enum FifoFields {
    static let mark: Character = "\u{1}"

    static func frame(attributes: String, groupID: String?, deduplicationID: String?) -> String {
        guard groupID != nil || deduplicationID != nil || attributes.first == mark else { return attributes }
        return "\(mark)\(groupID ?? "")\(mark)\(deduplicationID ?? "")\(mark)\(attributes)"
    }

    static func unframe(_ stored: String) -> (attributes: String, groupID: String?, deduplicationID: String?) {
        guard stored.first == mark else { return (stored, nil, nil) }
        let parts = stored.dropFirst().split(separator: mark, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return (stored, nil, nil) }
        return (String(parts[2]), parts[0].isEmpty ? nil : String(parts[0]), parts[1].isEmpty ? nil : String(parts[1]))
    }
}
