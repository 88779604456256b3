import Primitives

/// One state change of the queue. Every operation gets a sequence number and is applied, in sequence
/// order, to the in-memory state and to every live replica. Applying is deterministic: the operation
/// carries every timestamp and count it needs.
public struct QueueOperation: Sendable, Equatable {
    /// What the operation does.
    public enum Kind: Int, Sendable, CaseIterable {
        /// Creates `queue` with `attributes` (encoded in `text`).
        case createQueue = 1
        /// Deletes `queue` and its messages.
        case deleteQueue = 2
        /// Adds message `messageID` with body `text`, sent at `time`, visible from `visibleAt`.
        case send = 3
        /// Delivers `messageID` for the `count`-th time; invisible until `visibleAt`; `text` is the random part
        /// of this delivery's receipt.
        case lease = 4
        /// Sets the visibility deadline of `messageID` to `visibleAt`.
        case changeVisibility = 5
        /// Removes `messageID` (a consumer deleted it). With `count` 1 the message is kept instead, consumed at
        /// `time`, for rewinding (its queue has a rewind window).
        case delete = 6
        /// Removes `messageID` (live or kept for rewinding) because its retention passed, or a purge.
        case purge = 7
        /// Moves `messageID` to the dead-letter queue `text`, remembering its origin.
        case deadLetter = 8
        /// Moves `messageID` from a dead-letter queue back to queue `text`, receive count reset.
        case redrive = 9
        /// Adds half message `messageID` with body `text`, prepared at `time`, first checked back at
        /// `visibleAt`; `count` is its delivery delay after commit in milliseconds (-1: the queue's).
        case sendHalf = 10
        /// Turns half message `messageID` into a message sent at `time`, visible from `visibleAt`.
        case commitHalf = 11
        /// Removes half message `messageID` (its producer rolled it back).
        case rollbackHalf = 12
        /// Records that half message `messageID` has been checked back `count` times; the next check-back
        /// is due at `visibleAt`.
        case checkBack = 13
        /// Replaces the attributes of `queue` with those encoded in `text`.
        case setAttributes = 14
        /// Rewinds `queue` at `time`: every message sent at or after `visibleAt` that was deleted (and kept) or is
        /// in flight becomes visible at `time` again, never received (receive count 0, no receipt).
        case rewind = 15
    }

    public var sequence: Int64
    public var kind: Kind
    public var queue: String
    public var messageID: String
    /// Body for `send`, encoded attributes for `createQueue`, destination queue for moves.
    public var text: String
    /// Sent time for `send`, creation time for `createQueue`, move time for moves.
    public var time: Timestamp
    /// The visibility deadline the message gets.
    public var visibleAt: Timestamp
    /// The receive count the message gets.
    public var count: Int
    /// For `send`: the message's attributes, opaque to the queue (empty when it has none).
    public var extra: String

    init(
        kind: Kind, queue: String, messageID: String = "", text: String = "",
        time: Timestamp = Timestamp(millisecondsSinceEpoch: 0),
        visibleAt: Timestamp = Timestamp(millisecondsSinceEpoch: 0), count: Int = 0, extra: String = ""
    ) {
        self.sequence = 0
        self.kind = kind
        self.queue = queue
        self.messageID = messageID
        self.text = text
        self.time = time
        self.visibleAt = visibleAt
        self.count = count
        self.extra = extra
    }
}
