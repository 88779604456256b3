import Ledger
import PostgresNIO
import Primitives

/// The operator's reads of the account system (`hongbao account list|show`), as the SQLite ledger has them
/// (`Ledger+Reads`): the same rows in the same order.
extension PostgresLedger {
    /// The first `limit` user accounts, by name (byte order, as SQLite sorts) or richest first.
    public func accounts(order: AccountOrder, limit: Int) async throws -> [Account] {
        if order == .balanceDescending { return try await topAccounts(limit: limit) }
        return try await pool.retrying {
            try await pool.rows("""
                SELECT \(unescaped: PostgresLedger.accountColumns) FROM account WHERE kind = 'user'
                ORDER BY name COLLATE "C" LIMIT \(Int64(max(0, limit)))
                """).map(PostgresLedger.account(from:))
        }
    }

    /// How many user accounts exist.
    public func userAccountCount() async throws -> Int {
        let rows = try await pool.retrying {
            try await pool.rows("SELECT COUNT(*) FROM account WHERE kind = 'user'")
        }
        return Int(try rows.first?.decode(Int64.self) ?? 0)
    }

    /// An account's statement, newest first, with the balance after each line.
    public func bills(of account: AccountID, limit: Int) async throws -> [Bill] {
        let id = account.rawValue
        return try await pool.retrying {
            try await pool.rows("""
                SELECT t.seq, t.id, -t.amount, t.debit_balance_after, c.name, t.memo, t.created_at
                FROM transfer t JOIN account c ON c.id = t.credit_id WHERE t.debit_id = \(id)
                UNION ALL
                SELECT t.seq, t.id, t.amount, t.credit_balance_after, d.name, t.memo, t.created_at
                FROM transfer t JOIN account d ON d.id = t.debit_id WHERE t.credit_id = \(id)
                ORDER BY 1 DESC LIMIT \(Int64(max(0, limit)))
                """).map { row in
                let (seq, transfer, amount, after, counterparty, memo, at) = try row.decode(
                    (Int64, String, Int64, Int64, String, String, Int64).self)
                return Bill(sequence: seq, transferID: TransferID(transfer), amount: Money(minorUnits: amount),
                            balanceAfter: Money(minorUnits: after), counterparty: counterparty, memo: memo,
                            at: Timestamp(millisecondsSinceEpoch: at))
            }
        }
    }
}
