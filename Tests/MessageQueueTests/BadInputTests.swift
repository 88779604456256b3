@testable import MessageQueue
import Primitives
import TestKit
import XCTest

/// Every bad input gets its typed error and changes nothing.
final class BadInputTests: XCTestCase {
    func testEveryBadInputIsATypedErrorAndChangesNothing() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        let limits = fixture.limits
        try await queue.createQueue("work")
        try await queue.createQueue("parked")
        try await queue.createQueue("source", attributes: QueueAttributes(deadLetterQueue: "parked"))
        _ = try await queue.send("work", body: "x")
        let received = try unwrapped(try await queue.receive("work", visibilityTimeout: .seconds(1)))
        fixture.clock.advance(by: .seconds(1))
        let current = try unwrapped(try await queue.receive("work"))
        _ = try await queue.sendHalf("work", body: "pending", id: "h1")
        _ = try await queue.sendHalf("work", body: "committed", id: "h2")
        try await queue.commitHalf("work", id: "h2")
        let longID = String(repeating: "i", count: limits.maxMessageIDLength + 1)
        let tooBig = String(repeating: "x", count: limits.maxMessageSizeBytes + 1)
        let tooMany = (0...limits.maxBatchCount).map { OutgoingMessage(body: "m\($0)") }

        let cases: [(String, MessageQueueError, () async throws -> Void)] = [
            ("unknown queue", .unknownQueue("nope"), { _ = try await queue.send("nope", body: "x") }),
            ("duplicate queue", .duplicateQueue("work"), { try await queue.createQueue("work") }),
            ("bad name", .invalidQueueName("a b"), { try await queue.createQueue("a b") }),
            ("empty name", .invalidQueueName(""), { try await queue.createQueue("") }),
            ("unknown dead-letter queue", .unknownQueue("ghost"), {
                try await queue.createQueue("q2", attributes: QueueAttributes(deadLetterQueue: "ghost"))
            }),
            ("empty message", .emptyMessage, { _ = try await queue.send("work", body: "") }),
            ("oversized message", .messageTooLarge(sizeBytes: tooBig.utf8.count, limitBytes: limits.maxMessageSizeBytes), {
                _ = try await queue.send("work", body: tooBig)
            }),
            ("empty message id", .invalidMessageID(""), { _ = try await queue.send("work", body: "x", id: "") }),
            ("batch too big", .invalidBatchSize(count: tooMany.count, limit: limits.maxBatchCount), {
                _ = try await queue.sendBatch("work", tooMany)
            }),
            ("empty batch", .invalidBatchSize(count: 0, limit: limits.maxBatchCount), {
                _ = try await queue.sendBatch("work", [])
            }),
            ("receive batch too big", .invalidBatchSize(count: 17, limit: limits.maxBatchCount), {
                _ = try await queue.receiveBatch("work", maxCount: 17)
            }),
            ("negative delay", .invalidDelay(.seconds(-1)), { _ = try await queue.send("work", body: "x", delay: .seconds(-1)) }),
            ("delay too long", .invalidDelay(.seconds(3601)), { _ = try await queue.send("work", body: "x", delay: .seconds(3601)) }),
            ("visibility too short", .invalidVisibilityTimeout(.zero), {
                _ = try await queue.receive("work", visibilityTimeout: .zero)
            }),
            ("visibility too long", .invalidVisibilityTimeout(.seconds(43_201)), {
                _ = try await queue.receive("work", visibilityTimeout: .seconds(43_201))
            }),
            ("negative poll", .invalidPollingWait(.seconds(-1)), {
                _ = try await queue.receive("work", pollingWait: .seconds(-1))
            }),
            ("poll too long", .invalidPollingWait(.seconds(31)), {
                _ = try await queue.receive("work", pollingWait: .seconds(31))
            }),
            ("retention too short", .invalidRetention(.seconds(59)), {
                try await queue.createQueue("q3", attributes: QueueAttributes(retention: .seconds(59)))
            }),
            ("max receive count zero", .invalidMaxReceiveCount(0), {
                try await queue.createQueue("q4", attributes: QueueAttributes(maxReceiveCount: 0))
            }),
            ("unknown receipt", .unknownReceipt("1:x:ghost"), {
                try await queue.delete("work", receipt: ReceiptHandle(messageID: "ghost", receiveCount: 1, nonce: "x"))
            }),
            ("future receipt", .unknownReceipt("9:\(current.receipt.nonce):\(current.id)"), {
                try await queue.delete("work", receipt: ReceiptHandle(messageID: current.id, receiveCount: 9,
                                                                      nonce: current.receipt.nonce))
            }),
            ("receipt used on another queue", .unknownReceipt(current.receipt.description), {
                try await queue.delete("parked", receipt: current.receipt)
            }),
            ("forged receipt: right message and count, made-up random part",
             .unknownReceipt("\(current.receiveCount):guessed:\(current.id)"), {
                try await queue.delete("work", receipt: ReceiptHandle(messageID: current.id, receiveCount: current.receiveCount,
                                                                      nonce: "guessed"))
            }),

            ("stale receipt", .staleReceipt(received.receipt.description), {
                try await queue.delete("work", receipt: received.receipt)
            }),
            ("stale receipt in a batch", .staleReceipt(received.receipt.description), {
                try await queue.deleteBatch("work", receipts: [current.receipt, received.receipt])
            }),
            ("stale visibility change", .staleReceipt(received.receipt.description), {
                try await queue.changeVisibility("work", receipt: received.receipt, timeout: .zero)
            }),
            ("negative visibility change", .invalidVisibilityTimeout(.seconds(-1)), {
                try await queue.changeVisibility("work", receipt: current.receipt, timeout: .seconds(-1))
            }),
            ("delete unknown queue", .unknownQueue("nope"), { try await queue.deleteQueue("nope") }),
            ("delete a dead-letter queue in use", .queueInUse(name: "parked", by: "source"), {
                try await queue.deleteQueue("parked")
            }),
            ("commit of a forged half message id", .unknownHalfMessage(queue: "work", id: "forged"), {
                try await queue.commitHalf("work", id: "forged")
            }),
            ("commit batch with one forged id", .unknownHalfMessage(queue: "work", id: "forged"), {
                try await queue.commitHalfBatch("work", ids: ["h1", "forged"])
            }),
            ("commit of a received message's receipt text", .unknownHalfMessage(queue: "work", id: current.receipt.description), {
                try await queue.commitHalf("work", id: current.receipt.description)
            }),
            ("commit in another queue", .unknownHalfMessage(queue: "parked", id: "h1"), {
                try await queue.commitHalf("parked", id: "h1")
            }),
            ("commit in an unknown queue", .unknownQueue("nope"), { try await queue.commitHalf("nope", id: "h1") }),
            ("empty commit batch", .invalidBatchSize(count: 0, limit: limits.maxBatchCount), {
                try await queue.commitHalfBatch("work", ids: [])
            }),
            ("rollback of a forged id", .unknownHalfMessage(queue: "work", id: "forged"), {
                try await queue.rollbackHalf("work", id: "forged")
            }),
            ("rollback of a committed half message", .halfMessageAlreadyCommitted(queue: "work", id: "h2"), {
                try await queue.rollbackHalf("work", id: "h2")
            }),
            ("rollback of an ordinary message", .halfMessageAlreadyCommitted(queue: "work", id: current.id), {
                try await queue.rollbackHalfBatch("work", ids: ["h1", current.id])
            }),
            ("empty half message", .emptyMessage, { _ = try await queue.sendHalf("work", body: "") }),
            ("half message id too long", .invalidMessageID(longID), {
                _ = try await queue.sendHalf("work", body: "x", id: longID)
            }),
            ("half message delay too long", .invalidDelay(.seconds(3601)), {
                _ = try await queue.sendHalf("work", body: "x", delay: .seconds(3601))
            }),
            ("check-back delay zero", .invalidCheckBackDelay(.zero), {
                try await queue.createQueue("q5", attributes: QueueAttributes(checkBackDelay: .zero))
            }),
            ("max check-backs zero", .invalidMaxCheckBacks(0), {
                try await queue.createQueue("q6", attributes: QueueAttributes(maxCheckBacks: 0))
            }),
            ("max check-backs too many", .invalidMaxCheckBacks(1001), {
                try await queue.createQueue("q7", attributes: QueueAttributes(maxCheckBacks: 1001))
            }),
            ("check-back handler for an unknown queue", .unknownQueue("nope"), {
                try await queue.setCheckBackHandler(for: "nope") { _, _ in .commit }
            }),
            ("slow latency too large", .invalidFault("latency must be between 0 and \(limits.maxReplicaLatency)"), {
                try await queue.slowReplica(.a, latency: .seconds(11))
            }),
        ]
        await queue.settle()
        let before = await queue.currentState()
        let beforeReplicas = try ReplicaID.allCases.map { try fixture.contents(of: $0) }
        for (name, expected, body) in cases {
            do {
                try await body()
                XCTFail("\(name): no error")
            } catch let error as MessageQueueError {
                XCTAssertEqual(error, expected, name)
            } catch {
                XCTFail("\(name): \(error)")
            }
        }
        let after = await queue.currentState()
        XCTAssertEqual(after.lastSequence, before.lastSequence)
        XCTAssertEqual(after.queueNames, before.queueNames)
        XCTAssertEqual(after.messages(in: "work"), before.messages(in: "work"))
        XCTAssertEqual(after.halfMessages(in: "work"), before.halfMessages(in: "work"))
        XCTAssertEqual(after.halfMessages(in: "work").map(\.id), ["h1"])
        await queue.close()
        let afterReplicas = try ReplicaID.allCases.map { try fixture.contents(of: $0) }
        XCTAssertEqual(afterReplicas, beforeReplicas)
    }

    func testReceiptTextRoundTripsAndRejectsMalformedText() {
        let receipt = ReceiptHandle(messageID: "claim:7.1", receiveCount: 3, nonce: "k7m2x9")
        XCTAssertEqual(ReceiptHandle(receipt.description), receipt)
        for bad in ["", "abc", ":x", "0:x", "-1:x", "3:", "1:s2", "1::s2", "0:abc:s2", "1:a b:s2", "1:abc:", "x:abc:s2"] {
            XCTAssertNil(ReceiptHandle(bad), bad)
        }
    }

    func testAReplicaDirectoryHoldingGarbageIsRefused() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        await queue.close()
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: fixture.databasePath(.a) + suffix) }
        try Data("hello, not a database".utf8).write(to: URL(fileURLWithPath: fixture.databasePath(.a)))
        XCTAssertThrowsError(try fixture.open()) { error in
            guard case .replicaDirectoryGarbage = error as? MessageQueueError else { return XCTFail("\(error)") }
        }
        let text = try String(contentsOfFile: fixture.databasePath(.a), encoding: .utf8)
        XCTAssertEqual(text, "hello, not a database", "garbage is left untouched")
    }

    func testAMissingReplicaDirectoryNextToDataIsRefused() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        await queue.close()
        try FileManager.default.removeItem(atPath: fixture.root + "/replica-c")
        XCTAssertThrowsError(try fixture.open()) { error in
            XCTAssertEqual(error as? MessageQueueError, .replicaDirectoryMissing(path: fixture.root + "/replica-c"))
        }
    }

    func testAQuorumAboveTheReplicasIsRefusedBeforeAnythingIsCreated() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        XCTAssertThrowsError(try MessageQueueService.open(root: fixture.root, quorum: 4)) { error in
            XCTAssertEqual(error as? MessageQueueError, .invalidLimits("queue.quorum 4 must be between 1 and the 3 replica(s)"))
        }
        XCTAssertThrowsError(try MessageQueueService.open(root: fixture.root, replicaIDs: [.a])) { error in
            XCTAssertEqual(error as? MessageQueueError, .invalidLimits("queue.quorum 2 must be between 1 and the 1 replica(s)"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: fixture.root), "nothing was created")
        let single = try MessageQueueService.open(root: fixture.root, replicaIDs: [.a], quorum: 1)
        await single.close()
    }

    func testAnUnwritableRootIsRefused() throws {
        XCTAssertThrowsError(try MessageQueueService.open(root: "/proc/hongbao-queue-test")) { error in
            guard case .replicaDirectoryUnwritable = error as? MessageQueueError else { return XCTFail("\(error)") }
        }
    }
}
