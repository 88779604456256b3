import Primitives

/// A request to move money. The id is the idempotency key.
public struct TransferRequest: Sendable, Equatable {
    public let id: TransferID
    public let from: AccountID
    public let to: AccountID
    public let amount: Money
    /// A short human-readable reason shown in bills ("deposit", "red packet p123", ...).
    public let memo: String

    public init(id: TransferID, from: AccountID, to: AccountID, amount: Money, memo: String) {
        self.id = id
        self.from = from
        self.to = to
        self.amount = amount
        self.memo = memo
    }
}

/// A committed transfer with the balances it left behind.
public struct TransferRecord: Sendable, Equatable, Codable {
    /// The transfer's position in the ledger's total order.
    public let sequence: Int64
    public let id: TransferID
    public let from: AccountID
    public let to: AccountID
    public let amount: Money
    public let memo: String
    public let fromBalanceAfter: Money
    public let toBalanceAfter: Money
    public let at: Timestamp

    public init(sequence: Int64, id: TransferID, from: AccountID, to: AccountID, amount: Money, memo: String,
                fromBalanceAfter: Money, toBalanceAfter: Money, at: Timestamp) {
        self.sequence = sequence
        self.id = id
        self.from = from
        self.to = to
        self.amount = amount
        self.memo = memo
        self.fromBalanceAfter = fromBalanceAfter
        self.toBalanceAfter = toBalanceAfter
        self.at = at
    }
}

/// The result of a transfer: applied now, or found already applied by an earlier call with the same id.
/// A replay is a normal outcome, not an error.
public enum TransferOutcome: Sendable, Equatable {
    case applied(TransferRecord)
    case alreadyApplied(TransferRecord)

    public var record: TransferRecord {
        switch self {
        case let .applied(record), let .alreadyApplied(record): return record
        }
    }

    public var wasReplay: Bool {
        if case .alreadyApplied = self { return true }
        return false
    }
}

/// One line of an account's statement.
public struct Bill: Sendable, Equatable, Codable {
    public let sequence: Int64
    public let transferID: TransferID
    /// Positive when money came in, negative when it went out.
    public let amount: Money
    public let balanceAfter: Money
    public let counterparty: String
    public let memo: String
    public let at: Timestamp

    public init(sequence: Int64, transferID: TransferID, amount: Money, balanceAfter: Money, counterparty: String,
                memo: String, at: Timestamp) {
        self.sequence = sequence
        self.transferID = transferID
        self.amount = amount
        self.balanceAfter = balanceAfter
        self.counterparty = counterparty
        self.memo = memo
        self.at = at
    }
}
