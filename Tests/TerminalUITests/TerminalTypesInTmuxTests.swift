import Foundation
import Primitives
import TestKit
import XCTest

/// What only a real terminal shows, through the real binary in tmux (a private server per test): a terminal that
/// cannot draw the dashboard is refused with a message and a non-zero exit; `LANG=C` gets ASCII and CJK typed at
/// `:` arrives whole; keys pressed faster than the screen refreshes each step from the previous press.
final class TerminalTypesInTmuxTests: XCTestCase {
    private let socket = "hongbao-term-test-\(getpid())"
    private let dataDirectory = ScratchRoot.path() + "/hongbao-term-test-\(UUID().uuidString.prefix(8))"
    private var binary: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/hongbao").path
    }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { throw XCTSkip("tmux is not installed") }
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("\(binary) not built") }
    }

    override func tearDown() {
        _ = try? Spawn.run("/usr/bin/tmux", ["-L", socket, "kill-server"], captureOutput: false)
        try? FileManager.default.removeItem(atPath: "/tmp/tmux-\(getuid())/\(socket)")
    }

    func testATerminalThatCannotMoveTheCursorOrIsUnknownIsRefusedWithAMessage() async throws {
        try start("dumb", environment: "TERM=dumb")
        try start("bogus", environment: "TERM=bogus")
        try await waitFor("EXITED 2", in: "dumb")
        try await waitFor("EXITED 2", in: "bogus")
        XCTAssertTrue(try screen("dumb").contains("TERM=dumb cannot move the cursor"))
        XCTAssertTrue(try screen("bogus").contains("TERM=bogus is not a terminal type this system knows"))
    }

    func testUnderLANGCTheScreenIsASCIIAndCJKTypedAtTheCommandLineArrives() async throws {
        try start("c", environment: "LANG=C LC_ALL=C")
        try await waitFor("conservation balanced", in: "c")
        let first = try screen("c")
        XCTAssertTrue(first.contains("1 Accounts - ") && first.contains("CNY ") && first.contains("p50 -  p99 -"), first)
        let questionMarks = first.replacingOccurrences(of: " ? help", with: "").filter { $0 == "?" }.count
        XCTAssertEqual(questionMarks, 0, "no glyph shown as ?:\n\(first)")
        try tmux(["send-keys", "-t", "c", ":"])
        try tmux(["send-keys", "-t", "c", "-l", "send 张三 8.88 --shares 2"])
        try tmux(["send-keys", "-t", "c", "Enter"])
        try await waitFor("sent CNY 8.88 from ????", in: "c")  // 张三 arrived; the C locale cannot show it
        try tmux(["send-keys", "-t", "c", "q"])
        try await waitFor("EXITED 0", in: "c")
        let sent = try Spawn.run(binary, ["packet", "sent", "张三", "--data", dataDirectory + "-c"])
        XCTAssertTrue(sent.contains("8.88"), sent)
    }

    func testKeysPressedFasterThanTheScreenRefreshesStepFromThePreviousPress() async throws {
        try start("keys", environment: "")
        try await waitFor("1 Accounts", in: "keys")
        try tmux(["send-keys", "-t", "keys", "L", "L", "L", "f", "f"])
        try await waitFor("account latency +1000 ms", in: "keys")
        try await waitFor("fail 100%", in: "keys")
        let events = try screen("keys")
        XCTAssertTrue(events.contains("account latency +50 ms") && events.contains("account latency +200 ms"), events)
    }

    // MARK: - Helpers

    private func start(_ session: String, environment: String) throws {
        let command = "\(environment) \(binary) --data \(dataDirectory)-\(session) --durability normal --demo-accounts 50; echo EXITED $?; sleep 30"
        try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], captureOutput: false)
        addTeardownBlock { [dataDirectory] in try? FileManager.default.removeItem(atPath: "\(dataDirectory)-\(session)") }
    }

    private func screen(_ session: String) throws -> String { try tmux(["capture-pane", "-p", "-t", session]) }

    private func waitFor(
        _ text: String, in session: String, seconds: Int64 = 15, file: StaticString = #filePath, line: UInt = #line
    ) async throws {
        let appeared = try await waitUntil(
            "'\(text)' to appear; screen:\n\((try? screen(session)) ?? "")", timeout: .seconds(seconds),
            interval: .milliseconds(50), file: file, line: line
        ) { try screen(session).contains(text) }
        if !appeared { throw MissedExpectation() }
    }

    private struct MissedExpectation: Error {}

    @discardableResult
    private func tmux(_ arguments: [String], captureOutput: Bool = true) throws -> String {
        try Spawn.run("/usr/bin/tmux", ["-L", socket] + arguments, captureOutput: captureOutput)
    }
}
