import AccountService
import Crediting
import Foundation
import GRDB
import Ledger
import Primitives
@testable import RedPackets
import Synchronization
import TestKit
import XCTest

final class CreditPathTests: PacketTestCase {
    func testAFailingAccountServiceQueuesTheCreditAndTheClaimWaitsWithItsAmount() async throws {
        let failing = FailingAccountService()
        accountService = failing
        try await user("s", yuan("50"))
        try await user("r")
        let packet = try await service.send(.group(from: "s", total: yuan("20"), shares: 2, equal: true))
        try await service.grab(packet.id, user: "r")
        let result = try await open(packet.id, user: "r")

        XCTAssertNotNil(result.creditFailure)
        XCTAssertFalse(result.wasReplay)
        XCTAssertEqual(result.claim.state, .waiting)
        XCTAssertEqual(result.claim.amount, yuan("10"))
        XCTAssertNil(result.claim.creditedAt)
        XCTAssertEqual(failing.attempts.load(ordering: .relaxed), 1)
        XCTAssertEqual(creditQueue.sent.withLock { $0 }, [result.claim.creditOrder], "the order went to the queue")
        XCTAssertEqual(try balance("r"), .zero, "no money moved")
        XCTAssertEqual(try held(packet), yuan("20"), "the drawn amount is still held in settlement")
        XCTAssertNil(try ledger.transfer(id: result.claim.id.creditTransferID))
        XCTAssertEqual(try service.uncreditedClaims().map(\.id), [result.claim.id])
        XCTAssertEqual(try service.stats().claimsWaiting, 1)
        try await assertAuditsClean()

        // Opening again is a replay of the same claim; it does not draw again.
        let replay = try await open(packet.id, user: "r")
        XCTAssertTrue(replay.wasReplay)
        XCTAssertEqual(replay.claim, result.claim)

        // The recovery path credits it later: twice, concurrently and then again, moves the money once.
        let direct = DirectCredit(ledger: ledger, store: packetStore)
        async let firstCredit = direct.credit(result.claim.id)
        async let secondCredit = direct.credit(result.claim.id)
        let (one, two) = try await (firstCredit, secondCredit)
        let three = try await direct.credit(result.claim.id)
        XCTAssertEqual(one.claim.state, .credited)
        XCTAssertEqual(three.claim.state, .credited)
        XCTAssertEqual([one.appliedNow, two.appliedNow].filter { $0 }.count, 1, "exactly one call moves the money")
        XCTAssertFalse(three.appliedNow, "a replay moves nothing")
        XCTAssertEqual(three.claim.amount, yuan("10"))
        XCTAssertEqual(try balance("r"), yuan("10"))
        XCTAssertEqual(try held(packet), yuan("10"))
        XCTAssertEqual(try ledger.transfer(id: result.claim.id.creditTransferID)?.amount, yuan("10"))
        XCTAssertEqual(try service.uncreditedClaims(), [])
        try await assertAuditsClean()
    }

    func testAClaimOwedAtExpiryIsNotRefundedAndCanStillBeCredited() async throws {
        accountService = FailingAccountService()
        try await user("s", yuan("50"))
        try await user("r")
        let packet = try await service.send(.group(from: "s", total: yuan("9"), shares: 3, equal: true,
                                                   timeToLive: .seconds(30)))
        try await service.grab(packet.id, user: "r")
        let claim = try await open(packet.id, user: "r").claim
        XCTAssertEqual(claim.amount, yuan("3"))
        clock.advance(by: .seconds(30))
        let expired = try await service.expireDue()
        XCTAssertEqual(expired.first?.refunded, yuan("6"))
        XCTAssertEqual(try balance("s"), yuan("47"))
        XCTAssertEqual(try held(packet), yuan("3"), "the owed claim stays in escrow")
        try await assertAuditsClean()

        let credited = try await DirectCredit(ledger: ledger, store: packetStore).credit(claim.id).claim
        XCTAssertEqual(credited.state, .credited)
        XCTAssertEqual(try balance("r"), yuan("3"))
        XCTAssertEqual(try held(packet), .zero)
        try await assertAuditsClean()
    }

    func testCreditingAnUnknownClaimFails() async throws {
        await assertThrows({ try await DirectCredit(ledger: self.ledger, store: self.packetStore).credit(ClaimID("nope.1")) },
                           PacketError.unknownPacket("nope.1"))
    }
}

