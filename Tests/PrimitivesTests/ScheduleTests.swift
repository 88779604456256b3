import Primitives
import Synchronization
import TestKit
import XCTest

/// `WallClock.schedule`: the system clock's shared timer (`TimerQueue`), and the default (a task sleeping on the
/// clock).
final class ScheduleTests: XCTestCase {
    func testTheSystemClockRunsAScheduledActionAndNotACancelledOne() async {
        let fired = Mutex<[String]>([])
        let clock = SystemClock()
        let cancelled = clock.schedule(after: .milliseconds(20)) { fired.withLock { $0.append("cancelled") } }
        cancelled.cancel()
        // Timers run in deadline order: once the later one has run, the cancelled one would have.
        _ = clock.schedule(after: .milliseconds(60)) { fired.withLock { $0.append("kept") } }
        await waitUntil("the kept action", interval: .milliseconds(5)) { fired.withLock { !$0.isEmpty } }
        XCTAssertEqual(fired.withLock { $0 }, ["kept"])
    }

    /// A credit's deadline is almost always cancelled: a thousand cancelled actions cost the timer no wake-up of
    /// their own (one wake-up drops them all, one runs the kept action).
    func testCancelledActionsCostTheTimerNoWakeUpOfTheirOwn() async {
        let timers = TimerQueue(label: "test.timers")
        let fired = Mutex<[Int]>([])
        for index in 0..<1_000 {
            timers.schedule(after: .milliseconds(200)) { fired.withLock { $0.append(index) } }.cancel()
        }
        _ = timers.schedule(after: .milliseconds(400)) { fired.withLock { $0.append(-1) } }
        await waitUntil("the kept action", interval: .milliseconds(5)) { fired.withLock { !$0.isEmpty } }
        XCTAssertEqual(fired.withLock { $0 }, [-1])
        XCTAssertEqual(timers.wakeUps, 2)
    }

    /// The timer is armed for the earliest deadline, also when it was scheduled after a later one.
    func testAnEarlierDeadlineScheduledAfterALaterOneRunsFirst() async {
        let timers = TimerQueue(label: "test.timers")
        let fired = Mutex<[String]>([])
        let late = timers.schedule(after: .seconds(5)) { fired.withLock { $0.append("late") } }
        _ = timers.schedule(after: .milliseconds(20)) { fired.withLock { $0.append("early") } }
        await waitUntil("the early action", interval: .milliseconds(5)) { fired.withLock { !$0.isEmpty } }
        XCTAssertEqual(fired.withLock { $0 }, ["early"])
        XCTAssertEqual(timers.wakeUps, 1)
        late.cancel()
    }

    func testTheDefaultSchedulesOnTheClocksOwnTime() async {
        let clock = ManualClock()
        let fired = Atomic<Int>(0)
        let kept = clock.schedule(after: .seconds(5)) { fired.add(1, ordering: .relaxed) }
        let cancelled = clock.schedule(after: .seconds(5)) { fired.add(100, ordering: .relaxed) }
        await waitUntil("both sleeping") { clock.sleeperCount == 2 }
        cancelled.cancel()
        await waitUntil("the cancelled one gone") { clock.sleeperCount == 1 }
        clock.advance(by: .seconds(4))
        XCTAssertEqual(fired.load(ordering: .relaxed), 0)
        clock.advance(by: .seconds(1))
        await waitUntil("the kept action") { fired.load(ordering: .relaxed) != 0 }
        XCTAssertEqual(fired.load(ordering: .relaxed), 1)
        _ = kept
    }
}
