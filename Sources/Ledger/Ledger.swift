import Foundation
import GRDB
import Primitives

/// The payment ledger: accounts, balances, idempotent double-entry transfers and bills, in one SQLite
/// database (WAL) written through a group-commit writer.
///
/// Other modules that must write in the same local transaction as the ledger (red packets) register their
/// migrations at open and use `write`, which hands them a `LedgerTransaction`.
public final class Ledger: Sendable {
    public let path: String
    public let limits: Limits
    public let durability: Durability
    /// Whether `write` goes through the group-commit writer or commits at once on the caller's thread.
    public let writeMode: LedgerWriteMode
    let pool: DatabasePool
    private let writer: GroupCommitWriter
    /// At FULL durability, the fsync that acknowledges commits (see `WALSyncer`); nil at NORMAL.
    public let walSyncer: WALSyncer?
    private let clock: any WallClock

    /// Opens (creating if needed) the ledger at `path`.
    ///
    /// - Parameters:
    ///   - writeMode: `.immediate` only for single-task deterministic simulations (see `LedgerWriteMode`).
    ///   - migrations: more named migrations to run after the ledger's own (red packets' tables).
    ///   - readOnly: open an existing ledger for reading only, after SQLite's quick check of the whole file:
    ///     no migration, no checkpoint, nothing written to the database (SQLite may create its shared-memory
    ///     index beside it). Writes then fail.
    public init(
        path: String,
        durability: Durability = .full,
        limits: Limits = .default,
        clock: any WallClock = SystemClock(),
        writeMode: LedgerWriteMode = .groupCommit,
        migrations: @Sendable (inout DatabaseMigrator) -> Void = { _ in },
        readOnly: Bool = false
    ) throws(LedgerError) {
        self.path = path
        self.writeMode = writeMode
        self.limits = limits
        self.durability = durability
        self.clock = clock
        let syncer = durability == .full && !readOnly ? WALSyncer(walPath: path + "-wal") : nil
        walSyncer = syncer
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.readonly = readOnly
        configuration.prepareDatabase { database in
            // Readers (snapshots, audits) read through a memory map: no copying into a per-connection cache.
            try database.execute(sql: "PRAGMA mmap_size = \(limits.ledger.memoryMapBytes)")
        }
        do {
            if readOnly {
                guard FileManager.default.fileExists(atPath: path) else { throw LedgerError.missingDatabase(path: path) }
                try LedgerFile.checkIsSQLite(path: path, readOnly: true)
                pool = try DatabasePool(path: path, configuration: configuration)
                // A reader may touch only pages a damage spared and print what looks right: check the whole
                // file first (about 0.1 s per 20 MB), so that a damaged ledger is reported and never served.
                let verdict = try pool.read { try String.fetchOne($0, sql: "PRAGMA quick_check(1)") }
                guard verdict == "ok" else {
                    let reason = (verdict ?? "quick_check failed").split(separator: "\n")
                        .filter { !$0.hasPrefix("***") }.joined(separator: "; ")
                    throw LedgerError.corruptDatabase(path: path, reason: reason)
                }
            } else {
                try LedgerFile.checkIsSQLite(path: path)
                pool = try DatabasePool(path: path, configuration: configuration)
                var migrator = DatabaseMigrator()
                LedgerSchema.register(in: &migrator)
                migrations(&migrator)
                try pool.barrierWriteWithoutTransaction { database in
                    // GRDB sets synchronous=NORMAL on the writer when it enables WAL, after `prepareDatabase` ran.
                    // That is what the writer connection, the one that commits, must use: at FULL durability the
                    // WALSyncer fsyncs after commits, off the writer thread, before any caller is told.
                    try database.execute(sql: "PRAGMA synchronous = NORMAL")
                    // The writer keeps the hot pages (accounts, recent packets and claims, index interiors) cached:
                    // SQLite's default 2 MiB cache made throughput fall by half as the database grew past it.
                    try database.execute(sql: "PRAGMA cache_size = -\(limits.ledger.writerCacheBytes / 1024)")
                    // Group commit runs each unit in a savepoint: SQLite copies every page a unit touches into the
                    // statement sub-journal, a temporary *file* once it passes 64 KiB. In memory it is a memcpy and
                    // is truncated at each release; on disk it cost a pwrite per page, a third of the writer's time.
                    try database.execute(sql: "PRAGMA temp_store = MEMORY")
                    try database.execute(sql: "PRAGMA wal_autocheckpoint = \(limits.ledger.walAutocheckpointPages)")
                    try LedgerFile.claimOrVerify(database, path: path)
                }
                try migrator.migrate(pool)
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerFile.classify(error, path: path)
        }
        writer = GroupCommitWriter(writer: pool, maxUnitsPerCommit: limits.ledger.maxTransactionsPerCommit,
                                   syncer: syncer)
        try syncer?.sync() // the migrations' commits
    }

    /// Runs `work` in a write transaction shared with other concurrent callers (group commit). Returns after
    /// the commit is durable. If `work` throws, its writes are rolled back and nothing else is affected.
    /// In `.immediate` write mode it is `writeNow`.
    public func write<T: Sendable>(_ work: @escaping @Sendable (LedgerTransaction) throws -> T) async throws -> T {
        if writeMode == .immediate { return try writeNow(work) }
        let limits = self.limits
        let clock = self.clock
        do {
            return try await writer.write { database in
                try work(LedgerTransaction(database: database, limits: limits, now: clock.now()))
            }
        } catch let error as DatabaseError {
            throw LedgerFile.classify(error, path: path)
        }
    }

    /// Runs `work` in its own write transaction on the caller's thread, bypassing group commit. For
    /// single-threaded deterministic simulations and bulk loads.
    public func writeNow<T>(_ work: (LedgerTransaction) throws -> T) throws -> T {
        let limits = self.limits
        let now = clock.now()
        do {
            let result = try pool.write { database in
                try work(LedgerTransaction(database: database, limits: limits, now: now))
            }
            try walSyncer?.sync()
            return result
        } catch let error as DatabaseError {
            throw LedgerFile.classify(error, path: path)
        }
    }

    /// Reads a consistent snapshot (WAL: never blocks the writer).
    public func read<T>(_ work: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(work)
        } catch let error as DatabaseError {
            throw LedgerFile.classify(error, path: path)
        }
    }

