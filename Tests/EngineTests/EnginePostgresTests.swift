import Engine
import Ledger
import PostgresCluster
import PostgresStores
import Primitives
import RedPackets
import TestKit
import XCTest

/// The engine on PostgreSQL's stores (a throwaway server): the same credit path as on SQLite, the failed
/// credits queued in PostgreSQL's table and credited once by the workers, the audit of both stores and the
/// queue clean after.
final class EnginePostgresTests: XCTestCase {
    static func settings(_ login: PostgresLogin) -> PostgresSettings {
        PostgresSettings(host: login.host, port: login.port, user: login.user, password: login.password,
                         database: login.database)
    }

    private func startEngine(_ server: TestPostgres) async throws -> Engine {
        let data = try TemporaryDirectory(prefix: "hongbao-engine-pg")
        addTeardownBlock { data.remove() }
        var configuration = EngineConfiguration(dataPath: data.path, workers: 2)
        configuration.store = .postgres(EnginePostgresTests.settings(server.primary))
        return try await Engine.start(configuration)
    }

    func testOpensOnPostgreSQLAreCreditedOnceWhetherInLineOrByTheWorkers() async throws {
        let server = try await TestPostgres.start(self)
        let engine = try await startEngine(server)
        guard case .postgres = engine.books else { return XCTFail("the engine did not start on PostgreSQL") }
        let seeded = try await engine.seedDemoAccounts(count: 20, random: SeededRandomSource(seed: 1))
        XCTAssertEqual(seeded, 28)
        let again = try await engine.seedDemoAccounts(count: 20, random: SeededRandomSource(seed: 1))
        XCTAssertEqual(again, 0, "seeding again opens nothing")
        let users = DemoSeeder.numberedNames(count: 20)
        var before: [String: Money] = [:]
        for user in users { before[user] = try await engine.accounts.userAccount(named: user)?.balance }

        engine.setCreditFailure(percent: 50)
        let packet = try await engine.send(SendRequest.group(from: "alice", total: Money(yuan: 100), shares: 20))
        var opened = Money.zero
        for user in users {
            try await engine.grab(packet.id, user: user)
            opened = opened + (try await engine.open(packet.id, user: user)).claim.amount
        }
        XCTAssertEqual(opened, Money(yuan: 100))
        let queued = engine.metricsSnapshot().queued
        XCTAssertGreaterThan(queued, 0, "some credits failed in line and were queued")
        let depth = await engine.snapshot().queue.queues.first { $0.name == "credits" }?.total
        XCTAssertEqual(depth, queued, "the snapshot counts the PostgreSQL queue's messages")

        engine.setCreditFailure(percent: 0)
        let run = Task { await engine.run() }
        try await waitUntil("every claim credited", timeout: .seconds(30), interval: .milliseconds(50)) {
            try engine.packets.uncreditedClaims(limit: 1).isEmpty
        }
        run.cancel()
        await run.value
        var received = Money.zero
        for user in users {
            received = received + ((try await engine.accounts.userAccount(named: user)?.balance ?? .zero) - (before[user] ?? .zero))
        }
        XCTAssertEqual(received, Money(yuan: 100), "every share credited exactly once")
        let report = try await engine.auditReport()
        XCTAssertEqual(report.violations, [])
        XCTAssertEqual(report.awaitingRecovery, [])
        let deadLettered = await engine.deadLetteredCount()
        XCTAssertEqual(deadLettered, 0)
        await engine.close()
    }

    func testReplicaFaultsAreRefusedOnPostgreSQLNamingWhatWasAsked() async throws {
        let server = try await TestPostgres.start(self)
        let engine = try await startEngine(server)
        do {
            try await engine.setReplica(.b, down: true)
            XCTFail("a queue replica fault ran on PostgreSQL")
        } catch let error as EngineError {
            XCTAssertEqual(error.description, "a queue replica fault does not run on PostgreSQL in this version")
        }
        await engine.close()
    }
}
