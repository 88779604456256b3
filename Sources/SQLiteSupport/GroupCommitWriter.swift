import Dispatch
import GRDB
import Synchronization

/// Folds concurrent write transactions into one SQLite commit (group commit).
///
/// A batch of submitted units runs in one shared transaction, committed with one fsync. A unit that throws
/// is rolled back alone and gets its own error; the others commit. A unit's caller is resumed only after
/// the shared commit is durable, so "returned" always means "on disk". Units that arrive while a commit is
/// in progress form the next batch.
///
/// Committed batches go to a second queue that resumes their callers while the writer already runs the next
/// batch. With a `WALSyncer` (FULL durability) the commit itself does not fsync: that queue fsyncs the WAL
/// once for every batch committed so far before it resumes them. Callers still return only once their commit
/// is on disk; what runs in parallel is the disk flush of batch N and the SQL of batch N+1.
///
/// Optimistically, a batch first runs without savepoints: a savepoint makes SQLite copy every page a unit
/// touches into the statement journal, which cost as much as the unit's own work. If any unit throws, the
/// whole transaction is rolled back and the batch runs again with a savepoint per unit (units are
/// database work only, so running one twice after a rollback is running it once).
public final class GroupCommitWriter: Sendable {
    private struct Unit {
        /// Runs the work (in its own savepoint if asked) and records its outcome; false if it threw.
        let run: @Sendable (Database, _ inSavepoint: Bool) -> Bool
        /// Resumes the caller: with the recorded outcome, or with the commit's error.
        let finish: @Sendable ((any Error)?) -> Void
    }

    private struct State {
        var pending: [Unit] = []
        var draining = false
        /// Committed batches whose callers are not yet resumed (at FULL, waiting for the fsync).
        var committed: [[Unit]] = []
        var acknowledging = false
    }

