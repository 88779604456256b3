import Histogram
import Synchronization

/// Where the PostgreSQL stores' time goes, step by step: for each named step (a wait for a connection, a
/// write queued in a group commit, a batch's round trips, a COMMIT…) how many times it ran, its total, its
/// mean and slowest, its p50 and p99 (HdrHistogram, three significant digits of microseconds), and for batches
/// how many writes they carried. Every pool keeps one (`PostgresPool.profile`), switched on by the environment
/// variable `HONGBAO_PG_PROFILE`: switched off, `record` returns before it builds the step's name or takes a lock.
public final class PostgresProfile: Sendable {
    /// The environment variable that switches the pools' profiles on.
    public static let environmentVariable = "HONGBAO_PG_PROFILE"

    /// One step's figures.
    public struct Step: Sendable, Equatable {
        public var count = 0
        public var totalNanoseconds: Int64 = 0
        public var maxNanoseconds: Int64 = 0
        /// The writes a batch step carried, summed (1 a time for a step that is not a batch).
        public var items = 0
        /// Durations in microseconds.
        var microseconds = Histogram<UInt64>(numberOfSignificantValueDigits: .three)

        public var meanMilliseconds: Double { count == 0 ? 0 : Double(totalNanoseconds) / Double(count) / 1e6 }
        public var maxMilliseconds: Double { Double(maxNanoseconds) / 1e6 }
        public var meanItems: Double { count == 0 ? 0 : Double(items) / Double(count) }

        /// The duration that `fraction` of the step's runs took at most (to three significant digits of µs).
        public func quantileMilliseconds(_ fraction: Double) -> Double {
            count == 0 ? 0 : Double(microseconds.valueAtPercentile(fraction * 100)) / 1_000
        }
    }

    /// Whether `record` records; fixed at creation.
    public let isEnabled: Bool
    private let steps = Mutex<[String: Step]>([:])

    public init(enabled: Bool = true) {
        isEnabled = enabled
    }

    /// A profile switched on when `HONGBAO_PG_PROFILE` is set in `environment`.
    public static func fromEnvironment(_ environment: [String: String]) -> PostgresProfile {
        PostgresProfile(enabled: environment[environmentVariable] != nil)
    }

    /// Counts one run of `step` that took `duration` and carried `items` writes.
    public func record(_ step: @autoclosure () -> String, _ duration: Duration, items: Int = 1) {
        guard isEnabled else { return }
        let name = step()
        let nanoseconds = max(0, duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        steps.withLock { steps in
            steps[name, default: Step()].count += 1
            steps[name]!.totalNanoseconds += nanoseconds
            steps[name]!.maxNanoseconds = max(steps[name]!.maxNanoseconds, nanoseconds)
            steps[name]!.items += items
            _ = steps[name]!.microseconds.record(UInt64(max(1, nanoseconds / 1_000)))
        }
    }

    /// Counts one run of `step` from `start` until now.
    public func record(_ step: @autoclosure () -> String, since start: ContinuousClock.Instant, items: Int = 1) {
        guard isEnabled else { return }
        record(step(), ContinuousClock.now - start, items: items)
    }

    /// Every step so far, by name.
    public func snapshot() -> [String: Step] { steps.withLock { $0 } }

    /// Forgets every step (the start of a measured run).
    public func reset() { steps.withLock { $0 = [:] } }

    /// The steps as a table, one line each, sorted by name.
    public func report() -> [String] {
        let steps = snapshot().sorted { $0.key < $1.key }
        var lines = ["step                               count     mean ms    p50 ms    p99 ms     max ms   items/run"]
        guard isEnabled else { return lines + ["(off: set \(Self.environmentVariable)=1 to record)"] }
        for (name, step) in steps {
            func column(_ value: Double, _ width: Int) -> String {
                let text = String(Int((value * 100).rounded())).leftPadded(to: 3, with: "0")
                let formatted = String(text.dropLast(2)) + "." + String(text.suffix(2))
                return formatted.leftPadded(to: width, with: " ")
            }
            lines.append(name.padding(toLength: 32, withPad: " ", startingAt: 0)
                + String(step.count).leftPadded(to: 8, with: " ")
                + column(step.meanMilliseconds, 12) + column(step.quantileMilliseconds(0.5), 10)
                + column(step.quantileMilliseconds(0.99), 10) + column(step.maxMilliseconds, 11)
                + column(step.meanItems, 12))
        }
        return lines
    }
}

/// Padding for the profile's columns and the scratch databases' names.
extension String {
    func leftPadded(to width: Int, with pad: Character) -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
