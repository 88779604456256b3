@testable import TerminalUI
import XCTest

final class RefreshPacingTests: XCTestCase {
    private let start = ContinuousClock.Instant.now
    private let interval: Duration = .milliseconds(100)

    func testTheTimeASnapshotTookComesOffTheWait() {
        // A snapshot that took 60 ms leaves 40 ms of a 100 ms interval: ten a second, not one every 160 ms.
        XCTAssertEqual(RefreshPacing.wait(startedAt: start, now: start + .milliseconds(60), interval: interval), .milliseconds(40))
        XCTAssertEqual(RefreshPacing.wait(startedAt: start, now: start, interval: interval), interval)
    }

    func testASlowSnapshotIsFollowedAtOnce() {
        XCTAssertEqual(RefreshPacing.wait(startedAt: start, now: start + .milliseconds(100), interval: interval), .zero)
        XCTAssertEqual(RefreshPacing.wait(startedAt: start, now: start + .milliseconds(250), interval: interval), .zero)
    }

    func testLateWakeUpsDoNotAddUp() {
        // Ten 10 ms sleeps that each wake 8 ms late: the wait ends on the interval, not 80 ms after it.
        var now = start + .milliseconds(5)
        var sleeps = 0
        while case let wait = RefreshPacing.wait(startedAt: start, now: now, interval: interval), wait > .zero {
            now += min(wait, .milliseconds(10)) + .milliseconds(8)
            sleeps += 1
        }
        XCTAssertLessThan(now - start, interval + .milliseconds(10), "overshoot at most one late wake-up")
        XCTAssertLessThan(sleeps, 10)
    }
}
