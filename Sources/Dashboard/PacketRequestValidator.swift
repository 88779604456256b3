import Primitives

/// Checks a packet request against `Limits` before it is sent, so that the form and the command line give the
/// same immediate answer. The engine checks again; this is for the operator's convenience, not for safety.
public struct PacketRequestValidator: Sendable {
    public var limits: PacketLimits

    public init(limits: PacketLimits = Limits.default.packets) {
        self.limits = limits
    }

    /// The share count is within the group limits.
    public func validateShares(_ shares: Int) -> PacketValidationError? {
        guard (limits.minShares...limits.maxShares).contains(shares) else {
            return .sharesOutOfRange(shares, limits.minShares...limits.maxShares)
        }
        return nil
    }

    /// `nil` when the request is acceptable.
    public func validate(_ request: PacketRequest) -> PacketValidationError? {
        if request.sender.isEmpty { return .missingSender }
        guard request.amount.isPositive else { return .amountNotPositive }
        switch request.kind {
        case .personal(let recipient):
            if recipient.isEmpty { return .missingRecipient }
            if recipient == request.sender { return .sendingToSelf }
            if request.amount > limits.maxPersonalAmount { return .amountAboveLimit(limits.maxPersonalAmount) }
        case .lucky(let shares), .equal(let shares):
            if let error = validateShares(shares) { return error }
            if request.amount > limits.maxGroupAmount { return .amountAboveLimit(limits.maxGroupAmount) }
            if let floor = limits.minShare.multiplied(by: Int64(shares)), request.amount < floor {
                return .amountBelowShares(minimum: floor)
            }
        }
        return nil
    }
}

/// Why a packet request is not acceptable.
public enum PacketValidationError: Error, Sendable, Equatable {
    case missingSender
    case missingRecipient
    case sendingToSelf
    case amountNotPositive
    case amountAboveLimit(Money)
    case amountBelowShares(minimum: Money)
    case sharesOutOfRange(Int, ClosedRange<Int>)

    /// One line for the form or the status bar.
    public var message: String {
        switch self {
        case .missingSender: return "who sends it?"
        case .missingRecipient: return "who receives it?"
        case .sendingToSelf: return "sender and recipient are the same"
        case .amountNotPositive: return "amount must be more than ¥0.00"
        case .amountAboveLimit(let limit): return "amount above the limit of \(limit.formatted)"
        case .amountBelowShares(let minimum): return "at least \(minimum.formatted) for that many shares"
        case .sharesOutOfRange(let shares, let range):
            return "\(shares) shares: must be \(range.lowerBound)–\(range.upperBound)"
        }
    }
}
