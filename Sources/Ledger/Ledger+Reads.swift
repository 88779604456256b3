import GRDB
import Primitives
import SQLiteSupport

/// Orderings for account listings.
public enum AccountOrder: String, Sendable, CaseIterable {
    case name
    case balanceDescending
}

extension Ledger {
    /// User accounts, a page at a time. By name it walks the name index; richest first scans the table
    /// (balances are not indexed, see `LedgerSchema`), about 90 ms at a million accounts.
    public func accounts(order: AccountOrder = .name, limit: Int = 50, offset: Int = 0) throws -> [Account] {
        let orderBy = order == .name ? "name" : "balance DESC, id"
        return try read { database in
            try database.fetchAll(prepared: """
                SELECT id, name, kind, balance, created_at FROM account
                WHERE kind = 'user' ORDER BY \(orderBy) LIMIT ? OFFSET ?
                """, limit, offset, map: LedgerQueries.account(from:))
        }
    }

    /// User accounts whose name contains `text` (case-insensitive for ASCII), a page at a time: the dashboard's
    /// filtered and scrolled list. Both orders scan the table when filtered (a substring has no index); the
    /// dashboard reads one screenful at a time, on its own thread, spaced by the time the read took.
    public func accounts(matching text: String?, order: AccountOrder, limit: Int, offset: Int) throws -> [Account] {
        guard let text, !text.isEmpty else { return try accounts(order: order, limit: limit, offset: offset) }
        let orderBy = order == .name ? "name" : "balance DESC, id"
        return try read { database in
            try database.fetchAll(prepared: """
                SELECT id, name, kind, balance, created_at FROM account
                WHERE kind = 'user' AND instr(lower(name), lower(?)) > 0 ORDER BY \(orderBy) LIMIT ? OFFSET ?
                """, text, limit, offset, map: LedgerQueries.account(from:))
        }
    }

    /// How many user accounts have a name containing `text` (all of them when `text` is nil or empty).
    public func userAccountCount(matching text: String?) throws -> Int {
        guard let text, !text.isEmpty else { return try userAccountCount() }
        return try read { database in
            try database.fetchFirst(prepared: """
                SELECT COUNT(*) FROM account WHERE kind = 'user' AND instr(lower(name), lower(?)) > 0
                """, text) { Int($0.int64(0)) } ?? 0
        }
    }

    /// How many user accounts exist.
    public func userAccountCount() throws -> Int {
        try read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM account WHERE kind = 'user'") ?? 0 }
    }

    /// An account's statement, newest first, with the balance after each line: its chain of transfers from the
    /// newest (`LedgerSchema`), `limit` rows looked up by `seq`, however long the history.
    public func bills(of account: AccountID, limit: Int = 50) throws -> [Bill] {
        try read { database in
            let sql = try LedgerSchema.hasAccountChains(database) ? """
                WITH RECURSIVE chain(seq) AS (
                    SELECT last_seq FROM account WHERE id = :account
                    UNION ALL
                    SELECT CASE WHEN t.debit_id = :account THEN t.debit_prev_seq ELSE t.credit_prev_seq END
                    FROM chain JOIN transfer t ON t.seq = chain.seq
                    -- always to an older transfer: a damaged chain cannot loop
                    WHERE (CASE WHEN t.debit_id = :account THEN t.debit_prev_seq ELSE t.credit_prev_seq END) < t.seq
                    LIMIT :limit
                )
                SELECT t.seq, t.id,
                       CASE WHEN t.debit_id = :account THEN -t.amount ELSE t.amount END,
                       CASE WHEN t.debit_id = :account THEN t.debit_balance_after ELSE t.credit_balance_after END,
                       other.name, t.memo, t.created_at
                FROM chain JOIN transfer t ON t.seq = chain.seq
                JOIN account other ON other.id = CASE WHEN t.debit_id = :account THEN t.credit_id ELSE t.debit_id END
                ORDER BY t.seq DESC
                """ : """
                SELECT t.seq, t.id, -t.amount, t.debit_balance_after, c.name, t.memo, t.created_at
                FROM transfer t JOIN account c ON c.id = t.credit_id
                WHERE t.debit_id = :account
                UNION ALL
                SELECT t.seq, t.id, t.amount, t.credit_balance_after, d.name, t.memo, t.created_at
                FROM transfer t JOIN account d ON d.id = t.debit_id
                WHERE t.credit_id = :account
                ORDER BY 1 DESC LIMIT :limit
                """
            return try Row.fetchAll(database, sql: sql, arguments: ["account": account.rawValue, "limit": limit]).map { row in
                Bill(sequence: row[0], transferID: TransferID(row[1] as String), amount: Money(minorUnits: row[2]),
                     balanceAfter: Money(minorUnits: row[3]), counterparty: row[4], memo: row[5],
                     at: Timestamp(millisecondsSinceEpoch: row[6]))
            }
        }
    }

    /// Totals for the header and the audit: money in circulation and the number of transfers.
    public func totals() throws -> LedgerTotals {
        try read { database in
            let row = try Row.fetchOne(database, sql: """
                SELECT COALESCE(SUM(balance), 0),
                       COALESCE(-SUM(CASE WHEN kind = 'mint' THEN balance END), 0),
                       (SELECT COALESCE(MAX(seq), 0) FROM transfer),
                       COUNT(*),
                       COALESCE(SUM(kind = 'user'), 0)
                FROM account
                """)
            return LedgerTotals(
                sumOfBalances: Money(minorUnits: row?[0] ?? 0),
                moneyIssued: Money(minorUnits: row?[1] ?? 0),
                transferCount: row?[2] ?? 0,
                accountCount: row?[3] ?? 0,
                userAccountCount: row?[4] ?? 0
            )
        }
    }
}

/// Whole-ledger figures.
public struct LedgerTotals: Sendable, Equatable, Codable {
    /// Must always be zero: the mint's negative balance mirrors all money issued.
    public let sumOfBalances: Money
    /// All money ever deposited (minus the mint's balance).
    public let moneyIssued: Money
    public let transferCount: Int64
    /// Every account: users, the mint and the red-packet system's settlement account.
    public let accountCount: Int64
    /// People only (what the dashboard counts as "accounts").
    public let userAccountCount: Int64

    public init(sumOfBalances: Money, moneyIssued: Money, transferCount: Int64, accountCount: Int64,
                userAccountCount: Int64) {
        self.sumOfBalances = sumOfBalances
        self.moneyIssued = moneyIssued
        self.transferCount = transferCount
        self.accountCount = accountCount
        self.userAccountCount = userAccountCount
    }
}
