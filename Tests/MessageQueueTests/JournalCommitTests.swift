@testable import MessageQueue
import Primitives
import Synchronization
import TestKit
import XCTest

/// The queue's group commit over a journal, with a journal in memory whose appends can be held and failed: an
/// answer that wrote nothing never rests on operations that are still on their way.
final class JournalCommitTests: XCTestCase {
    /// A journal in memory: appends wait while `held`, and fail while `failing`.
    final class MemoryJournal: QueueJournal {
        struct Failure: Error {}
        let stored: Mutex<QueueState>
        let held = Atomic<Bool>(false)
        let failing = Atomic<Bool>(false)
        let waiting = Atomic<Int>(0)

        init(limits: QueueLimits) { stored = Mutex(QueueState(limits: limits)) }

        var location: String { "memory" }

        func load(limits: QueueLimits) async throws -> QueueState { stored.withLock { $0 } }

        func append(_ operations: [QueueOperation], after: Int64) async throws {
            waiting.add(1, ordering: .relaxed)
            defer { waiting.subtract(1, ordering: .relaxed) }
            while held.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(2)) }
            if failing.load(ordering: .relaxed) { throw Failure() }
            try stored.withLock { state in
                guard state.lastSequence == after else { throw QueueJournalMoved(expected: after) }
                for operation in operations { state.apply(operation) }
            }
        }
    }

    /// A send repeated while the first is in flight is not told "already present" before the first is stored:
    /// it waits, and when the first's commit fails it fails too. Before, it was acknowledged at once, from the
    /// state the failed commit left in memory, and the message was then nowhere.
    func testARepeatedSendWaitsForTheFirstAndFailsWithIt() async throws {
        let limits = QueueLimits()
        let journal = MemoryJournal(limits: limits)
        let queue = try await MessageQueueService.open(journal: journal, limits: limits, clock: ManualClock(),
                                                       random: SeededRandomSource(seed: 1), checkBackTimer: false)
        try await queue.createQueue("q")
        journal.held.store(true, ordering: .relaxed)
        journal.failing.store(true, ordering: .relaxed)
        let first = Task { try await queue.send("q", body: "x", id: "m1") }
        await waitUntil("the first send's commit in flight", timeout: .seconds(10)) { journal.waiting.load(ordering: .relaxed) == 1 }
        let second = Task { try await queue.send("q", body: "x", id: "m1") }
        try await Task.sleep(for: .milliseconds(50))
        journal.held.store(false, ordering: .relaxed)
        let firstResult = await first.result
        let secondResult = await second.result
        XCTAssertThrowsError(try firstResult.get(), "the first send's commit failed")
        XCTAssertThrowsError(try secondResult.get(), "the repeated send rested on the failed commit")
        let stored = await queue.currentState().messages(in: "q")
        XCTAssertEqual(stored, [], "the failed send is in neither memory nor the journal")

        journal.failing.store(false, ordering: .relaxed)
        let again = try await queue.send("q", body: "x", id: "m1")
        XCTAssertFalse(again.alreadyPresent)
        XCTAssertEqual(journal.stored.withLock { $0.messages(in: "q").map(\.id) }, ["m1"])
        await queue.close()
    }
}
