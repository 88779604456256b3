import Foundation
import Primitives
import TestKit
import XCTest

/// Drives the real binary in tmux (120×40) on a fresh data directory: the screen appears, keys act, `q` and
/// SIGTERM restore the terminal.
final class DashboardSignalsInTmuxTests: XCTestCase {
    private let session = "dashboard"
    private let dataDirectory = ScratchRoot.path() + "/hongbao-ui-test-\(UUID().uuidString.prefix(8))"
    /// A private tmux server: killing it in `tearDown` also closes any descriptor it inherited from the test
    /// process (otherwise `swift test` waits forever for its output pipe to close).
    private let socket = "hongbao-ui-test-\(getpid())"
    private var binary: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/hongbao").path
    }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { throw XCTSkip("tmux is not installed") }
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("\(binary) not built") }
        let command = "\(binary) --data \(dataDirectory) --durability normal --demo-accounts 50; echo EXITED $?; sleep 30"
        // No output pipe here: a tmux server started by this call would inherit it and keep it open forever.
        _ = try run("/usr/bin/tmux", ["-L", socket, "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], captureOutput: false)
    }

    override func tearDown() {
        _ = try? run("/usr/bin/tmux", ["-L", socket, "kill-server"], captureOutput: false)
        try? FileManager.default.removeItem(atPath: dataDirectory)
        try? FileManager.default.removeItem(atPath: "/tmp/tmux-\(getuid())/\(socket)")
    }

    func testPanesAppearKeysActAndQuitRestoresTheTerminal() async throws {
        try await waitFor("1 Accounts")
        XCTAssertTrue(try screen().contains("6 Events"))
        _ = try tmux(["send-keys", "-t", session, "G"])
        try await waitFor("gala ▶")
        _ = try tmux(["send-keys", "-t", session, ":replica b down", "Enter"])
        try await waitFor("b ▼ DOWN")
        _ = try tmux(["send-keys", "-t", session, ":sned", "Enter"])
        try await waitFor("✗ unknown command 'sned'")
        _ = try tmux(["send-keys", "-t", session, "q"])
        try await waitFor("EXITED 0")
        XCTAssertEqual(try tmux(["display", "-p", "-t", session, "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    func testSIGTERMRestoresTheTerminal() async throws {
        try await waitFor("1 Accounts")
        let shell = try tmux(["display", "-p", "-t", session, "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let child = try run("/usr/bin/pgrep", ["-P", shell]).split(separator: "\n").first.flatMap { Int32($0) }
        let pid = try XCTUnwrap(child, "no dashboard process under the tmux shell")
        XCTAssertEqual(kill(pid, SIGTERM), 0)
        try await waitFor("EXITED 143") // 128 + SIGTERM, after a clean shutdown
        XCTAssertEqual(try tmux(["display", "-p", "-t", session, "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    // MARK: - Helpers

    private func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", session]) }

    /// Polls the screen until `text` appears, failing after a deadline (never a bare sleep).
    private func waitFor(_ text: String, seconds: Int64 = 10, file: StaticString = #filePath, line: UInt = #line) async throws {
        let appeared = try await waitUntil(
            "'\(text)' to appear; screen:\n\((try? screen()) ?? "")", timeout: .seconds(seconds),
            interval: .milliseconds(50), file: file, line: line
        ) { try screen().contains(text) }
        if !appeared { throw MissedExpectation(text: text) }
    }

    private struct MissedExpectation: Error {
        var text: String
    }

    private func tmux(_ arguments: [String]) throws -> String { try run("/usr/bin/tmux", ["-L", socket] + arguments) }

    /// Runs a program through `/bin/sh` with stdin and stderr on /dev/null and stdout in a temporary file.
    /// posix_spawn + waitpid rather than Foundation's `Process`, whose `waitUntilExit` was seen to hang here
    /// when the child (a tmux client that starts a server) exited very quickly.
    private func run(_ executable: String, _ arguments: [String], captureOutput: Bool = true) throws -> String {
        try Spawn.run(executable, arguments, captureOutput: captureOutput)
    }
}
