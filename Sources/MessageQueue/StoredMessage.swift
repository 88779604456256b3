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

    public init(
        id: String, body: String, sentAt: Timestamp, visibleAt: Timestamp, receiveCount: Int,
        origin: String?, order: Int64, attributes: String = "", firstReceivedAt: Timestamp? = nil,
        receiptNonce: String = "", consumedAt: Timestamp? = nil
    ) {
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

    public init(body: String, id: String? = nil, delay: Duration? = nil, attributes: String = "") {
        self.body = body
        self.id = id
        self.delay = delay
        self.attributes = attributes
    }
}

/// The outcome of sending one message.
public struct SendResult: Sendable, Equatable {
    public var messageID: String
    /// True when the id was already live and nothing new was stored.
    public var alreadyPresent: Bool
}
