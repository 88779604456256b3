import Foundation
import TestKit
import XCTest

/// The dashboard on `--store postgres` over a local three-server cluster (a primary, two `ANY 1` standbys), in
/// tmux as an operator drives it: the replicas pane shows the three servers with their roles and sync state;
/// `:replica b down` kills b's postmaster; with c stopped as well no standby confirms commits, and the screen
/// says writes are blocked and commits wait; restoring b brings them back; at 80×24 the servers still show;
/// `q` exits 0 and the audit of the books on the server is clean.
final class PostgresDashboardInTmuxTests: XCTestCase {
    private let session = "pgdashboard"
    private let socket = "hongbao-pgdash-\(getpid())"

    override func tearDown() {
        _ = try? tmux(["kill-server"], captureOutput: false)
    }

    func testTheReplicasPaneShowsTheClustersServersAndItsKeysFaultThem() async throws {
        let (binary, data) = try await startDashboardOnACluster()

        // Each standby's row: its lag in WAL bytes, then its sync state.
        func confirming(_ name: String, _ screen: String) -> Bool {
            screen.split(separator: "\n").contains { row in
                row.contains("server \(name) ▲ UP          standby lag ") && row.contains(" B quorum")
            }
        }
        try await waitFor(seconds: 60) { screen in
            screen.contains("server a ▲ UP          primary") && confirming("b", screen) && confirming("c", screen)
                && screen.contains("✓ writes ok")
        }
        try command("replica b down")
        try await waitFor { $0.contains("server b ▼ DOWN") && $0.contains("server b DOWN (postmaster killed)") }
        try command("replica c slow")
        try await waitFor(seconds: 30) { screen in
            screen.contains("server c ◆ SLOW") && screen.contains("standby stopped: confirms nothing")
                && screen.contains("NO QUORUM: writes blocked")
                && screen.contains("commits WAIT: no standby confirms them")
        }
        try command("replica b restore")
        try await waitFor(seconds: 30) { $0.contains("commits confirmed again") && $0.contains("✓ writes ok") }
        try command("replica c restore")
        try await waitFor(seconds: 30) { $0.contains("server c ▲ UP") }

        _ = try tmux(["resize-window", "-t", session, "-x", "80", "-y", "24"])
        // Narrow: the short state column, and the lag whole or not at all.
        try await waitFor { $0.contains("a ▲ UP     primary") && $0.contains("c ▲ UP     standby lag ") && !$0.contains("lag …") }

        try await quitAndAudit(binary, data: data, seconds: 30)
    }

    /// The failover key under the Gala load: F asks, y kills the primary (a) and promotes a standby; the events
    /// say each step, the replicas pane shows the new primary and a as a standby again, and opens go on (the
    /// packets pane's opened count grows after the failover). `q` exits 0 and the audit is clean.
    func testTheFailoverKeyPromotesAStandbyAndOpensGoOn() async throws {
        let (binary, data) = try await startDashboardOnACluster()
        try await waitFor(seconds: 60) { $0.contains("server a ▲ UP          primary") && $0.contains("✓ writes ok") }
        try command("gala start 20")
        try await waitFor(seconds: 30) { (Self.number(after: "opened ", in: $0) ?? 0) >= 20 }

        _ = try tmux(["send-keys", "-t", session, "3"])
        _ = try tmux(["send-keys", "-t", session, "F"])
        try await waitFor { $0.contains("Fail over? The primary is killed and a standby promoted.") }
        _ = try tmux(["send-keys", "-t", session, "y"])
        try await waitFor(seconds: 60) { screen in
            screen.contains("failover: primary a killed (SIGKILL)") && screen.contains("promoted at")
                && screen.contains("the primary moved")
        }
        try await waitFor(seconds: 90) { screen in
            screen.contains("failover done in") && screen.contains("server a ▲ UP          standby")
                && (screen.contains("server b ▲ UP          primary") || screen.contains("server c ▲ UP          primary"))
        }
        let afterFailover = Self.number(after: "opened ", in: try screen()) ?? 0
        try await waitFor(seconds: 60) { (Self.number(after: "opened ", in: $0) ?? 0) >= afterFailover + 20 }

        // Side by side, started after the failover: the second engine finds the new primary (before, it went
        // to the server the first engine had started on, now a standby, and did not start).
        try command("compare on")
        try await waitFor(seconds: 90) { screen in
            screen.contains("the second engine did not start") || (screen.contains("TRANSACTION") && screen.contains("updates/s"))
        }
        let compared = try screen()
        XCTAssertFalse(compared.contains("the second engine did not start"), compared)
        try command("compare off")

        try await quitAndAudit(binary, data: data, seconds: 60)
    }

