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

    /// The queue pane's figures as the server counts them: a received message is in flight, and stays in flight
    /// while its retry's backoff holds it (as the SQLite queue counts a visibility change); it is visible again
    /// when that passes; the oldest live message's send time; a buried message counts in the dead-letter queue.
    func testCountersSayWhichMessagesAreVisibleInFlightAndDeadLettered() async throws {
        let queue = try await queue()
        let empty = try await queue.counters()
        XCTAssertEqual(empty, .init(visible: 0, inFlight: 0, delayed: 0, deadLettered: 0, oldestSentAt: nil))
        let sentAt = clock.now()
        for id in ["a", "b", "c"] { try await queue.enqueue(CreditQueueContract.order(id)) }
        clock.advance(by: .seconds(5))
        let sent = try await queue.counters()
        XCTAssertEqual(sent, .init(visible: 3, inFlight: 0, delayed: 0, deadLettered: 0, oldestSentAt: sentAt))

        let held = try await queue.receive(max: 1, wait: .zero, visibility: .seconds(30))
        XCTAssertEqual(held.count, 1)
        let receivedOne = try await queue.counters()
        XCTAssertEqual(receivedOne.visible, 2)
        XCTAssertEqual(receivedOne.inFlight, 1)
        try await queue.retry(held[0], after: .seconds(10))
        let backingOff = try await queue.counters()
        XCTAssertEqual(backingOff.visible, 2)
        XCTAssertEqual(backingOff.inFlight, 1, "a retry's backoff holds the message in flight")
        clock.advance(by: .seconds(11))
        let backAgain = try await queue.counters()
        XCTAssertEqual(backAgain.visible, 3)
        XCTAssertEqual(backAgain.inFlight, 0)

        // Received and left undeleted until the receive limit (one of them was received once already): the
        // receive after it buries each.
        for _ in 0...maxReceiveCount {
            _ = try await queue.receive(max: 3, wait: .zero, visibility: .seconds(1))
            clock.advance(by: .seconds(2))
        }
        let buried = try await queue.counters()
        XCTAssertEqual(buried.deadLettered, 3)
        XCTAssertEqual(buried.visible + buried.inFlight + buried.delayed, 0)
        XCTAssertNil(buried.oldestSentAt, "no live message, no oldest one")
    }

    /// A send naming an id already live, or one id twice, sends the others and leaves the live message as it is:
    /// its delivery's receipt still deletes it, and it is not received again while hidden.
    func testASendLeavesAnIDAlreadyLiveAsItIs() async throws {
        let queue = try await queue()
        try await queue.send([(id: "a", body: "first a"), (id: "b", body: "b")])
        let delivered = try await queue.receiveRaw(max: 1, wait: .zero, visibility: .seconds(30))
        XCTAssertEqual(delivered.map(\.body), ["first a"])

        try await queue.send([(id: "a", body: "second a"), (id: "c", body: "c"), (id: "c", body: "c again")])
        let depth = try await queue.depth().live
        XCTAssertEqual(depth, 3)
        let others = try await queue.receiveRaw(max: 10, wait: .zero, visibility: .seconds(30))
        XCTAssertEqual(Set(others.map(\.body)), ["b", "c"])
        let deleted = try await queue.delete(delivered.map(\.receipt))
        XCTAssertEqual(deleted, 1)
        let left = try await queue.liveIDs()
        XCTAssertEqual(left, ["b", "c"])
    }

    /// A send whose COMMIT is unclear (see `TestPostgresServer.withUnclearCommit`) is retried; the retry finds
    /// the messages committed (a unique violation) and sends them again skipping the live ids: one copy of each.
    func testAnUnclearSendIsRetriedWithoutDoubling() async throws {
        let server = try running()
        let queue = try await queue()
        addTeardownBlock {
            _ = try? server.psql("ALTER SYSTEM RESET synchronous_standby_names")
            _ = try? server.psql("SELECT pg_reload_conf()")
        }
        let sent = try await server.withUnclearCommit(database: queue.pool.settings.database) {
            try await queue.send([(id: "u1", body: "one"), (id: "u2", body: "two")])
        }
        XCTAssertTrue(sent.caughtWaiting, "no COMMIT waited for the standby")
        let received = try await queue.receiveRaw(max: 10, wait: .zero, visibility: .seconds(30))
        XCTAssertEqual(received.map(\.body).sorted(), ["one", "two"])
        let depth = try await queue.depth().live
        XCTAssertEqual(depth, 2)
    }

    /// A version-1 queue (a receive hid its message by moving `visible_at`) is brought over in place: the message
    /// hidden then stays hidden and its receipt still deletes it; the visible one is received.
    func testAVersion1QueueIsBroughtOverInPlace() async throws {
        let server = try running()
        let pool = try freshPool()
        try await PostgresSchema.ensure("queue", tables: PostgresSchema.queueTables,
                                        steps: Array(PostgresSchema.queueSteps.prefix(1)), on: pool)
        let now = clock.now().millisecondsSinceEpoch
        let body = CreditQueueContract.order("ready").messageBody
        try server.psql("""
            INSERT INTO queue_message (queue, id, body, visible_at, receive_count, receipt, sent_at) VALUES
                ('credits', 'hidden', 'hidden body', \(now + 30_000), 1, 7, \(now)),
                ('credits', 'ready', '\(body)', \(now), 0, 0, \(now));
            """, database: pool.settings.database)
        let queue = try await PostgresCreditQueue(pool: pool, name: "credits", maxReceiveCount: maxReceiveCount,
                                                  clock: clock)
        XCTAssertEqual(try server.psql("SELECT version FROM hongbao_schema WHERE component = 'queue'",
                                       database: pool.settings.database), "2")
        XCTAssertEqual(try server.psql("SELECT reloptions::TEXT FROM pg_class WHERE relname = 'queue_message'",
                                       database: pool.settings.database), "{fillfactor=70}")
        let received = try await queue.receiveRaw(max: 10, wait: .zero, visibility: .seconds(30))
        XCTAssertEqual(received.map(\.receipt.id), ["ready"])
        let deleted = try await queue.delete([PostgresReceipt(id: "hidden", token: 7)])
        XCTAssertEqual(deleted, 1)
    }

    /// A receive hides its messages without moving them in the receive order: it changes no indexed column, so
    /// the server writes each message's new version beside the old one with no index entry (a HOT update).
    func testAReceiveChangesNoIndexedColumn() async throws {
        let server = try running()
        let pool = try freshPool()
        let queue = try await PostgresCreditQueue(pool: pool, name: "credits", maxReceiveCount: maxReceiveCount,
                                                  clock: clock)
        try await queue.send((1...16).map { (id: "m\($0)", body: "body") })
        let received = try await queue.receiveRaw(max: 16, wait: .zero, visibility: .seconds(30))
        XCTAssertEqual(received.count, 16)
        let database = pool.settings.database
        _ = try server.psql("CREATE EXTENSION pageinspect", database: database)
        // Of the page's 32 tuples, the 16 sent were HOT-updated, and the 16 received are heap-only tuples, which
        // no index entry points at (the flags HEAP_HOT_UPDATED and HEAP_ONLY_TUPLE of t_infomask2).
        XCTAssertEqual(try server.psql("""
            SELECT COUNT(*) FILTER (WHERE t_infomask2 & 16384 <> 0) || '/' || COUNT(*) FILTER (WHERE t_infomask2 & 32768 <> 0)
            FROM heap_page_items(get_raw_page('queue_message', 0))
            """, database: database), "16/16")
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
