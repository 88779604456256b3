import GRDB
@testable import MessageQueue
import Primitives
import TestKit
import XCTest

/// CMQ's rewind: a queue with a rewind window keeps deleted messages (on every replica) until the window or
/// retention ends, and a rewind makes the messages of the last N seconds deliverable again with fresh receipts.
final class RewindTests: XCTestCase {
    func attributes(window: Duration, retention: Duration? = nil) -> QueueAttributes {
        QueueAttributes(retention: retention, rewindWindow: window)
    }

    /// Sends, receives and deletes one message; returns its (now deleted) delivery.
    func consume(_ queue: MessageQueueService, _ name: String, body: String, id: String) async throws -> ReceivedMessage {
        _ = try await queue.send(name, body: body, id: id)
        let received = try unwrapped(try await queue.receive(name))
        XCTAssertEqual(received.id, id)
        try await queue.delete(name, receipt: received.receipt)
        return received
    }

    func testARewindAfterDeleteDeliversTheMessageAgainWithAFreshReceipt() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work", attributes: attributes(window: .seconds(3_600)))
        let first = try await consume(queue, "work", body: "hello", id: "m1")
        let nothing = try await queue.receive("work")
        XCTAssertNil(nothing, "a deleted message is not delivered before a rewind")
        let value1 = try await queue.counters(of: "work").total
        XCTAssertEqual(value1, 0, "a kept message is not counted as a message")
        fixture.clock.advance(by: .seconds(10))

