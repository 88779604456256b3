@testable import Benchmarks
import Foundation
import Synchronization
@testable import PostgresStores
import TestKit
import XCTest

/// `bench pgqueue`, quick, on a throwaway server: every figure comes with a baseline measured in the same run
/// (the plain loop on that server, the queue on a server of the bench's own with no standbys, and the plain
/// loop there for the reference ratio), and the bench's server is gone afterwards. The ratios are measurements
/// for the bench, not asserted here.
final class PostgresQueueSuiteTests: XCTestCase {
    func testAQuickRunMeasuresTheQueueBesideThePlainLoopAndOneServerAndLeavesNoServer() async throws {
        let login = try await TestPostgres.start(self).primary
        let scratch = try TemporaryDirectory(prefix: "hongbao-pgqueue-bench")
        defer { scratch.remove() }
        let settings = PostgresSettings(host: login.host, port: login.port, user: login.user, password: login.password,
                                        database: login.database)
        let progress = ProgressLines()
        let context = BenchContext(quick: true, dataRoot: scratch.path, runs: 1, postgres: settings,
                                   progress: { progress.append($0) })
        let figures = try await PostgresQueueSuite.run(context)

        XCTAssertEqual(figures.map(\.name), ["PostgreSQL queue cycles", "PostgreSQL queue cycles, the wait",
                                             "PostgreSQL queue cycles, copies", "plain SKIP LOCKED loop, copies"])
        XCTAssertEqual(figures.map(\.baselineName), ["plain SKIP LOCKED loop", "commits not waiting",
                                                     "one server, no standbys", "one server, no standbys"])
        XCTAssertEqual(figures.map(\.goal), ["≥ 0.9× the plain loop", nil, "≥ 0.8× one server", nil])
        for figure in figures {
            XCTAssertGreaterThan(figure.median, 0, figure.name)
            XCTAssertGreaterThan(figure.baselineMedian ?? 0, 0, figure.name)
        }
        XCTAssertEqual(figures[0].median, figures[1].median, "the figures compare the same queue runs")
        XCTAssertEqual(figures[0].median, figures[2].median, "the figures compare the same queue runs")
        XCTAssertEqual(figures[3].median, figures[0].baselineMedian, "the reference compares the same plain-loop runs")
        XCTAssertTrue(progress.lines.contains { $0.contains("plain loop on one server") }, "\(progress.lines)")
        XCTAssertTrue(progress.lines.contains { $0.contains("on one server, no standbys") }, "\(progress.lines)")
        // The one-server baseline's data directory (and its server's, linked from it) removed after the run.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [])
    }

    /// The "commits not waiting" baseline's database commits with `synchronous_commit = local`, and only it: the
    /// server's setting, and every other scratch database's, stay as they were.
    func testOnlyTheNoWaitScratchDatabaseCommitsWithoutWaitingForAStandby() async throws {
        let login = try await TestPostgres.start(self).primary
        let settings = PostgresSettings(host: login.host, port: login.port, user: login.user, password: login.password,
                                        database: login.database)
        func setting(_ settings: PostgresSettings) async throws -> String {
            try await PostgresPool.using(settings, connections: 1) { pool in
                try await pool.rows("SELECT current_setting('synchronous_commit')").map { try $0.decode(String.self) }
            }.first ?? "none"
        }
        let server = try await setting(settings)
        let waiting = try await PostgresQueueBenchmark.withScratchDatabase(settings) { try await setting($0) }
        let notWaiting = try await PostgresQueueBenchmark.withScratchDatabase(settings, commitsWaitForStandbys: false) {
            try await setting($0)
        }
        XCTAssertEqual(notWaiting, "local")
        XCTAssertEqual(waiting, server)
        XCTAssertNotEqual(server, "local")
        let serverAfter = try await setting(settings)
        XCTAssertEqual(serverAfter, server, "the server's own setting is unchanged")
    }
}

/// The progress lines a suite reported.
private final class ProgressLines: Sendable {
    private let stored = Mutex<[String]>([])

    func append(_ line: String) { stored.withLock { $0.append(line) } }

    var lines: [String] { stored.withLock { $0 } }
}
