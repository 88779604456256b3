import Crediting
import PostgresNIO
import Primitives
import Synchronization

/// Proof of one delivery of a queued message: its id and the random token the receive gave it. A later
/// receive gives a new token, so a slow worker's old receipt can no longer delete or delay the message.
public struct PostgresReceipt: Sendable, Hashable {
    public let id: String
    public let token: Int64
}

/// What the PostgreSQL queue refuses.
public enum PostgresQueueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The message was received again since (or deleted): this receipt no longer proves the delivery.
    case staleReceipt(id: String)

    public var description: String {
        switch self {
        case let .staleReceipt(id): "the receipt for message \(id) is stale (received again or deleted since)"
        }
    }
}

/// The credit queue on PostgreSQL: one table of messages keyed by (queue, id), with SQS's semantics as the
/// SQLite queue has them for credits: at-least-once delivery, a visibility timeout per receive, a receive
/// count, and a dead-letter queue (`<name>-dlq`) after `maxReceiveCount` receives. Receives take rows with
/// `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on each other's rows, in batches, in one
/// statement; waiting for a message is a bounded poll, woken at once by a send made through this queue in the
/// same process (`arrivals`), and slower while the queue stays empty. Sending is idempotent by message id (the claim id)
/// while the message is live, so a send retried after an unclear commit is not doubled.
public final class PostgresCreditQueue: CreditQueue {
    public typealias Receipt = PostgresReceipt

    public let pool: PostgresPool
    public let name: String
    public let deadLetterName: String
    public let maxReceiveCount: Int
    let clock: any WallClock
    /// How often an empty receive looks again while it may wait, at first: each look that finds nothing
    /// doubles the pause, up to `maxPollInterval`. A send through this queue wakes the waiting receives at once;
    /// what the pause delays is what no send here announces: another process's sends, and messages that become
    /// visible again when their delay or visibility timeout ends.
    public let pollInterval: Duration
    public let maxPollInterval: Duration
    /// Sends committed through this queue, for the receives waiting in this process.
    private let arrivals = Arrivals()
    private let receiveStatements = Atomic<Int>(0)
    /// How many receive statements this queue has sent (each look at the queue is one).
    var receiveStatementCount: Int { receiveStatements.load(ordering: .relaxed) }
    /// The credit path's single sends, acknowledgements and retries, each kind gathered into shared statements
    /// while others are under way (the engine sends one message per failed credit, from many opens at once).
    private let sends: GroupedCalls<Message, Void>
    private let acknowledgements: GroupedCalls<PostgresReceipt, Bool>
    private let delays: GroupedCalls<Delay, Bool>
    /// Statements of each kind under way at once, at most.
    static let concurrentStatements = 4
    static let maxGrouped = 256

    /// A message to send: its id (the claim's) and body.
    struct Message: Sendable {
        let id: String
        let body: String
    }

    /// A received message to hide until `visibleAt` (epoch milliseconds).
    struct Delay: Sendable {
        let receipt: PostgresReceipt
        let visibleAt: Int64
    }

    /// Opens the queue `name` on `pool`'s database, creating the table the first time (unless `create` is
    /// false).
    public init(pool: PostgresPool, name: String, maxReceiveCount: Int, clock: any WallClock = SystemClock(),
                pollInterval: Duration = .milliseconds(20), maxPollInterval: Duration = .milliseconds(160),
                create: Bool = true) async throws {
        self.pool = pool
        self.name = name
        deadLetterName = name + "-dlq"
        self.maxReceiveCount = max(1, maxReceiveCount)
        self.clock = clock
        self.pollInterval = pollInterval
        self.maxPollInterval = max(pollInterval, maxPollInterval)
        let queueName = name
        let arrivals = arrivals
        sends = GroupedCalls(maxBatch: Self.maxGrouped, concurrentBatches: Self.concurrentStatements) { messages in
            try await PostgresCreditQueue.insert(messages, queue: queueName, now: clock.now(), on: pool)
            arrivals.notify()
            return messages.map { _ in () }
        }
        acknowledgements = GroupedCalls(maxBatch: Self.maxGrouped, concurrentBatches: Self.concurrentStatements) { receipts in
            let deleted = try await PostgresCreditQueue.delete(receipts, queue: queueName, on: pool)
            return receipts.map { deleted.contains($0) }
        }
        delays = GroupedCalls(maxBatch: Self.maxGrouped, concurrentBatches: Self.concurrentStatements) { delays in
            let moved = try await PostgresCreditQueue.delay(delays, queue: queueName, on: pool)
            return delays.map { moved.contains($0.receipt) }
        }
        try await PostgresSchema.ensure("queue", tables: PostgresSchema.queueTables, steps: PostgresSchema.queueSteps,
                                        on: pool, create: create)
    }

