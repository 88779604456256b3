import Foundation
import Logging
import NIOCore
import PostgresNIO
import Primitives
import Synchronization

/// One PostgreSQL server as the stores use it: a `PostgresClient` connection pool for the async reads and
/// writes, and one plain connection for the synchronous display reads (the CLI's and the dashboard's, which
/// the store protocols keep synchronous). Lost connections are replaced; a write whose connection is lost is
/// retried by its store (`retrying`), which is safe because every write is idempotent by its id.
public final class PostgresPool: Sendable {
    /// One client pool on one server, running.
    private struct Current: Sendable {
        let settings: PostgresSettings
        let client: PostgresClient
        let runTask: Task<Void, Never>
    }

    private let current: Mutex<Current>
    /// Clients of servers this pool has moved away from, stopped at `close()`.
    private let retired = Mutex<[Task<Void, Never>]>([])
    /// How many times the pool has moved (`move(to:)`): an attempt that fails after a move is tried again there.
    private let moves = Atomic<Int>(0)
    /// How many attempts failed in a way a lost primary would cause (`retrying`): a lost connection, a server
    /// shutting down, a read-only transaction. `followWritableServer` looks for the primary when it grows.
    let troubles = Atomic<Int>(0)
    private let maxConnections: Int
    let warmConnections: Int
    /// The server the pool connects to now (see `move(to:)`).
    public var settings: PostgresSettings { current.withLock { $0.settings } }
    var client: PostgresClient { current.withLock { $0.client } }
    let logger: Logger
    private let syncConnection = Mutex<PostgresConnection?>(nil)
    private let readsThatBlockedATask = Atomic<Int>(0)
    /// How long a write keeps retrying a lost connection (a restarted server, a failover) before it fails.
    let retryWindow: Duration
    /// How long one attempt waits for the server's answers before it gives the connection up (`answered`).
    let answerTimeout: Duration
    /// The bound for work long by nature: an audit's table scans, a schema migration, seeding accounts in bulk.
    static let longAnswerTimeout = Duration.seconds(600)
    /// The close watch of every connection in use that has not closed (`answered`).
    private let watches = Mutex<[ObjectIdentifier: ConnectionWatch]>([:])
    /// Where the stores' time goes on this pool, step by step (recorded only under `HONGBAO_PG_PROFILE`).
    public let profile = PostgresProfile.fromEnvironment(ProcessInfo.processInfo.environment)

    /// - Parameter warmConnections: connections opened at once by `warmUp` (at most `maxConnections`); with
    ///   any, an idle connection is kept for `PostgresSettings.warmIdleTimeout`, otherwise for a minute. A pool
    ///   moved to another server (`move(to:)`) opens its connections there on demand.
    public init(settings: PostgresSettings, maxConnections: Int = 16, warmConnections: Int = 0,
                retryWindow: Duration = .seconds(15), answerTimeout: Duration = .seconds(15)) {
        self.retryWindow = retryWindow
        self.answerTimeout = answerTimeout
        self.maxConnections = maxConnections
        self.warmConnections = min(max(0, warmConnections), maxConnections)
        var logger = Logger(label: "hongbao.postgres")
        logger.logLevel = .critical
        self.logger = logger
        current = Mutex(PostgresPool.start(settings, maxConnections: maxConnections,
                                           warmConnections: self.warmConnections, logger: logger))
    }

    private static func start(_ settings: PostgresSettings, maxConnections: Int, warmConnections: Int,
                              logger: Logger) -> Current {
        let client = PostgresClient(configuration: settings.clientConfiguration(maxConnections: maxConnections,
                                                                                warmConnections: warmConnections),
                                    backgroundLogger: logger)
        return Current(settings: settings, client: client, runTask: Task { await client.run() })
    }

