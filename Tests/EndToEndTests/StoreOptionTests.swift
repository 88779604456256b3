import Foundation
import TestKit
import XCTest

/// `--store postgres` on the real binary: the commands that do not run on PostgreSQL in this version refuse
/// it with exit 2 and one line, before they open or create anything; the ones that do need a server and say
/// so; a bad URL is one line.
final class StoreOptionTests: XCTestCase {
    func testCommandsThatRunOnSQLiteOnlyRefusePostgres() throws {
        let binary = try HongbaoBinary()
        let data = NSTemporaryDirectory() + "hongbao-store-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let refused: [[String]] = [
            ["account", "open", "alice"], ["send", "alice", "10", "--to", "bob"], ["open", "p1", "bob"],
            ["seed-demo"], ["queue", "list"], ["audit", "--repair"],
        ]
        for command in refused {
            let result = try binary.run(command + ["--data", data, "--store", "postgres",
                                                   "--postgres", "postgres://u:p@127.0.0.1:1/x"])
            XCTAssertEqual(result.status, 2, "\(command): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("does not run on --store postgres"), "\(command): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(command): \(result.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: data), "a refused command created the data directory")
        let bench = try binary.run(["bench", "ledger", "--store", "postgres"])
        XCTAssertEqual(bench.status, 2, bench.stderr)
        XCTAssertTrue(bench.stderr.contains("does not run on --store postgres"), bench.stderr)
        let replica = try binary.run(["simulate", "--data", data, "--store", "postgres", "--replica-down", "b",
                                      "--postgres", "postgres://u:p@127.0.0.1:1/x"])
        XCTAssertEqual(replica.status, 2, replica.stderr)
        XCTAssertTrue(replica.stderr.contains("the copies are the cluster's servers"), replica.stderr)
    }

    func testPostgresCommandsNeedAServerAndAGoodURL() throws {
        let binary = try HongbaoBinary()
        let empty = NSTemporaryDirectory() + "hongbao-store-\(UUID().uuidString.prefix(8))"
        let noServer = try binary.run(["audit", "--store", "postgres", "--data", empty],
                                      environment: ["HONGBAO_POSTGRES": ""])
        XCTAssertEqual(noServer.status, 2, noServer.stderr)
        XCTAssertTrue(noServer.stderr.contains("needs a server"), noServer.stderr)
        let badURL = try binary.run(["audit", "--store", "postgres", "--postgres", "mysql://a@b/c"])
        XCTAssertEqual(badURL.status, 2, badURL.stderr)
        XCTAssertEqual(badURL.stderr, "hongbao: --postgres: not a PostgreSQL URL (it must start with postgres://): mysql://a@b/c\n")
        let e2e = try binary.run(["bench", "e2e", "--store", "postgres"], environment: ["HONGBAO_POSTGRES": ""])
        XCTAssertEqual(e2e.status, 2, e2e.stderr)
        XCTAssertTrue(e2e.stderr.contains("needs a PostgreSQL server"), e2e.stderr)
        for suite in ["pgqueue", "pgstores"] {
            let bench = try binary.run(["bench", suite])
            XCTAssertEqual(bench.status, 2, bench.stderr)
            XCTAssertTrue(bench.stderr.contains("needs a PostgreSQL server"), bench.stderr)
        }
        let unreachable = try binary.run(["audit", "--store", "postgres", "--postgres", "postgres://u:p@127.0.0.1:1/x"])
        XCTAssertNotEqual(unreachable.status, 0)
        XCTAssertTrue(unreachable.stderr.hasPrefix("hongbao: PostgreSQL unavailable: cannot connect to postgres://u@127.0.0.1:1/x"),
                      unreachable.stderr)
        XCTAssertEqual(unreachable.stderr.split(separator: "\n").count, 1, unreachable.stderr)
        let simulate = try binary.run(["simulate", "--store", "postgres", "--data", empty, "--duration", "1",
                                       "--postgres", "postgres://u:p@127.0.0.1:1/x"])
        try? FileManager.default.removeItem(atPath: empty)
        XCTAssertEqual(simulate.status, 5, simulate.stderr) // unavailable
        XCTAssertTrue(simulate.stderr.hasPrefix("hongbao: PostgreSQL unavailable: cannot connect to"), simulate.stderr)
        XCTAssertEqual(simulate.stderr.split(separator: "\n").count, 1, simulate.stderr)
    }

    /// `simulate --store postgres` runs the engine, the load and the workers on a PostgreSQL server (a
    /// throwaway one), drains, and its audit and `audit --store postgres` after it are clean.
    func testSimulateRunsTheEngineOnPostgresAndTheAuditAfterIsClean() async throws {
        let server = try await TestPostgres.start(self)
        let login = server.primary
        let url = "postgres://\(login.user):\(login.password)@\(login.host):\(login.port)/\(login.database)"
        let binary = try HongbaoBinary()
        let data = try TemporaryDirectory(prefix: "hongbao-simulate-pg")
        defer { data.remove() }
        let run = try binary.run(["simulate", "--store", "postgres", "--postgres", url, "--data", data.path,
                                  "--duration", "2", "--rate", "40", "--accounts", "50", "--credit-failure", "30"])
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("audit                 ✓ every invariant holds"), run.stdout)
        XCTAssertTrue(run.stdout.contains("still waiting         0"), run.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: data.path + "/ledger.sqlite"), "it ran on SQLite")
        let audit = try binary.run(["audit", "--store", "postgres", "--postgres", url])
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
        XCTAssertTrue(audit.stdout.contains("✓ every invariant holds"), audit.stdout)
    }
}
