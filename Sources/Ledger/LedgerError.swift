import Primitives

/// Everything that can go wrong in the ledger. User text is made by the executable and the dashboard.
public enum LedgerError: Error, Equatable, Sendable {
    case unknownAccount(String)
    case unknownAccountID(AccountID)
    case duplicateAccountName(String)
    case invalidAccountName(String, reason: String)
    /// Amounts must be positive and at most `MoneyLimits.maxSingleAmount`.
    case invalidAmount(Money)
    case sameAccount(AccountID)
    case insufficientFunds(account: String, balance: Money, needed: Money)
    /// The same transfer id was used before with different fields.
    case idempotencyConflict(TransferID)
    /// The transfer id was voided (`AccountStore.settleTransfers`): a transfer with it can no longer be made.
    case voidedTransfer(TransferID)
    /// The database file is damaged or is not a Hongbao ledger.
    case corruptDatabase(path: String, reason: String)
    case foreignDatabase(path: String)
    /// Opened for reading, but there is no ledger there yet.
    case missingDatabase(path: String)
    /// A ledger from the single-database layout, red packets included: this version keeps the red-packet
    /// system in its own database and does not convert old data directories.
    case singleDatabaseLayout(path: String)
    /// The database could not be opened or written (permissions, disk full).
    case storage(String)
    case arithmeticOverflow
}
