@testable import AccountService
import Primitives
import Synchronization
import TestKit
import XCTest

/// `Deadline.race` in its completion form (the in-line credit's): no task, a clock timer for the deadline.
final class DeadlineTests: XCTestCase {
    private struct Failure: Error, Equatable {}

    /// Holds the completion the race handed out, so the test decides when the operation finishes.
    private final class Pending: Sendable {
        let completion = Mutex<(@Sendable (Result<Int, any Error>) -> Void)?>(nil)
        var started: Bool { completion.withLock { $0 != nil } }

        func finish(_ result: Result<Int, any Error>) { completion.withLock { $0 }?(result) }
    }

    private func race(_ clock: ManualClock, _ pending: Pending) -> Task<Int?, any Error> {
        Task {
            try await Deadline.race(.milliseconds(250), clock: clock) { (completion: @escaping @Sendable (Result<Int, any Error>) -> Void) in
                pending.completion.withLock { $0 = completion }
            }
        }
    }

    func testACompletionBeforeTheDeadlineWinsAndCancelsTheTimer() async throws {
        let clock = ManualClock()
        let pending = Pending()
        let task = race(clock, pending)
        await waitUntil("the operation started and the timer set") { pending.started && clock.sleeperCount == 1 }
        pending.finish(.success(7))
        let value = try await task.value
        XCTAssertEqual(value, 7)
        await waitUntil("the timer cancelled") { clock.sleeperCount == 0 }
    }

    func testTheDeadlineWinsAndALateCompletionIsIgnored() async throws {
        let clock = ManualClock()
        let pending = Pending()
        let task = race(clock, pending)
        await waitUntil("the operation started and the timer set") { pending.started && clock.sleeperCount == 1 }
        clock.advance(by: .milliseconds(250))
        let value = try await task.value
        XCTAssertNil(value)
        pending.finish(.success(7)) // the operation lands after all: nothing to resume, no crash
    }

    func testAnErrorOfTheOperationIsRethrown() async throws {
        let clock = ManualClock()
        let pending = Pending()
        let task = race(clock, pending)
        await waitUntil("the operation started") { pending.started }
        pending.finish(.failure(Failure()))
        do {
            _ = try await task.value
            XCTFail("expected the operation's error")
        } catch {
            XCTAssertTrue(error is Failure, "\(error)")
        }
    }
}
