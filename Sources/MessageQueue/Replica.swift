import Dispatch
import Foundation
import GRDB
import Primitives
import Synchronization

/// One copy of the queue: a `ReplicaStore` confined to a serial dispatch queue, so that the three replicas
/// commit in parallel while each applies operations strictly in sequence order. Health and the last
/// applied sequence are readable from any thread.
final class Replica: Sendable {
    private struct Inner {
        var store: ReplicaStore?
        var health: ReplicaHealth = .up
        var appliedSequence: Int64 = 0
        var latency: Duration = .zero
        var forceRebuild = false
        var commits = 0
    }

    let id: ReplicaID
    let directory: String
    let operationLogLimit: Int
    /// How this replica's database commits (`QueueLimits.replicaDurability`).
    let durability: ReplicaDurability
    private let queue: DispatchQueue
    private let inner: Mutex<Inner>

    var databasePath: String { directory + "/queue.sqlite" }

    init(
        id: ReplicaID, directory: String, operationLogLimit: Int, store: ReplicaStore?, appliedSequence: Int64,
        health: ReplicaHealth, durability: ReplicaDurability = .full
    ) {
        self.id = id
        self.durability = durability
        self.directory = directory
        self.operationLogLimit = operationLogLimit
        self.queue = DispatchQueue(label: "hongbao.queue.\(id.directoryName)")
        self.inner = Mutex(Inner(store: store, health: health, appliedSequence: appliedSequence))
    }

    var health: ReplicaHealth { inner.withLock { $0.health } }
    var appliedSequence: Int64 { inner.withLock { $0.appliedSequence } }
    var store: ReplicaStore? { inner.withLock { $0.store } }
    /// Set when the file was damaged but SQLite's checks did not notice: rebuild it regardless.
    var forceRebuild: Bool {
        get { inner.withLock { $0.forceRebuild } }
        set { inner.withLock { $0.forceRebuild = newValue } }
    }

    func setHealth(_ health: ReplicaHealth) {
        inner.withLock {
            $0.health = health
            if case let .slow(latency) = health { $0.latency = latency } else { $0.latency = .zero }
        }
    }

    /// Queues `operations` for commit; `completion` runs on the replica's queue with the outcome.
    func enqueue(_ operations: [QueueOperation], completion: @escaping @Sendable (Result<Int64, any Error>) -> Void) {
        queue.async { [self] in
            let (store, latency) = inner.withLock { ($0.store, $0.latency) }
            if latency > .zero { Thread.sleep(forTimeInterval: latency.secondsDouble) }
            guard let store else {
                let error = ReplicaOpenFailure.corrupted("no usable database")
                markFailed(error)
                return completion(.failure(error))
            }
            do {
                let applied = try store.apply(operations)
                inner.withLock {
                    $0.appliedSequence = max($0.appliedSequence, applied)
                    $0.commits += 1
                }
                completion(.success(applied))
            } catch {
                markFailed(error)
                completion(.failure(error))
            }
        }
    }

    /// Marks the replica corrupted (SQLite says the file is damaged) or down (any other failure).
    func markFailed(_ error: any Error) {
        let corrupt = (error as? DatabaseError).map {
            $0.resultCode == .SQLITE_CORRUPT || $0.resultCode == .SQLITE_NOTADB
        } ?? (error is ReplicaOpenFailure)
        setHealth(corrupt ? .corrupted : .down)
    }

    /// Runs `body` on the replica's queue, after every operation queued before it.
    func perform<T: Sendable>(_ body: @escaping @Sendable (Replica) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in continuation.resume(with: Result { try body(self) }) }
        }
    }

    /// Blocks until every queued operation has been applied.
    func drain() { queue.sync {} }

    /// Group commits this replica has made since it was opened.
    var commits: Int { inner.withLock { $0.commits } }

    /// Closes the database once everything queued before has been applied. Later commits fail with an
    /// error (there is no store), and `store` reads nil, so nothing touches the closed connection.
    func close() {
        queue.sync { closeStore() }
    }

    /// Closes the database after what is already queued, so later commits fail (tests: a replica failing
    /// in the middle of a commit).
    func closeAfterQueuedWork() {
        queue.async { [self] in closeStore() }
    }

    /// Holds the replica's queue until `gate` is signalled (tests use it to line operations up).
    func hold(until gate: DispatchSemaphore) { queue.async { gate.wait() } }

    // MARK: On the replica's queue

    /// Closes the database and forgets it: a commit after this finds no store and fails with an error.
    private func closeStore() {
        store?.close()
        inner.withLock { $0.store = nil }
    }

    /// Closes the database, damages its file on disk (keeping SQLite's header, so it is recognisably a
    /// damaged database and not garbage), then reopens it the way a restart would, so that SQLite's checks
    /// run. Returns whether the damage was detected; the replica is left `corrupted` if so.
    func damageAndCheck(random: any RandomSource) -> Bool {
        try? store?.checkpoint()
        closeStore()
        if let handle = FileHandle(forUpdatingAtPath: databasePath) {
            let size = (try? handle.seekToEnd()) ?? 0
            let start: UInt64 = 100
            if size > start {
                let length = Int(min(size - start, 4 * 1024 * 1024))
                // Eight bytes of garbage per draw: a corruption of a few MB is millions of bytes.
                var garbage = [UInt8](repeating: 0, count: length)
                garbage.withUnsafeMutableBytes { bytes in
                    var offset = 0
                    while offset < length {
                        var word = random.next().littleEndian
                        let count = min(8, length - offset)
                        withUnsafeBytes(of: &word) { bytes.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: count) }
                        offset += count
                    }
                }
                try? handle.seek(toOffset: start)
                try? handle.write(contentsOf: garbage)
                try? handle.synchronize()
            }
            try? handle.close()
        }
        return !reopen()
    }

    /// Reopens the database file; false (and `corrupted`) if it fails SQLite's checks.
    @discardableResult
    func reopen() -> Bool {
        store?.close()
        do {
            let store = try ReplicaStore(
                path: databasePath, operationLogLimit: operationLogLimit, checkpointPhase: id.checkpointPhase,
                durability: durability)
            let applied = try store.lastSequence()
            inner.withLock {
                $0.store = store
                $0.appliedSequence = applied
            }
            return true
        } catch {
            inner.withLock { $0.store = nil }
            setHealth(.corrupted)
            return false
        }
    }

    /// Replaces this replica's database with a full copy of `source`'s (SQLite online backup).
    func rebuild(from source: ReplicaStore) throws {
        closeStore()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: databasePath + suffix) }
        let fresh = try ReplicaStore(
                path: databasePath, operationLogLimit: operationLogLimit, checkpointPhase: id.checkpointPhase,
                durability: durability)
        try source.copy(to: fresh)
        let applied = try fresh.lastSequence()
        inner.withLock {
            $0.store = fresh
            $0.appliedSequence = applied
            $0.forceRebuild = false
        }
    }

    /// Applies operations now (catch-up), on the caller's thread: call from `perform`.
    func applyNow(_ operations: [QueueOperation]) throws {
        guard let store else { throw ReplicaOpenFailure.corrupted("closed") }
        let applied = try store.apply(operations)
        inner.withLock { $0.appliedSequence = max($0.appliedSequence, applied) }
    }
}
