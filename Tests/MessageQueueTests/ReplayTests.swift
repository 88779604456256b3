@testable import MessageQueue
import Primitives
import TestKit
import XCTest

/// Seeded random workloads: the in-memory core, each replica's tables, and a replay of the operation log
/// from scratch must all describe the same queues.
final class ReplayTests: XCTestCase {
    func testRandomWorkloadsLeaveMemoryReplicasAndReplayIdentical() async throws {
        for seed in UInt64(1)...UInt64(4) {
            try await runWorkload(seed: seed, steps: 400)
        }
    }

    private func runWorkload(seed: UInt64, steps: Int) async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let queue = try fixture.open(checkBackTimer: false)
        let random = SeededRandomSource(seed: seed)
        try await queue.createQueue("dlq")
        try await queue.createQueue("work", attributes: QueueAttributes(
            visibilityTimeout: .seconds(3), retention: .seconds(60), maxReceiveCount: 2, deadLetterQueue: "dlq"))
        // The producer answers by the id's last digit: commit, roll back, or not known yet.
        try await queue.setCheckBackHandler(for: "work") { _, message in
            switch (message.id.last?.wholeNumberValue ?? 0) % 3 {
            case 0: return .commit
            case 1: return .rollback
            default: return .unknown
            }
        }
        var receipts: [ReceiptHandle] = []
        for _ in 0..<steps {
            switch random.uniform(in: 0...11) {
            case 0...3:
                let id: String? = random.uniform(in: 0...3) == 0 ? "fixed-\(random.uniform(in: 0...20))" : nil
                _ = try await queue.send(
                    "work", body: "b\(random.next() % 1000)", id: id, delay: .seconds(random.uniform(in: 0...2)))
            case 4...5:
                receipts += try await queue.receiveBatch("work", maxCount: Int(random.uniform(in: 1...4))).map(\.receipt)
            case 6:
                if let receipt = receipts.popLast() { try? await queue.delete("work", receipt: receipt) }
            case 7:
                if let receipt = receipts.popLast() {
                    try? await queue.changeVisibility("work", receipt: receipt, timeout: .seconds(random.uniform(in: 0...5)))
                }
            case 8:
                if random.uniform(in: 0...9) == 0 { try await queue.redrive(deadLetterQueue: "dlq") }
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
            default:
                fixture.clock.advance(by: .seconds(random.uniform(in: 1...4)))
                try await injectFault(queue, random)
            }
        }
        // Convergence: every replica back, then all must agree.
        for id in ReplicaID.allCases { try await queue.restoreReplica(id) }
        await queue.settle()
        let memory = await queue.currentState()
        XCTAssertGreaterThan(memory.lastSequence, Int64(steps / 2), "seed \(seed)")
        let totals = try await queue.counters(of: "work").totals
        print("seed \(seed): \(memory.lastSequence) operations, \(totals)")

        var replayed = QueueState(limits: fixture.limits)
        for id in ReplicaID.allCases {
            let store = try ReplicaStore(path: fixture.databasePath(id), operationLogLimit: fixture.limits.catchUpOperationLimit)
            let loaded = try store.loadState(limits: fixture.limits)
            if id == .a {
                for operation in try unwrapped(store.operations(after: 0, limit: 1_000_000)) { replayed.apply(operation) }
            }
            store.close()
            for name in ["work", "dlq"] {
                XCTAssertEqual(loaded.messages(in: name), memory.messages(in: name), "seed \(seed), replica \(id), \(name)")
                XCTAssertEqual(loaded.halfMessages(in: name), memory.halfMessages(in: name), "seed \(seed), replica \(id), \(name)")
            }
            XCTAssertEqual(loaded.lastSequence, memory.lastSequence, "seed \(seed), replica \(id)")
        }
        for name in ["work", "dlq"] {
            XCTAssertEqual(replayed.messages(in: name), memory.messages(in: name), "seed \(seed): replay of \(name)")
            XCTAssertEqual(replayed.halfMessages(in: name), memory.halfMessages(in: name), "seed \(seed): replay of \(name)")
        }
        XCTAssertEqual(replayed.queueNames, memory.queueNames)
        await queue.close()
    }

    /// Takes one replica out (down or corrupted) or brings it back; never more than one out at a time.
    private func injectFault(_ queue: MessageQueueService, _ random: SeededRandomSource) async throws {
        let statuses = await queue.replicaStatuses()
        if let out = statuses.first(where: { !$0.health.isLive }) {
            if random.uniform(in: 0...1) == 0 { try await queue.restoreReplica(out.id) }
            return
        }
        let id = ReplicaID.allCases[Int(random.uniform(in: 0...2))]
        switch random.uniform(in: 0...3) {
        case 0: try await queue.setReplica(id, down: true)
        case 1: try await queue.corruptReplica(id)
        default: break
        }
    }
}