    // MARK: CreditQueue

    public func enqueue(_ order: CreditOrder) async throws {
        let start = ContinuousClock.now
        try await sends.submit(Message(id: order.claim.rawValue, body: order.messageBody))
        pool.profile.record("queue.send", since: start)
    }

    public func receive(max: Int, wait: Duration, visibility: Duration) async throws -> [CreditMessage<PostgresReceipt>] {
        try await receiveRaw(max: max, wait: wait, visibility: visibility).compactMap { message in
            guard let order = CreditOrder(messageBody: message.body) else { return nil }
            return CreditMessage(order: order, receipt: message.receipt, receiveCount: message.receiveCount)
        }
    }

    public func acknowledge(_ message: CreditMessage<PostgresReceipt>) async throws {
        let start = ContinuousClock.now
        let deleted = try await acknowledgements.submit(message.receipt)
        pool.profile.record("queue.delete", since: start)
        if !deleted { throw PostgresQueueError.staleReceipt(id: message.receipt.id) }
    }

    public func retry(_ message: CreditMessage<PostgresReceipt>, after delay: Duration) async throws {
        let visibleAt = (clock.now() + delay).millisecondsSinceEpoch
        let start = ContinuousClock.now
        defer { pool.profile.record("queue.retry", since: start) }
        let moved = try await delays.submit(Delay(receipt: message.receipt, visibleAt: visibleAt))
        if !moved { throw PostgresQueueError.staleReceipt(id: message.receipt.id) }
    }

    // MARK: Batches

    /// A message as received: its body, receipt and receive count.
    public struct Delivery: Sendable {
        public let body: String
        public let receipt: PostgresReceipt
        public let receiveCount: Int
    }

    /// Sends messages (id, body) in one statement; an id already live in the queue is left as it is.
    public func send(_ messages: [(id: String, body: String)]) async throws {
        try await PostgresCreditQueue.insert(messages.map { Message(id: $0.id, body: $0.body) }, queue: name,
                                             now: clock.now(), on: pool)
        arrivals.notify()
    }

    /// Wakes the receives waiting in this process (messages made visible now other than by a send: a redrive).
    func announceArrivals() {
        arrivals.notify()
    }

    /// The messages in one statement, retried after a lost connection (an id already live is left as it is, so
    /// a retry after an unclear commit sends nothing twice).
    static func insert(_ messages: [Message], queue: String, now: Timestamp, on pool: PostgresPool) async throws {
        guard !messages.isEmpty else { return }
        let send = Send(queue: queue, now: now.millisecondsSinceEpoch, ids: messages.map(\.id),
                        bodies: messages.map(\.body))
        try await pool.retrying {
            do {
                _ = try await pool.run(send)
            } catch where PostgresPool.isUniqueViolation(error) {
                _ = try await pool.run(SendSkippingLive(send: send))
            }
        }
    }