    private let writer: any DatabaseWriter
    private let maxUnitsPerCommit: Int
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "hongbao.store.group-commit")
    private let acknowledgeQueue = DispatchQueue(label: "hongbao.store.acknowledge")
    private let syncer: WALSyncer?
    private let commitCounter = Atomic<Int>(0)

    /// - Parameter syncer: fsyncs the WAL after commits made without it (FULL durability); nil when each
    ///   commit is as durable as it will be when SQLite returns.
    public init(writer: any DatabaseWriter, maxUnitsPerCommit: Int, syncer: WALSyncer?) {
        self.writer = writer
        self.maxUnitsPerCommit = max(1, maxUnitsPerCommit)
        self.syncer = syncer
    }

    /// How many commits have been made (for measuring the batching factor).
    public var commitCount: Int { commitCounter.load(ordering: .relaxed) }

    /// Units submitted and not yet taken into a commit.
    public var queuedUnits: Int { state.withLock { $0.pending.count } }

    /// Blocks until every submitted unit is committed and its caller resumed: the writer's queues then no
    /// longer run code that holds the database. Call only when no more units are being submitted.
    public func waitUntilIdle() {
        queue.sync {}
        acknowledgeQueue.sync {}
    }

    public func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            enqueue(GroupCommitWriter.unit(work) { continuation.resume(with: $0) })
        }
    }

    /// Submits `work` to the next shared commit without waiting for it: `completion` gets nil once the commit
    /// is durable (as `write` would return), or the error `write` would throw. It runs on the writer's
    /// acknowledging queue, after the callers of the same batch are resumed: keep it short.
    public func submit(_ work: @escaping @Sendable (Database) throws -> Void,
                       completion: @escaping @Sendable ((any Error)?) -> Void) {
        enqueue(GroupCommitWriter.unit(work) { result in
            switch result {
            case .success: completion(nil)
            case let .failure(error): completion(error)
            }
        })
    }

    /// `write` without a waiting task: `completion` gets the value once the commit is durable (when `write`
    /// would return), or the error `write` would throw, on the writer's acknowledging queue: keep it short.
    public func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T,
                                   completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        enqueue(GroupCommitWriter.unit(work, finish: completion))
    }

    private static func unit<T: Sendable>(
        _ work: @escaping @Sendable (Database) throws -> T, finish: @escaping @Sendable (Result<T, any Error>) -> Void
    ) -> Unit {
        let outcome = OutcomeBox<T>()
        return Unit(
            run: { database, inSavepoint in
                guard inSavepoint else {
                    do {
                        outcome.result = .success(try work(database))
                        return true
                    } catch {
                        outcome.result = .failure(error)
                        return false
                    }
                }
                // A savepoint through cached statements: GRDB's `inSavepoint` re-parses its SQL each time,
                // which shows in profiles at tens of thousands of units per second.
                do {
                    try database.cachedStatement(sql: "SAVEPOINT unit").execute()
                } catch {
                    outcome.result = .failure(error)
                    return false
                }
                do {
                    let value = try work(database)
                    try database.cachedStatement(sql: "RELEASE SAVEPOINT unit").execute()
                    outcome.result = .success(value)
                    return true
                } catch {
                    try? database.cachedStatement(sql: "ROLLBACK TO SAVEPOINT unit").execute()
                    try? database.cachedStatement(sql: "RELEASE SAVEPOINT unit").execute()
                    outcome.result = .failure(error)
                    return false
                }
            },
            finish: { commitError in
                if let commitError {
                    finish(.failure(commitError))
                } else if let result = outcome.result {
                    finish(result)
                } else {
                    finish(.failure(SQLiteStoreError.storage("transaction produced no result")))
                }
            }
        )
    }

    private func enqueue(_ unit: Unit) {
        let startDrain = state.withLock { state -> Bool in
            state.pending.append(unit)
            if state.draining { return false }
            state.draining = true
            return true
        }
        if startDrain { queue.async { self.drain() } }
    }

    private func drain() {
        while true {
            let batch = state.withLock { state -> [Unit] in
                if state.pending.isEmpty {
                    state.draining = false
                    return []
                }
                let count = min(state.pending.count, maxUnitsPerCommit)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return batch
            }
            if batch.isEmpty { return }
            commit(batch)
        }
    }

    private func commit(_ batch: [Unit]) {
        do {
            try writer.writeWithoutTransaction { database in
                let everyUnitSucceeded = try database.immediateTransaction {
                    for unit in batch where !unit.run(database, false) { return (false, false) }
                    return (true, true)
                }
                guard !everyUnitSucceeded else { return }
                try database.immediateTransaction {
                    for unit in batch { _ = unit.run(database, true) }
                    return ((), true)
                }
            }
            commitCounter.add(1, ordering: .relaxed)
        } catch {
            for unit in batch { unit.finish(error) }
            return
        }
        // Resuming a batch's callers is left to the other queue even without an fsync: a few hundred
        // continuation resumes per batch were writer time that the next batch waited for.
        let startAcknowledging = state.withLock { state -> Bool in
            state.committed.append(batch)
            if state.acknowledging { return false }
            state.acknowledging = true
            return true
        }
        if startAcknowledging { acknowledgeQueue.async { self.acknowledgeCommitted() } }
    }

    /// Fsyncs the WAL (with a syncer) for every batch committed so far, then resumes their callers; repeats
    /// until none is left. A failed fsync fails those batches: their rows are committed but their durability is unknown, which
    /// callers handle like any unknown outcome (transfers are idempotent by id).
    private func acknowledgeCommitted() {
        while true {
            let batches = state.withLock { state -> [[Unit]] in
                let batches = state.committed
                state.committed = []
                if batches.isEmpty { state.acknowledging = false }
                return batches
            }
            if batches.isEmpty { return }
            var failure: (any Error)?
            do { try syncer?.sync() } catch { failure = error }
            for batch in batches {
                for unit in batch { unit.finish(failure) }
            }
        }
    }
}

/// Holds one unit's outcome between its run and the batch's commit. Only touched on the writer queue
/// before `finish`, and by `finish` after the commit: never concurrently.
private final class OutcomeBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
