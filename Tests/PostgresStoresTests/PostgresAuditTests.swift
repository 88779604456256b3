import AccountService
import Crediting
import Engine
import Ledger
import PostgresStores
import Primitives
import RedPackets
import XCTest

/// The books on PostgreSQL audited as `hongbao audit --store postgres` does (`AuditReport.across` over the
/// three PostgreSQL stores): clean after a send and an open whose credit failed and was queued; a waiting
/// claim whose message is gone is reported.
final class PostgresAuditTests: PostgresServerTestCase {

    func testCrossSystemAuditOnPostgres() async throws {
        let pool = try freshPool()
        let limits = Limits.default
        let ledger = try await PostgresLedger(pool: pool, limits: limits)
        let packets = try await PostgresPacketStore(pool: pool, limits: limits)
        let queue = try await PostgresCreditQueue(pool: pool, name: limits.credit.queueName,
                                                  maxReceiveCount: limits.credit.maxReceiveCount)
        let random = SeededRandomSource(seed: 5)
        let service = PacketService(store: packets, accounts: ledger, limits: limits, random: random)
        _ = try await ledger.openAccount(name: "alice", deposit: Money(minorUnits: 10_000))
        _ = try await ledger.openAccount(name: "bob", deposit: nil)
        _ = try await ledger.openAccount(name: "carol", deposit: nil)
        let faults = CreditFaults(CreditFaults.Settings(failurePercent: 100))
        let failing = GuardedAccountService(accounts: ledger, limits: limits.credit, clock: SystemClock(), random: random,
                                            faults: faults)
        let driver = CreditFlowDriver(accountService: failing, queue: queue, recorder: packets, limits: limits.credit,
                                      random: random, remember: { _ in })
        let packet = try await service.send(.group(from: "alice", total: Money(minorUnits: 600), shares: 2))
        try await service.grab(packet.id, user: "bob")
        let opened = try await service.open(packet.id, user: "bob", via: driver)
        XCTAssertNotNil(opened.creditFailure)
        faults.update { $0.failurePercent = 0 }
        try await service.grab(packet.id, user: "carol")
        let credited = try await service.open(packet.id, user: "carol", via: driver)
        XCTAssertNil(credited.creditFailure)
        await driver.recordsSettled()  // the opener does not wait for the record of its in-line credit

        func audit() async throws -> AuditReport {
            let live = Set(try await queue.liveIDs().map(ClaimID.init))
            return try await AuditReport.across(ledgerViolations: try await ledger.auditLedger(),
                                                totals: try await ledger.totals(), packets: service,
                                                liveMessages: live)
        }
        let clean = try await audit()
        XCTAssertEqual(clean.violations, [])
        XCTAssertEqual(clean.awaitingRecovery, [])
        XCTAssertEqual(clean.totals.moneyIssued, Money(minorUnits: 10_000))
        XCTAssertEqual(clean.totals.sumOfBalances, .zero)
        XCTAssertEqual(try packets.claim(opened.claim.id)?.state, .waiting)

        // The waiting claim's message disappears: the audit says so.
        let messages = try await queue.receive(max: 10, wait: .zero, visibility: .seconds(60))
        XCTAssertEqual(messages.map(\.order.claim), [opened.claim.id])
        for message in messages { try await queue.acknowledge(message) }
        let broken = try await audit()
        XCTAssertEqual(broken.violations.map(\.code), ["claim.message"])
    }
}
