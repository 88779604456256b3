import Foundation
import GRDB
@testable import MessageQueue
import Primitives
import Synchronization
import TestKit
import XCTest

/// Records every check-back asked and answers from a script (the last answer repeats).
final class ScriptedProducer: Sendable {
    private let state: Mutex<(asked: [String], answers: [CheckBackVerdict])>
    let asked = AsyncFlag()

    init(_ answers: [CheckBackVerdict]) { state = Mutex(([], answers)) }

    var calls: [String] { state.withLock { $0.asked } }

    var handler: CheckBackHandler {
        { [self] queue, message in
            let verdict = state.withLock { state -> CheckBackVerdict in
                state.asked.append("\(queue)/\(message.id)#\(message.checkBacks)")
                return state.answers.count > 1 ? state.answers.removeFirst() : (state.answers.first ?? .unknown)
            }
            asked.fire()
            return verdict
        }
    }
}

/// Transactional (half) messages: invisible until committed, gone when rolled back, checked back when
/// their producer says nothing, durable and replicated like every other operation.
final class HalfMessageTests: XCTestCase {
    var fixture: QueueFixture!
    var queue: MessageQueueService!

    override func setUp() async throws {
        fixture = try QueueFixture()
        queue = try fixture.open(checkBackTimer: false)
        try await queue.createQueue("work", attributes: QueueAttributes(checkBackDelay: .seconds(10), maxCheckBacks: 3))
    }

    override func tearDown() async throws {
        await queue.close()
        fixture.remove()
    }

    // MARK: Semantics

    func testAHalfMessageIsInvisibleUntilCommittedThenDeliveredOnce() async throws {
        let sent = try await queue.sendHalf("work", body: "credit 8.88", id: "claim-1")
        XCTAssertEqual(sent, SendResult(messageID: "claim-1", alreadyPresent: false))
        var received = try await queue.receive("work")
        XCTAssertNil(received, "a half message is not delivered")
        var counters = try await queue.counters(of: "work")
        XCTAssertEqual([counters.visible, counters.inFlight, counters.delayed, counters.halfPending], [0, 0, 0, 1])
        let peeked = try await queue.peek("work", count: 10)
        XCTAssertEqual(peeked, [])

        try await queue.commitHalf("work", id: "claim-1")
        received = try await queue.receive("work")
        XCTAssertEqual(received?.id, "claim-1")
        XCTAssertEqual(received?.body, "credit 8.88")
        counters = try await queue.counters(of: "work")
        XCTAssertEqual([counters.inFlight, counters.halfPending], [1, 0])
        XCTAssertEqual([counters.totals.halfSent, counters.totals.halfCommitted], [1, 1])
        let halves = try await queue.halfMessages(in: "work")
        XCTAssertEqual(halves, [])
    }

    func testACommittedHalfMessageKeepsItsDelay() async throws {
        _ = try await queue.sendHalf("work", body: "later", id: "d", delay: .seconds(5))
        fixture.clock.advance(by: .seconds(2))
        try await queue.commitHalf("work", id: "d")
        let early = try await queue.receive("work")
        XCTAssertNil(early, "the delay counts from the commit")
        fixture.clock.advance(by: .seconds(5))
        let late = try await queue.receive("work")
        XCTAssertEqual(late?.id, "d")
    }

    func testARolledBackHalfMessageIsGoneAndNeverCheckedBack() async throws {
        let producer = ScriptedProducer([.commit])
        try await queue.setCheckBackHandler(for: "work", producer.handler)
        _ = try await queue.sendHalf("work", body: "x", id: "claim-2")
        try await queue.rollbackHalf("work", id: "claim-2")
        fixture.clock.advance(by: .seconds(60))
        let made = await queue.runCheckBacks()
        XCTAssertEqual(made, 0)
        XCTAssertEqual(producer.calls, [])
        let received = try await queue.receive("work")
        XCTAssertNil(received)
        let counters = try await queue.counters(of: "work")
        XCTAssertEqual([counters.halfPending, counters.totals.halfRolledBack], [0, 1])
        // A rollback is final: the id is unknown now, to commit and rollback alike.
        await assertThrows(.unknownHalfMessage(queue: "work", id: "claim-2")) {
            try await self.queue.commitHalf("work", id: "claim-2")
        }
    }

