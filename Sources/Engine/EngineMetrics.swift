import Histogram
import Primitives
import Synchronization

/// Figures about opens and credits, for the dashboard header and `simulate`'s summary.
public struct MetricsSnapshot: Sendable, Equatable, Codable {
    public var opens = 0
    /// Opens made in each credit mode (successful ones: a rolled-back open is a failure, not an open).
    public var opensQueueMode = 0
    public var opensTransactionMode = 0
    /// Opens whose in-line credit landed at once (both modes).
    public var creditedImmediately = 0
    /// Opens whose credit went to the queue (the opener saw "on its way").
    public var queued = 0
    /// Credits landed by the retry workers, of claims opened since this engine started.
    public var creditedByRetry = 0
    /// Credits landed by the retry workers of claims opened before this engine started (queued by an
    /// earlier run of the same data directory): not this run's opens, so counted apart.
    public var creditedFromEarlierRuns = 0
    /// Opens that failed in front of the user, per credit mode.
    public var failedForUserQueueMode = 0
    public var failedForUserTransactionMode = 0
    /// Transaction-mode opens rolled back because the credit failed.
    public var rollbacks = 0
    public var sends = 0
    public var opensPerSecond = 0.0
    /// Opens that failed in front of the user, per second (both modes; a rolled-back open is one): with
    /// `opensPerSecond`, the rate opens were tried at.
    public var failedOpensPerSecond = 0.0
    public var creditsPerSecond = 0.0
    /// Opens timed in the last window: 0 when none was, and then the window's percentiles below are 0 too,
    /// which is no measurement, not a latency of zero.
    public var recentOpenCount = 0
    /// Open latency over the last window, in microseconds.
    public var openLatencyP50Microseconds: UInt64 = 0
    public var openLatencyP99Microseconds: UInt64 = 0
    public var openLatencyP999Microseconds: UInt64 = 0
    public var openLatencyMaxMicroseconds: UInt64 = 0
    /// Open latency since start, in microseconds.
    public var allTimeOpenLatencyP50Microseconds: UInt64 = 0
    public var allTimeOpenLatencyP99Microseconds: UInt64 = 0
    public var allTimeOpenLatencyP999Microseconds: UInt64 = 0
    /// From open to credit, for credits that went through the queue, in milliseconds (all time).
    public var timeToCreditP50Milliseconds: UInt64 = 0
    public var timeToCreditP99Milliseconds: UInt64 = 0
    public var timeToCreditMaxMilliseconds: UInt64 = 0
    /// From open to the money in the recipient's account, for every credit that landed in the last window (as
    /// open latency's): in line at the open, or later by a retry. The same measure in both credit modes, which
    /// is what the side-by-side view compares (an open rolled back is never credited and is not in it).
    public var recentTimeToCreditP50Microseconds: UInt64 = 0
    /// Credits timed in the last window (0: none, and the two figures around it are no measurement).
    public var recentCreditCount = 0
    public var recentTimeToCreditP99Microseconds: UInt64 = 0
}

/// A histogram of the recent past: the current window and the one before it. A value goes into the current
/// window, which becomes the previous one once it is a window old; after two windows with nothing recorded the
/// recent past is empty.
struct RecentHistogram {
    private var current: Histogram<UInt64>
    private var previous: Histogram<UInt64>
    private var windowStartedAt: Timestamp
    private let highest: UInt64

    init(highestTrackableValue: UInt64, startedAt: Timestamp) {
        current = Histogram(highestTrackableValue: highestTrackableValue, numberOfSignificantValueDigits: .two)
        previous = current
        windowStartedAt = startedAt
        highest = highestTrackableValue
    }

    mutating func record(_ value: UInt64, at now: Timestamp) {
        if now - windowStartedAt >= EngineMetrics.latencyWindow {
            previous = current
            current.reset()
            windowStartedAt = now
        }
        _ = current.record(min(value, highest))
    }

    /// Both windows together, as of `now`.
    mutating func recent(at now: Timestamp) -> Histogram<UInt64> {
        if now - windowStartedAt >= EngineMetrics.latencyWindow * 2 {
            // Nothing recorded for two windows: the recent figures are of nothing.
            previous.reset()
            current.reset()
            windowStartedAt = now
        }
        var both = previous
        both.add(current)
        return both
    }
}

