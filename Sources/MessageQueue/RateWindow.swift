import Primitives

/// Event counts in one-second buckets over a short window: sends, receives and deletes per second.
struct RateWindow: Sendable {
    private let seconds: Int
    private var buckets: [Int64: Int] = [:]

    init(seconds: Int) { self.seconds = max(1, seconds) }

    mutating func record(_ count: Int, at time: Timestamp) {
        guard count > 0 else { return }
        let second = time.millisecondsSinceEpoch / 1_000
        buckets[second, default: 0] += count
        if buckets.count > seconds * 2 {
            buckets = buckets.filter { $0.key > second - Int64(seconds) }
        }
    }

    /// The average per second over the window's complete seconds before `now`.
    func perSecond(at now: Timestamp) -> Double {
        let second = now.millisecondsSinceEpoch / 1_000
        let range = (second - Int64(seconds))..<second
        let total = buckets.reduce(0) { range.contains($1.key) ? $0 + $1.value : $0 }
        return Double(total) / Double(seconds)
    }
}
