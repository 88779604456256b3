import Dispatch
import GRDB
import GRDBSQLite
import Synchronization

/// Copies most of a store's WAL back into its database file on a connection and a thread of its own, so that the
/// group-commit writer's own checkpoint has little left to copy.
///
/// SQLite's automatic checkpoint runs inside the commit that takes the WAL past its threshold, on the writing
/// connection: that commit, and every caller waiting on the batch behind it, waits while thousands of pages are
/// copied and the database file is synced. With a million accounts those pages are spread over the whole account
/// table, and each such checkpoint held the writer long enough that credits in line timed out and went to the
/// queue. A checkpoint on another connection alone is not enough: the WAL starts over only when the writer begins
/// a transaction with every frame already copied, which under back-to-back group commits never happens (the WAL
/// then grows without end, and every page look-up searches more of it). So the work is split:
/// - every eighth of the threshold, the writer's commit hook (`sqlite3_wal_hook`, which is also how SQLite's own
///   automatic checkpoint is triggered) wakes this checkpointer, which runs a PASSIVE checkpoint on its own
///   connection: it copies what no reader still needs, never waits for or blocks the writer, and syncs the WAL
///   before and the database file after;
/// - at the threshold the hook runs a PASSIVE checkpoint on the writer itself, as SQLite's automatic checkpoint
///   would, which now copies only what was committed since the last background pass; the WAL then starts over at
///   the writer's next commit.
public final class WALCheckpointer: Sendable {
    private let connection: DatabaseQueue
    private let thresholdFrames: Int32
    /// WAL frames between background passes: an eighth of the threshold.
    private let backgroundStep: Int32
    private let nextBackgroundFrames: Atomic<Int32>
    private let lastFrames = Atomic<Int32>(0)
    private let writerCheckpoints = Atomic<Int>(0)
    private let queue: DispatchQueue
    private let running = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let completed = Atomic<Int>(0)
    private let skipped = Atomic<Int>(0)
    private let failures = Mutex<[String]>([])
    private let hookReference = Mutex<Unmanaged<WALCheckpointer>?>(nil)

    /// Opens the checkpointer's own connection to the WAL database at `path` (the writer has already made it one).
    public init(path: String, thresholdFrames: Int) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.label = "checkpointer"
        connection = try DatabaseQueue(path: path, configuration: configuration)
        // Checkpoints sync the WAL before copying and the database file after, as on the writer before.
        try connection.inDatabase { try $0.execute(sql: "PRAGMA synchronous = NORMAL") }
        self.thresholdFrames = Int32(clamping: max(1, thresholdFrames))
        backgroundStep = max(1, self.thresholdFrames / 8)
        nextBackgroundFrames = Atomic(backgroundStep)
        queue = DispatchQueue(label: "hongbao.sqlite.checkpointer", qos: .utility)
    }

    /// Background checkpoints completed since open.
    public var checkpointCount: Int { completed.load(ordering: .relaxed) }
    /// Checkpoints the writer ran at the threshold since open (some may have found a background one under way).
    public var writerCheckpointCount: Int { writerCheckpoints.load(ordering: .relaxed) }

    /// Background passes that found another checkpoint under way (the writer's at the threshold, which copies
    /// what this pass would have): SQLite answers a passive checkpoint busy then, without waiting. Not failures.
    public var skippedCount: Int { skipped.load(ordering: .relaxed) }

    /// Checkpoints that failed, with SQLite's reason (the WAL then grows until one succeeds; nothing is lost:
    /// every committed page stays in the WAL until it has been copied).
    public var failureMessages: [String] { failures.withLock { $0 } }

    /// Makes the writer connection `database` report its commits here instead of checkpointing itself
    /// (`sqlite3_wal_hook` replaces the hook `PRAGMA wal_autocheckpoint` installed). The hook holds this
    /// checkpointer until `writerClosed()`: a commit can never reach a freed one.
    public func attach(to database: Database) {
        let context = Unmanaged.passRetained(self)
        hookReference.withLock { reference in
            reference?.release()
            reference = context
        }
        sqlite3_wal_hook(database.sqliteConnection, { context, writer, _, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(walFrames: frames, writer: writer)
            return SQLITE_OK
        }, context.toOpaque())
    }

    /// Called once the writer connection is closed, so that its hook can run no more: lets go of the hook's hold.
    public func writerClosed() {
        hookReference.withLock { reference in
            reference?.release()
            reference = nil
        }
    }

    /// Called on the writer's thread after each commit with the frames now in the WAL.
    private func committed(walFrames: Int32, writer: OpaquePointer?) {
        if walFrames < lastFrames.exchange(walFrames, ordering: .relaxed) {
            nextBackgroundFrames.store(backgroundStep, ordering: .relaxed) // the WAL started over
        }
        if walFrames >= thresholdFrames {
            // What the background passes have not copied yet; busy (a pass under way) is tried again next commit.
            sqlite3_wal_checkpoint_v2(writer, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            writerCheckpoints.add(1, ordering: .relaxed)
            return
        }
        guard walFrames >= nextBackgroundFrames.load(ordering: .relaxed), !stopped.load(ordering: .relaxed),
              !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        nextBackgroundFrames.store(walFrames + backgroundStep, ordering: .relaxed)
        queue.async {
            self.checkpoint()
            self.running.store(false, ordering: .releasing)
        }
    }

    private func checkpoint() {
        guard !stopped.load(ordering: .relaxed) else { return }
        do {
            _ = try connection.inDatabase { try $0.checkpoint(.passive) }
            completed.add(1, ordering: .relaxed)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            skipped.add(1, ordering: .relaxed)
        } catch {
            failures.withLock { $0 = Array(($0 + ["\(error)"]).suffix(8)) }
        }
    }

    /// Runs one checkpoint now, on the caller's thread, after any one under way (tests).
    public func checkpointNow() {
        queue.sync { checkpoint() }
    }

    /// Waits for a checkpoint under way and refuses new ones. Call before closing the writer's pool, whose last
    /// connection then runs the final checkpoint as before.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
        queue.sync {}
        try? connection.close()
    }
}
