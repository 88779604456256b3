import Foundation
import GRDB

/// How a store's SQLite file is opened and written.
public struct SQLiteStoreOptions: Sendable {
    /// Marks the file as this store's, so that a foreign SQLite file (or the other store's) is refused.
    public var applicationID: Int32
    /// FULL durability: a write returns only after an fsync of the WAL that covers its commit (`WALSyncer`).
    public var syncWAL: Bool
    /// Whether `write` goes through the group-commit writer (false: it commits at once on the caller's
    /// thread, for single-task deterministic simulations).
    public var groupCommit: Bool
    public var maxUnitsPerCommit: Int
    public var writerCacheBytes: Int
    public var memoryMapBytes: Int
    public var walAutocheckpointPages: Int
    /// Open an existing database for reading only, after SQLite's quick check of the whole file: no
    /// migration, no pragma written, no checkpoint. Writes then fail.
    public var readOnly: Bool

    public init(applicationID: Int32, syncWAL: Bool, groupCommit: Bool, maxUnitsPerCommit: Int,
                writerCacheBytes: Int, memoryMapBytes: Int, walAutocheckpointPages: Int, readOnly: Bool = false) {
        self.readOnly = readOnly
        self.applicationID = applicationID
        self.syncWAL = syncWAL
        self.groupCommit = groupCommit
        self.maxUnitsPerCommit = maxUnitsPerCommit
        self.writerCacheBytes = writerCacheBytes
        self.memoryMapBytes = memoryMapBytes
        self.walAutocheckpointPages = walAutocheckpointPages
    }
}

/// One SQLite database in WAL mode with its own group-commit writer: what the account system's ledger and
/// the red-packet system's store are each built on. Only the store that owns it sees its `Database`.
///
/// Errors from SQLite come out as `SQLiteStoreError`; errors thrown by the caller's work pass unchanged.
public final class SQLiteStore: Sendable {
    public let path: String
    public let options: SQLiteStoreOptions
    let pool: DatabasePool
    private let writer: GroupCommitWriter
    /// At FULL durability, the fsync that acknowledges commits; nil at NORMAL.
    public let walSyncer: WALSyncer?
    /// With group commit, what copies the WAL back into the file, off the writer (nil: the writer's own
    /// automatic checkpoint, as in the deterministic simulation and for read-only stores).
    public let checkpointer: WALCheckpointer?

    /// Opens (creating if needed) the database at `path` and runs `migrations`.
    public init(path: String, options: SQLiteStoreOptions, migrations: (inout DatabaseMigrator) -> Void) throws {
        SQLiteProcessSettings.apply()
        self.path = path
        self.options = options
        let syncer = options.syncWAL && !options.readOnly ? WALSyncer(walPath: path + "-wal") : nil
        walSyncer = syncer
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.readonly = options.readOnly
        configuration.prepareDatabase { database in
            // Readers (snapshots, audits) read through a memory map: no copying into a per-connection cache.
            try database.execute(sql: "PRAGMA mmap_size = \(options.memoryMapBytes)")
        }
        do {
            if options.readOnly {
                guard FileManager.default.fileExists(atPath: path) else { throw SQLiteStoreError.missingDatabase(path: path) }
                // A reader may touch only pages a damage spared and print what looks right: check the whole
                // file first (about 0.1 s per 20 MB), so that a damaged database is reported and never served.
                let (opened, verdict) = try Self.retryingWhileBusy {
                    try SQLiteFile.checkIsSQLite(path: path, applicationID: options.applicationID, readOnly: true)
                    let pool = try DatabasePool(path: path, configuration: configuration)
                    return (pool, try pool.read { try String.fetchOne($0, sql: "PRAGMA quick_check(1)") })
                }
                pool = opened
                guard verdict == "ok" else {
                    let reason = (verdict ?? "quick_check failed").split(separator: "\n")
                        .filter { !$0.hasPrefix("***") }.joined(separator: "; ")
                    throw SQLiteStoreError.corruptDatabase(path: path, reason: reason)
                }
                writer = GroupCommitWriter(writer: pool, maxUnitsPerCommit: options.maxUnitsPerCommit, syncer: nil)
                checkpointer = nil
                return
            }
            var migrator = DatabaseMigrator()
            migrations(&migrator)
            pool = try Self.retryingWhileBusy {
                try SQLiteFile.checkIsSQLite(path: path, applicationID: options.applicationID)
                let pool = try DatabasePool(path: path, configuration: configuration)
                try Self.configureWriter(pool, path: path, options: options)
                try migrator.migrate(pool)
                return pool
            }
            if options.groupCommit {
                let checkpointer = try WALCheckpointer(path: path, thresholdFrames: options.walAutocheckpointPages)
                try pool.barrierWriteWithoutTransaction { checkpointer.attach(to: $0) }
                self.checkpointer = checkpointer
            } else {
                checkpointer = nil
            }
        } catch {
            throw SQLiteFile.classify(error, path: path)
        }
        writer = GroupCommitWriter(writer: pool, maxUnitsPerCommit: options.maxUnitsPerCommit, syncer: syncer)
        try syncer?.sync() // the migrations' commits
    }

