import Engine
import Ledger
import PostgresStores
import Primitives
import RedPackets
import TestKit
import XCTest

/// Settling a half-done send on PostgreSQL, where a payment whose call gave up can still land: its commit waits
/// for a synchronous standby on the server after the client stopped waiting for it.
final class SendSettlementPostgresTests: PostgresServerTestCase {
    /// The sender's payment is committed on the primary and waits there for a standby that never comes; its call
    /// gives up (no answer in time) and the packet stays `paying`. A plain look-up does not see the payment. The
    /// settling (the recovery an engine runs when it closes) waits for it, under the payment's lock, and once the
    /// commit goes through it opens the packet: the sender paid once, the books agree. (A settling that only
    /// looked the payment up cancelled the packet, and the payment then landed for a packet that no longer
    /// existed.)
    func testAPaymentWhoseCommitIsStillWaitingIsWaitedForAndOpensThePacket() async throws {
        let server = try running()
        let settings = try server.freshDatabase()
        let database = settings.database
        let pool = PostgresPool(settings: settings)
        // The send's own calls give up after two seconds without an answer, and do not try again.
        let hasty = PostgresPool(settings: settings, maxConnections: 2, retryWindow: .milliseconds(100),
                                 answerTimeout: .seconds(2))
        pools += [pool, hasty]
        let hastyLedger = try await PostgresLedger(pool: hasty)
        let (ledger, packets, alice, service, draft, packet) = try await unpaidPacket(pool: pool)
        addTeardownBlock {
            _ = try? server.psql("ALTER SYSTEM RESET synchronous_standby_names")
            _ = try? server.psql("SELECT pg_reload_conf()")
        }

        try await server.waitForAStandbyThatNeverComes()
        let payment = TransferRequest(id: packet.id.fundingTransferID, from: alice.id, to: ledger.settlementAccountID,
                                      amount: draft.total, memo: "red packet \(packet.id.rawValue)")
        do {
            _ = try await hastyLedger.transfer(payment)
            XCTFail("the payment was answered while its commit waited for a standby")
        } catch {}
        XCTAssertEqual(try server.psql("""
            SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '\(database)' AND wait_event = 'SyncRep'
            """), "1", "the payment's commit waits on the server")
        let seen = try await ledger.transfers([payment.id])
        XCTAssertEqual(seen, [:], "a plain look-up does not see the payment yet")

        let settled = AsyncFlag()
        let settling = Task {
            defer { settled.fire() }
            return try await service.recover()
        }
        try await waitUntil("the settling waits for the payment's lock", timeout: .seconds(20), interval: .milliseconds(20)) {
            if settled.hasFired { return true }
            return try server.psql("""
                SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '\(database)' AND wait_event = 'advisory'
                """) == "1"
        }
        try server.psql("ALTER SYSTEM RESET synchronous_standby_names")
        try server.psql("SELECT pg_reload_conf()")
        let report = try await settling.value
        XCTAssertEqual(report.paymentsConfirmed, 1)
        XCTAssertEqual(report.sendsCancelled, 0)
        XCTAssertEqual(try packets.packet(packet.id)?.state, .open)
        let balance = try await ledger.balance(of: alice.id)
        XCTAssertEqual(balance, Money(minorUnits: 9_400), "paid once")
        let audit = try await service.auditAcrossSystems()
        XCTAssertEqual(audit.violations, [])
        XCTAssertEqual(audit.awaitingRecovery, [])
        XCTAssertEqual(audit.settlementBalance, Money(minorUnits: 600))
    }

    /// A payment that never reached the server: the settling finds no payment once the locks are taken, cancels
    /// the packet, and moves nothing.
    func testAPaymentThatNeverLandedIsCancelledAndMovesNothing() async throws {
        let (ledger, packets, alice, service, _, packet) = try await unpaidPacket(pool: try freshPool())
        let settled = try await service.settleSends(createdBefore: nil)
        XCTAssertEqual(settled.sendsCancelled, 1)
        XCTAssertEqual(try packets.packet(packet.id)?.state, .cancelled)
        let balance = try await ledger.balance(of: alice.id)
        XCTAssertEqual(balance, Money(minorUnits: 10_000))
        let audit = try await service.auditAcrossSystems()
        XCTAssertEqual(audit.violations, [])
        XCTAssertEqual(audit.awaitingRecovery, [])
    }

    /// Both stores on `pool`, alice with ¥100.00, and a packet of ¥6.00 she has not paid for yet (`paying`).
    /// An all-or-nothing open whose opener is cancelled while its credit is refused (a load stopping, the
    /// program quitting): the share is still taken back, though the pool refuses the cancelled task a
    /// connection. Before, the claim stayed drawn and uncredited, and the audit found it awaiting recovery.
    func testACancelledOpenerStillTakesItsRefusedShareBack() async throws {
        let pool = try freshPool()
        let (ledger, packets, alice, service, draft, packet) = try await unpaidPacket(pool: pool)
        _ = try await ledger.transfer(TransferRequest(id: packet.id.fundingTransferID, from: alice.id,
                                                      to: ledger.settlementAccountID, amount: draft.total, memo: "red packet"))
        _ = try await packets.markPaid(packet.id)
        let bob = try await ledger.openAccount(name: "bob")
        _ = try await packets.grab(packet.id, user: bob)
        let opening = Task {
            try await service.openAtomically(packet.id, user: "bob", credit: { _ in
                withUnsafeCurrentTask { $0?.cancel() } // the opener goes away while its credit is refused
                throw Refused()
            }, notCredited: { $0 is Refused })
        }
        do {
            _ = try await opening.value
            XCTFail("a refused credit fails the open")
        } catch {
            XCTAssertTrue(error is Refused, "the opener hears why, not the cancellation: \(error)")
        }
        XCTAssertEqual(try packets.packet(packet.id)?.opened, 0, "the share was taken back")
        let audit = try await service.auditAcrossSystems()
        XCTAssertEqual(audit.violations, [])
        XCTAssertTrue(audit.uncredited.isEmpty, "no claim left drawn: \(audit.uncredited)")
    }

    /// A credit the account system refused before writing anything.
    private struct Refused: Error {}

    private func unpaidPacket(pool: PostgresPool) async throws
        -> (PostgresLedger, PostgresPacketStore, Account, PacketService, PacketDraft, Packet) {
        let ledger = try await PostgresLedger(pool: pool)
        let packets = try await PostgresPacketStore(pool: pool)
        let alice = try await ledger.openAccount(name: "alice", deposit: Money(minorUnits: 10_000))
        let service = PacketService(store: packets, accounts: ledger, limits: .default, random: SeededRandomSource(seed: 2))
        let draft = PacketDraft(kind: .lucky, senderID: alice.id, senderName: alice.name, recipientID: nil,
                                total: Money(minorUnits: 600), shares: 2, greeting: "", timeToLive: .seconds(60))
        let packet = try await packets.createPacket(draft, random: SeededRandomSource(seed: 3))
        return (ledger, packets, alice, service, draft, packet)
    }
}
