import Foundation

/// One headline number: the median of several runs with their spread, beside its baseline from the same run.
public struct BenchFigure: Sendable, Codable, Equatable {
    /// `ledger`, `queue`, `e2e`, `render` or `scale`.
    public var suite: String
    public var name: String
    public var unit: String
    public var median: Double
    public var min: Double
    public var max: Double
    public var runs: Int
    /// Higher is better for rates, lower for latencies and times.
    public var higherIsBetter: Bool
    /// What the figure is compared with, measured in the same run.
    public var baselineName: String?
    public var baselineMedian: Double?
    /// The figure's goal, in words, and whether this run meets it (nil: no goal on this figure).
    public var goal: String?
    public var goalMet: Bool?
    public var note: String?

    /// `median / baselineMedian` (stored, so that `--json` carries it).
    public var ratio: Double?

    public init(suite: String, name: String, unit: String, samples: Samples, higherIsBetter: Bool,
                baselineName: String? = nil, baseline: Samples? = nil, note: String? = nil) {
        self.suite = suite
        self.name = name
        self.unit = unit
        median = samples.median
        min = samples.min
        max = samples.max
        runs = samples.values.count
        self.higherIsBetter = higherIsBetter
        self.baselineName = baselineName
        baselineMedian = baseline?.median
        if let base = baseline?.median, base > 0 { ratio = samples.median / base }
        self.note = note
    }

    /// The ratio for the table, to two decimals rounded towards worse (down where higher is better, up where
    /// lower is): a ratio of 0.7985 beside a goal of ≥ 0.8× reads 0.79×, not a 0.80× that looks met beside its ✗.
    public var ratioText: String? {
        guard let ratio, ratio.isFinite else { return nil }
        // Millionths of a hundredth first, so that 0.29 (28.999999999999996 hundredths in binary) stays 0.29.
        let exact = (ratio * 100 * 1_000_000).rounded() / 1_000_000
        let hundredths = higherIsBetter ? exact.rounded(.down) : exact.rounded(.up)
        return String(format: "%.2f×", hundredths / 100)
    }

    /// Records a goal and whether the median meets it.
    public func with(goal: String, met: Bool) -> BenchFigure {
        var copy = self
        copy.goal = goal
        copy.goalMet = met
        return copy
    }
}

/// Several measurements of one thing.
public struct Samples: Sendable, Equatable {
    public var values: [Double]

    public init(_ values: [Double]) {
        self.values = values
    }

    public var median: Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    public var min: Double { values.min() ?? 0 }
    public var max: Double { values.max() ?? 0 }
}

/// Why a benchmark run is not to be trusted.
public enum BenchError: Error, CustomStringConvertible, Sendable {
    /// The work a bench timed did not check out (counts, balances, audit): its number would be a lie.
    case verificationFailed(String)
    case setupFailed(String)

    public var description: String {
        switch self {
        case let .verificationFailed(detail): return "benchmark verification failed: \(detail)"
        case let .setupFailed(detail): return "benchmark setup failed: \(detail)"
        }
    }
}
