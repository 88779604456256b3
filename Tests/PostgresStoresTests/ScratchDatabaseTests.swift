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
        // An engine on a scratch database makes its ledger's and its queue's beside it; a dead bench's are dropped
        // with it, and so is one left alone (its scratch database dropped, the process killed before the rest).
        let deadsLedger = dead + PostgresDatabases.ledgerSuffix
        let deadsQueue = dead + PostgresDatabases.queueSuffix
        let orphan = Name(host: here, process: ended.processIdentifier, nonce: 4).database + PostgresDatabases.queueSuffix
        let livesLedger = live + PostgresDatabases.ledgerSuffix
        for name in [dead, deadsLedger, deadsQueue, orphan, live, livesLedger, otherMachine, olderName] {
            try server.psql("CREATE DATABASE \(name)")
        }
        XCTAssertEqual(Name(database: dead), Name(host: here, process: ended.processIdentifier, nonce: 1))
        XCTAssertEqual(Name(database: deadsLedger), Name(database: dead))
        XCTAssertNil(Name(database: olderName))

        let scratch = try await PostgresQueueBenchmark.createScratchDatabase(on: admin)
        let left = Set(try server.psql("SELECT datname FROM pg_database WHERE datname LIKE 'hongbao_bench_%'")
            .split(separator: "\n").map(String.init))
        XCTAssertEqual(left, [live, livesLedger, otherMachine, olderName, scratch.database])
        try await PostgresQueueBenchmark.dropScratchDatabase(live, on: admin)
        let afterDrop = Set(try server.psql("SELECT datname FROM pg_database WHERE datname LIKE 'hongbao_bench_%'")
            .split(separator: "\n").map(String.init))
        XCTAssertEqual(afterDrop, [otherMachine, olderName, scratch.database], "a scratch database is dropped with its siblings")
        XCTAssertEqual(Name(database: scratch.database)?.process, getpid())
        XCTAssertEqual(Name(database: scratch.database)?.host, here)
        for name in afterDrop { try server.psql("DROP DATABASE \(name)") }
    }
}