    /// Hides each message until its `visibleAt`, if its receipt is still current; returns the receipts that were.
    static func delay(_ delays: [Delay], queue: String, on pool: PostgresPool) async throws -> Set<PostgresReceipt> {
        let ids = delays.map(\.receipt.id)
        let tokens = delays.map(\.receipt.token)
        let times = delays.map(\.visibleAt)
        return Set(try await pool.retrying {
            try await pool.rows("""
                UPDATE queue_message m SET visible_at = d.at, hidden_until = 0
                FROM (SELECT DISTINCT ON (id, token) id, token, at
                      FROM unnest(\(ids)::TEXT[], \(tokens)::BIGINT[], \(times)::BIGINT[]) AS d(id, token, at)
                      ORDER BY id, token) d
                WHERE m.queue = \(queue) AND m.id = d.id AND m.receipt = d.token
                RETURNING m.id, m.receipt
                """).map { row in
                let (id, token) = try row.decode((String, Int64).self)
                return PostgresReceipt(id: id, token: token)
            }
        })
    }

    /// Takes up to `max` visible messages, hiding each for `visibility`; messages received `maxReceiveCount`
    /// times already go to the dead-letter queue instead. Looks until one comes or `wait` has passed: again at
    /// once after a send through this queue, else after a pause that doubles while the queue stays empty.
    public func receiveRaw(max: Int, wait: Duration, visibility: Duration) async throws -> [Delivery] {
        let deadline = ContinuousClock.now + wait
        var pause = pollInterval
        while true {
            let seen = arrivals.generation
            receiveStatements.add(1, ordering: .relaxed)
            let now = clock.now()
            let hiddenUntil = (now + visibility).millisecondsSinceEpoch
            let limit = Int64(Swift.max(1, max))
            let start = ContinuousClock.now
            let receive = Receive(queue: name, now: now.millisecondsSinceEpoch, limit: limit,
                                  maxReceiveCount: Int64(maxReceiveCount), deadLetter: deadLetterName,
                                  hiddenUntil: hiddenUntil)
            let rows = try await pool.retrying { try await pool.run(receive) }
            pool.profile.record(rows.isEmpty ? "queue.receive.empty" : "queue.receive", since: start, items: rows.count)
            var deliveries: [Delivery] = []
            deliveries.reserveCapacity(rows.count)
            for (id, body, count, token) in rows {
                deliveries.append(Delivery(body: body, receipt: PostgresReceipt(id: id, token: token),
                                           receiveCount: Int(count)))
            }
            let left = deadline - ContinuousClock.now
            if !deliveries.isEmpty || left <= .zero || Task.isCancelled { return deliveries }
            if await !arrivals.wait(after: seen, timeout: min(pause, left)) { pause = min(pause * 2, maxPollInterval) }
            try Task.checkCancellation()
        }
    }

    /// Deletes the delivered messages whose receipts are still current; returns how many.
    @discardableResult
    public func delete(_ receipts: [PostgresReceipt]) async throws -> Int {
        try await PostgresCreditQueue.delete(receipts, queue: name, on: pool).count
    }

    /// Deletes the messages whose receipts are still current, in one statement; returns those receipts.
    static func delete(_ receipts: [PostgresReceipt], queue name: String, on pool: PostgresPool) async throws
        -> Set<PostgresReceipt> {
        guard !receipts.isEmpty else { return [] }
        // Sent as text, planned for its arrays on every call: prepared, a generic plan made before the table had
        // statistics (a fresh database) found the rows through the (queue, visible_at) index, every row of the
        // queue, where a custom plan takes the primary key (bench pgqueue, one server: 13,000 messages/s against
        // 21,700 with custom plans).
        let delete = Delete(queue: name, ids: receipts.map(\.id), tokens: receipts.map(\.token))
        let query = PostgresQuery(unsafeSQL: Delete.sql, binds: try delete.makeBindings())
        let rows = try await pool.retrying { try await pool.rows(query) }
        return Set(try rows.map { try delete.decodeRow($0) }.map { PostgresReceipt(id: $0.0, token: $0.1) })
    }

    /// Messages in the queue and in its dead-letter queue.
    public func depth() async throws -> (live: Int, deadLettered: Int) {
        let counters = try await counters()
        return (counters.visible + counters.inFlight + counters.delayed, counters.deadLettered)
    }

