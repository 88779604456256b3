import Primitives

/// Where a queue keeps its state when it has no replicas of its own: one durable store that makes its own
/// copies (PostgreSQL with synchronous standbys, every commit on two servers). The queue's rules stay in
/// `QueueState`, as on the replicas; the journal stores what they decided, each group commit in one
/// transaction, and gives the state back when the queue opens and after a failed commit.
public protocol QueueJournal: Sendable {
    /// Where it is, for messages ("PostgreSQL database hongbao_queue on 127.0.0.1:5432").
    var location: String { get }

    /// The state as stored (`QueueStateBuilder` makes it from the stored rows).
    func load(limits: QueueLimits) async throws -> QueueState

    /// Stores `operations` (consecutive sequence numbers, the first `after + 1`) in one transaction, only
    /// while the stored state's last sequence is `after`. Otherwise nothing is stored and it throws
    /// `QueueJournalMoved`: another process wrote the journal since this one loaded it. A commit whose
    /// outcome is unclear (the connection lost after COMMIT was sent) is looked up before it throws.
    func append(_ operations: [QueueOperation], after: Int64) async throws
}

/// The journal's last sequence was not the one this process expected: another writer moved it.
public struct QueueJournalMoved: Error, CustomStringConvertible {
    public let expected: Int64
    public init(expected: Int64) { self.expected = expected }
    public var description: String {
        "another process wrote the queue since this one read it (its last operation is no longer \(expected))"
    }
}

/// Builds a `QueueState` from stored rows, one at a time (a large queue is read as a stream): the replicas'
/// SQLite tables and a journal's are read the same way.
public struct QueueStateBuilder {
    private var state: QueueState
    private var records: [String: QueueRecord] = [:]

    public init(limits: QueueLimits, lastSequence: Int64) {
        state = QueueState(limits: limits)
        state.setLastSequence(lastSequence)
    }

    /// A queue row; one whose attributes do not decode (written by a later version) is left out, with its
    /// messages.
    public mutating func addQueue(name: String, attributes encoded: String, createdAt: Timestamp, checkBacksMade: Int) {
        guard let attributes = QueueAttributes(encoded: encoded, limits: state.limits) else { return }
        var record = QueueRecord(name: name, attributes: attributes, createdAt: createdAt)
        record.checkBacksMade = checkBacksMade
        records[name] = record
    }

    /// A message row, live or (`consumedAt` set) kept for rewinding. `stored` is its attributes column, the
    /// message group and deduplication id framed in front (as the `send` operation carries them).
    public mutating func addMessage(
        queue: String, id: String, body: String, sentAt: Timestamp, visibleAt: Timestamp, receiveCount: Int,
        origin: String?, order: Int64, stored attributes: String, firstReceivedAt: Timestamp?, receiptNonce: String,
        consumedAt: Timestamp?
    ) {
        let fields = FifoFields.unframe(attributes)
        let message = StoredMessage(
            id: id, body: body, sentAt: sentAt, visibleAt: visibleAt, receiveCount: receiveCount, origin: origin,
            order: order, attributes: fields.attributes, firstReceivedAt: firstReceivedAt, receiptNonce: receiptNonce,
            consumedAt: consumedAt, groupID: fields.groupID, deduplicationID: fields.deduplicationID)
        if consumedAt == nil {
            records[queue]?.insert(message)
        } else {
            records[queue]?.consumed[message.id] = message
        }
    }

    /// A half message row.
    public mutating func addHalf(queue: String, _ half: HalfMessage) {
        records[queue]?.halves[half.id] = half
    }

    public consuming func finish() -> QueueState {
        for record in records.values { state.load(record) }
        return state
    }
}
