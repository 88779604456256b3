@testable import MessageQueue
@testable import PostgresStores
import Primitives
import Synchronization
import TestKit
import XCTest

/// The queue of `MessageQueueService` kept in PostgreSQL (`PostgresQueueJournal`): every kind of operation
/// stored as the in-memory state has it, read back whole by a new process, fenced against a second writer.
final class QueueJournalTests: PostgresServerTestCase {
    /// Forwards to a journal and records which kinds of operations it was given.
    final class RecordingJournal: QueueJournal {
        let inner: any QueueJournal
        let kinds = Mutex<Set<QueueOperation.Kind>>([])
        init(_ inner: any QueueJournal) { self.inner = inner }
        var location: String { inner.location }
        func load(limits: QueueLimits) async throws -> QueueState { try await inner.load(limits: limits) }
        func append(_ operations: [QueueOperation], after: Int64) async throws {
            kinds.withLock { $0.formUnion(operations.map(\.kind)) }
            try await inner.append(operations, after: after)
        }
    }

    private func open(_ journal: any QueueJournal, clock: ManualClock, seed: UInt64 = 7) async throws -> MessageQueueService {
        try await MessageQueueService.open(journal: journal, clock: clock, random: SeededRandomSource(seed: seed),
                                           checkBackTimer: false)
    }

    /// Seeded random workloads touching every kind of operation; after each, the tables read back (by the audit
    /// and by a second process opening them) describe exactly the queues the first process holds in memory.
    func testRandomWorkloadsAreStoredAsTheyAreHeld() async throws {
        for seed in UInt64(1)...UInt64(3) {
            let pool = try freshPool()
            let journal = RecordingJournal(try await PostgresQueueJournal(pool: pool))
            let clock = ManualClock()
            let queue = try await open(journal, clock: clock, seed: seed)
            try await runWorkload(queue, clock: clock, seed: seed, steps: 300)
            XCTAssertEqual(journal.kinds.withLock { $0 }, Set(QueueOperation.Kind.allCases),
                           "seed \(seed): every kind of operation was stored")
            let problems = await queue.replicaDisagreements()
            XCTAssertEqual(problems, [], "seed \(seed)")
            let memory = await queue.currentState()
            await queue.close()

            let reopened = try await open(try await PostgresQueueJournal(pool: pool, create: false), clock: clock)
            let loaded = await reopened.currentState()
            XCTAssertEqual(loaded.lastSequence, memory.lastSequence, "seed \(seed)")
            XCTAssertEqual(loaded.queueNames, memory.queueNames, "seed \(seed)")
            for name in memory.queueNames {
                XCTAssertEqual(loaded.messages(in: name), memory.messages(in: name), "seed \(seed), \(name)")
                XCTAssertEqual(loaded.consumedMessages(in: name), memory.consumedMessages(in: name), "seed \(seed), \(name)")
                XCTAssertEqual(loaded.halfMessages(in: name), memory.halfMessages(in: name), "seed \(seed), \(name)")
                XCTAssertEqual(loaded.checkBacksMade(in: name), memory.checkBacksMade(in: name), "seed \(seed), \(name)")
                XCTAssertEqual(loaded.attributes(of: name), memory.attributes(of: name), "seed \(seed), \(name)")
            }
            XCTAssertGreaterThan(memory.lastSequence, 150, "seed \(seed): the workload did something")
            await reopened.close()
        }
    }

