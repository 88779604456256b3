import Foundation
import Primitives
@testable import Simulation
import XCTest

/// The seeded simulator of the credit path: a fault phase, a convergence phase, then checks.
///
/// The 100,000 operations run as four seeds of 25,000 each, four tests that the parallel runner spreads over its
/// workers: the same step mix, faults and checks in each, and each part must exercise every fault on its own. (One
/// run of 100,000 took 1.2 times the CPU of four of 25,000, its tables growing four times larger for its later
/// restarts, and when the runner put it last it was the run's tail.) Replay a failing seed with
/// `HONGBAO_SIM_SEED=<seed> swift test --filter DeterministicSimulationTests` (the first part runs it, the others
/// skip), and `HONGBAO_SIM_OPERATIONS=<n>` to change the length of each part (a longer soak).
final class DeterministicSimulationTests: XCTestCase {
    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    private var seed: UInt64 {
        environment["HONGBAO_SIM_SEED"].flatMap { UInt64($0) } ?? 0x5EED_2026
    }

    /// Operations of each part unless `HONGBAO_SIM_OPERATIONS` says otherwise; four parts make 100,000.
    static let operationsPerPart = 25_000
    static let parts = 4

    /// The seed of part `part` (1...4): the base seed's neighbours, far from the ones the tests below use.
    static func seed(base: UInt64, part: Int) -> UInt64 { base &+ UInt64(part - 1) &* 0x1_0000 }

    func testPart1Of4OperationsWithFaultsConvergeAndEveryClaimIsCreditedOnce() async throws { try await runPart(1) }
    func testPart2Of4OperationsWithFaultsConvergeAndEveryClaimIsCreditedOnce() async throws { try await runPart(2) }
    func testPart3Of4OperationsWithFaultsConvergeAndEveryClaimIsCreditedOnce() async throws { try await runPart(3) }
    func testPart4Of4OperationsWithFaultsConvergeAndEveryClaimIsCreditedOnce() async throws { try await runPart(4) }

    func testTheFourPartsAreFourSeedsAddingUpToAHundredThousandOperations() {
        let seeds = Set((1...Self.parts).map { Self.seed(base: 0x5EED_2026, part: $0) })
        XCTAssertEqual(seeds.count, Self.parts)
        XCTAssertFalse(seeds.contains(0x5EED_2026 &+ 1) || seeds.contains(0x5EED_2026 &+ 2), "the byte-for-byte test's seeds")
        XCTAssertEqual(Self.parts * Self.operationsPerPart, 100_000)
    }

    private func runPart(_ part: Int) async throws {
        let replaying = environment["HONGBAO_SIM_SEED"] != nil
        if replaying, part != 1 { throw XCTSkip("replaying one seed: the first part runs it") }
        let seed = replaying ? self.seed : Self.seed(base: self.seed, part: part)
        let operations = environment["HONGBAO_SIM_OPERATIONS"].flatMap { Int($0) } ?? Self.operationsPerPart
        let replay = "replay: HONGBAO_SIM_SEED=\(seed) HONGBAO_SIM_OPERATIONS=\(operations) swift test --filter DeterministicSimulationTests"
        let summary: DeterministicSummary
        do {
            summary = try await DeterministicSimulation(.init(seed: seed, operations: operations)).run()
        } catch {
            return XCTFail("seed \(seed) stopped with \(error); \(replay)")
        }
        print(summary.text)
        XCTAssertEqual(summary.violations, [], "seed \(seed) fails; \(replay)\n\(summary.text)")
        guard operations >= Self.operationsPerPart else { return }
        // The run exercised what it claims to (a run of 25,000 operations on any seed does).
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
