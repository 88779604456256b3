@testable import MessageQueue
import Primitives
import TestKit
import XCTest

final class QueueSemanticsTests: XCTestCase {
    var fixture: QueueFixture!
    var queue: MessageQueueService!

    override func setUp() async throws {
        fixture = try QueueFixture()
        queue = try fixture.open()
        try await queue.createQueue("work")
    }

    override func tearDown() async throws {
        await queue.close()
        fixture.remove()
    }

    func testSentMessageIsReceivedOnceWithAReceipt() async throws {
        let sent = try await queue.send("work", body: "hello")
        let received = try await queue.receive("work")
        XCTAssertEqual(received?.id, sent.messageID)
        XCTAssertEqual(received?.body, "hello")
        XCTAssertEqual(received?.receipt.messageID, sent.messageID)
        XCTAssertEqual(received?.receipt.receiveCount, 1)
        XCTAssertEqual(received?.receipt.nonce.count, QueueLimits().receiptNonceLength)
        let again = try await queue.receive("work")
        XCTAssertNil(again, "an in-flight message is invisible")
    }

    func testUndeletedMessageComesBackAfterItsDeadlineWithAHigherCount() async throws {
        try await queue.createQueue("short", attributes: QueueAttributes(visibilityTimeout: .seconds(10)))
        _ = try await queue.send("short", body: "x")
        let first = try await queue.receive("short")
        fixture.clock.advance(by: .seconds(9))
        let early = try await queue.receive("short")
        XCTAssertNil(early)
        fixture.clock.advance(by: .seconds(1))
        let second = try await queue.receive("short")
        XCTAssertEqual(second?.id, first?.id)
        XCTAssertEqual(second?.receiveCount, 2)
        XCTAssertNotEqual(second?.receipt, first?.receipt)
        let counters = try await queue.counters(of: "short")
        XCTAssertEqual(counters.totals.redeliveries, 1)
    }

    func testStaleReceiptCannotDeleteARedeliveredMessage() async throws {
        _ = try await queue.send("work", body: "x")
        let first = try unwrapped(try await queue.receive("work", visibilityTimeout: .seconds(1)))
        fixture.clock.advance(by: .seconds(1))
        let second = try unwrapped(try await queue.receive("work"))
        await assertThrows(.staleReceipt(first.receipt.description)) {
            try await self.queue.delete("work", receipt: first.receipt)
        }
        try await queue.delete("work", receipt: second.receipt)
        let left = try await queue.peek("work", count: 10)
        XCTAssertEqual(left, [])
    }

    func testDeletedMessageIsGoneForGood() async throws {
        _ = try await queue.send("work", body: "x")
        let message = try unwrapped(try await queue.receive("work", visibilityTimeout: .seconds(1)))
        try await queue.delete("work", receipt: message.receipt)
        fixture.clock.advance(by: .seconds(60))
        let again = try await queue.receive("work")
        XCTAssertNil(again)
        await assertThrows(.unknownReceipt(message.receipt.description)) {
            try await self.queue.delete("work", receipt: message.receipt)
        }
    }

    func testDelayedMessageIsCountedAsDelayedAndDeliveredAfterTheDelay() async throws {
        _ = try await queue.send("work", body: "later", delay: .seconds(5))
        var counters = try await queue.counters(of: "work")
        XCTAssertEqual([counters.visible, counters.inFlight, counters.delayed], [0, 0, 1])
        let early = try await queue.receive("work")
        XCTAssertNil(early)
        fixture.clock.advance(by: .seconds(5))
        counters = try await queue.counters(of: "work")
        XCTAssertEqual([counters.visible, counters.inFlight, counters.delayed], [1, 0, 0])
        let message = try await queue.receive("work")
        XCTAssertEqual(message?.body, "later")
        counters = try await queue.counters(of: "work")
        XCTAssertEqual([counters.visible, counters.inFlight, counters.delayed], [0, 1, 0])
    }

