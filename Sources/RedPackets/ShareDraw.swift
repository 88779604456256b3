import Primitives

/// How much the next opened share gets. Pure: the caller passes what is left and the randomness.
public enum ShareDraw {
    /// The next share of a packet with `remaining` money and `sharesLeft` unopened shares.
    ///
    /// - Lucky (double-mean): uniform in [min, 2·r/n), capped so every later share still gets the minimum;
    ///   the last share takes the remainder. Shares always sum exactly to the total.
    /// - Equal: ⌈r/n⌉, so the shares differ by at most one minor unit and sum exactly to the total.
    /// - Personal: everything.
    public static func next(
        kind: PacketKind, remaining: Money, sharesLeft: Int, minShare: Money, random: any RandomSource
    ) -> Money {
        precondition(sharesLeft > 0, "drawing from a packet with no shares left")
        precondition(remaining.minorUnits >= Int64(sharesLeft) * minShare.minorUnits,
                     "packet holds \(remaining) for \(sharesLeft) shares: below the minimum share")
        let r = remaining.minorUnits
        let n = Int64(sharesLeft)
        if n == 1 || kind == .personal { return remaining }
        switch kind {
        case .equal:
            return Money(minorUnits: (r + n - 1) / n)
        case .lucky, .personal:
            let minimum = minShare.minorUnits
            let doubleMeanBound = (2 * r - 1) / n          // largest x with x < 2r/n
            let leaveEnoughBound = r - (n - 1) * minimum   // every later share still gets the minimum
            let upper = max(minimum, min(doubleMeanBound, leaveEnoughBound))
            return Money(minorUnits: random.uniform(in: minimum...upper))
        }
    }
}
