import GRDB
@testable import MessageQueue
import Primitives
import TestKit
import XCTest
import Dispatch

final class ReplicationTests: XCTestCase {
    func testAnAcknowledgedSendIsCommittedOnTwoReplicas() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        try await queue.setReplica(.b, down: true)
        // The only other live replica is slow: the send must still wait for its commit.
        try await queue.slowReplica(.c, latency: .milliseconds(300))
        let sent = try await queue.send("work", body: "durable")
        for id in [ReplicaID.a, .c] {
            let contents = try fixture.contents(of: id)
            XCTAssertTrue(contents.messages.contains { $0.hasPrefix("work|\(sent.messageID)|durable|") }, "\(id)")
        }
        let b = try fixture.contents(of: .b)
        XCTAssertFalse(b.messages.contains { $0.contains(sent.messageID) }, "b was down")
        await queue.close()
    }

    func testEveryAcknowledgedOperationIsOnAtLeastTwoReplicas() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        for index in 0..<20 {
            let sent = try await queue.send("work", body: "m\(index)")
            let holders = try ReplicaID.allCases.filter { id in
                try fixture.contents(of: id).messages.contains { $0.hasPrefix("work|\(sent.messageID)|") }
            }
            XCTAssertGreaterThanOrEqual(holders.count, 2)
        }
        await queue.close()
    }

    func testWithTwoReplicasDownSendFailsWithNoQuorumAndNothingIsStored() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        try await queue.setReplica(.b, down: true)
        try await queue.setReplica(.c, down: true)
        await queue.settle()
        let before = try fixture.contents(of: .a)
        await assertThrows(.noQuorum(available: 1, required: 2)) {
            try await queue.send("work", body: "lost?")
        }
        await assertThrows(.noQuorum(available: 1, required: 2)) {
            try await queue.receive("work")
        }
        let state = await queue.currentState()
        XCTAssertEqual(state.messages(in: "work"), [])
        await queue.settle()
        XCTAssertEqual(try fixture.contents(of: .a), before)
        try await queue.restoreReplica(.b)
        _ = try await queue.send("work", body: "back")
        await queue.close()
    }

    /// A commit that comes after `close()` (a check-back timer or a caller racing the shutdown) fails with an
    /// error and touches no closed database. Before, its failure path read the closed replicas: a crash.
    func testAnOperationAfterCloseFailsWithAnErrorAndTheFilesKeepWhatWasAcknowledged() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        var queue = try fixture.open()
        try await queue.createQueue("work")
        let kept = try await queue.send("work", body: "acknowledged")
        await queue.close()
        do {
            let late = try await queue.send("work", body: "after close")
            XCTFail("a send after close was acknowledged: \(late)")
        } catch {}
        queue = try fixture.open()
        let peeked = try await queue.peek("work", count: 10)
        XCTAssertEqual(peeked.map(\.id), [kept.messageID])
        let problems = await queue.replicaDisagreements()
        XCTAssertEqual(problems, [])
        await queue.close()
    }

    func testADownReplicaCatchesUpAndThenAllReplicasHoldTheSameOperations() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        try await queue.setReplica(.c, down: true)
        try await churn(queue, fixture.clock, rounds: 30)
        let behind = await queue.replicaStatuses().first { $0.id == .c }
        XCTAssertGreaterThan(behind?.lag ?? 0, 0)
        try await queue.restoreReplica(.c)
        try await churn(queue, fixture.clock, rounds: 5)
        await queue.settle()
        let statuses = await queue.replicaStatuses()
        XCTAssertEqual(statuses.map(\.health), [.up, .up, .up])
        XCTAssertEqual(statuses.map(\.lag), [0, 0, 0])
        try assertReplicasAgree(fixture, with: await queue.currentState())
        await queue.close()
    }

    func testAReplicaTooFarBehindIsRestoredByAFullCopy() async throws {
        var limits = QueueLimits()
        limits.catchUpOperationLimit = 40
        limits.catchUpChunkOperations = 10
        let fixture = try QueueFixture(limits: limits)
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        try await queue.setReplica(.a, down: true)
        try await churn(queue, fixture.clock, rounds: 60)
        try await queue.restoreReplica(.a)
        await queue.settle()
        try assertReplicasAgree(fixture, with: await queue.currentState())
        await queue.close()
    }

    func testACorruptedReplicaIsDetectedNeverServedAndRebuilt() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        try await churn(queue, fixture.clock, rounds: 40)
        let detected = try await queue.corruptReplica(.b)
        XCTAssertTrue(detected)
        let health = await queue.replicaStatuses().first { $0.id == .b }?.health
        XCTAssertEqual(health, .corrupted)
        try await churn(queue, fixture.clock, rounds: 5)
        try await queue.restoreReplica(.b)
        await queue.settle()
        try assertReplicasAgree(fixture, with: await queue.currentState())
        await queue.close()
    }

    func testDamageTheChecksMissedIsReportedAsCorruptedNotDown() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        // What `corruptReplica` leaves when SQLite's checks do not catch the damage: out of service, rebuild due.
        let replica = queue.replicas[1]
        replica.setHealth(.down)
        replica.forceRebuild = true
        var health = await queue.replicaStatuses().first { $0.id == .b }?.health
        XCTAssertEqual(health, .corrupted)
        try await queue.restoreReplica(.b)
        await queue.settle()
        health = await queue.replicaStatuses().first { $0.id == .b }?.health
        XCTAssertEqual(health, .up)
        await queue.close()
    }

    func testDamageDoneOnDiskWhileRunningIsFoundByTheCheckAndRepaired() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        try await churn(queue, fixture.clock, rounds: 40)
        await queue.settle()
        // Pages still in the write-ahead log would be written back over the damage; damage checkpointed pages.
        try await queue.replicas[2].perform { try $0.store?.checkpoint() }
        let handle = try unwrapped(FileHandle(forUpdatingAtPath: fixture.databasePath(.c)))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data(repeating: 0x5A, count: Int(size) - 100))
        try handle.close()
        let verdicts = await queue.checkReplicas()
        XCTAssertEqual(verdicts, [.a: true, .b: true, .c: false])
        let health = await queue.replicaStatuses().map(\.health)
        XCTAssertEqual(health, [.up, .up, .corrupted])
        try await churn(queue, fixture.clock, rounds: 5)
        try await queue.restoreReplica(.c)
        await queue.settle()
        try assertReplicasAgree(fixture, with: await queue.currentState())
        await queue.close()
    }

    func testReopeningRecoversTheStateAndBringsABehindReplicaUpToDate() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        var queue = try fixture.open()
        try await queue.createQueue("work")
        try await queue.setReplica(.c, down: true)
        try await churn(queue, fixture.clock, rounds: 20)
        let expected = await queue.currentState()
        await queue.close()
        queue = try fixture.open()
        let recovered = await queue.currentState()
        XCTAssertEqual(recovered.lastSequence, expected.lastSequence)
        XCTAssertEqual(recovered.messages(in: "work"), expected.messages(in: "work"))
        try assertReplicasAgree(fixture, with: recovered)
        await queue.close()
    }

    /// A receipt's random part travels in the replicated lease: after a restart (the state is read back from a
    /// replica) and on a replica that caught up, the receipt handed out still works, and a forged one does not.
    func testReceiptsSurviveARestartAndACatchUpAndForgedOnesAreRefused() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        var queue = try fixture.open()
        try await queue.createQueue("work")
        _ = try await queue.send("work", body: "one", id: "m1")
        _ = try await queue.send("work", body: "two", id: "m2")
        try await queue.setReplica(.c, down: true)
        let first = try unwrapped(try await queue.receive("work"))
        let second = try unwrapped(try await queue.receive("work"))
        XCTAssertNotEqual(first.receipt.nonce, second.receipt.nonce)
        try await queue.restoreReplica(.c)
        await queue.settle()
        await queue.close()
        let nonces = try ReplicaID.allCases.map { id in
            try fixture.contents(of: id).messages.map { $0.split(separator: "|").last.map(String.init) ?? "" }
        }
        XCTAssertEqual(nonces[0], [first.receipt.nonce, second.receipt.nonce])
        XCTAssertEqual(nonces[1], nonces[0])
        XCTAssertEqual(nonces[2], nonces[0], "replica c caught up with the leases it missed")

        queue = try fixture.open()
        let forged = ReceiptHandle(messageID: "m2", receiveCount: 1, nonce: "2222222222222222222a")
        await assertThrows(.unknownReceipt(forged.description)) { try await queue.delete("work", receipt: forged) }
        try await queue.delete("work", receipt: first.receipt)
        try await queue.setReplica(.a, down: true)
        try await queue.delete("work", receipt: second.receipt)
        let remaining = await queue.currentState().messages(in: "work")
        XCTAssertEqual(remaining, [])
        await queue.close()
    }

    func testAReplicaFileDamagedWhileClosedIsRebuiltOnOpen() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        var queue = try fixture.open()
        try await queue.createQueue("work")
        try await churn(queue, fixture.clock, rounds: 40)
        let expected = await queue.currentState()
        await queue.close()
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: fixture.databasePath(.a)))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: Int(size) - 100))
        try handle.close()
        queue = try fixture.open()
        let recovered = await queue.currentState()
        XCTAssertEqual(recovered.messages(in: "work"), expected.messages(in: "work"))
        try assertReplicasAgree(fixture, with: recovered)
        await queue.close()
    }

    func testTheAuditCatchesAnOperationLogEntryThatDiffersBetweenReplicas() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        var queue = try fixture.open()
        try await queue.createQueue("work")
        try await churn(queue, fixture.clock, rounds: 5)
        var disagreements = await queue.replicaDisagreements()
        XCTAssertEqual(disagreements, [])
        await queue.close()
        // Tables identical on every replica; only replica-b's log of one send says another body. A catch-up
        // from replica-b would replay the wrong body.
        let tampered = try DatabaseQueue(path: fixture.databasePath(.b))
        try await tampered.write { db in
            try db.execute(sql: "UPDATE oplog SET text = 'forged' WHERE seq = (SELECT MIN(seq) FROM oplog WHERE kind = 3)")
        }
        try tampered.close()
        queue = try fixture.open()
        disagreements = await queue.replicaDisagreements()
        XCTAssertEqual(disagreements.count, 1, "\(disagreements)")
        XCTAssertTrue(disagreements.first?.contains("replica-b's operation log differs") == true, "\(disagreements)")
        await queue.close()
    }

    /// The audit compares each replica with the state it acknowledged; sends running at the same time must
    /// never make a replica look ahead of it (the audit used to suspend between taking the state and
    /// reading each replica, and a send dispatched meanwhile reached the replica first).
    func testAnAuditRacingSendsNeverSeesAReplicaAhead() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        for round in 0..<50 {
            async let sent = queue.sendBatch("work", (0..<3).map { OutgoingMessage(body: "r\(round)-\($0)") })
            let problems = await queue.replicaDisagreements()
            _ = try await sent
            XCTAssertEqual(problems, [], "round \(round)")
        }
        await queue.close()
    }

    // MARK: Helpers

    /// Sends, receives, deletes and lets some messages time out.
    private func churn(_ queue: MessageQueueService, _ clock: ManualClock, rounds: Int) async throws {
        for round in 0..<rounds {
            _ = try await queue.sendBatch("work", (0..<3).map { OutgoingMessage(body: "r\(round)-\($0)") })
            let batch = try await queue.receiveBatch("work", maxCount: 4, visibilityTimeout: .seconds(2))
            if let first = batch.first { try await queue.delete("work", receipt: first.receipt) }
            clock.advance(by: .seconds(1))
        }
    }

    /// Every replica holds the same queues, messages and last sequence as `state`, and the same operations.
    private func assertReplicasAgree(
        _ fixture: QueueFixture, with state: QueueState, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let contents = try ReplicaID.allCases.map { try fixture.contents(of: $0) }
        for (id, replica) in zip(ReplicaID.allCases, contents) {
            XCTAssertEqual(replica.lastSequence, state.lastSequence, "\(id)", file: file, line: line)
            XCTAssertEqual(replica.messages.count, state.messages(in: "work").count, "\(id)", file: file, line: line)
            XCTAssertEqual(replica.messages, contents[0].messages, "\(id)", file: file, line: line)
            XCTAssertEqual(replica.halves, contents[0].halves, "\(id)", file: file, line: line)
            XCTAssertEqual(replica.halves.count, state.halfMessages(in: "work").count, "\(id)", file: file, line: line)
            XCTAssertEqual(replica.queues, contents[0].queues, "\(id)", file: file, line: line)
            let (mine, theirs) = replica.sharedOperations(with: contents[0])
            XCTAssertFalse(mine.isEmpty, file: file, line: line)
            XCTAssertEqual(mine, theirs, "\(id)", file: file, line: line)
        }
    }
}