    func testChangeVisibilityToZeroMakesTheMessageVisibleAtOnce() async throws {
        _ = try await queue.send("work", body: "x")
        let first = try unwrapped(try await queue.receive("work"))
        try await queue.changeVisibility("work", receipt: first.receipt, timeout: .zero)
        let second = try await queue.receive("work")
        XCTAssertEqual(second?.receiveCount, 2)
    }

    func testChangeVisibilityExtendsTheDeadline() async throws {
        _ = try await queue.send("work", body: "x")
        let first = try unwrapped(try await queue.receive("work", visibilityTimeout: .seconds(5)))
        try await queue.changeVisibility("work", receipt: first.receipt, timeout: .seconds(60))
        fixture.clock.advance(by: .seconds(30))
        let early = try await queue.receive("work")
        XCTAssertNil(early)
        fixture.clock.advance(by: .seconds(30))
        let later = try await queue.receive("work")
        XCTAssertEqual(later?.id, first.id)
    }

    func testPastTheMaxReceiveCountTheMessageMovesToTheDeadLetterQueueAndRedriveBringsItBack() async throws {
        try await queue.createQueue("dlq")
        try await queue.createQueue("jobs", attributes: QueueAttributes(
            visibilityTimeout: .seconds(1), maxReceiveCount: 2, deadLetterQueue: "dlq"))
        let sent = try await queue.send("jobs", body: "poison")
        for _ in 0..<2 {
            let message = try await queue.receive("jobs")
            XCTAssertEqual(message?.id, sent.messageID)
            fixture.clock.advance(by: .seconds(1))
        }
        let third = try await queue.receive("jobs")
        XCTAssertNil(third, "the third delivery would exceed the max receive count")
        let counters = try await queue.counters(of: "jobs")
        XCTAssertEqual(counters.deadLettered, 1)
        XCTAssertEqual(counters.total, 0)
        let parked = try await queue.peek("dlq", count: 10)
        XCTAssertEqual(parked.map(\.id), [sent.messageID])
        XCTAssertEqual(parked.first?.origin, "jobs")

        let moved = try await queue.redrive(deadLetterQueue: "dlq")
        XCTAssertEqual(moved, 1)
        let back = try await queue.receive("jobs")
        XCTAssertEqual(back?.id, sent.messageID)
        XCTAssertEqual(back?.receiveCount, 1, "redrive resets the receive count")
        let emptied = try await queue.peek("dlq", count: 10)
        XCTAssertEqual(emptied, [])
    }

    func testMessagesPastRetentionArePurged() async throws {
        try await queue.createQueue("brief", attributes: QueueAttributes(retention: .seconds(60)))
        _ = try await queue.send("brief", body: "old")
        fixture.clock.advance(by: .seconds(30))
        _ = try await queue.send("brief", body: "new")
        fixture.clock.advance(by: .seconds(30))
        let purged = try await queue.purgeExpired()
        XCTAssertEqual(purged, 1)
        let left = try await queue.peek("brief", count: 10)
        XCTAssertEqual(left.map(\.body), ["new"])
        fixture.clock.advance(by: .seconds(30))
        let received = try await queue.receive("brief")
        XCTAssertNil(received, "receive purges an expired message instead of delivering it")
    }

    func testSendingALiveIDAgainStoresNoSecondCopy() async throws {
        let first = try await queue.send("work", body: "credit", id: "claim-1")
        let second = try await queue.send("work", body: "credit", id: "claim-1")
        XCTAssertEqual(first, SendResult(messageID: "claim-1", alreadyPresent: false, order: 2))
        XCTAssertEqual(second, SendResult(messageID: "claim-1", alreadyPresent: true, order: 2),
                       "the repeat answers with the stored message's place in arrival order")
        _ = try await queue.receive("work")
        let third = try await queue.send("work", body: "credit", id: "claim-1")
        XCTAssertTrue(third.alreadyPresent, "in flight is still live")
        let all = try await queue.peek("work", count: 10)
        XCTAssertEqual(all.count, 1)
    }