/// The two systems audited against each other: each tamper, in either database, is caught by its code.
final class PacketAuditTests: PacketTestCase {
    private func tamperPackets(_ sql: String) throws {
        let queue = try DatabaseQueue(path: directory.appending("redpackets.sqlite"))
        try queue.write { try $0.execute(sql: sql) }
    }

    private func openedPacket() async throws -> Packet {
        try await user("s", yuan("100"))
        for name in ["a", "b"] { try await user(name) }
        let packet = try await service.send(.group(from: "s", total: yuan("10"), shares: 3))
        for name in ["a", "b"] {
            try await service.grab(packet.id, user: name)
            _ = try await open(packet.id, user: name)
        }
        try await assertAuditsClean()
        return packet
    }

    private func codes() async throws -> Set<String> {
        Set(try await service.auditAcrossSystems().violations.map(\.code))
    }

    func testAClaimWhoseAmountDiffersFromItsCreditIsCaught() async throws {
        let packet = try await openedPacket()
        try tamperPackets("UPDATE claim SET amount = amount + 1 WHERE id = '\(ClaimID(packet: packet.id, slot: 1).rawValue)'")
        let awaited1 = try await codes()
        XCTAssertEqual(awaited1, ["packet.claims", "claim.credit"])
    }

    func testACreditedClaimWithoutItsLedgerCreditIsCaught() async throws {
        try await user("s", yuan("100"))
        try await user("a")
        let packet = try await service.send(.group(from: "s", total: yuan("10"), shares: 3))
        try await service.grab(packet.id, user: "a")
        let drawn = try await service.draw(packet.id, user: "a").claim
        try tamperPackets("""
            UPDATE claim SET state = 'credited' WHERE id = '\(drawn.id.rawValue)';
            UPDATE packet SET credited_amount = \(drawn.amount.minorUnits) WHERE id = '\(packet.id.rawValue)';
            """)
        let awaited2 = try await codes()
        XCTAssertEqual(awaited2, ["claim.credit", "settlement.balance"])
    }

    func testAPacketStoreThatHoldsMoreThanTheSettlementAccountIsCaught() async throws {
        let packet = try await openedPacket()
        try tamperPackets("UPDATE packet SET total = total + 100 WHERE id = '\(packet.id.rawValue)'")
        let awaited3 = try await codes()
        XCTAssertEqual(awaited3, ["settlement.balance", "packet.payment"])
    }

    func testALedgerCreditForNoClaimIsCaught() async throws {
        _ = try await openedPacket()
        let a = try XCTUnwrap(try ledger.account(named: "a"))
        try await ledger.transfer(TransferRequest(id: ClaimID("ghost.1").creditTransferID, from: ledger.settlementAccountID,
                                                  to: a.id, amount: yuan("1"), memo: "forged"))
        XCTAssertEqual(try ledger.auditLedger(), [], "the ledger alone cannot tell")
        let awaited4 = try await codes()
        XCTAssertEqual(awaited4, ["claim.orphan", "settlement.balance"])
    }

    func testAWrongRefundIsCaught() async throws {
        let packet = try await openedPacket()
        clock.advance(by: Limits.default.packets.defaultTimeToLive)
        try await service.expireDue()
        try await assertAuditsClean()
        try tamperPackets("UPDATE packet SET refunded = refunded + 1 WHERE id = '\(packet.id.rawValue)'")
        let awaited5 = try await codes()
        XCTAssertEqual(awaited5, ["settlement.balance", "packet.refund"])
    }
}

/// A crash between the two systems' steps of each flow, made by running the first step alone: the audit
/// finds nothing lost or doubled (only something awaiting recovery), and recovery finishes the flow once.
final class CrossSystemGapTests: PacketTestCase {
    private func draft(_ sender: Account, total: Money) -> PacketDraft {
        PacketDraft(kind: .lucky, senderID: sender.id, senderName: sender.name, recipientID: nil, total: total,
                    shares: 2, greeting: "", timeToLive: .seconds(60))
    }

