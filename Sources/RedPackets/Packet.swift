import Crediting
import Primitives

/// How a packet's total is divided.
public enum PacketKind: String, Sendable, Codable, CaseIterable {
    /// One recipient, the whole amount.
    case personal
    /// A group packet split at random (double-mean method), drawn at open time.
    case lucky
    /// A group packet split into equal shares (differing by at most ¥0.01).
    case equal
}

/// Where a packet is in its life.
public enum PacketState: String, Sendable, Codable {
    /// Created in the red-packet store; the sender's payment into the settlement account is not confirmed
    /// yet. Nobody can grab it. A crash here is settled on the next start (`PacketService.recover`).
    case paying
    /// The payment never happened (insufficient funds, or a crash before it): the packet never existed for
    /// anyone, and no money moved.
    case cancelled
    /// Shares may still be grabbed or opened.
    case open
    /// Every share has been opened: nothing is left to refund.
    case finished
    /// The time to live passed; the unopened remainder goes back to the sender (see `refundPending`).
    case expired
}

/// A red packet as stored.
public struct Packet: Sendable, Equatable, Codable {
    public let id: PacketID
    public let kind: PacketKind
    public let senderID: AccountID
    public let senderName: String
    public let recipientID: AccountID?
    public let total: Money
    public let shares: Int
    public let greeting: String
    public let createdAt: Timestamp
    public let expiresAt: Timestamp
    public let grabbed: Int
    public let opened: Int
    public let openedAmount: Money
    /// The part of the opened amount already credited to recipients.
    public let creditedAmount: Money
    /// The undrawn remainder refunded (or, while `refundPending`, to be refunded) at expiry.
    public let refunded: Money
    /// Expired, and the refund's transfer is not yet confirmed by the account system.
    public let refundPending: Bool
    public let state: PacketState

    public init(id: PacketID, kind: PacketKind, senderID: AccountID, senderName: String, recipientID: AccountID?,
                total: Money, shares: Int, greeting: String, createdAt: Timestamp, expiresAt: Timestamp, grabbed: Int,
                opened: Int, openedAmount: Money, creditedAmount: Money, refunded: Money, refundPending: Bool,
                state: PacketState) {
        self.id = id
        self.kind = kind
        self.senderID = senderID
        self.senderName = senderName
        self.recipientID = recipientID
        self.total = total
        self.shares = shares
        self.greeting = greeting
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.grabbed = grabbed
        self.opened = opened
        self.openedAmount = openedAmount
        self.creditedAmount = creditedAmount
        self.refunded = refunded
        self.refundPending = refundPending
        self.state = state
    }

    /// This packet as `markRefunded` leaves it: its refund made, no longer pending.
    public var withRefundMade: Packet {
        Packet(id: id, kind: kind, senderID: senderID, senderName: senderName, recipientID: recipientID, total: total,
               shares: shares, greeting: greeting, createdAt: createdAt, expiresAt: expiresAt, grabbed: grabbed,
               opened: opened, openedAmount: openedAmount, creditedAmount: creditedAmount, refunded: refunded,
               refundPending: false, state: state)
    }

    /// Money not yet drawn by an open.
    public var remaining: Money { total - openedAmount }

    /// Whether the sender's payment is in the settlement account.
    public var isPaid: Bool { state != .paying && state != .cancelled }

    /// What the settlement account holds for this packet, by the red-packet store's books: the paid total
    /// less what was credited and what was refunded (or decided to be refunded).
    public var held: Money { isPaid ? total - creditedAmount - refunded : .zero }
}

/// The state of an opened share's money on its way to the recipient.
public enum ClaimState: String, Sendable, Codable, CaseIterable {
    /// Drawn; the credit is being attempted now.
    case crediting
    /// The first credit failed; a credit message is queued and retry workers will deliver it.
    case waiting
    /// In the recipient's account.
    case credited
}

/// An opened share of a packet.
public struct Claim: Sendable, Equatable, Codable {
    public let id: ClaimID
    public let packetID: PacketID
    public let userID: AccountID
    public let userName: String
    public let slot: Int
    public let amount: Money
    public let state: ClaimState
    public let openedAt: Timestamp
    public let creditedAt: Timestamp?
    /// Credit attempts made so far (the first, in-line attempt counts).
    public let attempts: Int

    public init(id: ClaimID, packetID: PacketID, userID: AccountID, userName: String, slot: Int, amount: Money,
                state: ClaimState, openedAt: Timestamp, creditedAt: Timestamp?, attempts: Int) {
        self.id = id
        self.packetID = packetID
        self.userID = userID
        self.userName = userName
        self.slot = slot
        self.amount = amount
        self.state = state
        self.openedAt = openedAt
        self.creditedAt = creditedAt
        self.attempts = attempts
    }

    /// The credit this claim needs: settlement → recipient, transfer id derived from the claim id.
    public var creditOrder: CreditOrder {
        CreditOrder(claim: id, packet: packetID, recipient: userID, amount: amount, openedAt: openedAt)
    }
}
