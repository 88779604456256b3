import Crediting
import Engine
import MessageQueue
@testable import PostgresStores
import Primitives
import TestKit
import XCTest

/// The credit queue's contract on the three-copy SQLite queue.
final class SQLiteCreditQueueContractTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var services: [MessageQueueService] = []
    private let clock = ManualClock()
    private let maxReceiveCount = 3

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-contract")
    }

    override func tearDown() async throws {
        for service in services { await service.close() }
        directory?.remove()
    }

    private func queue() async throws -> (MessageQueueCreditQueue, MessageQueueService) {
        let service = try MessageQueueService.open(root: directory.appending("queue-\(services.count)"), clock: clock,
                                                   random: SeededRandomSource(seed: 3), checkBackTimer: false)
        services.append(service)
        try await service.createQueue("credits-dlq")
        try await service.createQueue("credits", attributes: QueueAttributes(maxReceiveCount: maxReceiveCount,
                                                                               deadLetterQueue: "credits-dlq"))
        return (MessageQueueCreditQueue(queue: service, name: "credits"), service)
    }

    func testSendReceiveAcknowledge() async throws {
        try await CreditQueueContract.sendReceiveAcknowledge(try await queue().0)
    }

    func testVisibilityTimeoutAndStaleReceipts() async throws {
        try await CreditQueueContract.visibilityTimeoutAndStaleReceipts(try await queue().0, clock: clock)
    }

    func testDeadLetterAfterMaxReceivesAndRedrive() async throws {
        let (queue, service) = try await queue()
        try await CreditQueueContract.deadLetterAfterMaxReceivesAndRedrive(
            queue, maxReceiveCount: maxReceiveCount, clock: clock,
            deadLettered: { try await service.receiveBatch("credits-dlq", maxCount: 10).map(\.id) },
            redrive: { try await service.redrive(deadLetterQueue: "credits-dlq") })
    }

    func testConcurrentReceiversShareWithoutDuplicates() async throws {
        try await CreditQueueContract.concurrentReceiversShareWithoutDuplicates(try await queue().0)
    }
}

/// The credit queue's contract on `PostgresCreditQueue`, each test on a fresh database.
final class PostgresCreditQueueContractTests: PostgresServerTestCase {
    private let clock = ManualClock()
    private let maxReceiveCount = 3

    private func queue() async throws -> PostgresCreditQueue {
        let pool = try freshPool()
        return try await PostgresCreditQueue(pool: pool, name: "credits", maxReceiveCount: maxReceiveCount, clock: clock)
    }

    func testSendReceiveAcknowledge() async throws {
        try await CreditQueueContract.sendReceiveAcknowledge(try await queue())
    }

    func testVisibilityTimeoutAndStaleReceipts() async throws {
        try await CreditQueueContract.visibilityTimeoutAndStaleReceipts(try await queue(), clock: clock)
    }

    func testDeadLetterAfterMaxReceivesAndRedrive() async throws {
        let queue = try await queue()
        try await CreditQueueContract.deadLetterAfterMaxReceivesAndRedrive(
            queue, maxReceiveCount: maxReceiveCount, clock: clock,
            deadLettered: { try await queue.deadLetterIDs() }, redrive: { try await queue.redrive() })
    }

    /// A dead-lettered message whose id is live in the queue again (re-sent by recovery) leaves the dead-letter
    /// queue on redrive without a second copy in the queue.
    func testARedriveDoesNotDoubleAMessageLiveAgain() async throws {
        let queue = try await queue()
        try await queue.enqueue(CreditQueueContract.order("r.1"))
        for _ in 1...maxReceiveCount {
            _ = try await queue.receive(max: 1, wait: .zero, visibility: .seconds(1))
            clock.advance(by: .seconds(2))
        }
        let buried = try await queue.receive(max: 1, wait: .zero, visibility: .seconds(1))
        XCTAssertEqual(buried.count, 0)
        let dead = try await queue.deadLetterIDs()
        XCTAssertEqual(dead, ["r.1"])
        try await queue.enqueue(CreditQueueContract.order("r.1"))

        let moved = try await queue.redrive()
        XCTAssertEqual(moved, 0)
        let left = try await queue.deadLetterIDs()
        XCTAssertEqual(left, [])
        let live = try await queue.depth().live
        XCTAssertEqual(live, 1)
    }

