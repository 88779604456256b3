import Foundation
import Primitives
@testable import Simulation
import XCTest

/// The seeded simulator of the credit path: a fault phase, a convergence phase, then checks.
///
/// Replay a failing seed with `HONGBAO_SIM_SEED=<seed> swift test --filter DeterministicSimulationTests`
/// (and `HONGBAO_SIM_OPERATIONS=<n>` to change the length).
final class DeterministicSimulationTests: XCTestCase {
    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    private var seed: UInt64 {
        environment["HONGBAO_SIM_SEED"].flatMap { UInt64($0) } ?? 0x5EED_2026
    }

    func testHundredThousandOperationsWithFaultsConvergeAndEveryClaimIsCreditedOnce() async throws {
        let seed = self.seed
        let operations = environment["HONGBAO_SIM_OPERATIONS"].flatMap { Int($0) } ?? 100_000
        let replay = "replay: HONGBAO_SIM_SEED=\(seed) swift test --filter DeterministicSimulationTests"
        let summary: DeterministicSummary
        do {
            summary = try await DeterministicSimulation(.init(seed: seed, operations: operations)).run()
        } catch {
            return XCTFail("seed \(seed) stopped with \(error); \(replay)")
        }
        print(summary.text)
        XCTAssertEqual(summary.violations, [], "seed \(seed) fails; \(replay)\n\(summary.text)")
        guard operations >= 50_000 else { return }
        // The run exercised what it claims to (a long run on any seed does).
        let counts = summary.counts
        XCTAssertGreaterThan(summary.claims, operations / 20, "seed \(seed): claims opened")
        XCTAssertGreaterThan(counts.creditsQueued, 0, "seed \(seed): credits failed in line and were queued")
        XCTAssertGreaterThan(counts.creditsUnqueued, 0, "seed \(seed): credits found no quorum and were re-sent")
        XCTAssertGreaterThan(counts.workerCredits, 0, "seed \(seed): workers credited")
        // A crash between every two steps of every flow that crosses the two systems.
        for (name, count) in [("after the draw", counts.crashesMidOpen), ("after queueing", counts.crashesAfterSend),
                              ("after the ledger's credit", counts.crashesAfterLedgerCredit),
                              ("before the payment", counts.crashesBeforePayment),
                              ("after the payment", counts.crashesAfterPayment),
                              ("before the refund", counts.crashesBeforeRefund),
                              ("after the refund", counts.crashesAfterRefund)] {
            XCTAssertGreaterThan(count, 0, "seed \(seed): crashes \(name)")
        }
        XCTAssertGreaterThan(counts.replicasRestored, 0, "seed \(seed): replicas went down and came back")
        XCTAssertGreaterThan(counts.quorumLosses, 0, "seed \(seed): the queue lost its quorum")
        XCTAssertGreaterThan(counts.droppedMessages, 0, "seed \(seed): crashed workers dropped messages")
        XCTAssertGreaterThan(counts.longDowntimes, 0, "seed \(seed): downtimes outlasted the queue's retention")
        XCTAssertGreaterThan(counts.redriven, 0, "seed \(seed): outages dead-lettered credits, redriven later")
    }

    func testTheSameSeedGivesTheSameSummaryByteForByte() async throws {
        let options = DeterministicSimulation.Options(seed: seed &+ 1, operations: 4_000)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let first = try encoder.encode(try await DeterministicSimulation(options).run())
        let second = try encoder.encode(try await DeterministicSimulation(options).run())
        XCTAssertEqual(String(decoding: first, as: UTF8.self), String(decoding: second, as: UTF8.self),
                       "seed \(options.seed)")
        let other = try encoder.encode(try await DeterministicSimulation(.init(seed: seed &+ 2, operations: 4_000)).run())
        XCTAssertNotEqual(first, other, "a different seed takes a different path")
    }

    /// The engine's files are memory-backed where the machine has `/dev/shm`: on a disk the run's restarts
    /// waited on fsyncs for half its time.
    func testTheEngineDataIsInTheScratchRootAndRemovedAfterTheRun() async throws {
        let simulation = try DeterministicSimulation(.init(seed: seed, operations: 200))
        XCTAssertTrue(simulation.directory.hasPrefix(ScratchRoot.path() + "/hongbao-sim-"), simulation.directory)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: ScratchRoot.memory, isDirectory: &isDirectory), isDirectory.boolValue {
            XCTAssertTrue(simulation.directory.hasPrefix(ScratchRoot.memory + "/"), simulation.directory)
        }
        _ = try await simulation.run()
        XCTAssertFalse(FileManager.default.fileExists(atPath: simulation.directory), "removed by run")
    }
}
