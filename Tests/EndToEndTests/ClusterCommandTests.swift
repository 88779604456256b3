import Foundation
import PostgresCluster
import TestKit
import XCTest

/// `hongbao cluster …` through the real binary: its words, its JSON and its exit codes.
final class ClusterCommandTests: XCTestCase {
    private func skipWithoutPostgreSQL() throws {
        do {
            _ = try PostgresInstallation.find()
        } catch {
            print("ClusterCommandTests: skipping \(name): \(error.description)")
            throw XCTSkip(error.description)
        }
    }

    func testWithoutPostgreSQLProgramsUpExitsFiveWithTheInstallCommandAndMakesNothing() throws {
        let binary = try HongbaoBinary()
        let data = try TemporaryDirectory(prefix: "hongbao-cluster-cli")
        defer { data.remove() }
        let result = try binary.run(["cluster", "up", "--data", data.path], environment: ["HONGBAO_PG_BIN": "/nonexistent"])
        XCTAssertEqual(result.status, 5, result.stderr)
        XCTAssertTrue(result.stderr.contains("apt-get install -y postgresql"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: data.appending("cluster")))

        let json = try binary.run(["cluster", "up", "--data", data.path, "--json"], environment: ["HONGBAO_PG_BIN": "/nonexistent"])
        XCTAssertEqual(json.status, 5)
        XCTAssertTrue(json.stderr.contains("\"code\" : \"cluster.noBinaries\""), json.stderr)
    }

    func testMistakesAreOneLineWithTheirExitCodes() throws {
        let binary = try HongbaoBinary()
        let data = try TemporaryDirectory(prefix: "hongbao-cluster-cli")
        defer { data.remove() }
        let none = try binary.run(["cluster", "status", "--data", data.path])
        XCTAssertEqual(none.status, 3, none.stderr)
        XCTAssertTrue(none.stderr.contains("hongbao cluster up"), none.stderr)

        let badFault = try binary.run(["cluster", "fault", "explode", "a", "--data", data.path])
        XCTAssertEqual(badFault.status, 2, badFault.stderr)

        // A URL's servers are read by status and never managed: the commands that change servers refuse it.
        let url = "postgres://u:secret@127.0.0.1:9,127.0.0.1:1/d"
        for command in [["up"], ["down"], ["remove", "--yes"], ["fault", "down", "a"], ["failover"]] {
            let refused = try binary.run(["cluster"] + command + ["--data", data.path, "--postgres", url])
            XCTAssertEqual(refused.status, 2, "\(command): \(refused.stderr)")
            XCTAssertTrue(refused.stderr.contains("acts on the cluster in the data directory"), refused.stderr)
            XCTAssertFalse(refused.stderr.contains("secret"), refused.stderr)
        }
        let listed = try binary.run(["cluster", "status", "--postgres", url])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.hasPrefix("primary none (no server takes writes)"), listed.stdout)
        XCTAssertTrue(listed.stdout.contains("127.0.0.1:9 -       unreachable 9     -       -           -           -           connection refused"),
                      listed.stdout)
        XCTAssertFalse(listed.stdout.contains("secret"), listed.stdout)