    /// The queue's messages by state at `now`, as the SQLite queue counts its own (`QueueCounters`): visible
    /// (deliverable now); in flight (received, hidden by a worker or moved by its retry's backoff, not yet
    /// deleted); delayed (not yet received, not yet visible); the dead-letter queue's count; and when the oldest
    /// live message was sent (nil when there is none). One scan of the queue's rows.
    public struct Counters: Sendable, Equatable {
        public var visible: Int
        public var inFlight: Int
        public var delayed: Int
        public var deadLettered: Int
        public var oldestSentAt: Timestamp?
    }

    public func counters() async throws -> Counters {
        let now = clock.now().millisecondsSinceEpoch
        let rows = try await pool.retrying {
            try await pool.rows("""
                SELECT COUNT(*) FILTER (WHERE queue = \(name) AND visible_at <= \(now) AND hidden_until <= \(now)),
                       COUNT(*) FILTER (WHERE queue = \(name) AND (hidden_until > \(now)
                                        OR (visible_at > \(now) AND receive_count > 0))),
                       COUNT(*) FILTER (WHERE queue = \(name) AND visible_at > \(now) AND hidden_until <= \(now)
                                        AND receive_count = 0),
                       COUNT(*) FILTER (WHERE queue = \(deadLetterName)),
                       MIN(sent_at) FILTER (WHERE queue = \(name))
                FROM queue_message WHERE queue IN (\(name), \(deadLetterName))
                """)
        }
        let (visible, inFlight, delayed, dead, oldest) = try rows[0].decode((Int64, Int64, Int64, Int64, Int64?).self)
        return Counters(visible: Int(visible), inFlight: Int(inFlight), delayed: Int(delayed), deadLettered: Int(dead),
                        oldestSentAt: oldest.map { Timestamp(millisecondsSinceEpoch: $0) })
    }

    /// Up to `limit` messages of `queue` (this queue's name or its dead-letter queue's), in the order a receive
    /// takes them, read without receiving: id, body, how many times received.
    public func peek(_ queue: String, limit: Int) async throws -> [(id: String, body: String, receiveCount: Int)] {
        try await pool.retrying {
            try await pool.rows("""
                SELECT id, body, receive_count FROM queue_message WHERE queue = \(queue)
                ORDER BY visible_at, id LIMIT \(Int64(max(0, limit)))
                """).map { row in
                let (id, body, count) = try row.decode((String, String, Int64).self)
                return (id, body, Int(count))
            }
        }
    }

    /// The ids of every message in the queue or its dead-letter queue (the audit's "live message" check).
    public func liveIDs() async throws -> Set<String> {
        Set(try await pool.retrying {
            try await pool.rows("SELECT id FROM queue_message WHERE queue IN (\(name), \(deadLetterName))")
                .map { try $0.decode(String.self) }
        })
    }

    /// The ids of the messages in the dead-letter queue.
    public func deadLetterIDs() async throws -> [String] {
        try await pool.retrying {
            try await pool.rows("SELECT id FROM queue_message WHERE queue = \(deadLetterName) ORDER BY id")
                .map { try $0.decode(String.self) }
        }
    }
}

/// The sends a queue has committed, counted, and the receives waiting for the next one.
private final class Arrivals: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waits that ended before their continuation was parked: it resumes at once when it comes.
        var ended: Set<Int> = []
    }

    private let state = Mutex(State())

    /// How many sends so far (a receive notes it before it looks, and waits for a later one).
    var generation: UInt64 { state.withLock { $0.generation } }

    func notify() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns true as soon as a send comes after `seen` (at once if one has), false after `timeout` or on
    /// cancellation.
    func wait(after seen: UInt64, timeout: Duration) async -> Bool {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let notified = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            group.addTask {
                await withCheckedContinuation { continuation in
                    let now = self.state.withLock { state -> Bool in
                        if state.generation != seen || state.ended.remove(id) != nil { return true }
                        state.waiters[id] = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
                return true
            }
            let first = await group.next() ?? false
            group.cancelAll()
            let parked = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let parked = state.waiters.removeValue(forKey: id) { return parked }
                state.ended.insert(id)
                return nil
            }
            parked?.resume()
            return first
        }
        state.withLock { _ = $0.ended.remove(id) }
        return notified && state.withLock { $0.generation } != seen
    }
}
