@testable import SQSServer
import Synchronization
import TestKit
import XCTest

/// Request time limits: one ticking task expires every request's deadline (instead of a timer per request).
final class RequestDeadlineTests: XCTestCase {
    func testADeadlineExpiresOnceARemovedOneNeverAndTheTickerStopsWhenNoneIsLeft() async throws {
        let deadlines = RequestDeadlines(tick: .milliseconds(10))
        let fired = Mutex<[String]>([])
        _ = deadlines.add(after: .milliseconds(30)) { fired.withLock { $0.append("kept") } }
        let removed = deadlines.add(after: .milliseconds(30)) { fired.withLock { $0.append("removed") } }
        deadlines.remove(removed)
        let later = deadlines.add(after: .seconds(3_600)) { fired.withLock { $0.append("later") } }
        let expired = await waitUntil("the first deadline expires") { fired.withLock { $0 } == ["kept"] }
        XCTAssertTrue(expired)
        XCTAssertEqual(deadlines.pending, 1, "the hour-long deadline waits")
        deadlines.remove(later)
        let stopped = await waitUntil("nothing is left pending") { deadlines.pending == 0 }
        XCTAssertTrue(stopped)
        // A deadline added after the ticker stopped starts it again.
        _ = deadlines.add(after: .milliseconds(20)) { fired.withLock { $0.append("again") } }
        let again = await waitUntil("a deadline after a pause expires") { fired.withLock { $0 } == ["kept", "again"] }
        XCTAssertTrue(again)
    }

    func testOnlyTheFirstOfTheAnswerAndTheTimeoutIsDelivered() async {
        let value: Int = await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            XCTAssertTrue(once.resume(1))
            XCTAssertFalse(once.resume(2), "the second resume is refused, not a crash")
        }
        XCTAssertEqual(value, 1)
    }
}
