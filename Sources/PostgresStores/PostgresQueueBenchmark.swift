import Crediting
import Foundation
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

    /// Makes a scratch database on the server `settings` points at, runs `body` on it, and drops it. With
    /// `commitsWaitForStandbys` false, the database's sessions commit with `synchronous_commit = local`: the
    /// standbys still receive and replay every commit, but no commit waits for one to confirm it. Only that
    /// database is set so; the cluster's settings are left as they are.
    public static func withScratchDatabase<T: Sendable>(
        _ settings: PostgresSettings, commitsWaitForStandbys: Bool = true, _ body: (PostgresSettings) async throws -> T
    ) async throws -> T {
        let scratch = try await createScratchDatabase(on: settings)
        let result: Swift.Result<T, any Error>
        do {
            if !commitsWaitForStandbys {
                try await administer("ALTER DATABASE \(scratch.database) SET synchronous_commit = local", on: settings)
            }
            result = .success(try await body(scratch))
        } catch {
            result = .failure(error)
        }
        try? await dropScratchDatabase(scratch.database, on: settings)
        return try result.get()
    }

    /// Makes a database with a fresh name on the server `settings` points at; returns the settings for it. The
    /// name says which machine and process made it (`ScratchName`), so that the scratch databases of benches
    /// killed before their tear-down (`kill -9`, Ctrl-C) are dropped here first, by the next bench on the same
    /// machine.
    public static func createScratchDatabase(on named: PostgresSettings) async throws -> PostgresSettings {
        let settings = try await PostgresPool.writableServer(of: named)
        try await dropAbandonedScratchDatabases(on: settings)
        var scratch = settings
        scratch.database = ScratchName(host: ScratchName.thisHost, process: getpid(),
                                       nonce: UInt32.random(in: 0...UInt32.max)).database
        try await administer("CREATE DATABASE \(scratch.database)", on: settings)
        return scratch
    }

    /// Drops the scratch databases on the server that a bench on this machine made and whose process has
    /// ended. Another machine's, and those of benches still running, are left.
    private static func dropAbandonedScratchDatabases(on settings: PostgresSettings) async throws {
        let names = try await administer(
            "SELECT datname FROM pg_database WHERE datname LIKE '\(ScratchName.prefix)%' ORDER BY datname", on: settings
        ).map { try $0.decode(String.self) }
        let abandoned = Set(names.compactMap(ScratchName.init(database:)).filter { scratch in
            scratch.host == ScratchName.thisHost && kill(scratch.process, 0) == -1 && errno == ESRCH
        }.map(\.database))
        for name in abandoned.sorted() { try await dropScratchDatabase(name, on: settings) }
    }

    /// A scratch database's name: `hongbao_bench_<host>_<pid>_<nonce>`, the host as 8 hex digits of a hash
    /// of the machine's name.
    struct ScratchName: Equatable {
        static let prefix = "hongbao_bench_"
        let host: String
        let process: pid_t
        let nonce: UInt32

        /// This machine's tag: FNV-1a of its host name (the same in every process on it).
        static let thisHost: String = {
            var buffer = [CChar](repeating: 0, count: 256)
            gethostname(&buffer, buffer.count - 1)
            let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            var hash: UInt32 = 2_166_136_261
            for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            return String(hash, radix: 16).leftPadded(to: 8, with: "0")
        }()

        var database: String { "\(ScratchName.prefix)\(host)_\(process)_\(nonce)" }
    }

    /// Drops the database `name` (its connections too) on the server `settings` points at (another database),
    /// and the ledger's and the queue's databases an engine made beside it.
    public static func dropScratchDatabase(_ name: String, on settings: PostgresSettings) async throws {
        for database in [name] + PostgresDatabases.siblings(of: name) {
            try await administer("DROP DATABASE IF EXISTS \(PostgresDatabases.quoted(database)) WITH (FORCE)", on: settings)
        }
    }

    /// Runs `sql` on the server in a connection of its own. A server that cannot be reached fails it at once
    /// (`checkReachable`), where the pool would keep trying for a minute: it is the first thing every
    /// PostgreSQL bench does on the server.
    @discardableResult
    private static func administer(_ sql: String, on settings: PostgresSettings) async throws -> [PostgresRow] {
        try await PostgresPool.using(try await PostgresPool.primary(of: settings), connections: 1) { admin in
            try await admin.checkReachable()
            return try await admin.rows(PostgresQuery(unsafeSQL: sql))
        }
    }

    /// `clients` concurrent clients cycle through the project's queue for `duration`.
    public static func projectQueue(_ settings: PostgresSettings, clients: Int, duration: Duration) async throws -> Result {
        try await PostgresPool.using(settings, connections: clients) { pool in
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
        try await PostgresPool.using(settings, connections: clients) { pool in
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

extension PostgresQueueBenchmark.ScratchName {
    /// The parts of a name `database` made; nil for any other name (older benches' names among them).
    /// Reads a scratch database's name, or the name of the ledger's or the queue's database an engine made
    /// beside one (`PostgresDatabases.siblings`).
    init?(database name: String) {
        guard name.hasPrefix(Self.prefix) else { return nil }
        var name = Substring(name)
        for suffix in [PostgresDatabases.ledgerSuffix, PostgresDatabases.queueSuffix] where name.hasSuffix(suffix) {
            name = name.dropLast(suffix.count)
        }
        let parts = name.dropFirst(Self.prefix.count).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 8, parts[0].allSatisfy(\.isHexDigit),
              let process = pid_t(parts[1]), process > 0, let nonce = UInt32(parts[2]) else { return nil }
        self.init(host: String(parts[0]), process: process, nonce: nonce)
    }
}
