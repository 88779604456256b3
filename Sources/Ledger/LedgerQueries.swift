import GRDB
import Primitives
import SQLiteSupport

/// Read queries shared by transactions and readers (prepared statements: they run on every transfer).
enum LedgerQueries {
    static func account(named name: String, in database: Database) throws -> Account? {
        try database.fetchFirst(prepared: "SELECT id, name, kind, balance, created_at FROM account WHERE name = ?",
                                name, map: account(from:))
    }

    /// The user account with that name: not the mint, not a settlement account.
    static func userAccount(named name: String, in database: Database) throws -> Account? {
        try account(named: name, in: database).flatMap { $0.kind == .user ? $0 : nil }
    }

    static func account(id: AccountID, in database: Database) throws -> Account? {
        try database.fetchFirst(prepared: "SELECT id, name, kind, balance, created_at FROM account WHERE id = ?",
                                id.rawValue, map: account(from:))
    }

    /// An account with its newest transfer (`last_seq`, nil before its first): what a transfer reads to move it
    /// and to chain its new transfer behind that one.
    static func chainedAccount(id: AccountID, in database: Database) throws -> (account: Account, newest: Int64?)? {
        try database.fetchFirst(prepared: "SELECT id, name, kind, balance, created_at, last_seq FROM account WHERE id = ?",
                                id.rawValue) { row in (account(from: row), row.optionalInt64(5)) }
    }

    static func account(from row: SQLiteRow) -> Account {
        Account(
            id: AccountID(row.int64(0)),
            name: row.text(1),
            kind: AccountKind(rawValue: row.text(2)) ?? .user,
            balance: Money(minorUnits: row.int64(3)),
            createdAt: Timestamp(millisecondsSinceEpoch: row.int64(4))
        )
    }

    static func transfer(id: TransferID, in database: Database) throws -> TransferRecord? {
        try database.fetchFirst(prepared: """
            SELECT seq, id, debit_id, credit_id, amount, memo, debit_balance_after, credit_balance_after, created_at
            FROM transfer WHERE id = ?
            """, id.rawValue, map: transfer(from:))
    }

    /// Whether `settleTransfers` voided the id.
    static func isVoided(_ id: TransferID, in database: Database) throws -> Bool {
        try database.fetchFirst(prepared: "SELECT 1 FROM voided_transfer WHERE id = ?", id.rawValue,
                                map: { _ in true }) ?? false
    }

    /// The transfers with these ids that exist, by id.
    static func transfers(_ ids: [TransferID], in database: Database) throws -> [TransferID: TransferRecord] {
        var found: [TransferID: TransferRecord] = [:]
        for id in ids {
            if let record = try transfer(id: id, in: database) { found[id] = record }
        }
        return found
    }

    static func transfer(from row: SQLiteRow) -> TransferRecord {
        TransferRecord(
            sequence: row.int64(0), id: TransferID(row.text(1)), from: AccountID(row.int64(2)),
            to: AccountID(row.int64(3)), amount: Money(minorUnits: row.int64(4)), memo: row.text(5),
            fromBalanceAfter: Money(minorUnits: row.int64(6)), toBalanceAfter: Money(minorUnits: row.int64(7)),
            at: Timestamp(millisecondsSinceEpoch: row.int64(8))
        )
    }
}
