import Foundation
import XCTest

/// `hongbao bench --quick` as CI's smoke test: the real binary runs every suite once, small, and each
/// suite verifies the work it timed (it exits non-zero if not). No thresholds: numbers from a debug build on a
/// shared CI machine mean nothing; `hongbao bench` in release is where they are read.
final class BenchSmokeTests: XCTestCase {
    func testBenchQuickRunsEverySuiteAndReportsJSON() throws {
        let binary = try HongbaoBinary()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hongbao-bench-smoke-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let result = try binary.run(["bench", "all", "--quick", "--runs", "1", "--json", "--data", scratch.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let figures = report?["figures"] as? [[String: Any]] ?? []
        let suites = Set(figures.compactMap { $0["suite"] as? String })
        XCTAssertEqual(suites, ["ledger", "queue", "e2e", "render", "scale"])
        for figure in figures {
            XCTAssertNotNil(figure["median"] as? Double, "\(figure)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
        XCTAssertEqual(left, [], "each bench removes its scratch directory")
    }

    func testBenchRejectsAnUnknownSuite() throws {
        let result = try HongbaoBinary().run(["bench", "everything"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("unknown suite"), result.stderr)
    }
}