    func testConcurrentReceiversShareWithoutDuplicates() async throws {
        try await CreditQueueContract.concurrentReceiversShareWithoutDuplicates(try await queue())
    }

    /// The queue's cycle runs as statements the server keeps with the connection: after three cycles on a pool
    /// of one connection, the send, the receive and the delete are each prepared there and were planned (custom
    /// or from the kept generic plan) three times, where statement text is parsed and planned anew each call.
    func testTheCycleRunsAsStatementsPreparedOncePerConnection() async throws {
        let pool = PostgresPool(settings: try running().freshDatabase(), maxConnections: 1)
        pools.append(pool)
        let queue = try await PostgresCreditQueue(pool: pool, name: "credits", maxReceiveCount: maxReceiveCount,
                                                  clock: clock)
        for cycle in 1...3 {
            try await queue.send([(id: "m\(cycle)", body: "body \(cycle)")])
            let received = try await queue.receiveRaw(max: 16, wait: .zero, visibility: .seconds(30))
            XCTAssertEqual(received.map(\.body), ["body \(cycle)"])
            let deleted = try await queue.delete(received.map(\.receipt))
            XCTAssertEqual(deleted, 1)
        }
        var plans: [String: Int64] = [:]
        for row in try await pool.rows(
            "SELECT name, generic_plans + custom_plans FROM pg_prepared_statements WHERE name LIKE 'hb_queue_%'") {
            let (name, count) = try row.decode((String, Int64).self)
            plans[name] = count
        }
        // The delete is planned for its arrays on every call: a generic plan made on a table without statistics
        // scans every message of the queue.
        XCTAssertEqual(plans, ["hb_queue_send": 3, "hb_queue_receive": 3])
    }

    /// A receive that may wait gets a message sent while it waits (the bounded poll); an empty one returns
    /// empty once its wait has passed.
    func testReceiveWaitsForAMessage() async throws {
        let queue = try await queue()
        let empty = try await queue.receive(max: 1, wait: .milliseconds(100), visibility: .seconds(30))
        XCTAssertEqual(empty.count, 0)
        let waiting = Task { try await queue.receive(max: 1, wait: .seconds(20), visibility: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(100))
        try await queue.enqueue(CreditQueueContract.order("w.1"))
        let received = try await waiting.value
        XCTAssertEqual(received.map(\.order.claim.rawValue), ["w.1"])
    }

    /// A receive waiting on an empty queue is woken by a send through the same queue and takes the message at
    /// once, without waiting for its next look: with a first pause of a minute, the receive still gets it (the
    /// old bounded poll, seeing its next look past the wait, returned empty).
    func testASendThroughTheQueueWakesAWaitingReceive() async throws {
        let queue = try await PostgresCreditQueue(pool: try freshPool(), name: "credits", maxReceiveCount: maxReceiveCount,
                                                  clock: clock, pollInterval: .seconds(60))
        let waiting = Task { try await queue.receive(max: 1, wait: .seconds(60), visibility: .seconds(30)) }
        while queue.receiveStatementCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try await queue.enqueue(CreditQueueContract.order("w.2"))
        let received = try await waiting.value
        XCTAssertEqual(received.map(\.order.claim.rawValue), ["w.2"])
        XCTAssertLessThanOrEqual(queue.receiveStatementCount, 2, "the receive looked again without being woken")
    }

    /// While the queue stays empty a waiting receive looks at it less and less often (each look that finds
    /// nothing doubles the pause, up to the longest): a two-second wait from 20 ms up to 640 ms looks some nine
    /// times, where a look every 20 ms made up to a hundred.
    func testAnEmptyQueueIsLookedAtLessOftenWhileItStaysEmpty() async throws {
        let queue = try await PostgresCreditQueue(pool: try freshPool(), name: "credits", maxReceiveCount: maxReceiveCount,
                                                  clock: clock, pollInterval: .milliseconds(20),
                                                  maxPollInterval: .milliseconds(640))
        let empty = try await queue.receive(max: 1, wait: .seconds(2), visibility: .seconds(30))
        XCTAssertEqual(empty.count, 0)
        XCTAssertGreaterThanOrEqual(queue.receiveStatementCount, 2)
        XCTAssertLessThanOrEqual(queue.receiveStatementCount, 10)
    }
}