    func testACrashBeforeTheSendersPaymentCancelsThePacketAndMovesNothing() async throws {
        let sender = try await user("s", yuan("100"))
        let packet = try await packetStore.createPacket(draft(sender, total: yuan("10")), random: SeededRandomSource(seed: 1))
        let audit = try await service.auditAcrossSystems()
        XCTAssertEqual(audit.violations, [])
        XCTAssertEqual(audit.awaitingRecovery.map(\.id), [packet.id])
        await assertThrows({ try await self.service.grab(packet.id, user: "s") }, PacketError.unknownPacket(packet.id.rawValue))

        let report = try await service.recover()
        XCTAssertEqual(report.sendsCancelled, 1)
        XCTAssertEqual(try packetStore.packet(packet.id)?.state, .cancelled)
        XCTAssertEqual(try balance("s"), yuan("100"))
        XCTAssertEqual(try settlementBalance(), .zero)
        let awaited6 = try await service.recover()
        XCTAssertEqual(awaited6, RecoveryReport(), "a second recovery finds nothing")
        try await assertAuditsClean()
    }

    func testACrashAfterThePaymentOpensThePacketOnRecoveryWithoutPayingTwice() async throws {
        let sender = try await user("s", yuan("100"))
        let packet = try await packetStore.createPacket(draft(sender, total: yuan("10")), random: SeededRandomSource(seed: 1))
        try await ledger.transfer(TransferRequest(id: packet.id.fundingTransferID, from: sender.id,
                                                  to: ledger.settlementAccountID, amount: yuan("10"), memo: "pay"))
        let audit = try await service.auditAcrossSystems()
        XCTAssertEqual(audit.violations, [], "paid and not yet recorded is a step in flight, not a loss")
        XCTAssertEqual(audit.settlementBalance, audit.packetsHold)

        let report = try await service.recover()
        XCTAssertEqual(report.paymentsConfirmed, 1)
        XCTAssertEqual(try service.packet(packet.id).state, .open)
        XCTAssertEqual(try balance("s"), yuan("90"), "paid once")
        try await assertAuditsClean()
    }

    func testACrashBetweenDrawAndCreditLeavesACreditingClaimThatIsCreditedOnce() async throws {
        try await user("s", yuan("100"))
        try await user("a")
        let packet = try await service.send(.group(from: "s", total: yuan("10"), shares: 2, equal: true))
        try await service.grab(packet.id, user: "a")
        let claim = try await service.draw(packet.id, user: "a").claim
        let audit = try await service.auditAcrossSystems()
        XCTAssertEqual(audit.violations, [])
        XCTAssertEqual(audit.uncredited.map(\.claim.id), [claim.id])
        XCTAssertEqual(audit.uncredited.map(\.creditedInLedger), [false])

        let credited = try await DirectCredit(ledger: ledger, store: packetStore).credit(claim.id)
        XCTAssertTrue(credited.appliedNow)
        XCTAssertEqual(try balance("a"), yuan("5"))
        try await assertAuditsClean()
    }

    func testACrashBetweenTheLedgerCreditAndItsRecordIsReplayedWithoutMovingMoneyTwice() async throws {
        try await user("s", yuan("100"))
        try await user("a")
        let packet = try await service.send(.group(from: "s", total: yuan("10"), shares: 2, equal: true))
        try await service.grab(packet.id, user: "a")
        let claim = try await service.draw(packet.id, user: "a").claim
        _ = try await LedgerAccountService(accounts: ledger).credit(claim.creditOrder)
        let audit = try await service.auditAcrossSystems()
        XCTAssertEqual(audit.violations, [])
        XCTAssertEqual(audit.uncredited.map(\.creditedInLedger), [true])
        XCTAssertEqual(audit.settlementBalance, audit.packetsHold)

        let replay = try await DirectCredit(ledger: ledger, store: packetStore).credit(claim.id)
        XCTAssertFalse(replay.appliedNow)
        XCTAssertEqual(replay.claim.state, .credited)
        XCTAssertEqual(try balance("a"), yuan("5"))
        try await assertAuditsClean()
    }

    func testACrashBeforeTheRefundIsRefundedOnceOnRecovery() async throws {
        try await user("s", yuan("100"))
        let packet = try await service.send(.group(from: "s", total: yuan("10"), shares: 2, timeToLive: .seconds(5)))
        clock.advance(by: .seconds(5))
        let expired = try await packetStore.expireDue(limit: 10)
        XCTAssertEqual(expired.map(\.refundPending), [true])
        let audit = try await service.auditAcrossSystems()
        XCTAssertEqual(audit.violations, [])
        XCTAssertEqual(audit.awaitingRecovery.map(\.id), [packet.id])

        let awaited7 = try await service.recover().refundsSettled
        XCTAssertEqual(awaited7, 1)
        XCTAssertEqual(try balance("s"), yuan("100"))
        let awaited8 = try await service.recover()
        XCTAssertEqual(awaited8, RecoveryReport())
        try await assertAuditsClean()
    }

