import Primitives

/// Everything that can go wrong with a red packet. User text is made by the executable and the dashboard.
public enum PacketError: Error, Equatable, Sendable {
    case unknownPacket(String)
    case unknownAccount(String)
    /// Zero, negative or above the single-amount limit.
    case invalidAmount(Money)
    case personalAmountTooLarge(Money, max: Money)
    case groupAmountTooLarge(Money, max: Money)
    case sharesOutOfRange(Int, min: Int, max: Int)
    /// A group total smaller than shares × the minimum share.
    case totalBelowMinimum(Money, shares: Int, minimum: Money)
    case sendToSelf
    case invalidTimeToLive(Duration)
    /// The greeting is too long or breaks the character rules of `TextRules`.
    case invalidGreeting(reason: String)
    case insufficientFunds(account: String, balance: Money, needed: Money)
    /// The send was settled as failed before its payment landed (`PacketService.settleSends`, e.g. by another
    /// process while this one's payment call was retried): the packet is cancelled and nothing was paid.
    case sendCancelled(PacketID)
    case expired(PacketID)
    case soldOut(PacketID)
    case alreadyGrabbed(PacketID, user: String)
    /// Opening requires grabbing first.
    case notGrabbed(PacketID, user: String)
    /// A personal packet can be grabbed only by its recipient.
    case notRecipient(PacketID, user: String)
}
