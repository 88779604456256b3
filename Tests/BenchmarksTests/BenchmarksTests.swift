import Benchmarks
import Foundation
import Ledger
import MessageQueue
import Primitives
import XCTest

/// Tiny runs of each bench, for correctness only: each bench checks the work it timed and throws if it
/// does not add up. No timing assertions here (numbers belong to `hongbao bench`).
final class BenchmarksTests: XCTestCase {
    private func scratch() throws -> String {
        let path = ScratchRoot.path() + "/hongbao-bench-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testLedgerBenchesVerifyTheirTransfers() async throws {
        let directory = try scratch()
        let grouped = try await LedgerBenchmark.groupCommit(
            directory: directory, durability: .normal, transfers: 64, concurrency: 8, accounts: 50)
        XCTAssertEqual(grouped.transfers, 64)
        XCTAssertGreaterThan(grouped.commits, 0)
        let raw = try LedgerBenchmark.rawSQLite(directory: directory, durability: .normal, transfers: 40, batch: 8, accounts: 50)
        XCTAssertEqual(raw.transfers, 40)
        XCTAssertEqual(raw.commits, 5)
    }

    func testQueueCyclesDeleteEverythingTheySentAndKeepTheBacklog() async throws {
        let directory = try scratch()
        let rounds = try await QueueBenchmark.fullCycles(
            name: "test", root: directory + "/q", replicaIDs: ReplicaID.allCases, messages: 64, workers: 2,
            backlog: 40, rounds: 2)
        XCTAssertEqual(rounds.map(\.messages), [64, 64])
        let raw = try QueueBenchmark.sqliteBaseline(path: directory + "/raw.sqlite", messages: 32)
        XCTAssertEqual(raw.messages, 32)
    }

    func testOpenLoadRunDrainsAndAudits() async throws {
        let directory = try scratch()
        let run = try await OpenLoadBenchmark.run(
            directory: directory, accounts: 50, rate: 200, duration: .milliseconds(500), creditFailurePercent: 20)
        XCTAssertGreaterThan(run.opens, 0)
        XCTAssertLessThanOrEqual(run.p50Milliseconds, run.p99Milliseconds)
        XCTAssertLessThanOrEqual(run.p99Milliseconds, run.p999Milliseconds)
    }

    func testRenderSuiteReportsBothSizes() async throws {
        let figures = try await RenderSuite.run(BenchContext(quick: true, runs: 1))
        XCTAssertEqual(figures.map(\.name), ["full frame 80×24", "full frame 200×60"])
        XCTAssertEqual(figures.last?.goal, "≤ 2 ms")
    }

    func testSamplesTakeTheMedianAndSpread() {
        let samples = Samples([5, 1, 3, 9])
        XCTAssertEqual(samples.median, 4)
        XCTAssertEqual(samples.min, 1)
        XCTAssertEqual(samples.max, 9)
        let figure = BenchFigure(suite: "t", name: "x", unit: "/s", samples: Samples([8]), higherIsBetter: true,
                                 baselineName: "b", baseline: Samples([10]))
        XCTAssertEqual(figure.ratio, 0.8)
    }

    /// The table's ratio is rounded towards worse, so it never reads as meeting a goal that the exact ratio
    /// misses: 0.7985 is 0.79× where higher is better, and 1.001 is 1.01× where lower is.
    func testTheTablesRatioIsRoundedTowardsWorse() {
        func ratio(_ median: Double, _ base: Double, higherIsBetter: Bool) -> String? {
            BenchFigure(suite: "t", name: "x", unit: "/s", samples: Samples([median]), higherIsBetter: higherIsBetter,
                        baselineName: "b", baseline: Samples([base])).ratioText
        }
        XCTAssertEqual(ratio(10_588, 13_259, higherIsBetter: true), "0.79×")
        XCTAssertEqual(ratio(8, 10, higherIsBetter: true), "0.80×")
        XCTAssertEqual(ratio(29, 100, higherIsBetter: true), "0.29×")
        XCTAssertEqual(ratio(29, 100, higherIsBetter: false), "0.29×")
        XCTAssertEqual(ratio(1_001, 1_000, higherIsBetter: false), "1.01×")
        XCTAssertEqual(ratio(5.21, 0.05, higherIsBetter: false), "104.20×")
        XCTAssertNil(BenchFigure(suite: "t", name: "x", unit: "/s", samples: Samples([1]), higherIsBetter: true).ratioText)
    }
}
