@testable import Benchmarks
import TestKit
import XCTest

/// `bench pgfaults`: how a recovery time is read off the opens completed over time, and one quick run on a real
/// three-server cluster (a standby killed and restored, then a failover), which must end with the queue drained
/// and the audit clean or the suite throws.
final class FaultRecoveryTests: XCTestCase {
    /// Opens completed every 100 ms for `seconds` seconds at 1,000/s, with no opens between `stall` bounds.
    private func timeline(seconds: Double, stall: ClosedRange<Double>? = nil) -> Timeline {
        var samples: [(seconds: Double, completed: Int)] = []
        var completed = 0.0
        for tick in 0...Int(seconds * 10) {
            let time = Double(tick) / 10
            if tick > 0, !(stall.map { $0.contains(time - 0.05) } ?? false) { completed += 100 }
            samples.append((time, Int(completed)))
        }
        return Timeline(samples)
    }

    func testASteadyRateIsBackAtOnceAndItsLowestWindowIsTheRate() {
        let steady = timeline(seconds: 20)
        XCTAssertEqual(steady.rate(from: 5, to: 10), 1_000, accuracy: 1)
        XCTAssertEqual(steady.recovery(after: 10, until: 18, rateBefore: 1_000, share: 0.9, window: 1), 0)
        XCTAssertEqual(steady.lowestRate(from: 10, to: 18, window: 1), 1_000, accuracy: 1)
    }

    /// Three seconds with no opens from the fault: back once every one-second window holds 900/s, that is
    /// when the last window that still reaches into the stall ends (3.8 s after the fault, with 100 ms samples).
    func testAStallIsBackWhenTheLastWindowReachingIntoItEnds() throws {
        let stalled = timeline(seconds: 20, stall: 10...13)
        let back = try XCTUnwrap(stalled.recovery(after: 10, until: 18, rateBefore: 1_000, share: 0.9, window: 1))
        XCTAssertEqual(back, 3.8, accuracy: 0.05)
        XCTAssertEqual(stalled.lowestRate(from: 10, to: 18, window: 1), 0)
        XCTAssertNil(stalled.recovery(after: 10, until: 12.5, rateBefore: 1_000, share: 0.9, window: 1),
                     "still stalled at the end: not back")
        XCTAssertNil(stalled.recovery(after: 10, until: 10.5, rateBefore: 1_000, share: 0.9, window: 1),
                     "no whole window yet")
    }

    /// Back and held: a stall, then the rate again, then a one-second dip well after: the held reading is the end
    /// of the stall's last window (the dip comes after five good seconds), the strict one the dip's.
    func testTheHeldReadingIsNotMovedByALaterDipAndTheStrictOneIs() throws {
        let dipped = timeline(seconds: 40, stall: 10...12)
        // The same stall, and no opens from 25 to 26 s as well.
        var completed = 0
        var rows: [(seconds: Double, completed: Int)] = []
        for tick in 0...400 {
            let time = Double(tick) / 10
            if tick > 0, !(10...12).contains(time - 0.05), !(25...26).contains(time - 0.05) { completed += 100 }
            rows.append((time, completed))
        }
        let later = Timeline(rows)
        let held = try XCTUnwrap(later.recovery(after: 10, until: 38, rateBefore: 1_000, share: 0.9, window: 1, held: 5))
        XCTAssertEqual(held, 2.8, accuracy: 0.05, "the end of the last window reaching into the stall")
        let strict = try XCTUnwrap(later.recovery(after: 10, until: 38, rateBefore: 1_000, share: 0.9, window: 1))
        XCTAssertEqual(strict, 16.8, accuracy: 0.05, "the end of the last window reaching into the later dip")
        XCTAssertEqual(try XCTUnwrap(dipped.recovery(after: 10, until: 38, rateBefore: 1_000, share: 0.9, window: 1, held: 5)),
                       try XCTUnwrap(dipped.recovery(after: 10, until: 38, rateBefore: 1_000, share: 0.9, window: 1)),
                       accuracy: 0.001, "with no later dip the two agree")
        XCTAssertNil(later.recovery(after: 10, until: 15, rateBefore: 1_000, share: 0.9, window: 1, held: 5),
                     "not yet held for five seconds")
    }

    /// The whole suite, quick, on a throwaway cluster: it kills standby b, restores it, fails the primary over,
    /// restarts the engine, drains and audits (the suite throws unless the queue drains and the audit is clean).
    /// How fast the opens/s comes back is a measurement for `bench pgfaults`, not asserted here: with the suite's
    /// other test processes sharing two cores, a one-second window at 90 % of the rate before is a lottery (CI
    /// once saw 50 %). What must hold whatever the machine's load: opens never stopped for a whole second while
    /// a standby was down (commits wait for one standby, not both), and they were completing again after the
    /// failover.
    func testAQuickRunOnARealClusterRecoversFromBothFaultsAndAuditsClean() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 2)
        let context = BenchContext(quick: true, runs: 1, cluster: postgres.dataDirectory.path)
        let runs = try await FaultRecoverySuite.measure(context)
        let run = try XCTUnwrap(runs.first)
        XCTAssertEqual(runs.count, 1)
        XCTAssertGreaterThan(run.rateBefore, 0)
        XCTAssertGreaterThan(run.standbyLowestShare, 0, "a one-second window without an open while one standby was down")
        XCTAssertGreaterThan(run.rateAtEnd, 0, "opens completing after the failover")
        XCTAssertEqual(FaultRecoverySuite.figures(runs, context).map(\.name), [
            "opens/s before the faults", "opens/s back after a standby's SIGKILL",
            "opens/s back after failover (primary killed)", "last 1 s window below 90 % after failover"])
        XCTAssertNotEqual(try postgres.cluster.settings().primary, postgres.settings.primary, "the primary moved")
    }
}
