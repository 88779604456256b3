@testable import Engine
import MessageQueue
import Primitives
import RedPackets
import TestKit
import XCTest

/// What the engine writes in its event log says what the operator did, in the dashboard's words; and what its
/// live snapshot counts for the dashboard.
final class EngineWordsTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-engine-words")
    }

    override func tearDown() {
        directory.remove()
    }

    private func startEngine(workers: Int) async throws -> Engine {
        var configuration = EngineConfiguration(dataPath: directory.path, workers: workers)
        configuration.durability = .normal
        return try await Engine.start(configuration)
    }

    func testResumingWorkersIsLoggedAsResumedAndTheLatencyKnobHasOneName() async throws {
        let engine = try await startEngine(workers: 1)
        engine.pauseWorkers()
        engine.resumeWorkers()
        engine.setLedgerLatency(milliseconds: 50)
        try await engine.setReplica(.b, down: true)
        let restored = try await engine.restoreReplica(.b)
        let texts = await engine.snapshot().events.map(\.text)
        await engine.close()
        // Bringing b back may catch it up; that repair is recorded as an event of its own after "back up".
        let operatorWords = texts.filter { !$0.hasPrefix("repaired ") }
        XCTAssertEqual(Array(operatorWords.suffix(5)), [
            "retry workers paused", "retry workers resumed", "account latency +50 ms", "replica b DOWN", "replica b back up",
        ])
        XCTAssertEqual(restored, "back up")
    }

    /// "expiring" is every open packet that expires within the minute, counted in the store: it was counted in
    /// the snapshot's list of the 12 soonest to expire, so it never showed more than 12.
    func testPacketsExpiringSoonAreAllOfThemNotTheListsLength() async throws {
        let engine = try await startEngine(workers: 0)
        _ = try await engine.sqlite().ledger.openAccount(name: "alice", deposit: Money(yuan: 1_000))
        for _ in 0..<15 {
            _ = try await engine.packets.send(.group(from: "alice", total: Money(yuan: 1), shares: 1,
                                                     timeToLive: .seconds(30)))
        }
        for _ in 0..<3 {
            _ = try await engine.packets.send(.group(from: "alice", total: Money(yuan: 1), shares: 1,
                                                     timeToLive: .seconds(3_600)))
        }
        let snapshot = await engine.snapshot()
        XCTAssertEqual(snapshot.openPackets.count, 12, "the list is a page")
        XCTAssertEqual(snapshot.packetsExpiringSoon, 15)
        await engine.close()
    }

    /// Counts say what happened, in words that agree with the count, and only what happened.
    func testRecoveryAndRedriveCountsReadAsSentences() async throws {
        XCTAssertEqual(Engine.redriven(0), "no dead-lettered credit to redrive")
        XCTAssertEqual(Engine.redriven(1), "redrove 1 dead-lettered credit to the credit queue")
        XCTAssertEqual(Engine.redriven(12_345), "redrove 12,345 dead-lettered credits to the credit queue")
        XCTAssertEqual(Engine.describe(RecoveryReport()), "nothing")
        var settled = RecoveryReport()
        settled.refundsSettled = 1
        XCTAssertEqual(Engine.describe(settled), "1 refund made")
        settled.paymentsConfirmed = 2
        settled.sendsCancelled = 1_500
        XCTAssertEqual(Engine.describe(settled), "2 sends paid, 1,500 cancelled, 1 refund made")
        let engine = try await startEngine(workers: 1)
        let moved = try await engine.redriveDeadLetters()
        let texts = await engine.snapshot().events.map(\.text)
        await engine.close()
        XCTAssertEqual(moved, 0)
        XCTAssertEqual(texts.last, "no dead-lettered credit to redrive")
    }
}
