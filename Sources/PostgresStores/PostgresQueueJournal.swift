import MessageQueue
import PostgresNIO
import Primitives

/// The queues of `MessageQueueService` (what `hongbao serve` and the `queue` commands work on) kept in a
/// PostgreSQL database: each group commit is one call of `hb_mq_apply`, one transaction, acknowledged when the
/// server has it (on a cluster, on two servers). The queue's rules run in the process, as they do over the SQLite
/// replicas; the tables hold what they decided, and the state is read back from them at start and after a
/// failed commit.
///
/// A group is stored only after the sequence it was decided on, so a second process writing the same tables
/// cannot interleave with this one: its group, or this one's, is refused, and the refused process reads the
/// state back before it answers another verb.
public final class PostgresQueueJournal: QueueJournal {
    public let pool: PostgresPool
    /// This process's token in `mq_meta.writer`: after a lost connection it tells whether the group sent is in.
    let writer: Int64

    public var location: String { "PostgreSQL database \(pool.settings.database) on \(pool.settings.server)" }

    /// The journal in `pool`'s database, its tables made the first time (unless `create` is false: then a
    /// database without them is `PostgresStoreError.missing`).
    public init(pool: PostgresPool, create: Bool = true) async throws {
        self.pool = pool
        writer = Int64.random(in: 1...Int64.max)
        try await PostgresSchema.ensure("queues", tables: PostgresSchema.journalTables, steps: PostgresSchema.journalSteps,
                                        on: pool, create: create)
    }