    private func runWorkload(_ queue: MessageQueueService, clock: ManualClock, seed: UInt64, steps: Int) async throws {
        let random = SeededRandomSource(seed: seed)
        try await queue.createQueue("dlq")
        try await queue.createQueue("work", attributes: QueueAttributes(
            visibilityTimeout: .seconds(3), retention: .seconds(60), maxReceiveCount: 2, deadLetterQueue: "dlq",
            rewindWindow: .seconds(30)))
        try await queue.createQueue("jobs.fifo", attributes: QueueAttributes(fifo: true))
        try await queue.setCheckBackHandler(for: "work") { _, message in
            switch (message.id.last?.wholeNumberValue ?? 0) % 3 {
            case 0: .commit
            case 1: .rollback
            default: .unknown
            }
        }
        var receipts: [ReceiptHandle] = []
        for step in 0..<steps {
            switch random.uniform(in: 0...14) {
            case 0...3:
                let id: String? = random.uniform(in: 0...3) == 0 ? "fixed-\(random.uniform(in: 0...20))" : nil
                _ = try await queue.sendBatch("work", [OutgoingMessage(
                    body: "b\(random.next() % 1000) \u{1}ü😀", id: id, delay: .seconds(random.uniform(in: 0...2)),
                    attributes: random.uniform(in: 0...1) == 0 ? "" : "attr-\(step)")])
            case 4...5:
                receipts += try await queue.receiveBatch("work", maxCount: Int(random.uniform(in: 1...4))).map(\.receipt)
            case 6:
                if let receipt = receipts.popLast() { try? await queue.delete("work", receipt: receipt) }
            case 7:
                if let receipt = receipts.popLast() {
                    try? await queue.changeVisibility("work", receipt: receipt, timeout: .seconds(random.uniform(in: 0...5)))
                }
            case 8:
                if random.uniform(in: 0...4) == 0 { try await queue.redrive(deadLetterQueue: "dlq") }
                try await queue.purgeExpired()
            case 9:
                _ = try await queue.sendHalf("work", body: "h\(random.next() % 1000)", id: "half-\(random.uniform(in: 0...30))")
            case 10:
                let id = "half-\(random.uniform(in: 0...30))"
                if random.uniform(in: 0...1) == 0 {
                    try? await queue.commitHalf("work", id: id)
                } else {
                    try? await queue.rollbackHalf("work", id: id)
                }
                await queue.runCheckBacks()
            case 11:
                let group = "g\(random.uniform(in: 0...2))"
                _ = try await queue.sendBatch("jobs.fifo", [OutgoingMessage(
                    body: "f\(step)", groupID: group, deduplicationID: "d\(random.uniform(in: 0...40))")])
                for message in try await queue.receiveBatch("jobs.fifo", maxCount: 2) where random.uniform(in: 0...1) == 0 {
                    try await queue.delete("jobs.fifo", receipt: message.receipt)
                }
            case 12:
                if random.uniform(in: 0...3) == 0 { _ = try await queue.rewind("work", window: .seconds(20)) }
                if random.uniform(in: 0...5) == 0 {
                    var attributes = try await queue.attributes(of: "work")
                    attributes.visibilityTimeout = .seconds(random.uniform(in: 2...4))
                    try await queue.setAttributes("work", attributes)
                }
            case 13:
                if random.uniform(in: 0...5) == 0 {
                    try await queue.createQueue("scratch")
                    _ = try await queue.send("scratch", body: "gone soon")
                    if random.uniform(in: 0...1) == 0 { try await queue.purgeQueue("scratch") }
                    try await queue.deleteQueue("scratch")
                }
            default:
                clock.advance(by: .seconds(random.uniform(in: 1...4)))
            }
        }
        // Each kind at least once, whatever the seed drew.
        try await queue.createQueue("scratch")
        _ = try await queue.send("scratch", body: "x")
        try await queue.purgeQueue("scratch")
        try await queue.deleteQueue("scratch")
        _ = try await queue.sendHalf("work", body: "h", id: "last-half")
        try await queue.rollbackHalf("work", id: "last-half")
        _ = try await queue.sendHalf("work", body: "h", id: "last-half-2")
        try await queue.commitHalf("work", id: "last-half-2")
        try await queue.createQueue("poison", attributes: QueueAttributes(
            visibilityTimeout: .seconds(1), maxReceiveCount: 1, deadLetterQueue: "dlq"))
        _ = try await queue.send("poison", body: "to the dlq", id: "to-dlq")
        for _ in 0..<2 {
            _ = try await queue.receiveBatch("poison", maxCount: 10)
            clock.advance(by: .seconds(2))
        }
        try await queue.redrive(deadLetterQueue: "dlq")
        _ = try await queue.rewind("work", window: .seconds(20))
    }

