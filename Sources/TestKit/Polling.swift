import Foundation
import XCTest

/// Waits until `condition` holds, looking again after `interval` (zero: after a `Task.yield()`, for
/// conditions that other tasks of this process make true); records a failure naming `what` and returns
/// false once `timeout` has passed. The one polling loop of the tests: a condition with a deadline, never a
/// bare sleep.
@discardableResult
public func waitUntil(
    _ what: @autoclosure () -> String = "the condition",
    timeout: Duration = .seconds(30), interval: Duration = .zero,
    file: StaticString = #filePath, line: UInt = #line,
    _ condition: () async throws -> Bool
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
    if try await condition() { return true }
    XCTFail("timed out after \(timeout) waiting for \(what())", file: file, line: line)
    return false
}
