@testable import PostgresCluster
import Synchronization
import TestKit
import XCTest

/// `ServerConnection.deadline` gives up on an operation that never ends, at its deadline or when the caller is
/// cancelled, without waiting for it: a statement on a connection that closed under it (a server killed in the
/// middle of a status probe) is never answered, and a wait for it held the dashboard's quit for over a minute.
final class ServerConnectionDeadlineTests: XCTestCase {
    func testAnOperationThatNeverEndsTimesOutAndTheTimeOutIsCalled() async throws {
        let timedOut = Outcome()
        let outcome = Outcome()
        let call = Task {
            do {
                _ = try await ServerConnection.deadline(.milliseconds(100), what: "a stuck server",
                                                        onTimeout: { timedOut.set(CancellationError()) }) { try await forever() }
            } catch {
                outcome.set(error)
            }
        }
        // `onTimeout` runs on the timer's task just after the caller is answered: wait for both.
        await waitUntil("the call to end at its deadline", timeout: .seconds(20), interval: .milliseconds(20)) {
            outcome.error != nil && timedOut.error != nil
        }
        call.cancel()
        XCTAssertEqual(outcome.error as? ClusterError, .timedOut(what: "a stuck server"))
        XCTAssertNotNil(timedOut.error, "onTimeout was not called")
    }

    func testCancellingTheCallerEndsTheWaitAtOnce() async throws {
        let outcome = Outcome()
        let call = Task {
            do {
                _ = try await ServerConnection.deadline(.seconds(3_600), what: "a stuck server") { try await forever() }
            } catch {
                outcome.set(error)
            }
        }
        call.cancel()
        await waitUntil("the cancelled call to end", timeout: .seconds(20), interval: .milliseconds(20)) {
            outcome.error != nil
        }
        XCTAssertTrue(outcome.error is CancellationError, "\(String(describing: outcome.error))")
    }

    func testAValueThatComesAfterTheDeadlineGoesToLate() async throws {
        let late = Mutex<Int?>(nil)
        let release = AsyncStream<Void>.makeStream()
        do {
            _ = try await ServerConnection.deadline(.milliseconds(50), what: "a slow server", late: { value in
                late.withLock { $0 = value }
            }) {
                for await _ in release.stream { break }
                return 42
            }
            XCTFail("the deadline passed first")
        } catch {
            XCTAssertEqual(error as? ClusterError, .timedOut(what: "a slow server"))
        }
        release.continuation.yield()
        await waitUntil("the late value", timeout: .seconds(20), interval: .milliseconds(20)) { late.withLock { $0 } == 42 }
    }
}

/// What a call ended with, set from its task and read by the test.
private final class Outcome: Sendable {
    private let state = Mutex<(any Error)?>(nil)
    var error: (any Error)? { state.withLock { $0 } }
    func set(_ error: any Error) { state.withLock { $0 = error } }
}

/// An operation that never returns and ignores cancellation, as such a statement does.
private func forever() async throws -> Int {
    await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
    return 0
}
