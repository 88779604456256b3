@testable import Engine
import Primitives
import XCTest

/// The side-by-side view's "time to credit": open to money in the account for every credit of the recent
/// window, in line or by a retry, so that both credit modes are measured the same way.
final class TimeToCreditMetricsTests: XCTestCase {
    func testInlineAndRetriedCreditsAreOneMeasureOverTheRecentWindow() {
        let clock = ManualClock()
        let metrics = EngineMetrics(clock: clock)
        XCTAssertEqual(metrics.snapshot().recentTimeToCreditP50Microseconds, 0, "nothing credited yet")
        for _ in 0..<98 { metrics.recordInlineCredit(latency: .milliseconds(2)) }
        let openedAt = clock.now()
        clock.advance(by: .seconds(3))
        metrics.recordRetriedCredit(openedAt: openedAt, creditedAt: clock.now())
        metrics.recordRetriedCredit(openedAt: openedAt, creditedAt: clock.now())
        let snapshot = metrics.snapshot()
        XCTAssertEqual(Double(snapshot.recentTimeToCreditP50Microseconds), 2_000, accuracy: 20, "most credits landed in line")
        XCTAssertEqual(Double(snapshot.recentTimeToCreditP99Microseconds), 3_000_000, accuracy: 30_000,
                       "the retried ones took the 3 s from their open")
        // Two quiet windows later the recent figures are of nothing, not of old credits.
        clock.advance(by: EngineMetrics.latencyWindow * 2)
        XCTAssertEqual(metrics.snapshot().recentTimeToCreditP99Microseconds, 0)
    }

    /// The side-by-side view shows opens done and opens failed per second: together, the load a half carries.
    func testFailedOpensHaveARateBesideTheOpensDone() {
        let clock = ManualClock()
        let metrics = EngineMetrics(clock: clock)
        _ = metrics.snapshot()
        for _ in 0..<700 { metrics.recordOpen(latency: .milliseconds(1)) }
        metrics.update { $0.failedForUserTransactionMode += 300; $0.rollbacks += 300 }
        clock.advance(by: .seconds(1))
        let snapshot = metrics.snapshot()
        XCTAssertEqual(snapshot.opensPerSecond, 700, accuracy: 0.001)
        XCTAssertEqual(snapshot.failedOpensPerSecond, 300, accuracy: 0.001)
    }
}
