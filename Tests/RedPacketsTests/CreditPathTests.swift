import Foundation
import GRDB
import Ledger
import Primitives
import RedPackets
import Synchronization
import TestKit
import XCTest

final class CreditPathTests: PacketTestCase {
    func testAFailingAccountServiceLeavesTheClaimCreditingWithItsAmount() async throws {
        let failing = FailingAccountService()
        let reported = Mutex<[ClaimID]>([])
        service = PacketService(ledger: ledger, accountService: failing, random: SeededRandomSource(seed: 9),
                                onCreditFailure: { claim, error in
                                    XCTAssertTrue(error is FailingAccountService.Outage)
                                    reported.withLock { $0.append(claim.id) }
                                })
        try await user("s", yuan("50"))
        try await user("r")
        let packet = try await service.send(.group(from: "s", total: yuan("20"), shares: 2, equal: true))
        try await service.grab(packet.id, user: "r")
        let result = try await service.open(packet.id, user: "r")

        XCTAssertNotNil(result.creditFailure)
        XCTAssertFalse(result.wasReplay)
        XCTAssertEqual(result.claim.state, .crediting)
        XCTAssertEqual(result.claim.amount, yuan("10"))
        XCTAssertNil(result.claim.creditedAt)
        XCTAssertEqual(failing.attempts.load(ordering: .relaxed), 1)
        XCTAssertEqual(reported.withLock { $0 }, [result.claim.id])
        XCTAssertEqual(try balance("r"), .zero, "no money moved")
        XCTAssertEqual(try escrowBalance(packet), yuan("20"), "the drawn amount is still owed from escrow")
        XCTAssertNil(try ledger.transfer(id: result.claim.id.creditTransferID))
        XCTAssertEqual(try service.uncreditedClaims().map(\.id), [result.claim.id])
        XCTAssertEqual(try service.stats().claimsCrediting, 1)
        try assertAuditsClean()

        // Opening again is a replay of the same claim; it does not draw again.
        let replay = try await service.open(packet.id, user: "r")
        XCTAssertTrue(replay.wasReplay)
        XCTAssertEqual(replay.claim, result.claim)

        // The recovery path credits it later: twice, concurrently and then again, moves the money once.
        let direct = DirectAccountService(ledger: ledger)
        async let firstCredit = direct.credit(result.claim.id)
        async let secondCredit = direct.credit(result.claim.id)
        let (one, two) = try await (firstCredit, secondCredit)
        let three = try await direct.credit(result.claim.id)
        XCTAssertEqual(one.claim.state, .credited)
        XCTAssertEqual(one.claim, two.claim)
        XCTAssertEqual(two.claim, three.claim)
        XCTAssertEqual([one.appliedNow, two.appliedNow].filter { $0 }.count, 1, "exactly one call moves the money")
        XCTAssertFalse(three.appliedNow, "a replay moves nothing")
        XCTAssertEqual(three.claim.amount, yuan("10"))
        XCTAssertEqual(try balance("r"), yuan("10"))
        XCTAssertEqual(try escrowBalance(packet), yuan("10"))
        XCTAssertEqual(try ledger.transfer(id: result.claim.id.creditTransferID)?.amount, yuan("10"))
        XCTAssertEqual(try service.uncreditedClaims(), [])
        try assertAuditsClean()
    }

    func testAClaimOwedAtExpiryIsNotRefundedAndCanStillBeCredited() async throws {
        service = PacketService(ledger: ledger, accountService: FailingAccountService(), random: SeededRandomSource(seed: 3))
        try await user("s", yuan("50"))
        try await user("r")
        let packet = try await service.send(.group(from: "s", total: yuan("9"), shares: 3, equal: true,
                                                   timeToLive: .seconds(30)))
        try await service.grab(packet.id, user: "r")
        let claim = try await service.open(packet.id, user: "r").claim
        XCTAssertEqual(claim.amount, yuan("3"))
        clock.advance(by: .seconds(30))
        let expired = try await service.expireDue()
        XCTAssertEqual(expired.first?.refunded, yuan("6"))
        XCTAssertEqual(try balance("s"), yuan("47"))
        XCTAssertEqual(try escrowBalance(packet), yuan("3"), "the owed claim stays in escrow")
        try assertAuditsClean()

        let credited = try await DirectAccountService(ledger: ledger).credit(claim.id).claim
        XCTAssertEqual(credited.state, .credited)
        XCTAssertEqual(try balance("r"), yuan("3"))
        XCTAssertEqual(try escrowBalance(packet), .zero)
        try assertAuditsClean()
    }

    func testCreditingAnUnknownClaimFails() async throws {
        await assertThrows({ try await DirectAccountService(ledger: self.ledger).credit(ClaimID("nope.1")) },
                           PacketError.unknownPacket("nope.1"))
    }
}

final class PacketAuditTests: PacketTestCase {
    private func tamper(_ sql: String) throws {
        let queue = try DatabaseQueue(path: directory.appending("ledger.sqlite"))
        try queue.write { try $0.execute(sql: sql) }
    }

