import GRDB
import Primitives
import SQLiteSupport

/// The invariant-keeping operations available inside one ledger transaction. Callers never write ledger
/// tables with raw SQL: they go through `transfer`, `openAccount` and friends.
///
/// The transaction's `Database` stays inside this module: no other module runs SQL on the ledger.
public struct LedgerTransaction {
    let database: Database
    public let limits: Limits
    /// The transaction's clock reading, taken once so that a batch shares one time.
    public let now: Timestamp

    init(database: Database, limits: Limits, now: Timestamp) {
        self.database = database
        self.limits = limits
        self.now = now
    }

    // MARK: Accounts

    /// Creates an account. Names are unique; user names are validated (see `AccountName`).
    public func openAccount(name: String, kind: AccountKind = .user) throws -> Account {
        if kind == .user { try AccountName.validate(name, limits: limits) }
        if try account(named: name) != nil { throw LedgerError.duplicateAccountName(name) }
        let key = kind == .user ? TextRules.lookalikeKey(name) : nil
        if let key, let existing = try String.fetchOne(database, sql: "SELECT name FROM account WHERE name_key = ?",
                                                       arguments: [key]) {
            throw LedgerError.invalidAccountName(name, reason: "it looks like the existing account '\(existing)'")
        }
        try database.execute(prepared: "INSERT INTO account (name, name_key, kind, balance, created_at) VALUES (?, ?, ?, 0, ?)",
                             name, key, kind.rawValue, now.millisecondsSinceEpoch)
        return Account(id: AccountID(database.lastInsertedRowID), name: name, kind: kind, balance: .zero, createdAt: now)
    }

    public func account(named name: String) throws -> Account? {
        try LedgerQueries.account(named: name, in: database)
    }

    public func account(id: AccountID) throws -> Account? {
        try LedgerQueries.account(id: id, in: database)
    }

    /// The account with that name, or `unknownAccount`.
    public func requireAccount(named name: String) throws -> Account {
        guard let account = try account(named: name) else { throw LedgerError.unknownAccount(name) }
        return account
    }

    public func mint() throws -> Account {
        try requireAccount(named: Account.mintName)
    }

    // MARK: Transfers

    /// Moves money between two accounts, idempotently.
    ///
    /// - The same id with the same fields returns `.alreadyApplied` with the original record.
    /// - The same id with other fields throws `idempotencyConflict`.
    /// - A voided id (`settleTransfers`) throws `voidedTransfer`.
    /// - Only the mint may go negative.
    @discardableResult
    public func transfer(_ request: TransferRequest) throws -> TransferOutcome {
        if let existing = try LedgerQueries.transfer(id: request.id, in: database) {
            guard existing.from == request.from, existing.to == request.to, existing.amount == request.amount else {
                throw LedgerError.idempotencyConflict(request.id)
            }
            return .alreadyApplied(existing)
        }
        if try LedgerQueries.isVoided(request.id, in: database) { throw LedgerError.voidedTransfer(request.id) }
        guard request.amount.isPositive, request.amount <= limits.money.maxSingleAmount else {
            throw LedgerError.invalidAmount(request.amount)
        }
        guard request.from != request.to else { throw LedgerError.sameAccount(request.from) }
        guard let (from, fromNewest) = try LedgerQueries.chainedAccount(id: request.from, in: database) else {
            throw LedgerError.unknownAccountID(request.from)
        }
        guard let (to, toNewest) = try LedgerQueries.chainedAccount(id: request.to, in: database) else {
            throw LedgerError.unknownAccountID(request.to)
        }
        guard let fromAfter = from.balance.subtracting(request.amount),
              let toAfter = to.balance.adding(request.amount) else {
            throw LedgerError.arithmeticOverflow
        }
        if from.kind != .mint && fromAfter.isNegative {
            throw LedgerError.insufficientFunds(account: from.name, balance: from.balance, needed: request.amount)
        }
        // The row goes on each account's chain (see `LedgerSchema`): behind each side's newest transfer, and
        // then it is the newest of both.
        try database.execute(prepared: """
            INSERT INTO transfer (id, debit_id, credit_id, amount, debit_balance_after, credit_balance_after, memo, created_at,
                                  debit_prev_seq, credit_prev_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, request.id.rawValue, from.id.rawValue, to.id.rawValue, request.amount.minorUnits,
            fromAfter.minorUnits, toAfter.minorUnits, request.memo, now.millisecondsSinceEpoch, fromNewest, toNewest)
        let sequence = database.lastInsertedRowID
        try setBalance(of: from.id, to: fromAfter, newest: sequence)
        try setBalance(of: to.id, to: toAfter, newest: sequence)
        return .applied(TransferRecord(
            sequence: sequence, id: request.id, from: from.id, to: to.id, amount: request.amount,
            memo: request.memo, fromBalanceAfter: fromAfter, toBalanceAfter: toAfter, at: now
        ))
    }

    /// Moves `amount` from the mint to `account`: the only way money enters the system.
    @discardableResult
    public func deposit(_ amount: Money, to account: AccountID, id: TransferID) throws -> TransferOutcome {
        try transfer(TransferRequest(id: id, from: try mint().id, to: account, amount: amount, memo: "deposit"))
    }

    public func transfer(id: TransferID) throws -> TransferRecord? {
        try LedgerQueries.transfer(id: id, in: database)
    }

    /// The transfers with these ids that exist; every other id is voided: a transfer with it is refused from
    /// now on (`voidedTransfer`). Voiding an id twice, or one already voided, changes nothing.
    public func settleTransfers(_ ids: [TransferID]) throws -> [TransferID: TransferRecord] {
        let found = try LedgerQueries.transfers(ids, in: database)
        for id in ids where found[id] == nil {
            try database.execute(prepared: "INSERT INTO voided_transfer (id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                                 id.rawValue, now.millisecondsSinceEpoch)
        }
        return found
    }

    /// Sets the balance an account's newest transfer (`sequence`) left it with.
    private func setBalance(of account: AccountID, to balance: Money, newest sequence: Int64) throws {
        try database.execute(prepared: "UPDATE account SET balance = ?, last_seq = ? WHERE id = ?",
                             balance.minorUnits, sequence, account.rawValue)
    }
}
