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
    /// Shares may still be grabbed or opened.
    case open
    /// Every share has been opened: nothing is left to refund.
    case finished
    /// The time to live passed; the unopened remainder went back to the sender.
    case expired
}

/// A red packet as stored.
public struct Packet: Sendable, Equatable, Codable {
    public let id: PacketID
    public let kind: PacketKind
    public let senderID: AccountID
    public let senderName: String
    public let recipientID: AccountID?
    public let escrowID: AccountID
    public let total: Money
    public let shares: Int
    public let greeting: String
    public let createdAt: Timestamp
    public let expiresAt: Timestamp
    public let grabbed: Int
    public let opened: Int
    public let openedAmount: Money
    public let refunded: Money
    public let state: PacketState

    /// Money not yet drawn by an open.
    public var remaining: Money { total - openedAmount }
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
    public let escrowID: AccountID

    /// The credit this claim needs: escrow → recipient, transfer id derived from the claim id.
    public var creditRequest: TransferRequest {
        TransferRequest(id: id.creditTransferID, from: escrowID, to: userID, amount: amount,
                        memo: "red packet \(packetID.rawValue)")
    }
}

import Ledger
