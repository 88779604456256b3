import Primitives

/// What an account is for. Only the mint may go negative.
public enum AccountKind: String, Sendable, Codable {
    /// A person's wallet.
    case user
    /// The source of all money: deposits are transfers out of the mint, so its balance is minus all money.
    case mint
    /// Holds money for another system between two of its steps: the red-packet system's settlement account
    /// holds every packet's money between send and open (or refund). (Ledgers made before the two systems
    /// were split also hold one retired escrow account per old packet.)
    case escrow
}

/// An account as stored: identity, kind and current balance.
public struct Account: Sendable, Equatable, Codable {
    public let id: AccountID
    public let name: String
    public let kind: AccountKind
    public let balance: Money
    public let createdAt: Timestamp

    public init(id: AccountID, name: String, kind: AccountKind, balance: Money, createdAt: Timestamp) {
        self.id = id
        self.name = name
        self.kind = kind
        self.balance = balance
        self.createdAt = createdAt
    }

    /// The name of the mint account, created by the first migration.
    public static let mintName = "mint"
    /// The red-packet system's settlement account, created by the ledger's migrations.
    public static let settlementName = "settlement:redpackets"
}
