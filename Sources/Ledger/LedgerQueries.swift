import GRDB
import Primitives

/// Read queries shared by transactions and readers.
enum LedgerQueries {
    static func account(named name: String, in database: Database) throws -> Account? {
        let statement = try database.cachedStatement(
            sql: "SELECT id, name, kind, balance, created_at FROM account WHERE name = ?")
        return try statement.fetchFirst(arguments: [name], account(from:))
    }

    static func account(id: AccountID, in database: Database) throws -> Account? {
        let statement = try database.cachedStatement(
            sql: "SELECT id, name, kind, balance, created_at FROM account WHERE id = ?")
        return try statement.fetchFirst(arguments: [id.rawValue], account(from:))
    }

    static func account(from row: Row) -> Account {
        Account(
            id: AccountID(row[0]),
            name: row[1],
            kind: AccountKind(rawValue: row[2]) ?? .user,
            balance: Money(minorUnits: row[3]),
            createdAt: Timestamp(millisecondsSinceEpoch: row[4])
        )
    }

    static func transfer(id: TransferID, in database: Database) throws -> TransferRecord? {
        let statement = try database.cachedStatement(sql: """
            SELECT seq, id, debit_id, credit_id, amount, memo, debit_balance_after, credit_balance_after, created_at
            FROM transfer WHERE id = ?
            """)
        return try statement.fetchFirst(arguments: [id.rawValue]) { row in
            TransferRecord(
                sequence: row[0], id: TransferID(row[1] as String), from: AccountID(row[2]), to: AccountID(row[3]),
                amount: Money(minorUnits: row[4]), memo: row[5], fromBalanceAfter: Money(minorUnits: row[6]),
                toBalanceAfter: Money(minorUnits: row[7]), at: Timestamp(millisecondsSinceEpoch: row[8])
            )
        }
    }
}
