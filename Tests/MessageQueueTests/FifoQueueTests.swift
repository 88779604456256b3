@testable import MessageQueue
import Primitives
import TestKit
import XCTest

/// FIFO queues: per-group order with one delivery in flight per group, deduplication within five minutes
/// (also after a delete, a restart and a replica catch-up), and the `.fifo` name.
final class FifoQueueTests: XCTestCase {
    let fifo = QueueAttributes(fifo: true)

    func message(_ body: String, group: String, dedup: String? = nil) -> OutgoingMessage {
        OutgoingMessage(body: body, groupID: group, deduplicationID: dedup ?? body)
    }

    func testAGroupDeliversInOrderAndNothingMoreWhileOneOfItsMessagesIsInFlight() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("jobs.fifo", attributes: fifo)
        _ = try await queue.sendBatch("jobs.fifo", [
            message("a1", group: "a"), message("a2", group: "a"), message("a3", group: "a"), message("b1", group: "b"),
        ])
        let first = try await queue.receiveBatch("jobs.fifo", maxCount: 2, visibilityTimeout: .seconds(60))
        XCTAssertEqual(first.map(\.body), ["a1", "a2"], "a group's consecutive messages come together, in order")
        let second = try await queue.receiveBatch("jobs.fifo", maxCount: 10)
        XCTAssertEqual(second.map(\.body), ["b1"], "group a is blocked while a1 and a2 are in flight")
        try await queue.deleteBatch("jobs.fifo", receipts: first.map(\.receipt))
        let third = try await queue.receiveBatch("jobs.fifo", maxCount: 10)
        XCTAssertEqual(third.map(\.body), ["a3"])
        XCTAssertEqual(third.first?.groupID, "a")
        XCTAssertLessThan(first[1].order, third[0].order, "the order (SQS's sequence number) grows")
        await queue.close()
    }

    func testAMessageMadeVisibleAgainIsDeliveredBeforeTheRestOfItsGroup() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("jobs.fifo", attributes: fifo)
        _ = try await queue.sendBatch("jobs.fifo", [message("m1", group: "g"), message("m2", group: "g")])
        let held = try unwrapped(try await queue.receive("jobs.fifo", visibilityTimeout: .seconds(60)))
        let none = try await queue.receive("jobs.fifo")
        XCTAssertNil(none)
        try await queue.changeVisibility("jobs.fifo", receipt: held.receipt, timeout: .zero)
        let again = try unwrapped(try await queue.receive("jobs.fifo"))
        XCTAssertEqual(again.body, "m1")
        XCTAssertEqual(again.receiveCount, 2)
        // The visibility timeout running out frees the group the same way.
        fixture.clock.advance(by: .seconds(31))
        let afterTimeout = try unwrapped(try await queue.receive("jobs.fifo"))
        XCTAssertEqual(afterTimeout.body, "m1")
        await queue.close()
    }

    func testADeduplicationIdIsStoredOnceForFiveMinutesEvenAfterTheMessageIsDeleted() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("jobs.fifo", attributes: fifo)
        let sent = try await queue.sendBatch("jobs.fifo", [message("one", group: "g", dedup: "d1")])
        let again = try await queue.sendBatch("jobs.fifo", [message("other body", group: "h", dedup: "d1")])
        XCTAssertFalse(sent[0].alreadyPresent)
        XCTAssertTrue(again[0].alreadyPresent)
        XCTAssertEqual(again[0].messageID, sent[0].messageID, "a duplicate answers with the message it repeats")
        let received = try await queue.receiveBatch("jobs.fifo", maxCount: 10)
        XCTAssertEqual(received.map(\.body), ["one"])
        try await queue.delete("jobs.fifo", receipt: received[0].receipt)
        fixture.clock.advance(by: .seconds(299))
        let afterDelete = try await queue.sendBatch("jobs.fifo", [message("three", group: "g", dedup: "d1")])
        XCTAssertTrue(afterDelete[0].alreadyPresent, "still a duplicate 299 s later, though deleted")
        fixture.clock.advance(by: .seconds(2))
        let later = try await queue.sendBatch("jobs.fifo", [message("four", group: "g", dedup: "d1")])
        XCTAssertFalse(later[0].alreadyPresent, "after five minutes the id is new again")
        let value = try await queue.receiveBatch("jobs.fifo", maxCount: 10).map(\.body)
        XCTAssertEqual(value, ["four"])
        await queue.close()
    }

    func testDuplicatesInsideOneBatchAreStoredOnce() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("jobs.fifo", attributes: fifo)
        let sent = try await queue.sendBatch("jobs.fifo", [
            message("x", group: "g", dedup: "same"), message("y", group: "g", dedup: "same"),
        ])
        XCTAssertEqual(sent.map(\.alreadyPresent), [false, true])
        let total = try await queue.counters(of: "jobs.fifo").total
        XCTAssertEqual(total, 1)
        await queue.close()
    }

    func testGroupsAndDeduplicationSurviveARestartAndAReplicaCatchUp() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        var queue = try fixture.open()
        try await queue.createQueue("jobs.fifo", attributes: fifo)
        _ = try await queue.setReplica(.c, down: true)
        _ = try await queue.sendBatch("jobs.fifo", [message("m1", group: "g"), message("m2", group: "g")])
        let first = try unwrapped(try await queue.receive("jobs.fifo"))
        try await queue.delete("jobs.fifo", receipt: first.receipt)
        _ = try await queue.restoreReplica(.c)
        let disagreements = await queue.replicaDisagreements()
        XCTAssertEqual(disagreements, [], "replica c replayed the FIFO sends it missed")
        await queue.close()

        queue = try fixture.open()
        let attributes = try await queue.attributes(of: "jobs.fifo")
        XCTAssertTrue(attributes.fifo)
        let duplicate = try await queue.sendBatch("jobs.fifo", [message("m1", group: "g")])
        XCTAssertTrue(duplicate[0].alreadyPresent, "the deleted m1 still deduplicates after a restart")
        let held = try unwrapped(try await queue.receive("jobs.fifo", visibilityTimeout: .seconds(60)))
        XCTAssertEqual(held.body, "m2")
        XCTAssertEqual(held.groupID, "g")
        XCTAssertEqual(held.deduplicationID, "m2")
        _ = try await queue.sendBatch("jobs.fifo", [message("m3", group: "g")])
        let blocked = try await queue.receive("jobs.fifo")
        XCTAssertNil(blocked, "the group is still blocked by m2 in flight")
        await queue.close()
    }

    func testTheFifoNameGoesWithTheFifoAttributeAndAGroupIsRequired() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        await assertThrows(.fifoQueueName("plain")) { try await queue.createQueue("plain", attributes: self.fifo) }
        await assertThrows(.fifoQueueName("named.fifo")) { try await queue.createQueue("named.fifo") }
        await assertThrows(.invalidQueueName(".fifo")) { try await queue.createQueue(".fifo", attributes: self.fifo) }
        await assertThrows(.invalidQueueName("a.b.fifo")) { try await queue.createQueue("a.b.fifo", attributes: self.fifo) }
        try await queue.createQueue("jobs.fifo", attributes: fifo)
        await assertThrows(.missingMessageGroup) { _ = try await queue.send("jobs.fifo", body: "no group") }
        await assertThrows(.invalidFifoTag("bad\u{7}")) {
            _ = try await queue.sendBatch("jobs.fifo", [OutgoingMessage(body: "x", groupID: "bad\u{7}")])
        }
        var standard = try await queue.attributes(of: "jobs.fifo")
        standard.fifo = false
        await assertThrows(.fifoQueueName("jobs.fifo")) { try await queue.setAttributes("jobs.fifo", standard) }
        let total = try await queue.counters(of: "jobs.fifo").total
        XCTAssertEqual(total, 0, "refusals changed nothing")
        await queue.close()
    }

    func testAStandardQueueIgnoresGroupsAndDeduplicationIds() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("plain")
        _ = try await queue.sendBatch("plain", [message("a", group: "g", dedup: "d"), message("b", group: "g", dedup: "d")])
        let received = try await queue.receiveBatch("plain", maxCount: 10)
        XCTAssertEqual(received.map(\.body).sorted(), ["a", "b"])
        await queue.close()
    }

    func testStoredAttributesThatLookFramedReadBackAsSent() {
        let odd = "\u{1}not\u{1}a\u{1}frame"
        let framed = FifoFields.frame(attributes: odd, groupID: nil, deduplicationID: nil)
        let back = FifoFields.unframe(framed)
        XCTAssertEqual(back.attributes, odd)
        XCTAssertNil(back.groupID)
        XCTAssertEqual(FifoFields.unframe(FifoFields.frame(attributes: "{}", groupID: "g", deduplicationID: nil)).groupID, "g")
        XCTAssertEqual(FifoFields.unframe("plain").attributes, "plain")
    }
}
