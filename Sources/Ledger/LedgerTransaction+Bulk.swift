import GRDB
import Primitives

extension LedgerTransaction {
    /// Opens many user accounts, each funded by a deposit from the mint, with the same invariants as
    /// `openAccount` + `deposit` but one mint update for the whole batch (seeding a million accounts).
    /// Names that already exist (or look like an existing one) are skipped. Returns how many accounts were created.
    public func openFundedAccounts(_ accounts: [(name: String, deposit: Money)]) throws -> Int {
        var mint = try self.mint()
        let insertAccount = try database.cachedStatement(sql: """
            INSERT INTO account (name, name_key, kind, balance, created_at) VALUES (?, ?, 'user', ?, ?)
            ON CONFLICT DO NOTHING
            """)
        let insertTransfer = try database.cachedStatement(sql: """
            INSERT INTO transfer (id, debit_id, credit_id, amount, debit_balance_after, credit_balance_after, memo, created_at,
                                  debit_prev_seq)
            VALUES (?, ?, ?, ?, ?, ?, 'deposit', ?, ?)
            """)
        // The deposit is the new account's first transfer and the mint's newest (the chains of `LedgerSchema`).
        let chainAccount = try database.cachedStatement(sql: "UPDATE account SET last_seq = ? WHERE id = ?")
        guard let mintChain = try LedgerQueries.chainedAccount(id: mint.id, in: database) else {
            throw LedgerError.unknownAccount(Account.mintName)
        }
        var mintNewest = mintChain.newest
        var created = 0
        var mintBalance = mint.balance
        for (name, deposit) in accounts {
            try AccountName.validate(name, limits: limits)
            guard deposit.isPositive, deposit <= limits.money.maxSingleAmount else { throw LedgerError.invalidAmount(deposit) }
            try insertAccount.execute(arguments: [name, TextRules.lookalikeKey(name), deposit.minorUnits, now.millisecondsSinceEpoch])
            guard database.changesCount == 1 else { continue }
            let accountID = database.lastInsertedRowID
            guard let after = mintBalance.subtracting(deposit) else { throw LedgerError.arithmeticOverflow }
            mintBalance = after
            try insertTransfer.execute(arguments: [
                "open:\(accountID)", mint.id.rawValue, accountID, deposit.minorUnits, mintBalance.minorUnits,
                deposit.minorUnits, now.millisecondsSinceEpoch, mintNewest,
            ])
            let sequence = database.lastInsertedRowID
            try chainAccount.execute(arguments: [sequence, accountID])
            mintNewest = sequence
            created += 1
        }
        try database.execute(sql: "UPDATE account SET balance = ?, last_seq = ? WHERE id = ?",
                             arguments: [mintBalance.minorUnits, mintNewest, mint.id.rawValue])
        mint = try self.mint()
        precondition(mint.balance == mintBalance, "mint balance drifted during a bulk deposit")
        return created
    }
}
