import Foundation
import Primitives
import XCTest

/// `hongbao bench --quick` as CI's smoke test: the real binary runs every suite once, small, and each
/// suite verifies the work it timed (it exits non-zero if not). No thresholds: numbers from a debug build on a
/// shared CI machine mean nothing; `hongbao bench` in release is where they are read.
///
/// The six suites run as six processes at once: much of a quick suite is load offered for a fixed time
/// (the e2e steps, the queue's latency run, the scale suite's kill -9 run), which overlaps with the others'
/// work instead of adding to it. Each suite gets its own scratch directory.
final class BenchSmokeTests: XCTestCase {
    static let suites = ["ledger", "queue", "e2e", "render", "scale", "sqs"]

    func testBenchQuickRunsEverySuiteAndReportsJSON() throws {
        let binary = try HongbaoBinary()
        let scratch = URL(fileURLWithPath: ScratchRoot.path()).appendingPathComponent("hongbao-bench-smoke-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var running: [(suite: String, process: Process, output: URL, errors: URL)] = []
        for suite in Self.suites {
            let data = scratch.appendingPathComponent(suite)
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            let output = scratch.appendingPathComponent(suite + ".json"), errors = scratch.appendingPathComponent(suite + ".err")
            // Files, not pipes: six processes writing progress lines must never block on a full pipe.
            XCTAssertTrue(FileManager.default.createFile(atPath: output.path, contents: nil))
            XCTAssertTrue(FileManager.default.createFile(atPath: errors.path, contents: nil))
            let process = Process()
            process.executableURL = binary.url
            process.arguments = ["bench", suite, "--quick", "--runs", "1", "--json", "--data", data.path]
            process.standardOutput = try FileHandle(forWritingTo: output)
            process.standardError = try FileHandle(forWritingTo: errors)
            process.standardInput = FileHandle.nullDevice
            try process.run()
            running.append((suite, process, output, errors))
        }
        var suitesReported = Set<String>()
        for (suite, process, output, errors) in running {
            process.waitUntilExit()
            let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            XCTAssertEqual(process.terminationStatus, 0, "bench \(suite): \(stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [String: Any]
            let figures = report?["figures"] as? [[String: Any]] ?? []
            XCTAssertFalse(figures.isEmpty, "bench \(suite) reported no figure")
            // The binary set SQLite's process-wide settings before any store opened (SQLiteProcessSettings): read
            // back from SQLite itself, it did not count its memory during the suite.
            XCTAssertTrue((report?["sqlite"] as? String)?.hasSuffix("memory statistics off") == true,
                          "bench \(suite): \(report?["sqlite"] ?? "no sqlite field")")
            for figure in figures {
                XCTAssertEqual(figure["suite"] as? String, suite, "\(figure)")
                XCTAssertNotNil(figure["median"] as? Double, "\(figure)")
                if let name = figure["suite"] as? String { suitesReported.insert(name) }
            }
            if suite == "e2e" {
                // Beside each sustained figure, the most any step of its search achieved: with one run a figure,
                // the sustained run is one of those steps, so the saturation figure is never below it.
                func median(_ name: String) -> Double? {
                    figures.first { $0["name"] as? String == name }?["median"] as? Double
                }
                for failure in [0, 20] {
                    let sustained = median("opens/s sustained, \(failure)% credit failures")
                    let saturation = median("most opens/s in the search, \(failure)% credit failures")
                    XCTAssertNotNil(saturation, "e2e reports no search maximum at \(failure) %: \(figures)")
                    if let sustained, let saturation { XCTAssertGreaterThanOrEqual(saturation, sustained) }
                }
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: scratch.appendingPathComponent(suite).path)
            XCTAssertEqual(left, [], "bench \(suite) removes its scratch directory")
        }
        XCTAssertEqual(suitesReported, Set(Self.suites))
    }

    func testBenchRejectsAnUnknownSuite() throws {
        let result = try HongbaoBinary().run(["bench", "everything"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("unknown suite"), result.stderr)
    }
}