final class GroupCommitTests: XCTestCase {
    func testSendsArrivingDuringACommitShareOneTransactionPerReplica() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        await queue.settle()
        let before = queue.replicas.map(\.commits)
        let gate = DispatchSemaphore(value: 0)
        for replica in queue.replicas { replica.hold(until: gate) }
        // The first send leads and waits behind the held replicas; the next 31 pile up meanwhile.
        let first = Task { try await queue.send("work", body: "first") }
        await waitUntil { await queue.flushing }
        let rest = (0..<31).map { index in Task { try await queue.send("work", body: "m\(index)") } }
        await waitUntil { await queue.pending.count == 31 }
        for _ in queue.replicas { gate.signal() }
        _ = try await first.value
        for task in rest { _ = try await task.value }
        await queue.settle()
        let commits = zip(queue.replicas.map(\.commits), before).map { $0 - $1 }
        XCTAssertEqual(commits, [2, 2, 2], "one transaction for the first send, one for the 31 that waited")
        let stored = try await queue.peek("work", count: 100)
        XCTAssertEqual(stored.count, 32)
        await queue.close()
    }

    /// An audit while a commit is in flight and another send waits behind it: the waiting send's operation is
    /// in the state but on no replica yet. That is no disagreement; the audit waits for the commits to go out
    /// (it used to report every replica "applied operations up to N, the queue acknowledged N+1").
    func testAnAuditDuringAGroupCommitWaitsForItInsteadOfReportingTheReplicasBehind() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        await queue.settle()
        let gate = DispatchSemaphore(value: 0)
        for replica in queue.replicas { replica.hold(until: gate) }
        let first = Task { try await queue.send("work", body: "leads") }
        await waitUntil { await queue.flushing }
        let second = Task { try await queue.send("work", body: "waits") }
        await waitUntil { await queue.pending.count == 1 }
        let audit = Task { await queue.replicaDisagreements() }
        try await Task.sleep(for: .milliseconds(50))
        for _ in queue.replicas { gate.signal() }
        let problems = await audit.value
        XCTAssertEqual(problems, [])
        _ = try await first.value
        _ = try await second.value
        let stored = await queue.replicaDisagreements()
        XCTAssertEqual(stored, [])
        await queue.close()
    }

    func testACommitThatLosesItsQuorumMidwayFailsAndTheStateIsReloadedWithoutReusingSequences() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        let kept = try await queue.send("work", body: "acknowledged")
        await queue.settle()
        let gate = DispatchSemaphore(value: 0)
        for replica in queue.replicas.dropFirst() {
            replica.hold(until: gate)
            replica.closeAfterQueuedWork()
        }
        let failing = Task { try await queue.send("work", body: "unacknowledged") }
        await waitUntil { await queue.flushing }
        gate.signal()
        gate.signal()
        do {
            _ = try await failing.value
            XCTFail("the send was acknowledged by one replica")
        } catch let error as MessageQueueError {
            XCTAssertEqual(error, .noQuorum(available: 1, required: 2))
        }
        let statuses = await queue.replicaStatuses()
        XCTAssertEqual(statuses.map(\.health), [.up, .corrupted, .corrupted])
        // Memory now holds exactly what replica a holds (which committed the unacknowledged send).
        let state = await queue.currentState()
        let a = try fixture.contents(of: .a)
        XCTAssertEqual(state.lastSequence, a.lastSequence)
        XCTAssertTrue(state.messages(in: "work").contains { $0.id == kept.messageID })
        try await queue.restoreReplica(.b)
        try await queue.restoreReplica(.c)
        let after = try await queue.send("work", body: "after")
        await queue.settle()
        let contents = try ReplicaID.allCases.map { try fixture.contents(of: $0) }
        XCTAssertEqual(Set(contents.map(\.messages)).count, 1, "replicas agree")
        XCTAssertEqual(contents[0].lastSequence, a.lastSequence + 1, "the next operation takes the next sequence")
        XCTAssertTrue(contents[0].messages.contains { $0.hasPrefix("work|\(after.messageID)|") })
        await queue.close()
    }

    func testAReplicaFallingFurtherBehindThanTheLogIsTakenDownAndRestoredByACopy() async throws {
        var limits = QueueLimits()
        limits.catchUpOperationLimit = 20
        limits.catchUpChunkOperations = 5
        let fixture = try QueueFixture(limits: limits)
        defer { fixture.remove() }
        let queue = try fixture.open()
        try await queue.createQueue("work")
        let gate = DispatchSemaphore(value: 0)
        queue.replicas[1].hold(until: gate)
        for index in 0..<25 { _ = try await queue.send("work", body: "m\(index)") }
        let health = await queue.replicaStatuses().map(\.health)
        XCTAssertEqual(health, [.up, .down, .up])
        gate.signal()
        try await queue.restoreReplica(.b)
        _ = try await queue.send("work", body: "after")
        await queue.settle()
        let contents = try ReplicaID.allCases.map { try fixture.contents(of: $0) }
        XCTAssertEqual(Set(contents.map(\.messages)).count, 1)
        XCTAssertEqual(contents.map(\.messages.count), [26, 26, 26])
        await queue.close()
    }
}
