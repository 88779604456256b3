import Foundation
import Primitives
import TestKit
import XCTest

/// The real dashboard on a real engine, in tmux at 120×40, driven by keys as an operator would: the panes
/// appear, a sent packet shows, 100% credit failures make the queue and the retries rise on screen, restoring
/// drains them to zero, a replica taken down shows DOWN, `q` quits and the terminal is restored, and the
/// books still balance afterwards.
final class DashboardInTmuxTests: XCTestCase {
    private let session = "dashboard"
    /// A private tmux server, killed in `tearDown`. The call that starts a server must not capture output: the
    /// server would inherit the pipe and the test would wait forever for it to close.
    private let socket = "hongbao-e2e-\(getpid())"
    private var binary: HongbaoBinary!
    private var directory: String!

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { throw XCTSkip("tmux is not installed") }
        binary = try HongbaoBinary()
        directory = ScratchRoot.path() + "/hongbao-dash-\(UUID().uuidString.prefix(8))"
        let command = "\(binary.url.path) --data \(directory!) --durability normal --demo-accounts 300; echo EXITED $?; sleep 60"
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], captureOutput: false)
    }

    override func tearDown() {
        _ = try? tmux(["kill-server"], captureOutput: false)
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testAnOperatorBreaksItAndWatchesItHeal() async throws {
        try await waitFor { $0.contains("1 Accounts") && $0.contains("6 Events") && $0.contains("conservation ✓") }

        try command("send alice 88.88 --shares 8")
        try await waitFor { $0.contains("sent ¥88.88 from alice") && $0.contains("¥88.88") }

        try command("failure 100")
        try await waitFor { $0.contains("fail 100%") }
        try command("gala start 200")
        try await waitFor(seconds: 30) { screen in
            (Self.number(after: "Credit queue · depth ", in: screen) ?? 0) >= 20 && screen.contains("Waiting  ")
        }

        try command("gala stop")
        try command("failure 0")
        try await waitFor(seconds: 60) { screen in
            Self.number(after: "Credit queue · depth ", in: screen) == 0 && screen.contains("DLQ 0")
                && (Self.number(after: "succeeded after retry ", in: screen) ?? 0) >= 20
        }

        try command("replica b down")
        try await waitFor { $0.contains("replica b ▼ DOWN") }
        try command("failover")
        try await waitFor { $0.contains("Fail over? The primary is killed") }
        _ = try tmux(["send-keys", "-t", session, "y"])
        try await waitFor { $0.contains("failover needs the PostgreSQL cluster") }

        _ = try tmux(["send-keys", "-t", session, "q"])
        try await waitFor { $0.contains("EXITED 0") }
        XCTAssertEqual(try tmux(["display", "-p", "-t", session, "#{alternate_on}"])
            .trimmingCharacters(in: .whitespacesAndNewlines), "0", "the terminal is back from the alternate screen")

        // Replica b was down at quit, so it may be behind: the read-only audit says so (the next start catches it
        // up) and finds nothing else.
        let audit = try binary.run(["audit", "--json", "--data", directory])
        let verdict = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any],
                                    audit.stdout + audit.stderr)
        XCTAssertEqual((verdict["violations"] as? [Any])?.count, 0, audit.stdout)
        let awaiting = try XCTUnwrap(verdict["awaitingRecovery"] as? [String])
        XCTAssertTrue(awaiting.allSatisfy { $0.hasPrefix("awaiting repair: replica-b is ") }, "\(awaiting)")
        XCTAssertEqual(try binary.run(["audit", "--repair", "--data", directory]).status, 0)
    }

    // MARK: Helpers

    private func command(_ text: String) throws {
        _ = try tmux(["send-keys", "-t", session, ":"])
        _ = try tmux(["send-keys", "-t", session, "-l", text])
        _ = try tmux(["send-keys", "-t", session, "Enter"])
    }

    /// The number printed right after `label` ("depth 1,234" → 1234).
    static func number(after label: String, in screen: String) -> Int? {
        guard let range = screen.range(of: label) else { return nil }
        let digits = screen[range.upperBound...].prefix { $0.isNumber || $0 == "," }.filter(\.isNumber)
        return Int(digits)
    }

    private func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", session]) }

    /// Polls the screen until `condition` holds, failing with the screen after a deadline.
    private func waitFor(seconds: Int64 = 15, file: StaticString = #filePath, line: UInt = #line,
                         _ condition: (String) -> Bool) async throws {
        let shown = try await waitUntil(
            "the screen to show what was expected; it shows:\n\((try? screen()) ?? "")", timeout: .seconds(seconds),
            interval: .milliseconds(100), file: file, line: line
        ) { condition(try screen()) }
        if !shown { throw ScreenExpectationMissed() }
    }

    private struct ScreenExpectationMissed: Error {}

    private func tmux(_ arguments: [String], captureOutput: Bool = true) throws -> String {
        try Spawn.run("/usr/bin/tmux", ["-L", socket] + arguments, captureOutput: captureOutput)
    }
}
