import Foundation
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
            ["seed-demo"], ["simulate", "--duration", "1"], ["queue", "list"], ["audit", "--repair"],
        ]
        for command in refused {
            let result = try binary.run(command + ["--data", data, "--store", "postgres",
                                                   "--postgres", "postgres://u:p@127.0.0.1:1/x"])
            XCTAssertEqual(result.status, 2, "\(command): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("does not run on --store postgres"), "\(command): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(command): \(result.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: data), "a refused command created the data directory")
        let bench = try binary.run(["bench", "e2e", "--store", "postgres"])
        XCTAssertEqual(bench.status, 2, bench.stderr)
        XCTAssertTrue(bench.stderr.contains("SQLite only"), bench.stderr)
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
    }
}