    /// Points the pool at another server (a cluster's new primary after a failover): new connections go there,
    /// the old server's are stopped, and the display connection reconnects. A write in flight on the old
    /// server fails with a lost connection and is retried on the new one (`retrying`), which is safe because
    /// every write is idempotent by its id. Returns false when the pool already was there.
    @discardableResult
    public func move(to settings: PostgresSettings) -> Bool {
        let old = current.withLock { current -> Current? in
            guard current.settings != settings else { return nil }
            defer {
                current = PostgresPool.start(settings, maxConnections: maxConnections, warmConnections: warmConnections,
                                             logger: logger)
            }
            return current
        }
        guard let old else { return false }
        // Stopped at once: a call waiting for one of its connections (the old server is dead, or back as a
        // standby only after its rejoin, seconds later) or running on one fails now, and `retrying` runs it again
        // on the new server because the pool moved under it.
        moves.add(1, ordering: .releasing)
        retired.withLock { $0.append(old.runTask) }
        old.runTask.cancel()
        let connection = syncConnection.withLock { connection -> PostgresConnection? in
            defer { connection = nil }
            return connection
        }
        if let connection { Task { try? await connection.close() } }
        return true
    }

    /// Stops the pool (after every store call on it has returned) and closes the display connection.
    public func close() async {
        let runTask = current.withLock { $0.runTask }
        runTask.cancel()
        _ = await runTask.value
        for task in retired.withLock({ $0 }) {
            task.cancel()
            _ = await task.value
        }
        let connection = syncConnection.withLock { connection -> PostgresConnection? in
            defer { connection = nil }
            return connection
        }
        try? await connection?.close()
    }

