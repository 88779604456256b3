import Primitives
import TestKit
import XCTest

final class ManualClockTests: XCTestCase {
    /// Yields until `clock` has exactly `count` sleepers (fails after a deadline).
    @discardableResult
    private func waitForSleepers(_ count: Int, on clock: ManualClock, file: StaticString = #filePath, line: UInt = #line) async -> Bool {
        await waitUntil("\(count) sleepers (the clock has \(clock.sleeperCount))", file: file, line: line) {
            clock.sleeperCount == count
        }
    }

    func testTimeMovesOnlyWhenAdvanced() {
        let clock = ManualClock(start: Timestamp(millisecondsSinceEpoch: 1_000))
        XCTAssertEqual(clock.now(), Timestamp(millisecondsSinceEpoch: 1_000))
        clock.advance(by: .milliseconds(1_500))
        XCTAssertEqual(clock.now(), Timestamp(millisecondsSinceEpoch: 2_500))
    }

    func testASleeperWakesWhenItsDeadlinePasses() async throws {
        let clock = ManualClock()
        let start = clock.now()
        let sleeper = Task {
            try await clock.sleep(for: .seconds(10))
            return clock.now()
        }
        await waitForSleepers(1, on: clock)
        clock.advance(by: .seconds(9))
        XCTAssertEqual(clock.sleeperCount, 1, "not yet due")
        clock.advance(by: .seconds(1))
        let woke = try await sleeper.value
        XCTAssertEqual(woke, start + .seconds(10))
        XCTAssertEqual(clock.sleeperCount, 0)
    }

    func testSleepingForZeroReturnsAtOnce() async throws {
        let clock = ManualClock()
        try await clock.sleep(for: .zero)
        XCTAssertEqual(clock.sleeperCount, 0)
    }

    func testCancellingASleeperWakesItWithCancellationError() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(3600)) }
        await waitForSleepers(1, on: clock)
        sleeper.cancel()
        if !(await waitForSleepers(0, on: clock)) {
            clock.advance(by: .seconds(3600)) // release it so that the test ends
        }
        do {
            try await sleeper.value
            XCTFail("a cancelled sleep returned normally")
        } catch is CancellationError {}
        XCTAssertEqual(clock.sleeperCount, 0)
    }

    func testACancelledTaskDoesNotSleep() async throws {
        let clock = ManualClock()
        let sleeper = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(for: .seconds(1))
        }
        do {
            try await sleeper.value
            XCTFail("a cancelled task slept")
        } catch is CancellationError {}
    }
}
