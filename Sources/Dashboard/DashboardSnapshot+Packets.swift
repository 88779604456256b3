import Primitives

/// A packet's kind as the dashboard shows it.
public enum PacketKindLabel: String, Sendable, Equatable {
    case personal
    case lucky
    case equal
}

/// A packet's state as the dashboard shows it.
public enum PacketStateLabel: String, Sendable, Equatable {
    /// Shares are left to grab.
    case open
    /// Every share was grabbed.
    case soldOut = "sold out"
    /// Every share was opened.
    case done
    /// Expired; the unopened remainder was (or is being) refunded.
    case expired
}

/// One packet in the packets pane.
public struct PacketRow: Sendable, Equatable {
    public var id: PacketID
    public var sender: String
    public var kind: PacketKindLabel
    public var total: Money
    public var shares: Int
    public var grabbed: Int
    public var opened: Int
    public var state: PacketStateLabel
    /// Time left before expiry (`nil` once expired).
    public var expiresIn: Duration?

    public init(
        id: PacketID, sender: String, kind: PacketKindLabel, total: Money, shares: Int,
        grabbed: Int = 0, opened: Int = 0, state: PacketStateLabel = .open, expiresIn: Duration? = nil
    ) {
        self.id = id
        self.sender = sender
        self.kind = kind
        self.total = total
        self.shares = shares
        self.grabbed = grabbed
        self.opened = opened
        self.state = state
        self.expiresIn = expiresIn
    }
}

/// The luckiest claim so far.
public struct BestLuck: Sendable, Equatable {
    public var recipient: String
    public var amount: Money
    public var packet: PacketID

    public init(recipient: String, amount: Money, packet: PacketID) {
        self.recipient = recipient
        self.amount = amount
        self.packet = packet
    }
}

/// The packets pane.
public struct PacketsSummary: Sendable, Equatable {
    /// Packets with shares left. This and the next three are whole-table counts, nil until first counted (a
    /// dash, where 0 read as an empty store while the count was under way).
    public var open: Int?
    /// Shares grabbed but not opened yet.
    public var grabbed: Int?
    /// Shares opened (claims).
    public var opened: Int?
    /// Packets expired and refunded.
    public var expired: Int?
    /// Packets expiring within the next minute.
    public var expiringSoon: Int
    /// Packets, newest first: the window of the list that was asked for (see `page`).
    public var recent: [PacketRow]
    /// Where `recent` sits in the whole (filtered) list.
    public var page: ListPage
    public var bestLuck: BestLuck?

    public init(
        open: Int? = nil, grabbed: Int? = nil, opened: Int? = nil, expired: Int? = nil, expiringSoon: Int = 0,
        recent: [PacketRow] = [], page: ListPage = ListPage(), bestLuck: BestLuck? = nil
    ) {
        self.page = page
        self.open = open
        self.grabbed = grabbed
        self.opened = opened
        self.expired = expired
        self.expiringSoon = expiringSoon
        self.recent = recent
        self.bestLuck = bestLuck
    }
}