/// Thread-safe counters and latency histograms (HdrHistogram).
final class EngineMetrics: Sendable {
    private struct State {
        var snapshot = MetricsSnapshot()
        var openLatency: RecentHistogram
        var openLatencyAllTime = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .two)
        var timeToCredit = Histogram<UInt64>(highestTrackableValue: 86_400_000, numberOfSignificantValueDigits: .two)
        /// Every credit's time to credit in microseconds (in line or by retry), over the recent windows.
        var recentTimeToCredit: RecentHistogram
        /// (time, opens, failed opens, credits) samples for rates.
        var samples: [(at: Timestamp, opens: Int, failed: Int, credits: Int)] = []
    }

    /// Latency percentiles cover the current window and the one before it.
    static let latencyWindow: Duration = .seconds(5)
    /// Rates are measured over about this long.
    static let rateWindow: Duration = .seconds(2)

    private let state: Mutex<State>
    private let clock: any WallClock
    private let startedAt: Timestamp

    init(clock: any WallClock) {
        self.clock = clock
        startedAt = clock.now()
        state = Mutex(State(openLatency: RecentHistogram(highestTrackableValue: 60_000_000, startedAt: startedAt),
                            recentTimeToCredit: RecentHistogram(highestTrackableValue: 86_400_000_000, startedAt: startedAt)))
    }

    func update(_ change: (inout MetricsSnapshot) -> Void) {
        state.withLock { change(&$0.snapshot) }
    }

    func recordOpen(latency: Duration) {
        let microseconds = UInt64(max(0, latency.wholeMicroseconds))
        let now = clock.now()
        state.withLock { state in
            state.snapshot.opens += 1
            state.openLatency.record(microseconds, at: now)
            _ = state.openLatencyAllTime.record(min(microseconds, 60_000_000))
        }
    }

    func recordRetriedCredit(openedAt: Timestamp, creditedAt: Timestamp) {
        let milliseconds = UInt64(max(0, (creditedAt - openedAt).wholeMilliseconds))
        state.withLock { state in
            guard openedAt >= startedAt else {
                state.snapshot.creditedFromEarlierRuns += 1
                return
            }
            state.snapshot.creditedByRetry += 1
            _ = state.timeToCredit.record(min(milliseconds, 86_400_000))
            state.recentTimeToCredit.record(UInt64(max(0, (creditedAt - openedAt).wholeMicroseconds)), at: creditedAt)
        }
    }

    /// A credit made in line by the open itself, `latency` after the open began.
    func recordInlineCredit(latency: Duration) {
        let now = clock.now()
        state.withLock { $0.recentTimeToCredit.record(UInt64(max(0, latency.wholeMicroseconds)), at: now) }
    }

    /// The figures now, with rates over the last couple of seconds.
    func snapshot() -> MetricsSnapshot {
        let now = clock.now()
        return state.withLock { state in
            var snapshot = state.snapshot
            let credits = snapshot.creditedImmediately + snapshot.creditedByRetry
            let failed = snapshot.failedForUserQueueMode + snapshot.failedForUserTransactionMode
            state.samples.append((now, snapshot.opens, failed, credits))
            while state.samples.count > 2, now - state.samples[1].at >= EngineMetrics.rateWindow {
                state.samples.removeFirst()
            }
            if let first = state.samples.first, now > first.at {
                let seconds = (now - first.at).secondsDouble
                snapshot.opensPerSecond = Double(snapshot.opens - first.opens) / seconds
                snapshot.failedOpensPerSecond = Double(failed - first.failed) / seconds
                snapshot.creditsPerSecond = Double(credits - first.credits) / seconds
            }
            let latency = state.openLatency.recent(at: now)
            snapshot.recentOpenCount = Int(latency.totalCount)
            if latency.totalCount > 0 {
                snapshot.openLatencyP50Microseconds = latency.valueAtPercentile(50)
                snapshot.openLatencyP99Microseconds = latency.valueAtPercentile(99)
                snapshot.openLatencyP999Microseconds = latency.valueAtPercentile(99.9)
                snapshot.openLatencyMaxMicroseconds = latency.max
            }
            if state.openLatencyAllTime.totalCount > 0 {
                snapshot.allTimeOpenLatencyP50Microseconds = state.openLatencyAllTime.valueAtPercentile(50)
                snapshot.allTimeOpenLatencyP99Microseconds = state.openLatencyAllTime.valueAtPercentile(99)
                snapshot.allTimeOpenLatencyP999Microseconds = state.openLatencyAllTime.valueAtPercentile(99.9)
            }
            let recentCredits = state.recentTimeToCredit.recent(at: now)
            snapshot.recentCreditCount = Int(recentCredits.totalCount)
            if recentCredits.totalCount > 0 {
                snapshot.recentTimeToCreditP50Microseconds = recentCredits.valueAtPercentile(50)
                snapshot.recentTimeToCreditP99Microseconds = recentCredits.valueAtPercentile(99)
            }
            if state.timeToCredit.totalCount > 0 {
                snapshot.timeToCreditP50Milliseconds = state.timeToCredit.valueAtPercentile(50)
                snapshot.timeToCreditP99Milliseconds = state.timeToCredit.valueAtPercentile(99)
                snapshot.timeToCreditMaxMilliseconds = state.timeToCredit.max
            }
            return snapshot
        }
    }
}
