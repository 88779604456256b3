import Primitives

/// What the sender asks for. Validated against `Limits` before anything is written.
public struct SendRequest: Sendable, Equatable {
    public let sender: String
    public let kind: PacketKind
    public let total: Money
    public let shares: Int
    /// The recipient of a personal packet; `nil` for group packets.
    public let recipient: String?
    public let greeting: String
    /// `nil` means `PacketLimits.defaultTimeToLive`.
    public let timeToLive: Duration?

    public static func personal(from sender: String, to recipient: String, amount: Money,
                                greeting: String = "恭喜发财", timeToLive: Duration? = nil) -> SendRequest {
        SendRequest(sender: sender, kind: .personal, total: amount, shares: 1, recipient: recipient,
                    greeting: greeting, timeToLive: timeToLive)
    }

    public static func group(from sender: String, total: Money, shares: Int, equal: Bool = false,
                             greeting: String = "恭喜发财", timeToLive: Duration? = nil) -> SendRequest {
        SendRequest(sender: sender, kind: equal ? .equal : .lucky, total: total, shares: shares, recipient: nil,
                    greeting: greeting, timeToLive: timeToLive)
    }

    /// The first rule this request breaks, if any. Pure: no accounts are looked up.
    public func validate(limits: Limits) -> PacketError? {
        let packetLimits = limits.packets
        guard total.isPositive, total <= limits.money.maxSingleAmount else { return .invalidAmount(total) }
        if let timeToLive, timeToLive < packetLimits.minTimeToLive || timeToLive > packetLimits.maxTimeToLive {
            return .invalidTimeToLive(timeToLive)
        }
        if greeting.count > packetLimits.maxGreetingLength {
            return .invalidGreeting(reason: "it is longer than \(packetLimits.maxGreetingLength) characters")
        }
        if let problem = TextRules.problem(in: greeting, allowSpaces: true, allowEmojiJoiners: true) {
            return .invalidGreeting(reason: problem)
        }
        switch kind {
        case .personal:
            if total > packetLimits.maxPersonalAmount {
                return .personalAmountTooLarge(total, max: packetLimits.maxPersonalAmount)
            }
            if recipient == sender { return .sendToSelf }
        case .lucky, .equal:
            guard (packetLimits.minShares...packetLimits.maxShares).contains(shares) else {
                return .sharesOutOfRange(shares, min: packetLimits.minShares, max: packetLimits.maxShares)
            }
            if total > packetLimits.maxGroupAmount {
                return .groupAmountTooLarge(total, max: packetLimits.maxGroupAmount)
            }
            guard let minimumTotal = packetLimits.minShare.multiplied(by: Int64(shares)), total >= minimumTotal else {
                return .totalBelowMinimum(total, shares: shares, minimum: packetLimits.minShare)
            }
        }
        return nil
    }
}
