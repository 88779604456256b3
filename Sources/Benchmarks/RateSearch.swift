/// Finds the highest offered rate a system sustains, by bracketing and bisection.
///
/// An overloaded run says little about the sustainable rate: past saturation, credits miss their deadline
/// and are retried, which is more work, so a run offered too much achieves far less than the machine could
/// carry (a step at 8,000/s fell to under 2,000/s on a loaded machine). Stepping down to what an overloaded
/// run achieved and climbing back by 10 % steps therefore stops well short. This search uses each run only as
/// a bound: a sustained rate is a lower bound, an unsustained one an upper bound. It doubles from the start
/// while runs are sustained; after an unsustained run with no lower bound yet, it tries a little under what
/// that run achieved (or half the upper bound, whichever is lower); then it bisects (geometric mean) until the
/// upper bound is within `tolerance` of the lower one, or the steps run out.
struct RateSearch: Sendable {
    /// The best sustained rate so far (nil: none yet).
    private(set) var sustained: Int?
    /// The lowest rate found not sustained (nil: none yet).
    private(set) var unsustained: Int?
    let tolerance: Double
    let granularity: Int
    let ceiling: Int

    /// - Parameters:
    ///   - tolerance: stop when the upper bound is at most this factor above the lower one.
    ///   - granularity: rates are multiples of this (and at least it).
    ///   - ceiling: the highest rate ever offered; reaching it sustained ends the search.
    init(tolerance: Double = 1.1, granularity: Int = 100, ceiling: Int = 64_000) {
        self.tolerance = tolerance
        self.granularity = granularity
        self.ceiling = ceiling
    }

    /// Records a run at `offered` and returns the next rate to offer, or nil when the search is done.
    mutating func next(offered: Int, achieved: Double, wasSustained: Bool) -> Int? {
        if wasSustained {
            sustained = max(sustained ?? 0, offered)
        } else {
            unsustained = min(unsustained ?? Int.max, offered)
        }
        switch (sustained, unsustained) {
        case let (low?, nil):
            return low >= ceiling ? nil : round(min(ceiling, low * 2))
        case let (nil, high?):
            let guess = round(min(Double(high) / 2, achieved * 0.9))
            return guess >= high ? nil : guess
        case let (low?, high?):
            guard Double(high) > Double(low) * tolerance else { return nil }
            let middle = round((Double(low) * Double(high)).squareRoot())
            return middle <= low || middle >= high ? nil : middle
        case (nil, nil):
            return nil
        }
    }

    private func round(_ rate: Int) -> Int { round(Double(rate)) }

    private func round(_ rate: Double) -> Int {
        max(granularity, Int(rate) / granularity * granularity)
    }
}
