@testable import Engine
import Primitives
import XCTest

/// The side-by-side view's "time to credit": open to money in the account for every credit of the recent
/// window, in line or by a retry, so that both credit modes are measured the same way.
final class TimeToCreditMetricsTests: XCTestCase {
    func testInlineAndRetriedCreditsAreOneMeasureOverTheRecentWindow() {
        let clock = ManualClock()
        let metrics = EngineMetrics(clock: clock)
        XCTAssertEqual(metrics.snapshot().recentCreditCount, 0, "nothing credited yet: no measurement")
        for _ in 0..<98 { metrics.recordInlineCredit(latency: .milliseconds(2)) }
        let openedAt = clock.now()
        clock.advance(by: .seconds(3))
        metrics.recordRetriedCredit(openedAt: openedAt, creditedAt: clock.now())
        metrics.recordRetriedCredit(openedAt: openedAt, creditedAt: clock.now())
        let snapshot = metrics.snapshot()
        XCTAssertEqual(snapshot.recentCreditCount, 100)
        XCTAssertEqual(Double(snapshot.recentTimeToCreditP50Microseconds), 2_000, accuracy: 20, "most credits landed in line")
        XCTAssertEqual(Double(snapshot.recentTimeToCreditP99Microseconds), 3_000_000, accuracy: 30_000,
                       "the retried ones took the 3 s from their open")
        // Two quiet windows later the recent figures are of nothing, not of old credits.
        clock.advance(by: EngineMetrics.latencyWindow * 2)
        XCTAssertEqual(metrics.snapshot().recentCreditCount, 0)
        XCTAssertEqual(metrics.snapshot().recentTimeToCreditP99Microseconds, 0)
    }

    /// The header's p50 and p99 are of the opens of the recent window; with none in it there is no figure
    /// (the dashboard shows a dash), where a bare 0 read as opens taking no time at all.
    func testOpenLatencyOfAQuietWindowIsNoMeasurementRatherThanZero() {
        let clock = ManualClock()
        let metrics = EngineMetrics(clock: clock)
        XCTAssertEqual(metrics.snapshot().recentOpenCount, 0, "no open yet")
        for _ in 0..<99 { metrics.recordOpen(latency: .milliseconds(3)) }
        metrics.recordOpen(latency: .milliseconds(40))
        var snapshot = metrics.snapshot()
        XCTAssertEqual(snapshot.recentOpenCount, 100)
        XCTAssertEqual(Double(snapshot.openLatencyP50Microseconds), 3_000, accuracy: 30)
        XCTAssertEqual(Double(snapshot.openLatencyMaxMicroseconds), 40_000, accuracy: 400)
        clock.advance(by: EngineMetrics.latencyWindow * 2)
        snapshot = metrics.snapshot()
        XCTAssertEqual(snapshot.recentOpenCount, 0, "two quiet windows later the recent past holds no open")
        XCTAssertEqual(snapshot.allTimeOpenLatencyP50Microseconds, snapshot.allTimeOpenLatencyP50Microseconds)
        XCTAssertEqual(Double(snapshot.allTimeOpenLatencyP50Microseconds), 3_000, accuracy: 30, "all time keeps them")
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