    func testSendingTheSameIDAgainStoresNothing() async throws {
        _ = try await queue.sendHalf("work", body: "first", id: "same")
        let again = try await queue.sendHalf("work", body: "second", id: "same")
        XCTAssertTrue(again.alreadyPresent)
        let ordinary = try await queue.send("work", body: "third", id: "same")
        XCTAssertTrue(ordinary.alreadyPresent, "an ordinary send of a half message's id stores nothing")
        let halves = try await queue.halfMessages(in: "work")
        XCTAssertEqual(halves.map(\.body), ["first"])
        try await queue.commitHalf("work", id: "same")
        try await queue.commitHalf("work", id: "same")
        let afterCommit = try await queue.sendHalf("work", body: "fourth", id: "same")
        XCTAssertTrue(afterCommit.alreadyPresent, "a committed id is live: no new half message")
        let messages = try await queue.peek("work", count: 10)
        XCTAssertEqual(messages.map(\.body), ["first"])
        let counters = try await queue.counters(of: "work")
        XCTAssertEqual([counters.totals.halfSent, counters.totals.halfCommitted, counters.halfPending], [1, 1, 0])
    }

    func testNoCheckBackBeforeTheDelayThenCommitDelivers() async throws {
        let producer = ScriptedProducer([.commit])
        try await queue.setCheckBackHandler(for: "work", producer.handler)
        _ = try await queue.sendHalf("work", body: "x", id: "c")
        fixture.clock.advance(by: .seconds(9))
        var made = await queue.runCheckBacks()
        XCTAssertEqual(made, 0, "not due yet")
        fixture.clock.advance(by: .seconds(1))
        made = await queue.runCheckBacks()
        XCTAssertEqual(made, 1)
        XCTAssertEqual(producer.calls, ["work/c#0"])
        let received = try await queue.receive("work")
        XCTAssertEqual(received?.id, "c")
        let snapshot = await queue.snapshot()
        XCTAssertEqual([snapshot.checkBacks, snapshot.halfPending], [1, 0])
    }

    func testACheckBackAnsweredRollbackDropsTheMessage() async throws {
        let producer = ScriptedProducer([.rollback])
        try await queue.setCheckBackHandler(for: "work", producer.handler)
        _ = try await queue.sendHalf("work", body: "x", id: "r")
        fixture.clock.advance(by: .seconds(10))
        await queue.runCheckBacks()
        let halves = try await queue.halfMessages(in: "work")
        XCTAssertEqual(halves, [])
        fixture.clock.advance(by: .seconds(60))
        let received = try await queue.receive("work")
        XCTAssertNil(received)
        XCTAssertEqual(producer.calls, ["work/r#0"])
    }

    func testUnknownIsAskedAgainWithBackoffUpToTheLimitThenTheMessageIsExhausted() async throws {
        let producer = ScriptedProducer([.unknown])
        try await queue.setCheckBackHandler(for: "work", producer.handler)
        _ = try await queue.sendHalf("work", body: "x", id: "u")
        // Due at 10 s; then 20 s after the first check-back; then 40 s after the second.
        var asked: [Int] = []
        for second in 1...200 {
            fixture.clock.advance(by: .seconds(1))
            if await queue.runCheckBacks() > 0 { asked.append(second) }
        }
        XCTAssertEqual(asked, [10, 30, 70], "three check-backs (the queue's limit), backing off")
        XCTAssertEqual(producer.calls, ["work/u#0", "work/u#1", "work/u#2"])
        let counters = try await queue.counters(of: "work")
        XCTAssertEqual([counters.halfPending, counters.halfExhausted, counters.total], [0, 1, 0])
        XCTAssertEqual(counters.totals.checkBacks, 3)
        let halves = try await queue.halfMessages(in: "work")
        XCTAssertEqual(halves.map(\.checkBacks), [3])
        // An exhausted message still takes its producer's (or the operator's) decision.
        try await queue.commitHalf("work", id: "u")
        let received = try await queue.receive("work")
        XCTAssertEqual(received?.id, "u")
    }

    func testAQueueWithoutAHandlerWaitsAndCountsNoCheckBack() async throws {
        _ = try await queue.sendHalf("work", body: "x", id: "n")
        fixture.clock.advance(by: .seconds(600))
        let made = await queue.runCheckBacks()
        XCTAssertEqual(made, 0)
        let producer = ScriptedProducer([.commit])
        try await queue.setCheckBackHandler(for: "work", producer.handler)
        await queue.runCheckBacks()
        XCTAssertEqual(producer.calls, ["work/n#0"], "asked once a handler is there, with no check-back spent")
    }

    func testAProducerDecisionDuringACheckBackWinsAndTheAnswerIsIgnored() async throws {
        let gate = AsyncFlag(), entered = AsyncFlag()
        try await queue.setCheckBackHandler(for: "work") { _, _ in
            entered.fire()
            await gate.wait()
            return .commit
        }
        _ = try await queue.sendHalf("work", body: "x", id: "race")
        fixture.clock.advance(by: .seconds(10))
        let service: MessageQueueService = queue
        let checking = Task { await service.runCheckBacks() }
        await entered.wait()
        try await queue.rollbackHalf("work", id: "race")
        gate.fire()
        let made = await checking.value
        XCTAssertEqual(made, 0, "the message was decided meanwhile")
        let received = try await queue.receive("work")
        XCTAssertNil(received)
        let counters = try await queue.counters(of: "work")
        XCTAssertEqual(counters.totals.checkBacks, 0)
    }