    func testSendingTheIDOfADeadLetteredMessageStoresNoSecondCopy() async throws {
        try await queue.createQueue("dlq")
        try await queue.createQueue("credits", attributes: QueueAttributes(
            visibilityTimeout: .seconds(1), maxReceiveCount: 1, deadLetterQueue: "dlq"))
        _ = try await queue.send("credits", body: "credit", id: "claim-9")
        _ = try await queue.receive("credits")
        fixture.clock.advance(by: .seconds(1))
        let none = try await queue.receive("credits")
        XCTAssertNil(none)
        let again = try await queue.send("credits", body: "credit", id: "claim-9")
        XCTAssertTrue(again.alreadyPresent, "the dead-lettered copy is still live")
        let sourceCount = try await queue.peek("credits", count: 10).count
        let parkedCount = try await queue.peek("dlq", count: 10).count
        XCTAssertEqual([sourceCount, parkedCount], [0, 1])
    }

    func testABatchWithOneBadMessageStoresNothing() async throws {
        let big = String(repeating: "x", count: fixture.limits.maxMessageSizeBytes + 1)
        await assertThrows(.messageTooLarge(sizeBytes: big.utf8.count, limitBytes: fixture.limits.maxMessageSizeBytes)) {
            try await self.queue.sendBatch("work", [OutgoingMessage(body: "ok"), OutgoingMessage(body: big)])
        }
        let all = try await queue.peek("work", count: 10)
        XCTAssertEqual(all, [])
    }

    func testReceiveBatchReturnsAtMostTheAskedNumberInArrivalOrder() async throws {
        let results = try await queue.sendBatch("work", (0..<10).map { OutgoingMessage(body: "m\($0)") })
        let batch = try await queue.receiveBatch("work", maxCount: 4)
        XCTAssertEqual(batch.map(\.id), results.prefix(4).map(\.messageID))
        try await queue.deleteBatch("work", receipts: batch.map(\.receipt))
        let counters = try await queue.counters(of: "work")
        XCTAssertEqual([counters.visible, counters.inFlight], [6, 0])
    }

    func testLongPollWakesAsSoonAsAMessageIsSent() async throws {
        let queue = self.queue!
        let waiting = Task { try await queue.receive("work", pollingWait: .seconds(20)) }
        await waitUntil { self.queue.pollers.count == 1 }
        _ = try await queue.send("work", body: "wake")
        let received = try await waiting.value
        XCTAssertEqual(received?.body, "wake", "woken by the send: the clock never moved")
    }

    func testLongPollWakesWhenADelayedMessageBecomesVisible() async throws {
        _ = try await queue.send("work", body: "later", delay: .seconds(3))
        let queue = self.queue!
        let waiting = Task { try await queue.receive("work", pollingWait: .seconds(20)) }
        await waitUntil { self.fixture.clock.sleeperCount == 1 }
        fixture.clock.advance(by: .seconds(3))
        let received = try await waiting.value
        XCTAssertEqual(received?.body, "later")
    }

    func testLongPollGivesUpAtItsDeadline() async throws {
        let queue = self.queue!
        let waiting = Task { try await queue.receive("work", pollingWait: .seconds(5)) }
        await waitUntil { self.fixture.clock.sleeperCount == 1 }
        fixture.clock.advance(by: .seconds(5))
        let received = try await waiting.value
        XCTAssertNil(received)
    }

    func testCancelledLongPollReturnsEmpty() async throws {
        let queue = self.queue!
        let waiting = Task { try await queue.receive("work", pollingWait: .seconds(20)) }
        await waitUntil { self.queue.pollers.count == 1 }
        waiting.cancel()
        let received = try await waiting.value
        XCTAssertNil(received)
    }

    func testSnapshotShowsQueuesAndReplicas() async throws {
        _ = try await queue.send("work", body: "a")
        fixture.clock.advance(by: .seconds(2))
        let snapshot = await queue.snapshot()
        XCTAssertEqual(snapshot.queues.map(\.name), ["work"])
        XCTAssertEqual(snapshot.queues.first?.visible, 1)
        XCTAssertEqual(snapshot.queues.first?.oldestAge, .seconds(2))
        XCTAssertEqual(snapshot.replicas.map(\.id), [.a, .b, .c])
        XCTAssertEqual(snapshot.acknowledgedSequence, snapshot.lastSequence)
    }
}