    public func append(_ operations: [QueueOperation], after: Int64) async throws {
        guard let last = operations.last?.sequence else { return }
        let query: PostgresQuery = """
            SELECT hb_mq_apply(\(after), \(writer), \(operations.map(\.sequence)), \(operations.map { Int32($0.kind.rawValue) }),
            \(operations.map(\.queue)), \(operations.map(\.messageID)), \(operations.map(\.text)),
            \(operations.map(\.time.millisecondsSinceEpoch)), \(operations.map(\.visibleAt.millisecondsSinceEpoch)),
            \(operations.map { Int64($0.count) }), \(operations.map(\.extra)))
            """
        do {
            _ = try await pool.rows(query, profiledAs: "queues.append")
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "HB001" {
            throw QueueJournalMoved(expected: after)
        } catch where PostgresPool.isLostConnection(error) {
            // Sent, but no answer: the group may be in. Once any transaction still holding the row has ended,
            // the row says.
            let stored = try await pool.retrying {
                try await pool.rows("SELECT last_sequence, writer FROM mq_meta FOR UPDATE")
            }
            guard let row = stored.first, let (sequence, by) = try? row.decode((Int64, Int64).self) else {
                throw PostgresPool.classify(error)
            }
            if sequence == last && by == writer { return }
            if sequence != after { throw QueueJournalMoved(expected: after) }
            throw PostgresPool.classify(error)
        } catch {
            throw PostgresPool.classify(error)
        }
    }

    /// The advisory lock a serving process holds in the queue's database ("HBQS").
    static let servingLockKey: Int64 = 0x4842_5153

    /// Claims the queues for one serving process (`serve`, the dashboard's `--sqs`): a second one is refused,
    /// naming the holder, instead of taking turns with the first (two writers are kept apart by the sequence
    /// check, each switch a failed verb: safe, and slow for both). A session-level advisory lock on a connection
    /// of its own, released by `release()` or with the process. A failover leaves the lock with the old primary:
    /// there the sequence check is what keeps two writers apart. The operator's queue commands take no lock.
    public func holdServing() async throws -> ServingLock {
        let connection = try await pool.connectionOfItsOwn()
        do {
            var held = false
            for try await taken in try await connection.query(
                "SELECT pg_try_advisory_lock(\(Self.servingLockKey))", logger: pool.logger).decode(Bool.self) {
                held = taken
            }
            if held { return ServingLock(connection: connection) }
            var holder = "another process"
            for try await (pid, address, since) in try await connection.query("""
                SELECT a.pid, coalesce(host(a.client_addr), 'a local socket'), to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')
                FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = \(Self.servingLockKey)
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """, logger: pool.logger).decode((Int32, String, String).self) {
                holder = "another process (backend \(pid), from \(address), since \(since))"
            }
            throw PostgresStoreError.server("the queues in \(location) are served by \(holder): stop it, or send to its endpoint")
        } catch {
            try? await connection.close()
            throw PostgresPool.classify(error)
        }
    }

    /// Every queue, message and half message, read in one snapshot.
    public func load(limits: QueueLimits) async throws -> QueueState {
        try await pool.retrying {
            try await pool.transaction(limit: PostgresPool.longAnswerTimeout, profiledAs: "queues.load") { connection in
                let logger = self.pool.logger
                try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                var last: Int64 = 0
                for try await row in try await connection.query("SELECT last_sequence FROM mq_meta", logger: logger) {
                    last = try row.decode(Int64.self)
                }
                var builder = QueueStateBuilder(limits: limits, lastSequence: last)
                for try await row in try await connection.query(
                    "SELECT name, attributes, created_ms, check_backs FROM mq_queue", logger: logger) {
                    let (name, attributes, created, checkBacks) = try row.decode((String, String, Int64, Int64).self)
                    builder.addQueue(name: name, attributes: attributes, createdAt: Timestamp(millisecondsSinceEpoch: created),
                                     checkBacksMade: Int(checkBacks))
                }
                for try await row in try await connection.query("""
                    SELECT queue, id, body, sent_ms, visible_ms, receive_count, origin, ord, attrs, first_ms, receipt,
                    consumed_ms FROM mq_message ORDER BY ord
                    """, logger: logger) {
                    let (queue, id, body, sent, visible, receives, origin, order, attrs, first, receipt, consumed) = try row.decode(
                        (String, String, String, Int64, Int64, Int64, String?, Int64, String, Int64?, String, Int64?).self)
                    builder.addMessage(
                        queue: queue, id: id, body: body, sentAt: Timestamp(millisecondsSinceEpoch: sent),
                        visibleAt: Timestamp(millisecondsSinceEpoch: visible), receiveCount: Int(receives), origin: origin,
                        order: order, stored: attrs, firstReceivedAt: first.map { Timestamp(millisecondsSinceEpoch: $0) },
                        receiptNonce: receipt, consumedAt: consumed.map { Timestamp(millisecondsSinceEpoch: $0) })
                }
                for try await row in try await connection.query("""
                    SELECT queue, id, body, prepared_ms, check_ms, check_count, delay_ms, ord FROM mq_half_message
                    """, logger: logger) {
                    let (queue, id, body, prepared, check, checks, delay, order) = try row.decode(
                        (String, String, String, Int64, Int64, Int64, Int64?, Int64).self)
                    builder.addHalf(queue: queue, HalfMessage(
                        id: id, body: body, preparedAt: Timestamp(millisecondsSinceEpoch: prepared),
                        checkBackAt: Timestamp(millisecondsSinceEpoch: check), checkBacks: Int(checks),
                        delay: delay.map { .milliseconds($0) }, order: order))
                }
                return builder.finish()
            }
        }
    }
}

/// The claim of `PostgresQueueJournal.holdServing`, held until `release()` (or the process's end).
public final class ServingLock: Sendable {
    let connection: PostgresConnection

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    public func release() async {
        try? await connection.close()
    }
}

/// The queues kept on a server, opened for the one process that serves them (`serve`, the dashboard's `--sqs`):
/// the serving claim (`holdServing`) taken first, then the service on the journal; `close()` lets both go.
public struct ServedQueues: Sendable {
    public let service: MessageQueueService
    public let journal: PostgresQueueJournal
    private let serving: ServingLock

    /// The queues in `pool`'s database (made the first time), or the refusal when another process serves them.
    public static func open(pool: PostgresPool, limits: QueueLimits) async throws -> ServedQueues {
        let journal = try await PostgresQueueJournal(pool: pool)
        let serving = try await journal.holdServing()
        do {
            let service = try await MessageQueueService.open(journal: journal, limits: limits)
            return ServedQueues(service: service, journal: journal, serving: serving)
        } catch {
            await serving.release()
            throw error
        }
    }

    public func close() async {
        await service.close()
        await serving.release()
    }
}
