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
    public var creditsPerSecond = 0.0
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
    public var recentTimeToCreditP99Microseconds: UInt64 = 0
}

/// Thread-safe counters and latency histograms (HdrHistogram).
final class EngineMetrics: Sendable {
    private struct State {
        var snapshot = MetricsSnapshot()
        var openLatencyCurrent = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .two)
        var openLatencyPrevious = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .two)
        var openLatencyAllTime = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .two)
        var windowStartedAt: Timestamp
        var timeToCredit = Histogram<UInt64>(highestTrackableValue: 86_400_000, numberOfSignificantValueDigits: .two)
        /// Every credit's time to credit in microseconds, over the current and previous latency windows.
        var recentTimeToCreditCurrent = Histogram<UInt64>(highestTrackableValue: 86_400_000_000, numberOfSignificantValueDigits: .two)
        var recentTimeToCreditPrevious = Histogram<UInt64>(highestTrackableValue: 86_400_000_000, numberOfSignificantValueDigits: .two)
        var creditWindowStartedAt: Timestamp
        /// (time, opens, credits) samples for rates.
        var samples: [(Timestamp, Int, Int)] = []
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
        state = Mutex(State(windowStartedAt: startedAt, creditWindowStartedAt: startedAt))
    }

    func update(_ change: (inout MetricsSnapshot) -> Void) {
        state.withLock { change(&$0.snapshot) }
    }

    func recordOpen(latency: Duration) {
        let microseconds = UInt64(max(0, latency.wholeMicroseconds))
        let now = clock.now()
        state.withLock { state in
            state.snapshot.opens += 1
            if now - state.windowStartedAt >= EngineMetrics.latencyWindow {
                state.openLatencyPrevious = state.openLatencyCurrent
                state.openLatencyCurrent.reset()
                state.windowStartedAt = now
            }
            _ = state.openLatencyCurrent.record(min(microseconds, 60_000_000))
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
            Self.recordRecentCredit(&state, microseconds: UInt64(max(0, (creditedAt - openedAt).wholeMicroseconds)),
                                    now: creditedAt)
        }
    }

    /// A credit made in line by the open itself, `latency` after the open began.
    func recordInlineCredit(latency: Duration) {
        let now = clock.now()
        state.withLock { Self.recordRecentCredit(&$0, microseconds: UInt64(max(0, latency.wholeMicroseconds)), now: now) }
    }

    private static func recordRecentCredit(_ state: inout State, microseconds: UInt64, now: Timestamp) {
        if now - state.creditWindowStartedAt >= EngineMetrics.latencyWindow {
            state.recentTimeToCreditPrevious = state.recentTimeToCreditCurrent
            state.recentTimeToCreditCurrent.reset()
            state.creditWindowStartedAt = now
        }
        _ = state.recentTimeToCreditCurrent.record(min(microseconds, 86_400_000_000))
    }

    /// The figures now, with rates over the last couple of seconds.
    func snapshot() -> MetricsSnapshot {
        let now = clock.now()
        return state.withLock { state in
            var snapshot = state.snapshot
            let credits = snapshot.creditedImmediately + snapshot.creditedByRetry
            state.samples.append((now, snapshot.opens, credits))
            while state.samples.count > 2, now - state.samples[1].0 >= EngineMetrics.rateWindow {
                state.samples.removeFirst()
            }
            if let first = state.samples.first, now > first.0 {
                let seconds = (now - first.0).secondsDouble
                snapshot.opensPerSecond = Double(snapshot.opens - first.1) / seconds
                snapshot.creditsPerSecond = Double(credits - first.2) / seconds
            }
            if now - state.windowStartedAt >= EngineMetrics.latencyWindow * 2 {
                // Nothing opened for two windows: the recent percentiles are of nothing.
                state.openLatencyPrevious.reset()
                state.openLatencyCurrent.reset()
                state.windowStartedAt = now
            }
            var latency = state.openLatencyPrevious
            latency.add(state.openLatencyCurrent)
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
            if now - state.creditWindowStartedAt >= EngineMetrics.latencyWindow * 2 {
                state.recentTimeToCreditPrevious.reset()
                state.recentTimeToCreditCurrent.reset()
                state.creditWindowStartedAt = now
            }
            var recentCredits = state.recentTimeToCreditPrevious
            recentCredits.add(state.recentTimeToCreditCurrent)
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