    /// `body` on a pool of its own on `settings`'s server, closed however `body` ends; its errors made readable
    /// (`classify`). For a few statements (a bench's loops, a database made or dropped), not for a store.
    public static func using<T: Sendable>(_ settings: PostgresSettings, connections: Int,
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

    /// postgres-nio's connect timeout for a connection of its own (`PostgresConnection.Configuration`'s default).
    static let connectTimeout: Duration = .seconds(10)

    /// Connects once, outside the pool, and fails fast with a readable reason when the server cannot be
    /// reached or refuses the login (the pool itself would keep trying for a minute before giving up).
    func checkReachable() async throws {
        let connection = try await connectionOfItsOwn()
        do {
            try await connection.close()
        } catch {
            throw PostgresStoreError.unavailable("cannot connect to \(settings.redacted): \(PostgresPool.probeReason(error, timeout: PostgresPool.connectTimeout))")
        }
    }

    /// A connection outside the pool to its server, the caller's to close; a failure is said in the probes' words
    /// ("connection refused", not postgres-nio's description of it).
    func connectionOfItsOwn() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: try settings.connectionConfiguration(),
                                                        id: 0, logger: logger)
        } catch {
            let reason = PostgresPool.probeReason(error, timeout: PostgresPool.connectTimeout)
            throw PostgresStoreError.unavailable("cannot connect to \(settings.redacted): \(reason)")
        }
    }

    /// A short reason for a connection's failure: the server's message, or the socket's.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] { return message }
        if let underlying = error.underlying { return "\(underlying)" }
        return "\(error.code)"
    }

    // MARK: Async

    /// Runs `body` in one transaction on a pooled connection; commits when it returns. `onCommitSent` sees the
    /// body's value just before COMMIT is sent: if the connection is lost from then on, the transaction may
    /// or may not have committed (an unclear commit), which the caller's retry sorts out by id. Ends, whatever
    /// the server does, when the connection closes or no answer comes within `answerTimeout` (`answered`).
    /// `limit` replaces `answerTimeout` for a transaction that is long by nature (an audit's table scans).
    /// `label` names its BEGIN, body and COMMIT in `profile` (`pool.tx.<label>.commit`…).
    func transaction<T: Sendable>(limit: Duration? = nil, profiledAs label: String = "other",
                                  _ body: @escaping @Sendable (PostgresConnection) async throws -> T,
                                  onCommitSent: @escaping @Sendable (T) -> Void = { _ in }) async throws -> T {
        let logger = logger
        let profile = profile
        let asked = ContinuousClock.now
        return try await client.withConnection { connection in
            profile.record("pool.acquire", since: asked)
            return try await self.answered(on: connection, limit: limit) { connection in
                var step = ContinuousClock.now
                try await connection.query("BEGIN", logger: logger)
                profile.record("pool.tx." + label + ".begin", since: step)
                step = ContinuousClock.now
                let value: T
                do {
                    value = try await body(connection)
                    profile.record("pool.tx." + label + ".body", since: step)
                } catch {
                    // A lost connection's transaction ends with it on the server; a ROLLBACK written to its
                    // closed channel would never be answered.
                    if !connection.isClosed && !PostgresPool.isLostConnection(error) {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                    }
                    throw error
                }
                onCommitSent(value)
                step = ContinuousClock.now
                try await connection.query("COMMIT", logger: logger)
                profile.record("pool.tx." + label + ".commit", since: step)
                return value
            }
        }
    }

    /// Runs one statement (its own transaction) and collects its rows, bounded as `answered` says. `label`, when
    /// given, names the statement in `profile` (`pool.statement.<label>`).
    func rows(_ query: PostgresQuery, profiledAs label: String? = nil) async throws -> [PostgresRow] {
        try await statement(profiledAs: label) { connection, logger in
            var rows: [PostgresRow] = []
            for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
            return rows
        }
    }

    /// `query` run as `rows(_:profiledAs:)` runs it or, when `prepared` is given (the `CallText` whose text the
    /// query was built with), as that prepared statement (`run`).
    func rows(_ query: PostgresQuery, preparedAs prepared: (any CallText.Type)?) async throws -> [PostgresRow] {
        guard let prepared else { return try await rows(query) }
        return try await run(query, preparedAs: prepared)
    }

    private func run<Text: CallText>(_ query: PostgresQuery, preparedAs _: Text.Type) async throws -> [PostgresRow] {
        try await run(PreparedCall<Text>(query))
    }

    /// Runs one prepared statement (its own transaction) and collects its decoded rows, as `rows` does.
    /// postgres-nio prepares it under its name the first time a connection runs it, and the server keeps the
    /// parse and (after five custom plans, when no worse) a generic plan with the connection, where `rows` has
    /// its text parsed and planned on every call.
    func run<Statement: PostgresPreparedStatement>(_ statement: Statement, profiledAs label: String? = nil)
        async throws -> [Statement.Row] where Statement.Row: Sendable {
        try await self.statement(profiledAs: label) { connection, logger in
            var rows: [Statement.Row] = []
            for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
            return rows
        }
    }

    /// `body` on a pooled connection, bounded as `answered` says, recorded in `profile` under `label`.
    private func statement<T: Sendable>(profiledAs label: String?,
                                        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T)
        async throws -> T {
        let logger = logger
        let profile = profile
        let asked = ContinuousClock.now
        return try await client.withConnection { connection in
            profile.record("pool.acquire", since: asked)
            return try await self.answered(on: connection) { connection in
                let step = ContinuousClock.now
                let value = try await body(connection, logger)
                profile.record(label.map { "pool.statement." + $0 } ?? "pool.statement", since: step)
                return value
            }
        }
    }

    /// `body` on `connection`, given up when the connection closes or when no answer has come within
    /// `answerTimeout` (the connection is then closed; a server stopped or a commit waiting for a standby that
    /// never comes). postgres-nio drops a statement written to a connection that has already closed without
    /// ever answering it, so a call that only awaited its statements could wait forever after a server died.
    /// `body` runs on a task of its own, which such a statement leaves suspended: the caller gets
    /// `AbandonedStatement` and goes on.
    func answered<T: Sendable>(on connection: PostgresConnection, limit: Duration? = nil,
                               _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let watch = watch(connection)
        let answer = FirstResult<T>()
        let timeout = limit ?? answerTimeout
        let profile = profile
        let called = ContinuousClock.now
        return try await withCheckedThrowingContinuation { continuation in
            answer.set(continuation)
            let timer = connection.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout / .nanoseconds(1)))) {
                answer.resume(with: .failure(AbandonedStatement.noAnswer(timeout)))
                let _: EventLoopFuture<Void> = connection.close()
            }
            watch.attach { answer.resume(with: .failure(AbandonedStatement.connectionClosed)) }
            Task {
                profile.record("pool.task-start", since: called)
                let result: Result<T, any Error>
                do { result = .success(try await body(connection)) } catch { result = .failure(error) }
                timer.cancel()
                watch.detach()
                answer.resume(with: result)
            }
        }
    }

    /// The watch on `connection`'s close: one callback on its close future for the connection's life, however
    /// many statements run on it.
    private func watch(_ connection: PostgresConnection) -> ConnectionWatch {
        let key = ObjectIdentifier(connection)
        let (watch, isNew) = watches.withLock { watches -> (ConnectionWatch, Bool) in
            if let watch = watches[key] { return (watch, false) }
            let watch = ConnectionWatch()
            watches[key] = watch
            return (watch, true)
        }
        if isNew {
            connection.closeFuture.whenComplete { [weak self] _ in
                watch.closed()
                self?.watches.withLock { watches in
                    if watches[key] === watch { watches[key] = nil }
                }
            }
        }
        return watch
    }

    /// `body`, again after a lost connection or a serialization failure, until `retryWindow` has passed.
    /// Only for idempotent work: an attempt whose COMMIT was sent may have committed.
    func retrying<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + retryWindow
        var pause = Duration.milliseconds(20)
        while true {
            let movesBefore = moves.load(ordering: .acquiring)
            do {
                return try await body()
            } catch {
                let moved = moves.load(ordering: .acquiring) != movesBefore
                if PostgresPool.isTransient(error) { troubles.add(1, ordering: .relaxed) }
                guard PostgresPool.isTransient(error) || moved, ContinuousClock.now + pause < deadline,
                      !Task.isCancelled else {
                    throw PostgresPool.classify(error)
                }
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(500))
            }
        }
    }

    // MARK: Sync (display reads)

    /// How many reads on the display connection (`rowsNow`) were made from a Swift task, blocking a thread of the
    /// cooperative pool for their round trip: the engine runs its own elsewhere (`Engine.blockingRead`), and a
    /// command's one-off reads before any load are the rest.
    public var blockingReadsOnTasks: Int { readsThatBlockedATask.load(ordering: .relaxed) }

    /// Runs one read on the display connection, blocking the caller (never an event loop). Reconnects once
    /// when the connection was lost.
    func rowsNow(_ query: PostgresQuery) throws -> [PostgresRow] {
        if withUnsafeCurrentTask(body: { $0 != nil }) { readsThatBlockedATask.add(1, ordering: .relaxed) }
        return try syncConnection.withLock { connection in
            for attempt in 0..<2 {
                do {
                    if connection == nil || connection?.isClosed == true {
                        connection = try PostgresConnection.connect(
                            on: PostgresConnection.defaultEventLoopGroup.any(),
                            configuration: try self.settings.connectionConfiguration(), id: 0, logger: logger).wait()
                    }
                    guard let open = connection else { continue }
                    return try answeredNow(on: open, query)
                } catch {
                    // Closed before it is dropped: a lost server leaves it open on our side (and postgres-nio
                    // asserts that a connection is closed before it goes).
                    if let lost = connection { _ = try? lost.close().wait() }
                    connection = nil
                    if attempt == 1 || !PostgresPool.isTransient(error) { throw PostgresPool.classify(error) }
                }
            }
            throw PostgresStoreError.unavailable("no connection")
        }
    }

    /// One display read on `connection`, blocking, bounded like `answered`: it fails when the connection
    /// closes or when no answer has come within `answerTimeout`.
    private func answeredNow(on connection: PostgresConnection, _ query: PostgresQuery) throws -> [PostgresRow] {
        let answer = connection.eventLoop.makePromise(of: [PostgresRow].self)
        let timeout = answerTimeout
        let timer = connection.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout / .nanoseconds(1)))) {
            answer.fail(AbandonedStatement.noAnswer(timeout))
            let _: EventLoopFuture<Void> = connection.close()
        }
        let watch = watch(connection)
        watch.attach { answer.fail(AbandonedStatement.connectionClosed) }
        defer {
            timer.cancel()
            watch.detach()
        }
        connection.query(query, logger: logger).map { Array($0.rows) }.cascade(to: answer)
        return try answer.futureResult.wait()
    }

    // MARK: Errors

    /// A lost connection: the server's end is gone, so nothing more can be sent on it.
    static func isLostConnection(_ error: any Error) -> Bool {
        if error is AbandonedStatement { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .serverClosedConnection, .connectionError, .uncleanShutdown, .clientClosedConnection: return true
        default: return false
        }
    }

    /// Errors after which the same idempotent work may simply be tried again.
    static func isTransient(_ error: any Error) -> Bool {
        if let error = error as? PostgresTransactionError {
            return [error.beginError, error.closureError, error.commitError].contains { $0.map(isTransient) ?? false }
        }
        if isLostConnection(error) { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .server:
            guard let state = error.serverInfo?[.sqlState] else { return false }
            // 08: connection exception; 57P01-03: the server is shutting down or was told to end this
            // backend; 40001/40P01: serialization failure or deadlock (the transaction was rolled back).
            return state.hasPrefix("08") || state.hasPrefix("57P") || state == "40001" || state == "40P01"
                || state == "25006" // read-only transaction: a standby that is being promoted
        default:
            return false
        }
    }

    /// Whether `error` is the server refusing a row whose key a unique index already holds (SQLSTATE 23505).
    static func isUniqueViolation(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, error.code == .server else { return false }
        return error.serverInfo?[.sqlState] == "23505"
    }

    /// Any error as something a person can read: the server's message, or the connection's trouble.
    static func classify(_ error: any Error) -> any Error {
        if error is PostgresStoreError { return error }
        if let error = error as? AbandonedStatement { return PostgresStoreError.unavailable(error.description) }
        if let error = error as? PostgresTransactionError {
            let inner = error.commitError ?? error.closureError ?? error.beginError
            return inner.map(classify) ?? PostgresStoreError.server("transaction failed")
        }
        guard let error = error as? PSQLError else {
            if String(describing: type(of: error)).contains("ConnectionPoolError") {
                return PostgresStoreError.unavailable("no connection to the server could be made")
            }
            return error
        }
        if error.code == .server {
            let message = error.serverInfo?[.message] ?? "error"
            let state = error.serverInfo?[.sqlState] ?? "?"
            return PostgresStoreError.server("\(message) (SQLSTATE \(state))")
        }
        return PostgresStoreError.unavailable("\(error.code)")
    }
}