    /// How long an open keeps retrying while another connection briefly holds the file (`retryingWhileBusy`).
    static let busyWindow = Duration.seconds(5)

    /// Runs `open` again while it fails with SQLITE_BUSY, for up to `busyWindow`. When the last connection to a
    /// WAL database closes, it holds an exclusive lock for a moment while it checkpoints and removes the WAL (an
    /// engine restarted in this process, a CLI command finishing beside it), and some steps of an open (setting
    /// the journal mode) answer SQLITE_BUSY at once instead of waiting in the busy handler. Every step of an open
    /// can run again: a failed attempt's pool is released, the migrations are transactions.
    static func retryingWhileBusy<T>(_ open: () throws -> T) throws -> T {
        let deadline = ContinuousClock.now + busyWindow
        var pauseMilliseconds = 2
        while true {
            do {
                return try open()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: Double(pauseMilliseconds) / 1_000)
                pauseMilliseconds = min(pauseMilliseconds * 2, 100)
            }
        }
    }

    /// The writer connection's settings, and the file's owner mark.
    private static func configureWriter(_ pool: DatabasePool, path: String, options: SQLiteStoreOptions) throws {
        try pool.barrierWriteWithoutTransaction { database in
            // GRDB sets synchronous=NORMAL on the writer when it enables WAL, after `prepareDatabase` ran.
            // That is what the writer connection, the one that commits, must use: at FULL durability the
            // WALSyncer fsyncs after commits, off the writer thread, before any caller is told.
            try database.execute(sql: "PRAGMA synchronous = NORMAL")
            // The writer keeps the hot pages cached: SQLite's default 2 MiB cache made throughput fall by
            // half as the database grew past it.
            try database.execute(sql: "PRAGMA cache_size = -\(options.writerCacheBytes / 1024)")
            // Group commit runs each unit in a savepoint: SQLite copies every page a unit touches into the
            // statement sub-journal, a temporary *file* once it passes 64 KiB. In memory it is a memcpy and
            // is truncated at each release; on disk it cost a pwrite per page, a third of the writer's time.
            try database.execute(sql: "PRAGMA temp_store = MEMORY")
            try database.execute(sql: "PRAGMA wal_autocheckpoint = \(options.walAutocheckpointPages)")
            try SQLiteFile.claimOrVerify(database, path: path, applicationID: options.applicationID)
        }
    }

    /// Runs `work` in a write transaction shared with other concurrent callers (group commit). Returns after
    /// the commit is durable. If `work` throws, its writes are rolled back and nothing else is affected.
    /// Without group commit it is `writeNow`.
    public func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if !options.groupCommit { return try writeNow(work) }
        do {
            return try await writer.write(work)
        } catch let error as DatabaseError {
            throw SQLiteFile.classify(error, path: path)
        }
    }

    /// Submits `work` to the group commit without waiting for it: `completion` gets nil once its commit is
    /// durable (when `write` would have returned), or the error `write` would have thrown. Without group
    /// commit, `work` and then `completion` run at once on the caller's thread (`writeNow`).
    public func submit(_ work: @escaping @Sendable (Database) throws -> Void,
                       completion: @escaping @Sendable ((any Error)?) -> Void) {
        guard options.groupCommit else {
            let failure: (any Error)?
            do {
                try writeNow(work)
                failure = nil
            } catch {
                failure = error
            }
            completion(failure)
            return
        }
        let path = self.path
        writer.submit(work) { error in
            if let error = error as? DatabaseError {
                completion(SQLiteFile.classify(error, path: path))
            } else {
                completion(error)
            }
        }
    }

    /// `write` without a waiting task: `completion` gets what `write` would return or throw, once the commit
    /// is durable, on the writer's acknowledging queue (keep it short). Without group commit, `work` and then
    /// `completion` run at once on the caller's thread (`writeNow`).
    public func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T,
                                   completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        guard options.groupCommit else {
            completion(Result { try writeNow(work) })
            return
        }
        let path = self.path
        writer.write(work) { result in
            completion(result.mapError { error in
                if let error = error as? DatabaseError { return SQLiteFile.classify(error, path: path) }
                return error
            })
        }
    }

    /// Runs `work` in its own write transaction on the caller's thread, bypassing group commit.
    public func writeNow<T>(_ work: (Database) throws -> T) throws -> T {
        do {
            let result = try pool.write(work)
            try walSyncer?.sync()
            return result
        } catch let error as DatabaseError {
            throw SQLiteFile.classify(error, path: path)
        }
    }

    /// Reads a consistent snapshot (WAL: never blocks the writer).
    public func read<T>(_ work: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(work)
        } catch let error as DatabaseError {
            throw SQLiteFile.classify(error, path: path)
        }
    }

    /// Runs one statement on a reader connection outside an explicit transaction. A single SQL statement reads
    /// one consistent snapshot by itself (SQLite's implicit transaction lasts from its first step to its reset),
    /// so a point lookup needs no BEGIN and COMMIT around it: `read`'s pair, which GRDB prepares anew each time,
    /// cost more than the lookup (a tenth of the CPU of an open, in the profile). `work` must run exactly one
    /// statement and reset it (the `fetchFirst` / `fetchAll` / `execute` of `PreparedSQL` do); use `read` for
    /// anything that needs two statements to agree.
    public func readStatement<T>(_ work: (Database) throws -> T) throws -> T {
        do {
            return try pool.unsafeRead(work)
        } catch let error as DatabaseError {
            throw SQLiteFile.classify(error, path: path)
        }
    }

    /// Runs `work` on the writer connection outside any transaction, with every other write held back
    /// (schema checks, tests).
    public func barrier<T>(_ work: (Database) throws -> T) throws -> T {
        do {
            return try pool.barrierWriteWithoutTransaction(work)
        } catch let error as DatabaseError {
            throw SQLiteFile.classify(error, path: path)
        }
    }

    /// Closes the database once the group-commit writer is idle. Without it the pool closes whenever the last
    /// reference goes, which may be a writer queue still finishing its acknowledgement: a process that opens
    /// the file again at once could then find it locked. Use no method of this store afterwards.
    public func close() throws {
        writer.waitUntilIdle()
        checkpointer?.stop()
        do {
            try pool.close()
        } catch {
            throw SQLiteFile.classify(error, path: path)
        }
        checkpointer?.writerClosed()
    }

    deinit {
        // Closed or not, no checkpoint may start once the store is gone (its connection is closed here; a store
        // dropped without `close` keeps the hook's hold on the checkpointer, as its writer may still commit).
        checkpointer?.stop()
    }

    /// How many group commits have happened since open.
    public var commitCount: Int { writer.commitCount }

    /// Writes submitted to the group commit and not yet taken into a commit.
    public var queuedWrites: Int { writer.queuedUnits }
}
