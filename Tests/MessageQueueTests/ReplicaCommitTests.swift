import Foundation
@testable import MessageQueue
import GRDB
import Primitives
import TestKit
import XCTest

/// What one replica commit writes, and that a replica's last applied sequence is right in whatever state a
/// `kill -9` leaves its files.
final class ReplicaCommitTests: XCTestCase {
    private func operation(_ sequence: Int64, _ kind: QueueOperation.Kind, message: String = "", text: String = "") -> QueueOperation {
        var operation = QueueOperation(
            kind: kind, queue: "work", messageID: message, text: text,
            time: Timestamp(millisecondsSinceEpoch: 1_000 + sequence), visibleAt: Timestamp(millisecondsSinceEpoch: 1_000 + sequence))
        operation.sequence = sequence
        return operation
    }

    private func send(_ sequence: Int64) -> QueueOperation {
        operation(sequence, .send, message: "m-\(sequence)", text: String(repeating: "b", count: 256))
    }

    private func createQueue() -> QueueOperation {
        operation(1, .createQueue, text: QueueAttributes(limits: QueueLimits()).encoded)
    }

    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// A commit of one send writes the pages its two rows live on (the message and its log entry), and the pages
    /// their B-trees' splits touch now and then: 3.3 WAL frames a commit here. Before format 6 every commit also
    /// rewrote `replica_meta`'s page: 4.3.
    func testACommitOfOneSendWritesTheFramesOfItsRowsOnly() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.appending("queue.sqlite")
        // No checkpoint in the window: the WAL only grows, so its size counts the frames written.
        let store = try ReplicaStore(path: path, operationLogLimit: 100_000, checkpointPeriod: 1_000_000)
        defer { store.close() }
        XCTAssertEqual(try store.apply([createQueue()]), 1)
        for sequence in Int64(2)...11 { _ = try store.apply([send(sequence)]) }
        let pageSize = 4_096
        let before = fileSize(path + "-wal")
        let commits = 200
        for sequence in Int64(12)..<Int64(12 + commits) { _ = try store.apply([send(sequence)]) }
        let frames = Double(fileSize(path + "-wal") - before) / Double(pageSize + 24)
        XCTAssertEqual(try store.lastSequence(), Int64(11 + commits))
        XCTAssertLessThanOrEqual(frames / Double(commits), 3.75, "WAL frames per single-send commit")
    }

    /// A replica opened at FULL durability syncs every commit (`synchronous` = 2), at NORMAL it does not (1):
    /// the quorum's promise that an acknowledged operation is on two replicas' disks rests on it.
    func testAReplicaCommitsAtTheDurabilityItWasOpenedWith() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (durability, expected) in [(ReplicaDurability.full, 2), (.normal, 1)] {
            let store = try ReplicaStore(path: directory.appending("\(durability.pragma).sqlite"), operationLogLimit: 100,
                                         durability: durability)
            defer { store.close() }
            let synchronous = try store.database.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            XCTAssertEqual(synchronous, expected, "synchronous at \(durability.pragma)")
        }
    }

    /// A closed store answers every call with `ReplicaStoreClosed`. GRDB's `read` on a closed connection
    /// dereferences a null SQLite handle, so before this a commit racing the queue's shutdown crashed the process
    /// (seen once in CI: `recoverAfterFailedCommit` read a replica closed by `close()`).
    func testEveryCallOnAClosedStoreThrowsAndNothingCrashes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ReplicaStore(path: directory.appending("queue.sqlite"), operationLogLimit: 100)
        _ = try store.apply([createQueue(), send(2)])
        store.close()
        store.close()
        func assertClosed<T>(_ call: String, _ body: () throws -> T) {
            XCTAssertThrowsError(try body(), call) { error in
                XCTAssertTrue(error is ReplicaStoreClosed, "\(call): \(error)")
            }
        }
        assertClosed("lastSequence") { try store.lastSequence() }
        assertClosed("apply") { try store.apply([send(3)]) }
        assertClosed("operations") { try store.operations(after: 0, limit: 10) }
        assertClosed("operationLog") { try store.operationLog() }
        assertClosed("loadState") { try store.loadState(limits: QueueLimits()) }
        assertClosed("quickCheck") { try store.quickCheck() }
        assertClosed("checkpoint") { try store.checkpoint() }
        let reopened = try ReplicaStore(path: directory.appending("queue.sqlite"), operationLogLimit: 100)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.lastSequence(), 2, "what was applied before the close is there, nothing after")
    }

    /// The operation log keeps its limit when operations come one per commit, as SQS's single sends do.
    func testTheLogIsTrimmedWhenOperationsComeOnePerCommit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ReplicaStore(path: directory.appending("queue.sqlite"), operationLogLimit: 100)
        defer { store.close() }
        _ = try store.apply([createQueue()])
        for sequence in Int64(2)...2_100 { _ = try store.apply([send(sequence)]) }
        let log = try store.operationLog()
        XCTAssertEqual(log.keys.max(), 2_100)
        XCTAssertLessThanOrEqual(log.count, 100 + 1_024, "the log keeps the last 100 operations, trimmed every 1,024")
        XCTAssertEqual(try store.operations(after: 2_000, limit: 1_000)?.count, 100)
    }

    /// A replica's files copied between commits are what `kill -9` leaves (every commit is in the WAL before
    /// `apply` returns). Reopened, each copy knows its last applied sequence, holds exactly those messages, and
    /// replaying an overlap applies only what it had not: also when the operation log has been trimmed empty, so
    /// that only `replica_meta` still tells.
    func testTheLastSequenceIsRightInTheFilesAKillLeavesAtAnyCommit() throws {
        for logLimit in [0, 10, 100_000] {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = directory.appending("queue.sqlite")
            let store = try ReplicaStore(path: path, operationLogLimit: logLimit, checkpointPeriod: 300)
            defer { store.close() }
            _ = try store.apply([createQueue()])
            var snapshots: [(sequence: Int64, path: String)] = []
            var sequence: Int64 = 1
            while sequence < 1_100 {
                // Mostly single sends, now and then a group, crossing the log trim at 1,024 and several checkpoints.
                let count = sequence % 97 == 0 ? 7 : 1
                let group = (1...count).map { send(sequence + Int64($0)) }
                XCTAssertEqual(try store.apply(group), sequence + Int64(count))
                sequence += Int64(count)
                if [2, 300, 301, 1_020, 1_024, 1_025, 1_031, 1_099].contains(where: { sequence - Int64(count) < $0 && $0 <= sequence }) {
                    let copy = directory.appending("crash-\(sequence)")
                    try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
                    for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: path + suffix) {
                        try FileManager.default.copyItem(atPath: path + suffix, toPath: copy + "/queue.sqlite" + suffix)
                    }
                    snapshots.append((sequence, copy + "/queue.sqlite"))
                }
            }
            XCTAssertEqual(snapshots.count, 8)
            for (last, copyPath) in snapshots {
                let reopened = try ReplicaStore(path: copyPath, operationLogLimit: logLimit, checkpointPeriod: 300)
                defer { reopened.close() }
                XCTAssertEqual(try reopened.lastSequence(), last, "log limit \(logLimit), killed after \(last)")
                let messages = try reopened.loadState(limits: QueueLimits()).messages(in: "work").count
                XCTAssertEqual(messages, Int(last - 1), "log limit \(logLimit), killed after \(last)")
                // The producer replays from before the kill: only the operation after it is new.
                let overlap = (max(2, last - 5)...(last + 1)).map { send($0) }
                XCTAssertEqual(try reopened.apply(overlap), last + 1)
                XCTAssertEqual(try reopened.loadState(limits: QueueLimits()).messages(in: "work").count, Int(last))
                XCTAssertEqual(try reopened.lastSequence(), last + 1)
            }
        }
    }
}

