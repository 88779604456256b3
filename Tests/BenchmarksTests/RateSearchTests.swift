@testable import Benchmarks
import XCTest

/// `RateSearch` against a model machine: a run is sustained up to `capacity`; beyond it the run collapses to a
/// fraction of the capacity (retries of missed deadlines are more work), as `bench e2e`'s runs did.
final class RateSearchTests: XCTestCase {
    private struct Machine {
        let capacity: Int
        let collapse: Double

        func run(_ offered: Int) -> (achieved: Double, sustained: Bool) {
            offered <= capacity ? (Double(offered), true) : (Double(capacity) * collapse, false)
        }
    }

    /// Runs the search as `EndToEndSuite.sustainedRuns` does; returns the best sustained rate and the runs made.
    private func search(_ machine: Machine, start: Int, steps: Int) -> (best: Int?, runs: [Int]) {
        var search = RateSearch()
        var offered: Int? = start
        var best: Int?
        var runs: [Int] = []
        while let rate = offered, runs.count < steps {
            runs.append(rate)
            let run = machine.run(rate)
            if run.sustained { best = max(best ?? 0, rate) }
            offered = search.next(offered: rate, achieved: run.achieved, wasSustained: run.sustained)
        }
        return (best, runs)
    }

    func testFindsTheCapacityWithinTenPercentEvenWhenOverloadedRunsCollapse() {
        for capacity in [700, 1_500, 3_300, 5_000, 7_000, 9_999, 12_000, 25_000] {
            for collapse in [0.2, 0.5, 0.9] {
                let machine = Machine(capacity: capacity, collapse: collapse)
                let (best, runs) = search(machine, start: 4_000, steps: EndToEndSuite.maximumSteps)
                let found = try? XCTUnwrap(best, "capacity \(capacity), collapse \(collapse): runs \(runs)")
                guard let found else { continue }
                XCTAssertLessThanOrEqual(found, capacity)
                XCTAssertGreaterThanOrEqual(Double(found) * 1.1 + 100, Double(capacity),
                                            "capacity \(capacity), collapse \(collapse): runs \(runs)")
            }
        }
    }

    func testEveryOfferedRateIsAPositiveMultipleOfTheGranularityAndNeverRepeated() {
        let machine = Machine(capacity: 6_543, collapse: 0.3)
        let (_, runs) = search(machine, start: 4_000, steps: 20)
        XCTAssertTrue(runs.allSatisfy { $0 >= 100 && $0 % 100 == 0 }, "\(runs)")
        XCTAssertEqual(Set(runs).count, runs.count, "\(runs)")
    }

    func testStopsAtTheCeilingWhenEverythingIsSustained() {
        let (best, runs) = search(Machine(capacity: .max, collapse: 1), start: 4_000, steps: 20)
        XCTAssertEqual(best, 64_000)
        XCTAssertEqual(runs, [4_000, 8_000, 16_000, 32_000, 64_000])
    }

    func testStopsWhenNothingIsSustainedDownToTheSmallestRate() {
        let (best, runs) = search(Machine(capacity: 50, collapse: 0.5), start: 4_000, steps: 20)
        XCTAssertNil(best)
        XCTAssertEqual(runs.last, 100, "\(runs)")
        XCTAssertLessThan(runs.count, 20)
    }
}