/// Why a statement was given up without its answer (`PostgresPool.answered`).
enum AbandonedStatement: Error, CustomStringConvertible {
    /// The connection closed under it (a server killed or restarted).
    case connectionClosed
    /// No answer in time: the connection was closed (a server stopped, or a commit waiting for a standby).
    case noAnswer(Duration)

    var description: String {
        switch self {
        case .connectionClosed: "the connection to the server closed"
        case let .noAnswer(timeout):
            // Whole seconds as seconds; anything shorter or between them (a test's 500 ms) in milliseconds.
            timeout.wholeMilliseconds % 1_000 == 0
                ? "no answer from the server within \(timeout.wholeMilliseconds / 1_000) s"
                : "no answer from the server within \(timeout.wholeMilliseconds) ms"
        }
    }
}

/// The close of one connection, passed to whatever waits on the connection when it comes (one waiter at a time:
/// a connection runs one call at a time).
private final class ConnectionWatch: Sendable {
    private let state = Mutex<(isClosed: Bool, waiter: (@Sendable () -> Void)?)>((false, nil))

    /// Calls `onClose` when the connection closes, at once if it has.
    func attach(_ onClose: @escaping @Sendable () -> Void) {
        let isClosed = state.withLock { state -> Bool in
            if !state.isClosed { state.waiter = onClose }
            return state.isClosed
        }
        if isClosed { onClose() }
    }

    func detach() {
        state.withLock { $0.waiter = nil }
    }

    func closed() {
        let waiter = state.withLock { state -> (@Sendable () -> Void)? in
            state.isClosed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?()
    }
}
