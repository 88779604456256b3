import Foundation
import GRDB
import Primitives
import SQLiteSupport

/// The account system's ledger: accounts, balances, idempotent double-entry transfers and bills, in its own
/// SQLite database (WAL) written through its own group-commit writer. The SQLite implementation of
/// `AccountStore`; nothing outside this module sees its SQL or its `Database`.
///
/// The red-packet system holds its money in one settlement account here (`Account.settlementName`): sending
/// pays sender → settlement, opening credits settlement → recipient, expiry refunds settlement → sender.
public final class Ledger: Sendable {
    public let path: String
    public let limits: Limits
    public let durability: Durability
    /// Whether `write` goes through the group-commit writer or commits at once on the caller's thread.
    public let writeMode: LedgerWriteMode
    let store: SQLiteStore
    private let clock: any WallClock
    /// The red-packet system's settlement account.
    public let settlementAccountID: AccountID

    /// Opens (creating if needed) the ledger at `path`.
    ///
    /// - Parameters:
    ///   - writeMode: `.immediate` only for single-task deterministic simulations (see `LedgerWriteMode`).
    ///   - readOnly: open an existing ledger for reading only, after SQLite's quick check of the whole file:
    ///     no migration, no checkpoint, nothing written to the database (SQLite may create its shared-memory
    ///     index beside it). Writes then fail.
    public init(
        path: String,
        durability: Durability = .full,
        limits: Limits = .default,
        clock: any WallClock = SystemClock(),
        writeMode: LedgerWriteMode = .groupCommit,
        readOnly: Bool = false
    ) throws(LedgerError) {
        self.path = path
        self.writeMode = writeMode
        self.limits = limits
        self.durability = durability
        self.clock = clock
        let options = SQLiteStoreOptions(
            applicationID: LedgerSchema.applicationID, syncWAL: durability == .full,
            groupCommit: writeMode == .groupCommit, maxUnitsPerCommit: limits.ledger.maxTransactionsPerCommit,
            writerCacheBytes: limits.ledger.writerCacheBytes, memoryMapBytes: limits.ledger.memoryMapBytes,
            walAutocheckpointPages: limits.ledger.walAutocheckpointPages, readOnly: readOnly)
        do {
            store = try SQLiteStore(path: path, options: options) { LedgerSchema.register(path: path, in: &$0) }
            let settlement = try store.read { try LedgerQueries.account(named: Account.settlementName, in: $0) }
            guard let settlement else { throw LedgerError.storage("\(path): no settlement account") }
            settlementAccountID = settlement.id
        } catch {
            throw Ledger.classify(error)
        }
    }

    /// At FULL durability, the fsync that acknowledges commits (see `WALSyncer`); nil at NORMAL.
    public var walSyncer: WALSyncer? { store.walSyncer }

    /// Storage errors as `LedgerError`; the ledger's own errors unchanged.
    static func classify(_ error: any Error) -> LedgerError {
        switch error {
        case let error as LedgerError: return error
        case let SQLiteStoreError.corruptDatabase(path, reason): return .corruptDatabase(path: path, reason: reason)
        case let SQLiteStoreError.foreignDatabase(path): return .foreignDatabase(path: path)
        case let SQLiteStoreError.missingDatabase(path): return .missingDatabase(path: path)
        case let SQLiteStoreError.storage(message): return .storage(message)
        default: return .storage("\(error)")
        }
    }

    /// Runs `work` in a write transaction shared with other concurrent callers (group commit). Returns after
    /// the commit is durable. If `work` throws, its writes are rolled back and nothing else is affected.
    /// In `.immediate` write mode it commits at once.
    public func write<T: Sendable>(_ work: @escaping @Sendable (LedgerTransaction) throws -> T) async throws -> T {
        let limits = self.limits
        let clock = self.clock
        do {
            return try await store.write { database in
                try work(LedgerTransaction(database: database, limits: limits, now: clock.now()))
            }
        } catch let error as SQLiteStoreError {
            throw Ledger.classify(error)
        }
    }

    /// `write` without a waiting task: `completion` gets what `write` would return or throw, once the commit
    /// is durable, on the writer's acknowledging queue (keep it short).
    public func write<T: Sendable>(_ work: @escaping @Sendable (LedgerTransaction) throws -> T,
                                   completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        let limits = self.limits
        let clock = self.clock
        store.write({ database in
            try work(LedgerTransaction(database: database, limits: limits, now: clock.now()))
        }, completion: { result in
            completion(result.mapError { error in
                if let error = error as? SQLiteStoreError { return Ledger.classify(error) }
                return error
            })
        })
    }

    /// Runs `work` in its own write transaction on the caller's thread, bypassing group commit. For
    /// single-threaded deterministic simulations and bulk loads.
    public func writeNow<T>(_ work: (LedgerTransaction) throws -> T) throws -> T {
        let limits = self.limits
        let now = clock.now()
        do {
            return try store.writeNow { database in
                try work(LedgerTransaction(database: database, limits: limits, now: now))
            }
        } catch let error as SQLiteStoreError {
            throw Ledger.classify(error)
        }
    }

    /// Reads a consistent snapshot (WAL: never blocks the writer). The ledger's own: its SQL stays here.
    func read<T>(_ work: (Database) throws -> T) throws -> T {
        do {
            return try store.read(work)
        } catch let error as SQLiteStoreError {
            throw Ledger.classify(error)
        }
    }

    /// One statement outside an explicit transaction (see `SQLiteStore.readStatement`): point lookups.
    func readStatement<T>(_ work: (Database) throws -> T) throws -> T {
        do {
            return try store.readStatement(work)
        } catch let error as SQLiteStoreError {
            throw Ledger.classify(error)
        }
    }

    /// Closes the database once the group-commit writer is idle. Without it the pool closes whenever the last
    /// reference goes, which may be a writer queue still finishing its acknowledgement: a process that opens
    /// the file again at once could then find it locked. Use no method of this ledger afterwards.
    public func close() throws(LedgerError) {
        do {
            try store.close()
        } catch {
            throw Ledger.classify(error)
        }
    }

    /// How many group commits have happened since open.
    public var commitCount: Int { store.commitCount }

    /// Writes waiting for the group-commit writer (not yet in a commit).
    public var queuedWrites: Int { store.queuedWrites }

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

    public func transfer(_ request: TransferRequest,
                         completion: @escaping @Sendable (Result<TransferOutcome, any Error>) -> Void) {
        write({ try $0.transfer(request) }, completion: completion)
    }

    public func account(named name: String) throws -> Account? {
        try readStatement { try LedgerQueries.account(named: name, in: $0) }
    }

    public func account(id: AccountID) throws -> Account? {
        try readStatement { try LedgerQueries.account(id: id, in: $0) }
    }

    public func transfer(id: TransferID) throws -> TransferRecord? {
        try readStatement { try LedgerQueries.transfer(id: id, in: $0) }
    }
}
