import Primitives

/// One account in the accounts pane.
public struct AccountRow: Sendable, Equatable {
    /// The account's name (may be CJK: measured by display width).
    public var name: String
    public var balance: Money
    /// Credits owed to this account that are still in the queue.
    public var waitingCredits: Int
    /// Their total amount.
    public var waitingAmount: Money

    public init(name: String, balance: Money, waitingCredits: Int = 0, waitingAmount: Money = .zero) {
        self.name = name
        self.balance = balance
        self.waitingCredits = waitingCredits
        self.waitingAmount = waitingAmount
    }
}

/// The accounts pane: the top balances and the credits still on their way.
public struct AccountsSummary: Sendable, Equatable {
    /// User accounts, richest first: the window of the list that was asked for (see `page`).
    public var top: [AccountRow]
    /// Where `top` sits in the whole (filtered) list.
    public var page: ListPage
    /// How many user accounts exist.
    public var totalAccounts: Int
    /// Credits waiting in the queue across all accounts; nil until they are first counted (a dash, not 0).
    public var totalWaitingCredits: Int?
    /// Their total amount; nil until counted.
    public var totalWaitingAmount: Money?

    public init(top: [AccountRow] = [], page: ListPage = ListPage(), totalAccounts: Int = 0, totalWaitingCredits: Int? = nil,
                totalWaitingAmount: Money? = nil) {
        self.top = top
        self.page = page
        self.totalAccounts = totalAccounts
        self.totalWaitingCredits = totalWaitingCredits
        self.totalWaitingAmount = totalWaitingAmount
    }
}