    func testOnePassAsksAtMostItsLimitOldestFirst() async throws {
        await queue.close()
        var limits = QueueLimits()
        limits.maxCheckBacksPerPass = 2
        let small = try QueueFixture(limits: limits)
        defer { small.remove() }
        let service = try small.open(checkBackTimer: false)
        try await service.createQueue("work")
        for id in ["a", "b", "c"] { _ = try await service.sendHalf("work", body: "x", id: id) }
        let producer = ScriptedProducer([.unknown])
        try await service.setCheckBackHandler(for: "work", producer.handler)
        small.clock.advance(by: limits.defaultCheckBackDelay)
        let first = await service.runCheckBacks(), second = await service.runCheckBacks()
        XCTAssertEqual([first, second], [2, 1])
        // A pass asks its messages at once (`checkBackConcurrency`), so the two oldest come in either order
        // (CI once saw b before a), and the second pass asks the third.
        let calls = producer.calls
        XCTAssertEqual(Set(calls.prefix(2)), ["work/a#0", "work/b#0"], "\(calls)")
        XCTAssertEqual(Array(calls.dropFirst(2)), ["work/c#0"], "\(calls)")
        await service.close()
        queue = try fixture.open(checkBackTimer: false)
    }

    func testWithoutAQuorumNobodyIsAsked() async throws {
        let producer = ScriptedProducer([.commit])
        try await queue.setCheckBackHandler(for: "work", producer.handler)
        _ = try await queue.sendHalf("work", body: "x", id: "q")
        try await queue.setReplica(.b, down: true)
        try await queue.setReplica(.c, down: true)
        fixture.clock.advance(by: .seconds(10))
        let made = await queue.runCheckBacks()
        XCTAssertEqual(made, 0)
        XCTAssertEqual(producer.calls, [])
        try await queue.restoreReplica(.b)
        await queue.runCheckBacks()
        XCTAssertEqual(producer.calls, ["work/q#0"])
    }

    func testTheTimerAsksWithoutBeingRun() async throws {
        await queue.close()
        queue = try fixture.open(checkBackTimer: true)
        let producer = ScriptedProducer([.commit])
        _ = try await queue.sendHalf("work", body: "x", id: "t")
        try await queue.setCheckBackHandler(for: "work", producer.handler)
        await waitUntil("the check-back timer to sleep") { self.fixture.clock.sleeperCount == 1 }
        fixture.clock.advance(by: .seconds(10))
        await producer.asked.wait()
        await waitUntil("the answer to be performed") {
            (try? await self.queue.counters(of: "work").visible) == 1
        }
        XCTAssertEqual(producer.calls, ["work/t#0"])
    }

    // MARK: Durability and replication

    func testHalfMessagesAndTheirCheckBacksSurviveARestartAndTheTimerResumes() async throws {
        let producer = ScriptedProducer([.unknown])
        try await queue.setCheckBackHandler(for: "work", producer.handler)
        _ = try await queue.sendHalf("work", body: "one", id: "h1")
        _ = try await queue.sendHalf("work", body: "two", id: "h2", delay: .seconds(3))
        _ = try await queue.sendHalf("work", body: "three", id: "h3")
        try await queue.commitHalf("work", id: "h3")
        fixture.clock.advance(by: .seconds(10))
        await queue.runCheckBacks()
        let before = try await queue.halfMessages(in: "work")
        XCTAssertEqual(before.map(\.checkBacks), [1, 1])
        await queue.close()

        queue = try fixture.open(checkBackTimer: true)
        let after = try await queue.halfMessages(in: "work")
        XCTAssertEqual(after, before, "ids, bodies, delays, check-back counts and times are durable")
        let delivered = try await queue.receive("work")
        XCTAssertEqual(delivered?.id, "h3")
        // The next check-back is due 20 s after the first; the new process's timer makes it.
        let answers = ScriptedProducer([.commit])
        try await queue.setCheckBackHandler(for: "work", answers.handler)
        await waitUntil("the check-back timer to sleep") { self.fixture.clock.sleeperCount == 1 }
        fixture.clock.advance(by: .seconds(20))
        await waitUntil("both check-backs to be performed") {
            (try? await self.queue.halfMessages(in: "work").isEmpty) == true
        }
        XCTAssertEqual(answers.calls.sorted(), ["work/h1#1", "work/h2#1"])
        let problems = await queue.replicaDisagreements()
        XCTAssertEqual(problems, [])
    }