    /// Closes the database once the group-commit writer is idle. Without it the pool closes whenever the last
    /// reference goes, which may be a writer queue still finishing its acknowledgement: a process that opens
    /// the file again at once could then find it locked. Use no method of this ledger afterwards.
    public func close() throws(LedgerError) {
        writer.waitUntilIdle()
        do {
            try pool.close()
        } catch {
            throw LedgerFile.classify(error, path: path)
        }
    }

    /// How many group commits have happened since open.
    public var commitCount: Int { writer.commitCount }

    // MARK: Convenience operations

    /// Opens a user account, optionally funded from the mint, in one transaction.
    public func openAccount(name: String, deposit: Money? = nil) async throws -> Account {
        try await write { transaction in
            let account = try transaction.openAccount(name: name)
            guard let deposit else { return account }
            let outcome = try transaction.deposit(deposit, to: account.id, id: TransferID("open:\(account.id.rawValue)"))
            return Account(id: account.id, name: account.name, kind: account.kind,
                           balance: outcome.record.toBalanceAfter, createdAt: account.createdAt)
        }
    }

    @discardableResult
    public func transfer(_ request: TransferRequest) async throws -> TransferOutcome {
        try await write { try $0.transfer(request) }
    }

    public func account(named name: String) throws -> Account? {
        try read { try LedgerQueries.account(named: name, in: $0) }
    }

    public func account(id: AccountID) throws -> Account? {
        try read { try LedgerQueries.account(id: id, in: $0) }
    }

    public func transfer(id: TransferID) throws -> TransferRecord? {
        try read { try LedgerQueries.transfer(id: id, in: $0) }
    }
}