    /// A scenario's replica steps on the cluster act on its servers of those names, as `:replica` does: standby c
    /// is killed and brought back streaming; a step naming the primary (a) is refused, with the reason in the
    /// events, and kills nothing. Before, every replica step failed on PostgreSQL ("needs the SQLite store") while
    /// its caption said a copy had died. `q` exits 0 and the audit is clean.
    func testAScenariosReplicaStepsFaultTheClustersServers() async throws {
        let files = try TemporaryDirectory(prefix: "hongbao-pgdash-scenario")
        addTeardownBlock { files.remove() }
        let scenario = files.path + "/servers.toml"
        try """
            name = "Servers"
            duration = 12
            [[step]]
            at = 0
            caption = "A little load."
            view = "panes"
            rate = 20
            [[step]]
            at = 2
            caption = "Standby c dies."
            replica_down = "c"
            [[step]]
            at = 3
            caption = "The primary is named."
            replica_down = "a"
            [[step]]
            at = 6
            caption = "Standby c comes back."
            replica_restore = "c"
            """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let (binary, data) = try await startDashboardOnACluster(arguments: "--scenario \(scenario)", width: 200)
        try await waitFor(seconds: 60) { $0.contains("server c ▼ DOWN") && $0.contains("scenario: server c DOWN (postmaster killed)") }
        try await waitFor(seconds: 30) {
            $0.contains("scenario step not taken: server a is the cluster's primary now")
        }
        XCTAssertTrue(try screen().contains("server a ▲ UP          primary"), "the primary was not killed")
        try await waitFor(seconds: 60) { screen in
            screen.contains("scenario: server c back up") && screen.contains("server c ▲ UP          standby")
        }
        try await quitAndAudit(binary, data: data, seconds: 30)
    }

