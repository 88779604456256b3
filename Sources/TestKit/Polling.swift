import Foundation
import XCTest

/// The one polling loop of the tests: looks at `condition` until it holds (true) or `timeout` has passed
/// (false), again after `interval` (zero: after a `Task.yield()`, for conditions that other tasks of this
/// process make true). A condition with a deadline, never a bare sleep. `waitUntil` records a failure on
/// timeout; `TmuxSession.waitFor` throws its last screen.
public func poll(
    timeout: Duration, interval: Duration = .zero, _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        if interval > .zero {
            try? await Task.sleep(for: interval)
        } else {
            await Task.yield()
        }
    }
    return try await condition()
}

/// Waits until `condition` holds (see `poll`); records a failure naming `what` and returns false once
/// `timeout` has passed.
@discardableResult
public func waitUntil(
    _ what: @autoclosure () -> String = "the condition",
    timeout: Duration = .seconds(30), interval: Duration = .zero,
    file: StaticString = #filePath, line: UInt = #line,
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    if try await poll(timeout: timeout, interval: interval, condition) { return true }
    XCTFail("timed out after \(timeout) waiting for \(what())", file: file, line: line)
    return false
}