    func testACrashAfterTheRefundBeforeItsRecordDoesNotRefundTwice() async throws {
        let sender = try await user("s", yuan("100"))
        let packet = try await service.send(.group(from: "s", total: yuan("10"), shares: 2, timeToLive: .seconds(5)))
        clock.advance(by: .seconds(5))
        _ = try await packetStore.expireDue(limit: 10)
        try await ledger.transfer(TransferRequest(id: packet.id.refundTransferID, from: ledger.settlementAccountID,
                                                  to: sender.id, amount: yuan("10"), memo: "refund"))
        let awaited9 = try await service.auditAcrossSystems().violations
        XCTAssertEqual(awaited9, [])
        let awaited10 = try await service.recover().refundsSettled
        XCTAssertEqual(awaited10, 1)
        XCTAssertEqual(try balance("s"), yuan("100"), "refunded once")
        try await assertAuditsClean()
    }

    func testASendWithoutEnoughMoneyIsCancelledInTheStoreAndRefused() async throws {
        try await user("s", yuan("5"))
        // Passes the early balance check, then a concurrent spend empties the account before the payment.
        let other = try await user("o")
        let service = self.service!
        let send = Task { try await service.send(.group(from: "s", total: yuan("5"), shares: 1)) }
        _ = try? await ledger.transfer(TransferRequest(id: "spend", from: try XCTUnwrap(try ledger.account(named: "s")).id,
                                                       to: other.id, amount: yuan("5"), memo: "spend"))
        do {
            _ = try await send.value
            XCTAssertEqual(try balance("o"), .zero)
        } catch let error as PacketError {
            guard case .insufficientFunds = error else { return XCTFail("\(error)") }
            XCTAssertEqual(try service.stats().paying, 0, "no packet is left paying")
        }
        try await assertAuditsClean()
    }
}

final class PacketDurabilityTests: PacketTestCase {
    /// The database and its write-ahead log as a `kill -9` would leave them, reopened elsewhere.
    func testPacketsAndClaimsSurviveACrashCopy() async throws {
        try await user("s", yuan("100"))
        for name in ["a", "b"] { try await user(name) }
        let packet = try await service.send(.group(from: "s", total: yuan("10"), shares: 3))
        try await service.grab(packet.id, user: "a")
        try await service.grab(packet.id, user: "b")
        let claim = try await open(packet.id, user: "a").claim
        let path = directory.appending("ledger.sqlite"), copy = directory.appending("crash.sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        if FileManager.default.fileExists(atPath: path + "-wal") {
            try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
        }

        let packetsPath = directory.appending("redpackets.sqlite"), packetsCopy = directory.appending("crash-packets.sqlite")
        try FileManager.default.copyItem(atPath: packetsPath, toPath: packetsCopy)
        if FileManager.default.fileExists(atPath: packetsPath + "-wal") {
            try FileManager.default.copyItem(atPath: packetsPath + "-wal", toPath: packetsCopy + "-wal")
        }

        ledger = try Ledger(path: copy, durability: .normal, clock: clock)
        packetStore = try SQLitePacketStore(path: packetsCopy, durability: .normal, clock: clock)
        accountService = LedgerAccountService(accounts: ledger)
        service = PacketService(store: packetStore, accounts: ledger, limits: .default, random: SeededRandomSource(seed: 77))
        XCTAssertEqual(try service.packet(packet.id).grabbed, 2)
        let replay = try await open(packet.id, user: "a")
        XCTAssertTrue(replay.wasReplay)
        XCTAssertEqual(replay.claim, claim)
        let second = try await open(packet.id, user: "b")
        XCTAssertFalse(second.wasReplay)
        XCTAssertEqual(try balance("b"), second.claim.amount)
        try await assertAuditsClean()
    }
}

