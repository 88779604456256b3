import Dashboard
import Foundation
import Primitives
import TerminalUI
import TestKit
import XCTest

/// `--record FILE.cast`: the recording is an asciicast v2 file that the real asciinema client replays to the very
/// screen the dashboard last drew.
final class AsciicastRecorderTests: XCTestCase {
    private let now = Timestamp(millisecondsSinceEpoch: 1_769_000_096_000)
    private var path = ""

    override func setUp() {
        path = ScratchRoot.path() + "/hongbao-cast-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).cast"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Frames a session would draw: the panes, the presenter view, a theme change, then the side-by-side view.
    private func recordSession(width: Int = 120, height: Int = 40) throws -> CellBuffer {
        let renderer = DashboardRenderer()
        var snapshot = DashboardSnapshot.syntheticSample(at: now)
        snapshot.scenario = ScenarioStatus(name: "Gala", step: 9, stepCount: 11, caption: "The old way beside the queue: 恭喜发财 — watch openers get errors.")
        snapshot.comparison = Comparison(queue: ComparisonHalf(mode: .queue, opens: 1_234, conservation: .ok),
                                         transaction: ComparisonHalf(mode: .transaction, opens: 1_100, usersWithError: 377, rollbacks: 377, conservation: .ok))
        var model = DashboardModel(screenWidth: width, screenHeight: height)
        let recorder = try AsciicastRecorder(path: path, theme: .default, color: true)
        var last = CellBuffer(width: 0, height: 0)
        var time = now
        for (index, view) in [DashboardView.panes, .panes, .presenter, .presenter, .compare].enumerated() {
            model.view = view
            snapshot.header.opensPerSecond = Double(1_000 + index * 137)
            if index == 3 { recorder.apply(Theme.default.merging([.money: .named(.yellow, bright: true)], name: "other")) }
            last = renderer.render(model: model, snapshot: snapshot, width: width, height: height, now: time)
            recorder.record(last, at: time)
            time = time + .milliseconds(250)
        }
        recorder.finish()
        return last
    }

    func testTheFileIsAsciicastVersion2() throws {
        _ = try recordSession()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(header["version"] as? Int, 2)
        XCTAssertEqual(header["width"] as? Int, 120)
        XCTAssertEqual(header["height"] as? Int, 40)
        var previous = -1.0
        for line in lines.dropFirst() {
            let event = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [Any], String(line.prefix(80)))
            XCTAssertEqual(event.count, 3)
            let time = try XCTUnwrap(event[0] as? Double)
            XCTAssertGreaterThanOrEqual(time, previous, "times never go back")
            previous = time
            XCTAssertEqual(event[1] as? String, "o")
            XCTAssertNotNil(event[2] as? String)
        }
        XCTAssertEqual(lines.count, 1 + 5 + 1, "a header, one event per frame, the cursor shown again at the end")
    }

    func testOnlyChangedCellsAreWrittenAfterTheFirstFrame() {
        var first = CellBuffer(width: 20, height: 3)
        first.write("hello", x: 0, y: 0)
        var second = first
        second.write("J", x: 0, y: 0, style: CellStyle(.error, bold: true))
        let full = AsciicastRecorder.ansi(from: nil, to: first, theme: .default, color: true)
        XCTAssertTrue(full.hasPrefix("\u{1B}[?25l\u{1B}[0m\u{1B}[H\u{1B}[2J"), "the first frame clears the screen")
        let delta = AsciicastRecorder.ansi(from: first, to: second, theme: .default, color: true)
        XCTAssertEqual(delta, "\u{1B}[1;1H\u{1B}[0;1;38;2;255;95;95mJ\u{1B}[0m")
        XCTAssertEqual(AsciicastRecorder.ansi(from: second, to: second, theme: .default, color: true), "")
        // Without colour only the attributes are written.
        XCTAssertEqual(AsciicastRecorder.ansi(from: first, to: second, theme: .default, color: false), "\u{1B}[1;1H\u{1B}[0;1mJ\u{1B}[0m")
    }

    func testFramesCloserThanATenthOfASecondAreMerged() throws {
        let recorder = try AsciicastRecorder(path: path, theme: .default, color: false)
        for index in 0..<50 {
            var buffer = CellBuffer(width: 10, height: 2)
            buffer.write("\(index)", x: 0, y: 0)
            recorder.record(buffer, at: now + .milliseconds(Int64(index * 10)))
        }
        recorder.finish()
        let events = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(events.count, 5 + 1 + 1, "0, 100, …, 400 ms, the last frame (490 ms) and the cursor")
        XCTAssertTrue(events.dropLast().last?.contains("49") == true, "the last frame is never lost")
    }

    func testAsciinemaCatReproducesTheFinalScreen() throws {
        guard TmuxSession.isAvailable else { throw XCTSkip("tmux is not installed") }
        let asciinema = try Spawn.run("/bin/sh", ["-c", "command -v asciinema"]).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(asciinema.isEmpty, "the asciinema client is missing: pip install asciinema (.ci/run installs it)")
        guard !asciinema.isEmpty else { return }
        let last = try recordSession()
        let tmux = try TmuxSession(command: "LANG=C.UTF-8 \(asciinema) cat \(path); sleep 30", width: 120, height: 40)
        defer { tmux.close() }
        let expected = last.text().split(separator: "\n", omittingEmptySubsequences: false).map { $0.trailingSpacesTrimmed }
        func rows(_ screen: String) -> [String] {
            Array(screen.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trailingSpacesTrimmed }.prefix(expected.count))
        }
        do {
            try tmux.waitFor(seconds: 20) { rows($0) == expected }
        } catch let timeout as TmuxSession.Timeout {
            XCTAssertEqual(rows(timeout.screen), expected, "asciinema cat did not reproduce the last frame")
        }
    }
}

extension Substring {
    var trailingSpacesTrimmed: String {
        var copy = String(self)
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
