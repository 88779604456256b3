import Foundation
@testable import PostgresStores
import XCTest

/// The benches' scratch databases: each name says which machine and process made it, and a bench drops the
/// ones this machine's dead processes left (a bench killed before its tear-down) before it makes its own.
final class ScratchDatabaseTests: PostgresServerTestCase {
    func testANewScratchDatabaseDropsOnlyThoseThisMachinesDeadBenchesLeft() async throws {
        let server = try running()
        let admin = server.settings(database: "postgres")
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        typealias Name = PostgresQueueBenchmark.ScratchName
        let here = Name.thisHost
        let elsewhere = here == "00000000" ? "00000001" : "00000000"
        let dead = Name(host: here, process: ended.processIdentifier, nonce: 1).database
        let live = Name(host: here, process: getpid(), nonce: 2).database
        let otherMachine = Name(host: elsewhere, process: ended.processIdentifier, nonce: 3).database
        let olderName = "hongbao_bench_123456"
        for name in [dead, live, otherMachine, olderName] { try server.psql("CREATE DATABASE \(name)") }
        XCTAssertEqual(Name(database: dead), Name(host: here, process: ended.processIdentifier, nonce: 1))
        XCTAssertNil(Name(database: olderName))

        let scratch = try await PostgresQueueBenchmark.createScratchDatabase(on: admin)
        let left = Set(try server.psql("SELECT datname FROM pg_database WHERE datname LIKE 'hongbao_bench_%'")
            .split(separator: "\n").map(String.init))
        XCTAssertEqual(left, [live, otherMachine, olderName, scratch.database])
        XCTAssertEqual(Name(database: scratch.database)?.process, getpid())
        XCTAssertEqual(Name(database: scratch.database)?.host, here)
        for name in left { try server.psql("DROP DATABASE \(name)") }
    }
}