        let rewound = try await queue.rewind("work", window: .seconds(60))
        XCTAssertEqual(rewound, 1)
        let again = try unwrapped(try await queue.receive("work"))
        XCTAssertEqual(again.id, "m1")
        XCTAssertEqual(again.body, "hello")
        XCTAssertEqual(again.receiveCount, 1, "a rewound message is delivered as if for the first time")
        XCTAssertNotEqual(again.receipt.nonce, first.receipt.nonce)
        await assertThrows(.unknownReceipt(first.receipt.description)) {
            try await queue.delete("work", receipt: first.receipt)
        }
        try await queue.delete("work", receipt: again.receipt)
        let value2 = await queue.replicaDisagreements()
        XCTAssertEqual(value2, [])
        await queue.close()
    }

    func testAnInFlightMessageIsRewoundAndItsOldReceiptStopsWorking() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work", attributes: attributes(window: .seconds(3_600)))
        _ = try await queue.send("work", body: "held", id: "m1")
        _ = try await queue.send("work", body: "waiting", id: "m2", delay: .seconds(600))
        let held = try unwrapped(try await queue.receive("work", visibilityTimeout: .seconds(600)))
        let value3 = try await queue.rewind("work", window: .seconds(60))
        XCTAssertEqual(value3, 1, "only the delivered message moves")
        let again = try unwrapped(try await queue.receive("work"))
        XCTAssertEqual(again.id, "m1")
        XCTAssertNotEqual(again.receipt, held.receipt)
        await assertThrows(.unknownReceipt(held.receipt.description)) { try await queue.delete("work", receipt: held.receipt) }
        let none = try await queue.receive("work")
        XCTAssertNil(none, "the delayed message keeps its delay")
        await queue.close()
    }

    func testMessagesSentBeforeTheRewoundSecondsAreNotDeliveredAgain() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work", attributes: attributes(window: .seconds(3_600)))
        _ = try await consume(queue, "work", body: "old", id: "old")
        fixture.clock.advance(by: .seconds(120))
        _ = try await consume(queue, "work", body: "new", id: "new")
        fixture.clock.advance(by: .seconds(5))

        let value4 = try await queue.rewind("work", window: .seconds(60))
        XCTAssertEqual(value4, 1)
        let again = try await queue.receiveBatch("work", maxCount: 10)
        XCTAssertEqual(again.map(\.id), ["new"])
        let value5 = try await queue.rewind("work", window: .seconds(600))
        XCTAssertEqual(value5, 2, "further back reaches the old one too")
        await queue.close()
    }

    func testPastRetentionAKeptMessageIsGoneFromEveryReplica() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work", attributes: attributes(window: .seconds(3_600), retention: .seconds(60)))
        _ = try await consume(queue, "work", body: "short-lived", id: "m1")
        await queue.settle()
        for id in ReplicaID.allCases {
            XCTAssertEqual(try fixture.contents(of: id).messages.count, 1, "replica \(id) keeps the deleted message")
        }
        fixture.clock.advance(by: .seconds(61))

        let value6 = try await queue.rewind("work", window: .seconds(3_600))
        XCTAssertEqual(value6, 0, "past retention it cannot come back")
        let value7 = try await queue.purgeExpired()
        XCTAssertEqual(value7, 1)
        let value8 = await queue.currentState().consumedMessages(in: "work")
        XCTAssertEqual(value8, [])
        await queue.settle()
        for id in ReplicaID.allCases {
            XCTAssertEqual(try fixture.contents(of: id).messages, [], "replica \(id) purged it")
        }
        await queue.close()
    }

    func testKeptMessagesArePurgedWhenTheRewindWindowEndsBeforeRetention() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work", attributes: attributes(window: .seconds(100)))
        _ = try await consume(queue, "work", body: "a", id: "m1")
        fixture.clock.advance(by: .seconds(50))
        let value9 = try await queue.purgeExpired()
        XCTAssertEqual(value9, 0)
        fixture.clock.advance(by: .seconds(50))
        let value10 = try await queue.purgeExpired()
        XCTAssertEqual(value10, 1)
        let value11 = await queue.replicaDisagreements()
        XCTAssertEqual(value11, [])
        await queue.close()
    }

    func testWithoutARewindWindowDeletedMessagesAreRemovedAndARewindIsRefused() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("plain")
        _ = try await consume(queue, "plain", body: "gone", id: "m1")
        await queue.settle()
        XCTAssertEqual(try fixture.contents(of: .a).messages, [])
        await assertThrows(.rewindNotEnabled("plain")) { try await queue.rewind("plain", window: .seconds(10)) }
        try await queue.createQueue("short", attributes: attributes(window: .seconds(30)))
        await assertThrows(.invalidRewind(.seconds(31), window: .seconds(30))) {
            try await queue.rewind("short", window: .seconds(31))
        }
        await assertThrows(.invalidRewind(.zero, window: .seconds(30))) { try await queue.rewind("short", window: .zero) }
        await assertThrows(.unknownQueue("nope")) { try await queue.rewind("nope", window: .seconds(1)) }
        await assertThrows(.invalidRewindWindow(.seconds(16 * 86_400), limit: fixture.limits.maxRetention)) {
            try await queue.createQueue("long", attributes: self.attributes(window: .seconds(16 * 86_400)))
        }
        await queue.close()
    }

    func testSendingTheIdOfAKeptMessageStoresANewMessageOnEveryReplica() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work", attributes: attributes(window: .seconds(3_600)))
        _ = try await consume(queue, "work", body: "first", id: "same")
        let result = try await queue.send("work", body: "second", id: "same")
        XCTAssertFalse(result.alreadyPresent)
        let received = try unwrapped(try await queue.receive("work"))
        XCTAssertEqual(received.body, "second")
        let value12 = await queue.replicaDisagreements()
        XCTAssertEqual(value12, [])
        await queue.close()
    }

    func testKeptMessagesAndRewindsSurviveARestartAndAReplicaCatchUp() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        var queue = try fixture.open()
        try await queue.createQueue("work", attributes: attributes(window: .seconds(3_600)))
        for index in 1...3 { _ = try await consume(queue, "work", body: "body \(index)", id: "m\(index)") }
        await queue.close()

        // The kept messages come back from the replicas' files.
        queue = try fixture.open()
        let value13 = await queue.currentState().consumedMessages(in: "work").map(\.id)
        XCTAssertEqual(value13, ["m1", "m2", "m3"])
        _ = try await queue.setReplica(.c, down: true)
        let value14 = try await queue.rewind("work", window: .seconds(60))
        XCTAssertEqual(value14, 3)
        _ = try await queue.restoreReplica(.c)
        let value15 = await queue.replicaDisagreements()
        XCTAssertEqual(value15, [], "replica c replayed the rewind it missed")
        let cContents = try fixture.contents(of: .c)
        XCTAssertTrue(cContents.operations.contains { $0.split(separator: "|")[1] == "15" }, "the rewind is in c's log")
        await queue.close()

        queue = try fixture.open()
        let again = try await queue.receiveBatch("work", maxCount: 10)
        XCTAssertEqual(Set(again.map(\.id)), ["m1", "m2", "m3"])
        let value16 = await queue.replicaDisagreements()
        XCTAssertEqual(value16, [])
        await queue.close()
    }

    func testAFormat4ReplicaIsMigratedAndItsMessagesStayLive() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        var queue = try fixture.open()
        try await queue.createQueue("work")
        _ = try await queue.send("work", body: "before", id: "m1")
        await queue.close()
        // What a replica written before deleted messages were kept looks like.
        for id in ReplicaID.allCases {
            let database = try DatabaseQueue(path: fixture.databasePath(id))
            try await database.write { db in
                try db.execute(sql: "ALTER TABLE message DROP COLUMN consumed_ms")
                try db.execute(sql: "UPDATE replica_meta SET value = 4 WHERE key = 'format'")
            }
            try database.close()
        }
        queue = try fixture.open()
        let value17 = await queue.currentState().messages(in: "work").map(\.id)
        XCTAssertEqual(value17, ["m1"])
        let received = try unwrapped(try await queue.receive("work"))
        XCTAssertEqual(received.body, "before")
        await queue.close()
        for id in ReplicaID.allCases {
            let database = try DatabaseQueue(path: fixture.databasePath(id))
            let (format, hasColumn) = try await database.read { db in
                (try Int.fetchOne(db, sql: "SELECT value FROM replica_meta WHERE key = 'format'"),
                 try db.columns(in: "message").contains { $0.name == "consumed_ms" })
            }
            try database.close()
            XCTAssertEqual(format, ReplicaStore.format)
            XCTAssertTrue(hasColumn)
        }
    }

    func testTheRewindWindowIsAnAttributeThatCanBeChangedAndReadBack() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        var queue = try fixture.open()
        try await queue.createQueue("work")
        let value18 = try await queue.attributes(of: "work").rewindWindow
        XCTAssertEqual(value18, .zero)
        var changed = try await queue.attributes(of: "work")
        changed.rewindWindow = .seconds(90)
        try await queue.setAttributes("work", changed)
        _ = try await consume(queue, "work", body: "kept", id: "m1")
        await queue.close()
        queue = try fixture.open()
        let value19 = try await queue.attributes(of: "work").rewindWindow
        XCTAssertEqual(value19, .seconds(90))
        let value20 = try await queue.rewind("work", window: .seconds(90))
        XCTAssertEqual(value20, 1)
        await queue.close()
    }
}