final class PacketStatsTests: PacketTestCase {
    func testStatsCountPacketsAndClaimsByState() async throws {
        try await user("s", yuan("100"))
        for name in ["a", "b", "c", "d"] { try await user(name) }
        let openPacket = try await service.send(.group(from: "s", total: yuan("9"), shares: 3, equal: true))
        let finished = try await service.send(.group(from: "s", total: yuan("1"), shares: 1, timeToLive: .seconds(10)))
        let expiring = try await service.send(.group(from: "s", total: yuan("2"), shares: 2, timeToLive: .seconds(10)))
        try await service.grab(finished.id, user: "a")
        _ = try await open(finished.id, user: "a")                       // credited
        for name in ["b", "c", "d"] { try await service.grab(openPacket.id, user: name) }
        let crediting = try await service.draw(openPacket.id, user: "b").claim        // crediting (in flight)
        accountService = FailingAccountService()
        let waiting = try await self.open(openPacket.id, user: "c").claim             // → queued, waiting
        // The opener's claim is not read back after its waiting mark: what it is told is what the store holds.
        XCTAssertEqual(waiting.state, .waiting)
        XCTAssertEqual(waiting, try service.claim(waiting.id))
        clock.advance(by: .seconds(10))
        try await service.expireDue()

        let stats = try service.stats()
        XCTAssertEqual(stats.open, 1)
        XCTAssertEqual(stats.finished, 1)
        XCTAssertEqual(stats.expired, 1)
        XCTAssertEqual(stats.grabbedUnopened, 1, "d grabbed the open packet and has not opened")
        XCTAssertEqual(stats.claimsCredited, 1)
        XCTAssertEqual(stats.claimsCrediting, 1)
        XCTAssertEqual(stats.claimsWaiting, 1)
        XCTAssertEqual(stats.waitingAmount, yuan("3"))
        XCTAssertEqual(stats.creditingAmount, crediting.amount, "drawn, in flight, not yet queued")
        XCTAssertEqual(try service.claim(waiting.id)?.state, .waiting)
        XCTAssertEqual(try service.claim(waiting.id)?.attempts, 1)
        XCTAssertEqual(Set(try service.uncreditedClaims().map(\.id)), [crediting.id, waiting.id])
        XCTAssertEqual(try service.packet(expiring.id).refunded, yuan("2"))
        try await assertAuditsClean()

        // The dashboard's lists: every packet newest first, filtered and paged; waiting credits; what each is owed.
        XCTAssertEqual(try service.packets(matching: nil, limit: 10, offset: 0).map(\.id), [expiring.id, finished.id, openPacket.id])
        XCTAssertEqual(try service.packets(matching: nil, limit: 1, offset: 1).map(\.id), [finished.id])
        XCTAssertEqual(try service.packets(matching: "EXPIRED", limit: 10, offset: 0).map(\.id), [expiring.id])
        XCTAssertEqual(try service.packetCount(matching: nil), 3)
        XCTAssertEqual(try service.packetCount(matching: "expired"), 1)
        XCTAssertEqual(try service.waitingClaims(matching: nil, limit: 10, offset: 0).map(\.id), [waiting.id])
        XCTAssertEqual(try service.waitingClaims(matching: "C", limit: 10, offset: 0).map(\.id), [waiting.id], "by recipient")
        XCTAssertEqual(try service.waitingClaims(matching: "nobody", limit: 10, offset: 0).map(\.id), [])
        XCTAssertFalse(try service.waitingClaims(matching: nil, limit: 10, offset: 0).contains { $0.id == crediting.id },
                       "crediting is not waiting")
        XCTAssertEqual(try service.waitingClaimCount(matching: nil), 1)
        let owed = try service.uncreditedTotals(for: [crediting.userID, waiting.userID, try XCTUnwrap(ledger.account(named: "a")).id])
        XCTAssertEqual(owed.count, 2, "a is owed nothing")
        XCTAssertEqual(owed[waiting.userID]?.count, 1)
        XCTAssertEqual(owed[waiting.userID]?.amount, yuan("3"))

        // A waiting claim is credited like any other, once.
        let credited = try await DirectCredit(ledger: ledger, store: packetStore).credit(waiting.id).claim
        XCTAssertEqual(credited.state, .credited)
        XCTAssertEqual(credited.attempts, 2)
        try await packetStore.markWaiting(waiting.id) // too late: stays credited
        XCTAssertEqual(try service.claim(waiting.id)?.state, .credited)
        XCTAssertEqual(try balance("c"), yuan("3"))
        try await assertAuditsClean()
    }
}
