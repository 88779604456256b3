import Dashboard
import Foundation
import Primitives
import XCTest

/// Compares rendered text with a reviewed snapshot file under `Tests/DashboardTests/Snapshots/`.
/// A missing file (or `RECORD_SNAPSHOTS=1`) is written and the test fails, so that a new snapshot is reviewed
/// before it is trusted.
enum SnapshotFile {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    static func assertMatches(_ text: String, named name: String, file: StaticString = #filePath, line: UInt = #line) {
        let url = directory.appendingPathComponent(name + ".txt")
        let record = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1"
        guard !record, let expected = try? String(contentsOf: url, encoding: .utf8) else {
            try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try? (text + "\n").write(to: url, atomically: true, encoding: .utf8)
            XCTFail("recorded snapshot \(name).txt: review it, then run again", file: file, line: line)
            return
        }
        if expected != text + "\n" {
            let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let actualLines = (text + "\n").split(separator: "\n", omittingEmptySubsequences: false)
            let firstDifference = zip(expectedLines, actualLines).enumerated().first { $0.element.0 != $0.element.1 }
            let where_ = firstDifference.map { "line \($0.offset + 1):\n  expected: \($0.element.0)\n  actual:   \($0.element.1)" }
                ?? "line counts differ (\(expectedLines.count) vs \(actualLines.count))"
            XCTFail("snapshot \(name).txt differs at \(where_)\n--- actual ---\n\(text)", file: file, line: line)
        }
    }
}

/// Shared fixtures.
enum Fixture {
    /// 2026-01-21 12:54:56 UTC.
    static let now = Timestamp(millisecondsSinceEpoch: 1_769_000_096_000)
    static let snapshot = DashboardSnapshot.syntheticSample(at: now)
    static let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let themesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Themes")

    static func model(width: Int, height: Int, focus: PaneID = .accounts) -> DashboardModel {
        var model = DashboardModel(themeNames: ["default", "festival"], screenWidth: width, screenHeight: height)
        model.focus = focus
        return model
    }

    /// Renders `snapshot` (by default the sample, answering the model's list query as a backend would).
    static func render(_ model: DashboardModel, width: Int, height: Int, options: RenderOptions = RenderOptions(), snapshot: DashboardSnapshot? = nil) -> CellBuffer {
        DashboardRenderer(options: options).render(model: model, snapshot: snapshot ?? Self.snapshot.answering(model.listQuery()),
                                                   width: width, height: height, now: now)
    }
}