    func testHalfMessageOperationsAreOnTwoReplicasAndADownReplicaCatchesUp() async throws {
        try await queue.setReplica(.c, down: true)
        for index in 0..<30 {
            _ = try await queue.sendHalf("work", body: "b\(index)", id: "h\(index)")
            if index % 3 == 0 { try await queue.commitHalf("work", id: "h\(index)") }
            if index % 3 == 1 { try await queue.rollbackHalf("work", id: "h\(index)") }
        }
        await queue.settle()
        let a = try fixture.contents(of: .a), b = try fixture.contents(of: .b), c = try fixture.contents(of: .c)
        XCTAssertEqual(a.halves.count, 10)
        XCTAssertEqual(a.halves, b.halves)
        XCTAssertEqual(a.messages, b.messages)
        XCTAssertEqual(c.halves, [], "c was down")
        try await queue.restoreReplica(.c)
        _ = try await queue.sendHalf("work", body: "after", id: "after")
        await queue.settle()
        let caughtUp = try fixture.contents(of: .c)
        let reference = try fixture.contents(of: .a)
        XCTAssertEqual(caughtUp.halves, reference.halves)
        XCTAssertEqual(caughtUp.messages, reference.messages)
        XCTAssertEqual(caughtUp.lastSequence, reference.lastSequence)
        let problems = await queue.replicaDisagreements()
        XCTAssertEqual(problems, [])
    }

    func testAReplicaRebuiltByAFullCopyHoldsTheHalfMessages() async throws {
        for index in 0..<10 { _ = try await queue.sendHalf("work", body: "b\(index)", id: "h\(index)") }
        let detected = try await queue.corruptReplica(.a)
        XCTAssertTrue(detected)
        for index in 10..<15 { _ = try await queue.sendHalf("work", body: "b\(index)", id: "h\(index)") }
        try await queue.restoreReplica(.a)
        await queue.settle()
        XCTAssertEqual(try fixture.contents(of: .a).halves.count, 15)
        XCTAssertEqual(try fixture.contents(of: .a).halves, try fixture.contents(of: .b).halves)
        let problems = await queue.replicaDisagreements()
        XCTAssertEqual(problems, [])
    }

    func testRestartingWithAReplicaBehindBringsItsHalfMessagesUpToDate() async throws {
        try await queue.setReplica(.b, down: true)
        _ = try await queue.sendHalf("work", body: "pending", id: "p")
        _ = try await queue.sendHalf("work", body: "done", id: "d")
        try await queue.commitHalf("work", id: "d")
        await queue.close()
        queue = try fixture.open(checkBackTimer: false)
        let halves = try await queue.halfMessages(in: "work")
        XCTAssertEqual(halves.map(\.id), ["p"])
        await queue.settle()
        XCTAssertEqual(try fixture.contents(of: .b).halves, try fixture.contents(of: .a).halves)
        XCTAssertEqual(try fixture.contents(of: .b).messages, try fixture.contents(of: .a).messages)
    }

    func testAReplicaOfTheFirstFormatGetsTheHalfMessageTableOnOpen() async throws {
        _ = try await queue.send("work", body: "old", id: "old")
        await queue.close()
        for id in ReplicaID.allCases {
            let database = try DatabaseQueue(path: fixture.databasePath(id))
            try await database.write { db in
                try db.execute(sql: """
                    DROP TABLE half_message; ALTER TABLE queue DROP COLUMN check_backs;
                    UPDATE replica_meta SET value = 1 WHERE key = 'format'
                    """)
            }
            try database.close()
        }
        queue = try fixture.open(checkBackTimer: false)
        let old = try await queue.peek("work", count: 10)
        XCTAssertEqual(old.map(\.id), ["old"])
        _ = try await queue.sendHalf("work", body: "new", id: "new")
        await queue.settle()
        for id in ReplicaID.allCases { XCTAssertEqual(try fixture.contents(of: id).halves.count, 1, "\(id)") }
    }

    // MARK: Audit

    func testTheAuditFindsAReplicaWhoseHalfMessagesDiffer() async throws {
        _ = try await queue.sendHalf("work", body: "x", id: "h")
        await queue.settle()
        let problems = await queue.replicaDisagreements()
        XCTAssertEqual(problems, [])
        try await queue.replicas[1].perform { replica in
            try replica.store?.database.write { db in try db.execute(sql: "UPDATE half_message SET check_count = 2") }
        }
        let found = await queue.replicaDisagreements()
        XCTAssertEqual(found, ["replica-b holds 1 half messages in work, the queue 1 (same ids, different fields)"])
    }

    func testTheAuditFindsAnIDThatIsBothAHalfMessageAndAMessage() async throws {
        _ = try await queue.send("work", body: "x", id: "twice")
        var state = await queue.currentState()
        state.apply(QueueOperation(kind: .sendHalf, queue: "work", messageID: "twice", text: "x", count: -1))
        XCTAssertEqual(
            MessageQueueService.halfMessageConflicts(state), ["work holds twice both as a half message and as a message"])
    }
}