/// Commits that wait for company (`QueueLimits.commitLinger`): single operations arriving apart share one replica
/// commit; a wait that gathers nothing turns waiting off for a while.
final class CommitLingerTests: XCTestCase {
    private func fixture(linger: Duration, operations: Int) async throws -> QueueFixture {
        // The queue is made without waiting (a lone create would wait the whole linger).
        let plain = try QueueFixture()
        let service = try plain.open()
        try await service.createQueue("work")
        await service.close()
        var limits = QueueLimits()
        limits.commitLinger = linger
        limits.commitLingerOperations = operations
        return QueueFixture(directory: plain.directory, limits: limits)
    }

    private func commits(_ service: MessageQueueService) -> [Int] {
        service.replicas.map { replica in
            replica.drain()
            return replica.commits
        }
    }

    /// Three sends started together, from three tasks: the first to commit waits (far longer than the test runs,
    /// were it not woken) until the group holds three, so all three share one commit on every replica.
    func testSingleSendsFromSeveralCallersShareOneReplicaCommit() async throws {
        let fixture = try await fixture(linger: .seconds(600), operations: 3)
        defer { fixture.remove() }
        let service = try fixture.open()
        let before = commits(service)
        async let first = service.send("work", body: "one")
        async let second = service.send("work", body: "two")
        async let third = service.send("work", body: "three")
        let ids = try await [first.messageID, second.messageID, third.messageID]
        XCTAssertEqual(Set(ids).count, 3)
        XCTAssertEqual(zip(commits(service), before).map { $0 - $1 }, [1, 1, 1], "one commit per replica for the three")
        for id in ReplicaID.allCases {
            let stored = try fixture.contents(of: id).messages.filter { $0.hasPrefix("work|") }
            XCTAssertEqual(stored.count, 3, "\(id)")
        }
        await service.close()
    }

    /// A lone caller sending one message at a time: its first send waits the linger out and gathers nothing,
    /// so the next sends are committed without waiting.
    func testALoneCallerStopsWaitingAfterAWaitThatGatheredNothing() async throws {
        let fixture = try await fixture(linger: .milliseconds(20), operations: 8)
        defer { fixture.remove() }
        let service = try fixture.open()
        for index in 0..<10 { _ = try await service.send("work", body: "lone \(index)") }
        let waits = await service.lingerCount
        XCTAssertEqual(waits, 1, "only the first send waited")
        // A send returns once two replicas hold it; the third may still be writing the last one.
        for replica in service.replicas { replica.drain() }
        XCTAssertEqual(try fixture.contents(of: .a).messages.filter { $0.hasPrefix("work|") }.count, 10)
        await service.close()
    }
}
