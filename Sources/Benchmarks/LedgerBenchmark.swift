import Foundation
import GRDBSQLite
import Ledger
import Primitives

/// Transfers per second through the group-commit writer, against the same transactions written through
/// the raw sqlite3 C API on the same machine in the same run.
public enum LedgerBenchmark {
    public struct Result: Sendable, Codable {
        public var name: String
        public var durability: String
        public var transfers: Int
        public var seconds: Double
        public var commits: Int
        public var transfersPerSecond: Double { seconds > 0 ? Double(transfers) / seconds : 0 }
    }

    /// Accounts the transfers move money between.
    public static let defaultAccounts = 10_000

    /// `concurrency` tasks each submit transfers between random accounts until `transfers` are done.
    public static func groupCommit(
        directory: String, durability: Durability, transfers: Int, concurrency: Int, accounts: Int = defaultAccounts
    ) async throws -> Result {
        let ledger = try Ledger(path: directory + "/ledger.sqlite", durability: durability)
        let ids = try seed(ledger, accounts: accounts)
        return try await groupCommit(ledger: ledger, ids: ids, transfers: transfers, concurrency: concurrency)
    }

    /// The same on an existing ledger (the scale bench's, seeded with many accounts), between `ids`.
    public static func groupCommit(
        ledger: Ledger, ids: [AccountID], transfers: Int, concurrency: Int, tag: String = "b"
    ) async throws -> Result {
        guard ids.count >= 2 else { throw BenchError.setupFailed("the ledger bench needs two accounts") }
        let durability = ledger.durability
        let before = try ledger.totals().transferCount
        let perTask = max(1, transfers / concurrency)
        let commitsBefore = ledger.commitCount
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<concurrency {
                group.addTask {
                    let random = SeededRandomSource(seed: UInt64(task + 1))
                    for index in 0..<perTask {
                        let (from, to) = pick(ids, random)
                        try await ledger.transfer(TransferRequest(
                            id: TransferID("\(tag)\(task)-\(index)"), from: from, to: to, amount: Money(minorUnits: 1), memo: "bench"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = (ContinuousClock.now - start).secondsDouble
        let done = perTask * concurrency
        try verify(ledger, transfers: before + Int64(done))
        return Result(name: "group commit (\(concurrency) concurrent)", durability: durability.rawValue, transfers: done,
                      seconds: seconds, commits: ledger.commitCount - commitsBefore)
    }

    /// The same transfers (look the transfer id up for idempotency, read both balances and newest transfers,
    /// check, insert the transfer row chained behind both, update both accounts) through the sqlite3 C API with
    /// prepared statements, `batch`
    /// transfers per commit, with the ledger writer's cache and checkpoint settings.
    public static func rawSQLite(
        directory: String, durability: Durability, transfers: Int, batch: Int, accounts: Int = defaultAccounts
    ) throws -> Result {
        let path = directory + "/raw-\(batch).sqlite"
        let ids: [AccountID]
        do { // the same schema, made by the ledger itself
            let ledger = try Ledger(path: path, durability: durability)
            ids = try seed(ledger, accounts: accounts)
        }
        let result = try rawTransfers(path: path, durability: durability, transfers: transfers, batch: batch, ids: ids,
                                      tag: "r")
        // Checked through the ledger, like the group commit: every row is there and the books balance.
        try verify(try Ledger(path: path, durability: durability), transfers: Int64(accounts + result.transfers))
        return result
    }

    /// The same on an existing ledger's file (the scale bench's), between `ids`; the ledger must be idle.
    public static func rawSQLite(ledger: Ledger, ids: [AccountID], transfers: Int, batch: Int, tag: String) throws -> Result {
        guard ids.count >= 2 else { throw BenchError.setupFailed("the ledger bench needs two accounts") }
        let before = try ledger.totals().transferCount
        let result = try rawTransfers(path: ledger.path, durability: ledger.durability, transfers: transfers, batch: batch,
                                      ids: ids, tag: tag)
        try verify(ledger, transfers: before + Int64(result.transfers))
        return result
    }

    private static func rawTransfers(
        path: String, durability: Durability, transfers: Int, batch: Int, ids: [AccountID], tag: String
    ) throws -> Result {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw LedgerError.storage("raw open failed") }
        defer { sqlite3_close(db) }
        var failures = 0
        func exec(_ sql: String) { if sqlite3_exec(db, sql, nil, nil, nil) != SQLITE_OK { failures += 1 } }
        exec("PRAGMA journal_mode = WAL")
        exec("PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
        exec("PRAGMA cache_size = -\(Limits.default.ledger.writerCacheBytes / 1024)")
        exec("PRAGMA temp_store = MEMORY")
        exec("PRAGMA wal_autocheckpoint = \(Limits.default.ledger.walAutocheckpointPages)")
        var lookup: OpaquePointer?, select: OpaquePointer?, update: OpaquePointer?, insert: OpaquePointer?
        sqlite3_prepare_v2(db, "SELECT seq FROM transfer WHERE id = ?", -1, &lookup, nil)
        sqlite3_prepare_v2(db, "SELECT balance, last_seq FROM account WHERE id = ?", -1, &select, nil)
        sqlite3_prepare_v2(db, "UPDATE account SET balance = ?, last_seq = ? WHERE id = ?", -1, &update, nil)
        sqlite3_prepare_v2(db, """
            INSERT INTO transfer (id, debit_id, credit_id, amount, debit_balance_after, credit_balance_after, memo, created_at,
                                  debit_prev_seq, credit_prev_seq)
            VALUES (?, ?, ?, ?, ?, ?, 'bench', 0, ?, ?)
            """, -1, &insert, nil)
        defer { sqlite3_finalize(lookup); sqlite3_finalize(select); sqlite3_finalize(update); sqlite3_finalize(insert) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        func exists(_ id: String) -> Bool {
            sqlite3_bind_text(lookup, 1, id, -1, transient)
            let found = sqlite3_step(lookup) == SQLITE_ROW
            sqlite3_reset(lookup)
            return found
        }
        /// An account's balance and newest transfer (0: none yet).
        func position(_ id: Int64) -> (balance: Int64, newest: Int64) {
            sqlite3_bind_int64(select, 1, id)
            sqlite3_step(select)
            let value = (sqlite3_column_int64(select, 0), sqlite3_column_int64(select, 1))
            sqlite3_reset(select)
            return value
        }
        func setBalance(_ id: Int64, _ value: Int64, newest: Int64) {
            sqlite3_bind_int64(update, 1, value)
            sqlite3_bind_int64(update, 2, newest)
            sqlite3_bind_int64(update, 3, id)
            sqlite3_step(update)
            sqlite3_reset(update)
        }
        func bindNewest(_ index: Int32, _ newest: Int64) {
            _ = newest == 0 ? sqlite3_bind_null(insert, index) : sqlite3_bind_int64(insert, index, newest)
        }
        let random = SeededRandomSource(seed: 99)
        let start = ContinuousClock.now
        var done = 0
        while done < transfers {
            exec("BEGIN IMMEDIATE")
            for _ in 0..<min(batch, transfers - done) {
                let (from, to) = pick(ids, random)
                let id = "\(tag)\(done)"
                guard !exists(id) else { continue }
                let fromBefore = position(from.rawValue), toBefore = position(to.rawValue)
                let fromBalance = fromBefore.balance - 1
                let toBalance = toBefore.balance + 1
                guard fromBalance >= 0 else { continue }
                sqlite3_bind_text(insert, 1, id, -1, transient)
                sqlite3_bind_int64(insert, 2, from.rawValue)
                sqlite3_bind_int64(insert, 3, to.rawValue)
                sqlite3_bind_int64(insert, 4, 1)
                sqlite3_bind_int64(insert, 5, fromBalance)
                sqlite3_bind_int64(insert, 6, toBalance)
                bindNewest(7, fromBefore.newest)
                bindNewest(8, toBefore.newest)
                if sqlite3_step(insert) != SQLITE_DONE { failures += 1 }
                sqlite3_reset(insert)
                let sequence = sqlite3_last_insert_rowid(db)
                setBalance(from.rawValue, fromBalance, newest: sequence)
                setBalance(to.rawValue, toBalance, newest: sequence)
                done += 1
            }
            exec("COMMIT")
        }
        let seconds = (ContinuousClock.now - start).secondsDouble
        guard failures == 0 else { throw BenchError.verificationFailed("raw sqlite3: \(failures) statements failed") }
        return Result(name: "raw sqlite3, \(batch) per commit", durability: durability.rawValue, transfers: done,
                      seconds: seconds, commits: (transfers + batch - 1) / batch)
    }

    private static func seed(_ ledger: Ledger, accounts: Int) throws -> [AccountID] {
        let names = (1...accounts).map { (name: "bench\($0)", deposit: Money(yuan: 1_000)) }
        _ = try ledger.writeNow { try $0.openFundedAccounts(names) }
        return try ledger.userAccountIDs()
    }

    /// Two different accounts, uniformly.
    private static func pick(_ ids: [AccountID], _ random: some RandomSource) -> (AccountID, AccountID) {
        let from = Int(random.uniform(in: 0...Int64(ids.count - 1)))
        var to = Int(random.uniform(in: 0...Int64(ids.count - 2)))
        if to >= from { to += 1 }
        return (ids[from], ids[to])
    }

    /// The bench checks the work it timed: every transfer is there and the books balance.
    private static func verify(_ ledger: Ledger, transfers: Int64) throws {
        let totals = try ledger.totals()
        let violations = try ledger.auditLedgerQuick()
        guard totals.transferCount == transfers, violations.isEmpty, totals.sumOfBalances == .zero else {
            throw BenchError.verificationFailed("ledger: expected \(transfers) transfers; \(totals), \(violations)")
        }
    }
}