    private func openedPacket() async throws -> Packet {
        try await user("s", yuan("100"))
        for name in ["a", "b"] { try await user(name) }
        let packet = try await service.send(.group(from: "s", total: yuan("10"), shares: 3))
        for name in ["a", "b"] {
            try await service.grab(packet.id, user: name)
            _ = try await service.open(packet.id, user: name)
        }
        try assertAuditsClean()
        return packet
    }

    func testAClaimWhoseAmountDiffersFromItsCreditIsCaught() async throws {
        let packet = try await openedPacket()
        XCTAssertEqual(try service.auditPacketsQuick(), [])
        try tamper("UPDATE claim SET amount = amount + 1 WHERE id = '\(ClaimID(packet: packet.id, slot: 1).rawValue)'")
        XCTAssertEqual(Set(try service.auditPackets().map(\.code)), ["packet.escrow", "packet.claims", "claim.credit"])
        XCTAssertEqual(try service.auditPacketsQuick().map(\.code), ["packet.escrow"], "the dashboard's headline check")
    }

    func testACreditedClaimWithoutItsTransferIsCaught() async throws {
        let packet = try await openedPacket()
        try tamper("UPDATE claim SET state = 'crediting' WHERE id = '\(ClaimID(packet: packet.id, slot: 2).rawValue)'")
        XCTAssertEqual(Set(try service.auditPackets().map(\.code)), ["packet.escrow", "claim.credit"])
        XCTAssertEqual(try service.auditPacketsQuick().map(\.code), ["packet.escrow"], "the dashboard's headline check")
    }

    func testAWrongRefundIsCaught() async throws {
        let packet = try await openedPacket()
        clock.advance(by: Limits.default.packets.defaultTimeToLive)
        try await service.expireDue()
        try assertAuditsClean()
        try tamper("UPDATE packet SET refunded = refunded + 1 WHERE id = '\(packet.id.rawValue)'")
        XCTAssertEqual(Set(try service.auditPackets().map(\.code)), ["packet.escrow", "packet.refund"])
        XCTAssertEqual(try service.auditPacketsQuick().map(\.code), ["packet.escrow"], "the dashboard's headline check")
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
        let claim = try await service.open(packet.id, user: "a").claim
        let path = directory.appending("ledger.sqlite"), copy = directory.appending("crash.sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        if FileManager.default.fileExists(atPath: path + "-wal") {
            try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
        }

        let recoveredLedger = try Ledger(path: copy, durability: .normal, clock: clock, migrations: PacketSchema.register)
        let recovered = PacketService(ledger: recoveredLedger, random: SeededRandomSource(seed: 77))
        XCTAssertEqual(try recovered.packet(packet.id).grabbed, 2)
        let replay = try await recovered.open(packet.id, user: "a")
        XCTAssertTrue(replay.wasReplay)
        XCTAssertEqual(replay.claim, claim)
        let second = try await recovered.open(packet.id, user: "b")
        XCTAssertFalse(second.wasReplay)
        XCTAssertEqual(try XCTUnwrap(recoveredLedger.account(named: "b")).balance, second.claim.amount)
        XCTAssertEqual(try recoveredLedger.auditLedger(), [])
        XCTAssertEqual(try recovered.auditPackets(), [])
    }
}

final class PacketStatsTests: PacketTestCase {
    func testStatsCountPacketsAndClaimsByState() async throws {
        let failing = PacketService(ledger: ledger, accountService: FailingAccountService(), random: SeededRandomSource(seed: 5))
        try await user("s", yuan("100"))
        for name in ["a", "b", "c", "d"] { try await user(name) }
        let open = try await service.send(.group(from: "s", total: yuan("9"), shares: 3, equal: true))
        let finished = try await service.send(.group(from: "s", total: yuan("1"), shares: 1, timeToLive: .seconds(10)))
        let expiring = try await service.send(.group(from: "s", total: yuan("2"), shares: 2, timeToLive: .seconds(10)))
        try await service.grab(finished.id, user: "a")
        _ = try await service.open(finished.id, user: "a")                       // credited
        for name in ["b", "c", "d"] { try await service.grab(open.id, user: name) }
        let crediting = try await failing.open(open.id, user: "b").claim        // crediting
        let waiting = try await failing.open(open.id, user: "c").claim          // → waiting
        try await ledger.write { try PacketOperations.markWaiting(waiting.id, in: $0) }
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
        try assertAuditsClean()

        // The dashboard's lists: every packet newest first, filtered and paged; waiting credits; what each is owed.
        XCTAssertEqual(try service.packets(matching: nil, limit: 10, offset: 0).map(\.id), [expiring.id, finished.id, open.id])
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
        let credited = try await DirectAccountService(ledger: ledger).credit(waiting.id).claim
        XCTAssertEqual(credited.state, .credited)
        XCTAssertEqual(credited.attempts, 2)
        try await ledger.write { try PacketOperations.markWaiting(waiting.id, in: $0) } // too late: stays credited
        XCTAssertEqual(try service.claim(waiting.id)?.state, .credited)
        XCTAssertEqual(try balance("c"), yuan("3"))
        try assertAuditsClean()
    }
}
