import NIOCore
import NIOPosix
@testable import SQSServer
import XCTest

/// A default actor, as `MessageQueueService` is: whose thread runs its code.
private actor Counter {
    var count = 0
    func increment(_ loop: any EventLoop) -> Bool {
        count += 1
        return loop.inEventLoop
    }
}

/// A connection's task pinned to its event loop stays there: across awaits, inside a default actor, and in the
/// unstructured task the server starts per request.
final class EventLoopTaskExecutorTests: XCTestCase {
    func testAPinnedTaskRunsOnItsLoopAcrossAwaitsInADefaultActorAndInTheTaskItStarts() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loop = group.next()
        let counter = Counter()
        let seen: [String: Bool] = await EventLoopTaskExecutor.pinned(to: loop) {
            var seen: [String: Bool] = [:]
            seen["start"] = loop.inEventLoop
            seen["actor"] = await counter.increment(loop)
            seen["after the actor"] = loop.inEventLoop
            try? await Task.sleep(for: .milliseconds(5))
            seen["after a sleep"] = loop.inEventLoop
            seen["current is set"] = EventLoopTaskExecutor.current?.eventLoop === loop
            let started = Task(executorPreference: EventLoopTaskExecutor.current) { loop.inEventLoop }
            seen["a task it starts"] = await started.value
            return seen
        }
        XCTAssertEqual(seen.filter { !$0.value }.keys.sorted(), [], "not on the connection's loop")
        XCTAssertEqual(seen.count, 6)
        let count = await counter.count
        XCTAssertEqual(count, 1)
        // Unpinned code does not run on the loop, and no executor is current there.
        XCTAssertFalse(loop.inEventLoop)
        XCTAssertNil(EventLoopTaskExecutor.current)
        try await group.shutdownGracefully()
    }
}
