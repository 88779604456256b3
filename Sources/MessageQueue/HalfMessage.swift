import Primitives

/// A transactional ("half") message: stored and replicated like any message, but invisible to receivers
/// until its producer commits it (it becomes an ordinary message) or rolls it back (it is gone). When
/// neither comes within the queue's `checkBackDelay`, the queue asks the producer's check-back handler,
/// backing off exponentially, at most `maxCheckBacks` times; after that it stays `exhausted` (still
/// invisible, counted, and still accepting a commit or rollback) until someone decides.
public struct HalfMessage: Sendable, Equatable {
    /// The message id (caller-supplied or generated): the id the message keeps once committed.
    public var id: String
    /// The body, UTF-8 text.
    public var body: String
    /// When the producer sent it.
    public var preparedAt: Timestamp
    /// When the next check-back is due (past the last one once exhausted).
    public var checkBackAt: Timestamp
    /// How many check-backs have been made.
    public var checkBacks: Int
    /// The delivery delay once committed; nil takes the queue's.
    public var delay: Duration?
    /// Arrival order (the sequence of the operation that stored it).
    public var order: Int64

    public init(
        id: String, body: String, preparedAt: Timestamp, checkBackAt: Timestamp, checkBacks: Int,
        delay: Duration?, order: Int64
    ) {
        self.id = id
        self.body = body
        self.preparedAt = preparedAt
        self.checkBackAt = checkBackAt
        self.checkBacks = checkBacks
        self.delay = delay
        self.order = order
    }
}

/// A producer's answer to a check-back: the state of its local transaction.
public enum CheckBackVerdict: Sendable, Equatable {
    /// The local transaction committed: deliver the message.
    case commit
    /// The local transaction did not happen (or needs no message): drop it.
    case rollback
    /// Not known yet: ask again later (counts toward the queue's `maxCheckBacks`).
    case unknown
}

/// Asked by the queue about a half message left undecided past its check-back time. Registered per queue
/// with `MessageQueueService.setCheckBackHandler(for:_:)`. It may also commit or roll back the message
/// itself; an answer about a message that is no longer undecided is ignored.
public typealias CheckBackHandler = @Sendable (_ queue: String, _ message: HalfMessage) async -> CheckBackVerdict