        try FileManager.default.createDirectory(atPath: data.appending("cluster"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: data.appending("cluster/mine.txt"), contents: Data("x".utf8))
        let foreign = try binary.run(["cluster", "up", "--data", data.path])
        XCTAssertEqual(foreign.status, 6, foreign.stderr)
        XCTAssertTrue(foreign.stderr.contains("not a Hongbao cluster directory"), foreign.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: data.appending("cluster")), ["mine.txt"])
    }

    func testUpStatusFaultsDownAndRemoveOnOneServer() async throws {
        try skipWithoutPostgreSQL()
        let binary = try HongbaoBinary()
        let data = try TemporaryDirectory(prefix: "hongbao-cluster-cli")
        addTeardownBlock {
            await LocalCluster(dataDirectory: data.path).remove()
            data.remove()
        }
        let up = try binary.run(["cluster", "up", "--standbys", "0", "--json", "--data", data.path])
        XCTAssertEqual(up.status, 0, up.stderr)
        let made = try JSONSerialization.jsonObject(with: Data(up.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(made?["created"] as? Bool, true)
        XCTAssertEqual(made?["host"] as? String, "127.0.0.1")

        let again = try binary.run(["cluster", "up", "--data", data.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.hasPrefix("cluster already up"), again.stdout)

        let unknown = try binary.run(["cluster", "fault", "down", "z", "--data", data.path])
        XCTAssertEqual(unknown.status, 3, unknown.stderr)

        let slow = try binary.run(["cluster", "fault", "slow", "a", "--data", data.path])
        XCTAssertEqual(slow.status, 0, slow.stderr)
        let status = try binary.run(["cluster", "status", "--json", "--data", data.path])
        XCTAssertEqual(status.status, 0, status.stderr)
        let servers = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["servers"] as? [[String: Any]]
        XCTAssertEqual(servers?.first?["state"] as? String, "slow")
        XCTAssertEqual(servers?.first?["role"] as? String, "primary")

        let restore = try binary.run(["cluster", "fault", "restore", "a", "--data", data.path])
        XCTAssertEqual(restore.status, 0, restore.stderr)
        let text = try binary.run(["cluster", "status", "--data", data.path])
        let rowA = text.stdout.split(separator: "\n").first { $0.hasPrefix("a ") }?.split(separator: " ").map(String.init)
        XCTAssertEqual(rowA?.prefix(3), ["a", "primary", "up"], text.stdout)
        XCTAssertTrue(text.stdout.hasPrefix("primary a; synchronous_standby_names ''; commits wait for no standby\n"),
                      text.stdout)

        let failover = try binary.run(["cluster", "failover", "--data", data.path])
        XCTAssertEqual(failover.status, 4, failover.stderr) // one server: nothing to promote

        let down = try binary.run(["cluster", "down", "--data", data.path])
        XCTAssertEqual(down.status, 0, down.stderr)
        XCTAssertEqual(down.stdout, "cluster down: stopped a\n")
        let downAgain = try binary.run(["cluster", "down", "--data", data.path])
        XCTAssertEqual(downAgain.stdout, "cluster already down: no server was running\n")

        try await removeKillsTheServersAndDeletesOnlyWhenAskedAndFree(binary, data: data)
    }

    /// `cluster remove`: refused without --yes and while the data directory is in use (changing nothing), then
    /// kills the running server and deletes the cluster and its servers' root; a second remove finds nothing.
    private func removeKillsTheServersAndDeletesOnlyWhenAskedAndFree(_ binary: HongbaoBinary, data: TemporaryDirectory) async throws {
        XCTAssertEqual(try binary.run(["cluster", "up", "--data", data.path]).status, 0)
        let settings = try LocalCluster(dataDirectory: data.path).settings()
        let status = try binary.run(["cluster", "status", "--json", "--data", data.path])
        let servers = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["servers"] as? [[String: Any]]
        let pid = try XCTUnwrap(servers?.first?["pid"] as? Int, status.stdout)

        let unasked = try binary.run(["cluster", "remove", "--data", data.path])
        XCTAssertEqual(unasked.status, 2, unasked.stderr)
        XCTAssertTrue(unasked.stderr.contains("add --yes"), unasked.stderr)

        let lock = open(data.appending("LOCK"), O_RDWR | O_CREAT, 0o600)
        XCTAssertEqual(flock(lock, LOCK_EX | LOCK_NB), 0)
        let inUse = try binary.run(["cluster", "remove", "--yes", "--data", data.path])
        close(lock)
        XCTAssertEqual(inUse.status, 5, inUse.stderr)
        XCTAssertTrue(Self.isRunning(pid), "a refused remove killed the server")
        XCTAssertTrue(FileManager.default.fileExists(atPath: settings.serverRoot))

        let removed = try binary.run(["cluster", "remove", "--yes", "--data", data.path])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertTrue(removed.stdout.hasPrefix("cluster removed: stopped at once (immediate shutdown) and deleted a"), removed.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: data.appending("cluster")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: settings.serverRoot))
        await waitUntil("the postmaster to die", timeout: .seconds(60), interval: .milliseconds(50)) { !Self.isRunning(pid) }

        let again = try binary.run(["cluster", "remove", "--yes", "--data", data.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.hasPrefix("no cluster in "), again.stdout)
    }

    /// Whether process `pid` exists and is not a zombie (a killed postmaster is one until something reaps it).
    private static func isRunning(_ pid: Int) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }
}