    /// Two processes on the same tables: each group is stored only after the state it was decided on, so the
    /// second writer's verb fails (nothing stored), it reads the state back, and its next verb sees the first's
    /// messages: nothing is lost and nothing is stored twice.
    func testASecondWriterIsRefusedUntilItHasReadTheOthersWrites() async throws {
        let pool = try freshPool()
        let clock = ManualClock()
        let first = try await open(try await PostgresQueueJournal(pool: pool), clock: clock, seed: 1)
        try await first.createQueue("shared")
        let second = try await open(try await PostgresQueueJournal(pool: pool), clock: clock, seed: 2)
        _ = try await first.send("shared", body: "from the first", id: "one")
        do {
            _ = try await second.send("shared", body: "from the second", id: "two")
            XCTFail("the second writer stored a group decided on a state without the queue")
        } catch {
            guard case let .storage(message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("another process wrote the queue"), message)
        }
        _ = try await second.send("shared", body: "from the second", id: "two")
        let seen = try await second.peek("shared", count: 10).map(\.id)
        XCTAssertEqual(seen, ["one", "two"], "the second writer read the first's message back")
        do {
            _ = try await first.send("shared", body: "from the first again", id: "three")
            XCTFail("the first writer stored a group after the second had written")
        } catch {}
        _ = try await first.send("shared", body: "from the first again", id: "three")
        let reader = try await open(try await PostgresQueueJournal(pool: pool, create: false), clock: clock)
        let stored = try await reader.peek("shared", count: 10).map(\.id)
        XCTAssertEqual(stored, ["one", "two", "three"])
        for queue in [first, second, reader] { await queue.close() }
    }

    /// A group whose COMMIT was written on the server but never answered (the backend waiting for a standby,
    /// terminated): the journal reads its row once nothing holds it, finds its own group in, and the send is
    /// acknowledged; the message is stored once, and the audit finds memory and tables agree.
    func testAnUnclearCommitThatWentInIsAcknowledgedOnce() async throws {
        let server = try running()
        let settings = try server.freshDatabase()
        let pool = PostgresPool(settings: settings)
        pools.append(pool)
        let queue = try await open(try await PostgresQueueJournal(pool: pool), clock: ManualClock())
        try await queue.createQueue("q")
        let (result, caught) = try await server.withUnclearCommit(database: settings.database) {
            try await queue.send("q", body: "unclear", id: "u1")
        }
        XCTAssertTrue(caught, "the commit was caught waiting for the standby")
        XCTAssertEqual(result.messageID, "u1")
        XCTAssertFalse(result.alreadyPresent)
        let problems = await queue.replicaDisagreements()
        XCTAssertEqual(problems, [])
        _ = try await queue.send("q", body: "after", id: "u2")
        await queue.close()
        let reopened = try await open(try await PostgresQueueJournal(pool: pool, create: false), clock: ManualClock())
        let ids = try await reopened.peek("q", count: 10).map(\.id)
        XCTAssertEqual(ids, ["u1", "u2"])
        await reopened.close()
    }

    /// One serving process at a time: a second claim is refused, naming the holder's backend, until the first
    /// lets go; the operator's commands (no claim) still write.
    func testASecondServingProcessIsRefusedUntilTheFirstLetsGo() async throws {
        let pool = try freshPool()
        let first = try await PostgresQueueJournal(pool: pool)
        let second = try await PostgresQueueJournal(pool: pool)
        let held = try await first.holdServing()
        do {
            _ = try await second.holdServing()
            XCTFail("two processes claimed the queues at once")
        } catch let error as PostgresStoreError {
            guard case let .server(message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("are served by another process (backend "), message)
        }
        await held.release()
        let taken = try await second.holdServing()
        await taken.release()
    }

    /// A reader's journal on a database without the queues' tables makes nothing and says what is missing.
    func testAReaderMakesNothing() async throws {
        let pool = try freshPool()
        do {
            _ = try await PostgresQueueJournal(pool: pool, create: false)
            XCTFail("a reader found queues in an empty database")
        } catch let error as PostgresStoreError {
            XCTAssertEqual(error, .missing("no hongbao queues in \(pool.settings.redacted)"))
        }
        let tables = try await pool.rows("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()")
        XCTAssertEqual(try tables.first?.decode(Int64.self), 0)
    }
}
