import Foundation
@testable import PostgresCluster
import PostgresNIO
import TestKit
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One server, as the store contract tests use it: up, status, down, up again; the settings file and the
/// authentication rules.
final class LocalClusterTests: XCTestCase {
    func testASingleServerComesUpAnswersGoesDownAndComesBack() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 0)
        let cluster = postgres.cluster
        var status = try await cluster.status()
        XCTAssertEqual(status.servers.map(\.name), ["a"])
        XCTAssertEqual(status.server("a")?.role, .primary)
        XCTAssertEqual(status.server("a")?.state, .up)
        XCTAssertEqual(status.synchronousCount, 0)
        XCTAssertFalse(status.commitsWait)
        let answer = try await SQL.with(postgres.primary) { try await SQL.int($0, "SELECT 40 + 2") }
        XCTAssertEqual(answer, 42)

        let again = try await cluster.up(standbys: 0)
        XCTAssertTrue(again.alreadyUp)
        XCTAssertFalse(again.created)

        let stopped = try await cluster.down()
        XCTAssertEqual(stopped, ["a"])
        status = try await cluster.status()
        XCTAssertEqual(status.server("a")?.state, .down)
        let stoppedAgain = try await cluster.down()
        XCTAssertEqual(stoppedAgain, [])

        let restarted = try await cluster.up(standbys: 0)
        XCTAssertEqual(restarted.started, ["a"])
        XCTAssertFalse(restarted.created)
        let afterRestart = try await SQL.with(postgres.primary) { try await SQL.int($0, "SELECT 7") }
        XCTAssertEqual(afterRestart, 7)
    }

    /// A server's port is chosen when the cluster is planned and first used seconds later, after `initdb` or the
    /// base backup: another program (another cluster made at the same moment: the suite once failed so) may have
    /// taken it meanwhile. A server never started yet gets another free port, in the settings and its
    /// configuration, instead of failing the whole `up`.
    func testAServerWhosePortWasTakenBeforeItsFirstStartGetsAnother() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 1)
        let cluster = postgres.cluster
        _ = try await cluster.down()
        let planned = try XCTUnwrap(try cluster.settings().server("b"))
        // b as an `up` cut off before making it leaves it: planned, never made.
        try FileManager.default.removeItem(atPath: planned.directory)
        let held = try HeldPort(port: planned.port)
        defer { held.release() }

        let up = try await cluster.up(standbys: 1)
        XCTAssertEqual(Set(up.started), ["a", "b"])
        let moved = try XCTUnwrap(try cluster.settings().server("b"))
        XCTAssertNotEqual(moved.port, planned.port)
        let configuration = try String(contentsOfFile: moved.directory + "/hongbao.conf", encoding: .utf8)
        XCTAssertTrue(configuration.contains("\(moved.port)"), configuration)
        let streaming = try await waitUntil("b streams from a", timeout: .seconds(30), interval: .milliseconds(200)) {
            let status = try await cluster.status()
            return status.server("b")?.state == .up && status.server("b")?.role == .standby
        }
        XCTAssertTrue(streaming)
    }

    /// The same for a standby that ran before: killed, its port taken meanwhile (as another test's cluster once
    /// took a rejoining old primary's during a failover), it comes back on another port and streams.
    func testAStandbyWhosePortWasTakenWhileItWasDownGetsAnother() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 1)
        let cluster = postgres.cluster
        try await cluster.fault(.down, server: "b")
        let before = try XCTUnwrap(try cluster.settings().server("b"))
        let held = try HeldPort(port: before.port)
        defer { held.release() }

        let restored = try await cluster.fault(.restore, server: "b")
        XCTAssertTrue(restored)
        let moved = try XCTUnwrap(try cluster.settings().server("b"))
        XCTAssertNotEqual(moved.port, before.port)
        await waitUntilCaughtUp(postgres, standby: "b")
    }

    func testSettingsAre0600AndServersAcceptOnlyPasswordsOnLoopback() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 0)
        let settingsFile = ClusterSettings.path(in: postgres.cluster.directory)
        var info = stat()
        XCTAssertEqual(stat(settingsFile, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(stat(postgres.cluster.directory, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        XCTAssertEqual(postgres.settings.password.count, 32)

        let server = try XCTUnwrap(postgres.settings.server("a"))
        let rules = try String(contentsOfFile: server.directory + "/pg_hba.conf", encoding: .utf8)
            .split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        XCTAssertFalse(rules.isEmpty)
        for rule in rules {
            let fields = rule.split(whereSeparator: \.isWhitespace).map(String.init)
            XCTAssertEqual(fields.first, "host", "only TCP rules: \(rule)")
            XCTAssertEqual(fields.dropLast().last, "127.0.0.1/32", "only loopback: \(rule)")
            XCTAssertEqual(fields.last, "scram-sha-256", "only passwords: \(rule)")
        }

        var wrong = postgres.primary
        wrong.password = "not-the-password"
        do {
            let connection = try await SQL.connect(wrong)
            try? await connection.close()
            XCTFail("a wrong password was accepted")
        } catch let error as PSQLError {
            XCTAssertEqual(error.serverInfo?[.sqlState], "28P01") // invalid_password
        }
        let listens = try await SQL.with(postgres.primary) { connection -> String in
            let rows = try await connection.query("SHOW listen_addresses", logger: SQL.logger).collect()
            return try rows.first?.decode(String.self) ?? ""
        }
        XCTAssertEqual(listens, "127.0.0.1")
    }

    func testAThrowawayServerKeepsItsSharedMemoryInItsDataDirectory() async throws {
        let postgres = try await TestPostgres.start(self, standbys: 0)
        let kind = try await SQL.with(postgres.primary) { connection -> String in
            let rows = try await connection.query("SHOW dynamic_shared_memory_type", logger: SQL.logger).collect()
            return try rows.first?.decode(String.self) ?? ""
        }
        XCTAssertEqual(kind, "mmap")
        let server = try XCTUnwrap(postgres.settings.server("a"))
        let segments = try FileManager.default.contentsOfDirectory(atPath: server.directory + "/pg_dynshmem")
        XCTAssertFalse(segments.isEmpty, "the server's control segment is a file in its data directory")
    }

    /// A durable server keeps its dynamic shared memory in /dev/shm; killed, its postmaster unlinks nothing, so
    /// `remove` does: no segment of the removed server is left there.
    func testRemovingADurableServerLeavesNoSharedMemoryInDevShm() async throws {
        do { _ = try PostgresInstallation.find() } catch { throw XCTSkip("PostgreSQL is not installed: \(error.description)") }
        let directory = try TemporaryDirectory(prefix: "hongbao-durable")
        defer { directory.remove() }
        let cluster = LocalCluster(dataDirectory: directory.path)
        addTeardownBlock { await cluster.remove() }
        let result = try await cluster.up(standbys: 0, durable: true)
        let server = try XCTUnwrap(result.settings.server("a"))
        // This server's segments, as its processes have them mapped (other tests' servers may be making theirs).
        let mine = ServerProcess.sharedMemorySegments(directory: server.directory)
        XCTAssertFalse(mine.isEmpty, "a durable server's control segment is in /dev/shm")
        await cluster.remove()
        let left = mine.filter { FileManager.default.fileExists(atPath: $0) }
        XCTAssertEqual(left, [], "segments the removed server left in /dev/shm")
    }

    func testUpRefusesADirectoryOfAnotherKind() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-foreign")
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.appending("cluster"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory.appending("cluster/notes.txt"), contents: Data("mine".utf8))
        let cluster = LocalCluster(dataDirectory: directory.path)
        await assertThrows({ try await cluster.up(standbys: 0) },
                           ClusterError.foreignDirectory(path: cluster.directory, reason: "it holds files but no cluster.json"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cluster.directory), ["notes.txt"])
    }

    /// A cluster whose owner dies before its tear-down (`kill -9`): the watchdog `removeAfterExit` started for
    /// it kills the server and deletes the server's root, the cluster's directory and what it was also given;
    /// while the owner lives it touches nothing.
    func testTheWatchdogRemovesTheClusterOfAnOwnerKilledBeforeItsTearDown() async throws {
        let (directory, cluster) = try watchdogCluster()
        let settings = try await cluster.up(standbys: 0, durable: false).settings
        let server = try XCTUnwrap(settings.server("a"))
        let pidText = try String(contentsOfFile: server.directory + "/postmaster.pid", encoding: .utf8)
        let postmaster = try XCTUnwrap(pid_t(pidText.split(separator: "\n").first ?? ""))
        let owner = try Self.sleepingOwner()
        try cluster.removeAfterExit(of: owner.processIdentifier, alsoRemove: [directory.path])

        try await Task.sleep(for: .milliseconds(1_500))
        XCTAssertTrue(Self.isRunning(postmaster), "the server runs while its owner lives")
        XCTAssertTrue(FileManager.default.fileExists(atPath: cluster.directory))
        kill(owner.processIdentifier, SIGKILL)
        owner.waitUntilExit()
        let removed = await poll(timeout: .seconds(30), interval: .milliseconds(100)) {
            !Self.isRunning(postmaster) && !FileManager.default.fileExists(atPath: directory.path)
                && !FileManager.default.fileExists(atPath: settings.serverRoot)
        }
        XCTAssertTrue(removed, "server \(postmaster) running: \(Self.isRunning(postmaster)); left: "
                      + [directory.path, settings.serverRoot].filter { FileManager.default.fileExists(atPath: $0) }
                      .joined(separator: ", "))
    }

    /// The same with a standby under the slow fault: every one of its processes is stopped, so none would see its
    /// postmaster killed. The watchdog kills them all, as the stopped children of a test's server were once left.
    func testTheWatchdogKillsEveryProcessOfAStoppedServer() async throws {
        let (directory, cluster) = try watchdogCluster()
        let settings = try await cluster.up(standbys: 1, durable: false).settings
        let standby = try XCTUnwrap(settings.server("b"))
        try await cluster.fault(.slow, server: "b")
        let processes = ServerProcess.all(directory: standby.directory)
        XCTAssertGreaterThan(processes.count, 1, "a postmaster and its children")
        let owner = try Self.sleepingOwner()
        try cluster.removeAfterExit(of: owner.processIdentifier, alsoRemove: [directory.path])
        kill(owner.processIdentifier, SIGKILL)
        owner.waitUntilExit()
        let gone = await poll(timeout: .seconds(30), interval: .milliseconds(100)) {
            !processes.contains(where: Self.isRunning)
        }
        XCTAssertTrue(gone, "still running: \(processes.filter(Self.isRunning))")
    }

    /// A cluster under a fresh temporary directory, removed at the test's end whatever its watchdog did; skipped
    /// where PostgreSQL is not installed.
    private func watchdogCluster() throws -> (TemporaryDirectory, LocalCluster) {
        do {
            _ = try PostgresInstallation.find()
        } catch {
            throw XCTSkip("PostgreSQL is not installed: \(error.description)")
        }
        let directory = try TemporaryDirectory(prefix: "hongbao-watchdog")
        let cluster = LocalCluster(dataDirectory: directory.path)
        addTeardownBlock {
            await cluster.remove()
            directory.remove()
        }
        return (directory, cluster)
    }

    /// A process standing for a cluster's owner, to be killed: `sleep 60`.
    private static func sleepingOwner() throws -> Process {
        let owner = Process()
        owner.executableURL = URL(fileURLWithPath: "/bin/sleep")
        owner.arguments = ["60"]
        try owner.run()
        return owner
    }

    /// Whether process `pid` runs (a zombie that no one has reaped yet does not).
    private static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: end)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    func testRemoveDeletesNoServerRootItDidNotMake() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-remove")
        let precious = try TemporaryDirectory(prefix: "hongbao-precious")
        defer { directory.remove(); precious.remove() }
        _ = FileManager.default.createFile(atPath: precious.appending("keep.txt"), contents: Data("mine".utf8))
        let cluster = LocalCluster(dataDirectory: directory.path)
        try FileManager.default.createDirectory(atPath: cluster.directory, withIntermediateDirectories: true)
        // A damaged or edited settings file whose server root points at someone else's directory.
        let settings = """
            {"format": 1, "id": "0123456789ab", "host": "127.0.0.1", "user": "hongbao", "password": "x",
             "database": "hongbao", "serverRoot": "\(precious.path)", "serverUser": "postgres", "servers": [],
             "primary": "a", "binDirectory": "/usr/lib/postgresql/15/bin", "durable": false}
            """
        _ = FileManager.default.createFile(atPath: ClusterSettings.path(in: cluster.directory), contents: Data(settings.utf8))
        XCTAssertEqual(try cluster.settings().serverRoot, precious.path)

        await cluster.remove()
        XCTAssertFalse(FileManager.default.fileExists(atPath: cluster.directory))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: precious.path), ["keep.txt"])
    }

    func testMissingProgramsAreNamedWithTheInstallCommand() throws {
        XCTAssertThrowsError(try PostgresInstallation.find(environment: ["HONGBAO_PG_BIN": "/nonexistent"])) { error in
            XCTAssertEqual(error as? ClusterError, .noBinaries(lookedIn: "/nonexistent"))
            XCTAssertTrue("\(error)".contains("apt-get install -y postgresql"))
        }
        XCTAssertThrowsError(try PostgresInstallation.find(environment: [:], root: "/nonexistent"))
    }

    func testLSNsOrderAsNumbers() {
        XCTAssertEqual(LSN.parse("0/0"), 0)
        XCTAssertEqual(LSN.parse("16/B374D848"), 0x16_B374_D848)
        XCTAssertGreaterThan(LSN.parse("1/0")!, LSN.parse("0/FFFFFFFF")!)
        XCTAssertNil(LSN.parse("16B374D848"))
        XCTAssertNil(LSN.parse("x/1"))
    }
}
