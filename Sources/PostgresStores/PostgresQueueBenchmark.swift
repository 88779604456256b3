import Crediting
import PostgresNIO
import Primitives
import Synchronization

/// Queue cycles on PostgreSQL (each client: send 16, receive 16, delete 16, three commits), through
/// `PostgresCreditQueue` and through the plain SKIP LOCKED loop written directly against a bare table, on the
/// same server, with the same clients and connections. The difference is the cost of the queue's semantics
/// (idempotent ids, receipts, receive counts, dead-lettering) over the bare loop.
public enum PostgresQueueBenchmark {
    public struct Result: Sendable {
        public let messages: Int
        public let seconds: Double
        public var messagesPerSecond: Double { seconds > 0 ? Double(messages) / seconds : 0 }
    }

    static let batch = 16

    /// The body of every message both loops send: a credit order's, as the engine's queue carries, so that the
    /// two differ in what the queue does with a message, not in what it carries.
    static let messageBody = CreditOrder(
        claim: ClaimID("2s568gxhky3f-07"), packet: PacketID("2s568gxhky3f"), recipient: AccountID(1_234),
        amount: Money(minorUnits: 1_000), openedAt: Timestamp(millisecondsSinceEpoch: 1_796_330_000_000)).messageBody

    /// Makes a scratch database on the server `settings` points at, runs `body` on it, and drops it.
    public static func withScratchDatabase<T: Sendable>(
        _ settings: PostgresSettings, _ body: (PostgresSettings) async throws -> T
    ) async throws -> T {
        let scratch = try await createScratchDatabase(on: settings)
        let result: Swift.Result<T, any Error>
        do {
            result = .success(try await body(scratch))
        } catch {
            result = .failure(error)
        }
        try? await dropScratchDatabase(scratch.database, on: settings)
        return try result.get()
    }

    /// Makes a database with a fresh name on the server `settings` points at; returns the settings for it.
    public static func createScratchDatabase(on settings: PostgresSettings) async throws -> PostgresSettings {
        var scratch = settings
        scratch.database = "hongbao_bench_\(UInt32.random(in: 0...UInt32.max))"
        try await administer("CREATE DATABASE \(scratch.database)", on: settings)
        return scratch
    }

    /// Drops the database `name` (its connections too) on the server `settings` points at (another database).
    public static func dropScratchDatabase(_ name: String, on settings: PostgresSettings) async throws {
        try await administer("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", on: settings)
    }

    private static func administer(_ sql: String, on settings: PostgresSettings) async throws {
        let admin = PostgresPool(settings: settings, maxConnections: 1)
        do {
            _ = try await admin.rows(PostgresQuery(unsafeSQL: sql))
        } catch {
            await admin.close()
            throw PostgresPool.classify(error)
        }
        await admin.close()
    }

    /// `clients` concurrent clients cycle through the project's queue for `duration`.
    public static func projectQueue(_ settings: PostgresSettings, clients: Int, duration: Duration) async throws -> Result {
        try await withPool(settings, connections: clients) { pool in
            try await projectQueue(pool, clients: clients, duration: duration)
        }
    }

    private static func projectQueue(_ pool: PostgresPool, clients: Int, duration: Duration) async throws -> Result {
        let queue = try await PostgresCreditQueue(pool: pool, name: "bench-\(UInt32.random(in: 0...UInt32.max))",
                                                  maxReceiveCount: 100)
        let body = messageBody
        let sequence = Atomic<Int>(0)
        return try await cycle(clients: clients, duration: duration) {
            let first = sequence.add(batch, ordering: .relaxed).oldValue
            try await queue.send((first..<first + batch).map { (id: "m\($0)", body: body) })
            let received = try await queue.receiveRaw(max: batch, wait: .zero, visibility: .seconds(60))
            return try await queue.delete(received.map(\.receipt))
        }
    }

    /// The same cycle as the plain loop: insert 16 rows, `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
    /// LOCKED LIMIT 16) RETURNING`, delete them by id.
    public static func plainLoop(_ settings: PostgresSettings, clients: Int, duration: Duration) async throws -> Result {
        try await withPool(settings, connections: clients) { pool in
            try await plainLoop(pool, clients: clients, duration: duration)
        }
    }

    private static func plainLoop(_ pool: PostgresPool, clients: Int, duration: Duration) async throws -> Result {
        let table = "bench_plain_\(UInt32.random(in: 0...UInt32.max))"
        _ = try await pool.rows(PostgresQuery(unsafeSQL: """
            CREATE TABLE \(table) (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL, visible_at BIGINT NOT NULL)
            """))
        let bodies = Array(repeating: messageBody, count: batch)
        let insert = "INSERT INTO \(table) (body, visible_at) SELECT b, 0 FROM unnest($1::TEXT[]) AS b"
        let receive = """
            UPDATE \(table) SET visible_at = $1 WHERE id IN (
                SELECT id FROM \(table) WHERE visible_at <= $2 ORDER BY id LIMIT \(batch) FOR UPDATE SKIP LOCKED)
            RETURNING id, body
            """
        let delete = "DELETE FROM \(table) WHERE id = ANY($1::BIGINT[])"
        return try await cycle(clients: clients, duration: duration) {
            var bindings = PostgresBindings()
            bindings.append(bodies)
            _ = try await pool.rows(PostgresQuery(unsafeSQL: insert, binds: bindings))
            let now = Int64(ContinuousClock.now.durationSinceStart)
            var receiveBindings = PostgresBindings()
            receiveBindings.append(now + 60_000)
            receiveBindings.append(now)
            let ids = try await pool.rows(PostgresQuery(unsafeSQL: receive, binds: receiveBindings))
                .map { try $0.decode((Int64, String).self).0 }
            var deleteBindings = PostgresBindings()
            deleteBindings.append(ids)
            _ = try await pool.rows(PostgresQuery(unsafeSQL: delete, binds: deleteBindings))
            return ids.count
        }
    }

    static func withPool<T: Sendable>(_ settings: PostgresSettings, connections: Int,
                                      _ body: (PostgresPool) async throws -> T) async throws -> T {
        let pool = PostgresPool(settings: settings, maxConnections: connections)
        do {
            let value = try await body(pool)
            await pool.close()
            return value
        } catch {
            await pool.close()
            throw PostgresPool.classify(error)
        }
    }

    /// Runs `clients` loops of `body` (which returns the messages it completed) until `duration` has passed.
    static func cycle(clients: Int, duration: Duration, _ body: @escaping @Sendable () async throws -> Int) async throws
        -> Result {
        let started = ContinuousClock.now
        let deadline = started + duration
        let messages = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < deadline { done += try await body() }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        return Result(messages: messages, seconds: (ContinuousClock.now - started).secondsDouble)
    }
}

extension ContinuousClock.Instant {
    /// Milliseconds since an arbitrary fixed start (for the plain loop's visibility column).
    var durationSinceStart: Int64 {
        let elapsed = self - ContinuousClock.Instant.benchStart
        return elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    static let benchStart = ContinuousClock.now
}

extension Duration {
    var secondsDouble: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