    /// The dashboard given a cluster's servers by a URL (`--postgres`, the standbys first) on a data directory
    /// with no cluster of its own: the replicas pane shows them by host:port, read over SQL (the primary, the
    /// standbys' lag and sync state); the keys and `:replica` do not fault them and say why; a server killed from
    /// elsewhere shows as down with the reason; no line counts half messages, which the PostgreSQL queue does not
    /// have. `q` exits 0 and the audit is clean.
    func testAURLsServersAreShownAndNotFaulted() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { throw XCTSkip("tmux is not installed") }
        let server = try await TestPostgres.start(self, standbys: 2)
        let binary = try HongbaoBinary()
        let data = try TemporaryDirectory(prefix: "hongbao-pgdash-url")
        addTeardownBlock { data.remove() }
        let logins = ["b", "c", "a"].map { server.settings.settings(for: $0) }
        let names = logins.map { "\($0.host):\($0.port)" }
        let url = "postgres://\(logins[0].user):\(logins[0].password)@\(names.joined(separator: ","))/\(logins[0].database)"
        let shell = "\(binary.url.path) --data \(data.path) --store postgres --postgres '\(url)' --demo-accounts 50; "
            + "echo EXITED $?; sleep 60"
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "40", shell], captureOutput: false)

        func row(_ name: String, _ screen: String) -> String {
            screen.split(separator: "\n").first { $0.contains("│ \(name) ") }.map(String.init) ?? ""
        }
        try await waitFor(seconds: 60) { screen in
            row(names[2], screen).contains("▲ UP          primary")
                && row(names[0], screen).contains("▲ UP          standby lag ") && row(names[0], screen).contains(" B quorum")
                && row(names[1], screen).contains("▲ UP          standby lag ") && screen.contains("✓ writes ok  3/3 up")
        }
        XCTAssertFalse(try screen().contains("half messages"), "the PostgreSQL queue has none to count")
        try command("replica \(names[0]) down")
        try await waitFor { $0.contains("not this dashboard's to kill") }
        XCTAssertTrue(row(names[0], try screen()).contains("▲ UP"), "nothing was killed")

        _ = try await server.cluster.fault(.down, server: "b")
        try await waitFor(seconds: 30) { row(names[0], $0).contains("▼ DOWN        connection refused") }
        _ = try await server.cluster.fault(.restore, server: "b")
        try await waitFor(seconds: 30) { row(names[0], $0).contains("▲ UP          standby") }

        _ = try tmux(["send-keys", "-t", session, "q"])
        try await waitFor(seconds: 30) { $0.contains("EXITED 0") }
        let audit = try binary.run(["audit", "--store", "postgres", "--postgres", url])
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
        XCTAssertTrue(audit.stdout.contains("✓ every invariant holds"), audit.stdout)
    }

    /// With both standbys down, the start's writes wait for a standby to confirm them: the terminal says so
    /// before the screen is taken (it stayed blank, with nothing said), and the dashboard comes up once a
    /// standby is restored.
    func testAStartWhoseCommitsWaitSaysSoAndGoesOnWhenAStandbyReturns() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { throw XCTSkip("tmux is not installed") }
        let server = try await TestPostgres.start(self, standbys: 2)
        _ = try await server.cluster.fault(.down, server: "b")
        _ = try await server.cluster.fault(.down, server: "c")
        let binary = try HongbaoBinary()
        let shell = "\(binary.url.path) --data \(server.dataDirectory.path) --store postgres --demo-accounts 50; "
            + "echo EXITED $?; sleep 60"
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "40", shell], captureOutput: false)
        try await waitFor(seconds: 30) {
            $0.contains("hongbao: the primary's commits wait: no standby confirms them (0 of the 1 needed)")
        }
        _ = try await server.cluster.fault(.restore, server: "b")
        try await waitFor(seconds: 60) { $0.contains("writes ok") }
        _ = try tmux(["send-keys", "-t", session, "q"])
        try await waitFor(seconds: 30) { $0.contains("EXITED 0") }
    }

    // MARK: Helpers

    /// The dashboard on a throwaway primary and two standbys with 50 demo accounts, in the tmux session at
    /// 120×40; after it exits the pane says `EXITED <status>`.
    private func startDashboardOnACluster(arguments: String = "", width: Int = 120) async throws
        -> (binary: HongbaoBinary, data: String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { throw XCTSkip("tmux is not installed") }
        let server = try await TestPostgres.start(self, standbys: 2)
        let binary = try HongbaoBinary()
        let data = server.dataDirectory.path
        let shell = "\(binary.url.path) --data \(data) --store postgres --demo-accounts 50 \(arguments); echo EXITED $?; sleep 60"
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "\(width)", "-y", "40", shell], captureOutput: false)
        return (binary, data)
    }

    /// `q` quits with status 0 within `seconds`, and the audit of the cluster's books after it is clean.
    private func quitAndAudit(_ binary: HongbaoBinary, data: String, seconds: Int64,
                              file: StaticString = #filePath, line: UInt = #line) async throws {
        _ = try tmux(["send-keys", "-t", session, "q"])
        try await waitFor(seconds: seconds, file: file, line: line) { $0.contains("EXITED 0") }
        let audit = try binary.run(["audit", "--store", "postgres", "--data", data])
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr, file: file, line: line)
        XCTAssertTrue(audit.stdout.contains("✓ every invariant holds"), audit.stdout, file: file, line: line)
    }

    /// The number printed right after `label` ("opened 1,234" → 1234).
    static func number(after label: String, in screen: String) -> Int? {
        guard let range = screen.range(of: label) else { return nil }
        return Int(screen[range.upperBound...].prefix { $0.isNumber || $0 == "," }.filter(\.isNumber))
    }

    private func command(_ text: String) throws {
        _ = try tmux(["send-keys", "-t", session, ":"])
        _ = try tmux(["send-keys", "-t", session, "-l", text])
        _ = try tmux(["send-keys", "-t", session, "Enter"])
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
