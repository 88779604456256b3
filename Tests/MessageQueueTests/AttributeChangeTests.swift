@testable import MessageQueue
import Primitives
import TestKit
import XCTest

/// Changing a queue's attributes, message attributes, purging a whole queue and redriving to a chosen
/// queue: each a replicated operation that every replica holds and that survives a reopen.
final class AttributeChangeTests: XCTestCase {
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

    func testSetAttributesReachesEveryReplicaAndSurvivesAReopen() async throws {
        var attributes = try await queue.attributes(of: "work")
        attributes.visibilityTimeout = .seconds(5)
        attributes.receiveWaitTime = .seconds(3)
        attributes.redriveAllowPolicy = #"{"redrivePermission":"allowAll"}"#
        attributes.tags = ["team": "red|packets", "env": "demo"]
        attributes.properties = ["Policy": #"{"Version":"2012-10-17"}"#]
        try await queue.setAttributes("work", attributes)
        let problems = await queue.replicaDisagreements()
        XCTAssertEqual(problems, [])
        await queue.close()
        for id in ReplicaID.allCases {
            let contents = try fixture.contents(of: id)
            XCTAssertTrue(contents.queues.contains { $0.hasPrefix("work|5000|") && $0.contains("red|packets") }, "\(id)")
        }
        queue = try fixture.open()
        let reopened = try await queue.attributes(of: "work")
        XCTAssertEqual(reopened, attributes)
    }

    func testAttributesWithoutExtensionsAreStoredInTheFirstFormat() {
        let plain = QueueAttributes()
        XCTAssertEqual(plain.encoded.split(separator: "|", omittingEmptySubsequences: false).count, 8)
        XCTAssertEqual(QueueAttributes(encoded: plain.encoded, limits: QueueLimits()), plain)
        XCTAssertNil(QueueAttributes(encoded: plain.encoded + "|not json", limits: QueueLimits()))
    }

    func testSetAttributesValidatesAndChangesNothingOnError() async throws {
        var attributes = try await queue.attributes(of: "work")
        attributes.receiveWaitTime = .seconds(3_600)
        await assertThrows({
            try await self.queue.setAttributes("work", attributes)
        }, MessageQueueError.invalidPollingWait(.seconds(3_600)))
        attributes = try await queue.attributes(of: "work")
        attributes.deadLetterQueue = "missing"
        await assertThrows({ try await self.queue.setAttributes("work", attributes) }, MessageQueueError.unknownQueue("missing"))
        await assertThrows({ try await self.queue.setAttributes("nope", attributes) }, MessageQueueError.unknownQueue("nope"))
        let unchanged = try await queue.attributes(of: "work")
        XCTAssertEqual(unchanged, QueueAttributes())
    }

    func testMessageAttributesAreStoredReplicatedAndReturned() async throws {
        _ = try await queue.sendBatch("work", [OutgoingMessage(body: "b", id: "m1", attributes: #"{"a":1}"#)])
        let received = try await queue.receive("work")
        XCTAssertEqual(received?.attributes, #"{"a":1}"#)
        let peeked = try await queue.peek("work", count: 1)
        XCTAssertEqual(peeked.first?.attributes, #"{"a":1}"#)
        let problems = await queue.replicaDisagreements()
        XCTAssertEqual(problems, [])
        await queue.close()
        queue = try fixture.open()
        let reopened = try await queue.peek("work", count: 1)
        XCTAssertEqual(reopened.first?.attributes, #"{"a":1}"#)
    }

    func testAttributesCountTowardTheMessageSize() async throws {
        try await queue.createQueue("small", attributes: QueueAttributes(maxMessageSizeBytes: 1_024))
        let body = String(repeating: "x", count: 1_000)
        await assertThrows({
            _ = try await self.queue.sendBatch("small", [OutgoingMessage(body: body, attributes: String(repeating: "a", count: 30))])
        }, MessageQueueError.messageTooLarge(sizeBytes: 1_030, limitBytes: 1_024))
        _ = try await queue.sendBatch("small", [OutgoingMessage(body: body, attributes: String(repeating: "a", count: 24))])
    }

    func testPurgeQueueRemovesEveryMessageInFlightOrNot() async throws {
        for index in 0..<5 { _ = try await queue.send("work", body: "m\(index)") }
        _ = try await queue.receiveBatch("work", maxCount: 2)
        let purged = try await queue.purgeQueue("work")
        XCTAssertEqual(purged, 5)
        let total = try await queue.counters(of: "work").total
        XCTAssertEqual(total, 0)
        let problems = await queue.replicaDisagreements()
        XCTAssertEqual(problems, [])
    }

    func testRedriveToAChosenQueueAndDeadLetterSources() async throws {
        try await queue.createQueue("dlq")
        try await queue.createQueue("source", attributes: QueueAttributes(
            visibilityTimeout: .seconds(1), maxReceiveCount: 1, deadLetterQueue: "dlq"))
        try await queue.createQueue("elsewhere")
        let sources = try await queue.deadLetterSources(of: "dlq")
        XCTAssertEqual(sources, ["source"])
        let none = try await queue.deadLetterSources(of: "work")
        XCTAssertEqual(none, [])
        _ = try await queue.send("source", body: "poison")
        _ = try await queue.receive("source")
        fixture.clock.advance(by: .seconds(2))
        _ = try await queue.receive("source")
        let parked = try await queue.counters(of: "source").deadLettered
        XCTAssertEqual(parked, 1)
        await assertThrows({
            _ = try await self.queue.redrive(deadLetterQueue: "dlq", to: "dlq")
        }, MessageQueueError.unknownQueue("dlq"))
        let moved = try await queue.redrive(deadLetterQueue: "dlq", to: "elsewhere")
        XCTAssertEqual(moved, 1)
        let redriven = try await queue.receive("elsewhere")
        XCTAssertEqual(redriven?.body, "poison")
        let problems = await queue.replicaDisagreements()
        XCTAssertEqual(problems, [])
    }
}
