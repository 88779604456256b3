import Ledger
import Primitives
import RedPackets
import TestKit
import XCTest

final class GrabTests: PacketTestCase {
    func testGrabsTakeSlotsInOrderUntilSoldOut() async throws {
        try await user("s", yuan("10"))
        for name in ["a", "b", "c"] { try await user(name) }
        let packet = try await service.send(.group(from: "s", total: yuan("1"), shares: 2))
        let slotA = try await service.grab(packet.id, user: "a")
        let slotB = try await service.grab(packet.id, user: "b")
        XCTAssertEqual([slotA, slotB], [1, 2])
        let before = try snapshot()
        await assertThrows({ try await self.service.grab(packet.id, user: "c") }, PacketError.soldOut(packet.id))
        XCTAssertEqual(try snapshot(), before)
        XCTAssertEqual(try service.packet(packet.id).grabbed, 2)
    }

    func testGrabbingTwiceIsRejected() async throws {
        try await user("s", yuan("10"))
        try await user("a")
        let packet = try await service.send(.group(from: "s", total: yuan("1"), shares: 5))
        try await service.grab(packet.id, user: "a")
        await assertThrows({ try await self.service.grab(packet.id, user: "a") }, PacketError.alreadyGrabbed(packet.id, user: "a"))
        XCTAssertEqual(try service.packet(packet.id).grabbed, 1)
    }

    func testOnlyTheRecipientCanGrabAPersonalPacket() async throws {
        try await user("s", yuan("10"))
        try await user("r")
        try await user("x")
        let packet = try await service.send(.personal(from: "s", to: "r", amount: yuan("5")))
        await assertThrows({ try await self.service.grab(packet.id, user: "x") }, PacketError.notRecipient(packet.id, user: "x"))
        await assertThrows({ try await self.service.grab(packet.id, user: "s") }, PacketError.notRecipient(packet.id, user: "s"))
        let slot = try await service.grab(packet.id, user: "r")
        XCTAssertEqual(slot, 1)
    }

    func testGrabbingAtTheExpiryInstantIsTooLate() async throws {
        try await user("s", yuan("10"))
        try await user("a")
        try await user("b")
        let packet = try await service.send(.group(from: "s", total: yuan("1"), shares: 5, timeToLive: .seconds(60)))
        clock.advance(by: .milliseconds(59_999))
        try await service.grab(packet.id, user: "a")
        clock.advance(by: .milliseconds(1))
        await assertThrows({ try await self.service.grab(packet.id, user: "b") }, PacketError.expired(packet.id))
    }

    func testGrabbingUnknownThingsIsRejected() async throws {
        try await user("s", yuan("10"))
        let packet = try await service.send(.group(from: "s", total: yuan("1"), shares: 5))
        await assertThrows({ try await self.service.grab(PacketID("nope"), user: "s") }, PacketError.unknownPacket("nope"))
        await assertThrows({ try await self.service.grab(packet.id, user: "nobody") }, PacketError.unknownAccount("nobody"))
        await assertThrows({ try await self.open(PacketID("nope"), user: "s") }, PacketError.unknownPacket("nope"))
    }
}

final class OpenTests: PacketTestCase {
    func testOpeningWithoutGrabbingIsRejectedAndWritesNothing() async throws {
        try await user("s", yuan("10"))
        try await user("a")
        let packet = try await service.send(.group(from: "s", total: yuan("1"), shares: 5))
        let before = try snapshot()
        await assertThrows({ try await self.open(packet.id, user: "a") }, PacketError.notGrabbed(packet.id, user: "a"))
        XCTAssertEqual(try snapshot(), before)
    }

    func testOpeningAPersonalPacketCreditsTheWholeAmount() async throws {
        try await user("s", yuan("300"))
        try await user("r")
        let packet = try await service.send(.personal(from: "s", to: "r", amount: yuan("200")))
        try await service.grab(packet.id, user: "r")
        let result = try await open(packet.id, user: "r")
        XCTAssertFalse(result.wasReplay)
        XCTAssertNil(result.creditFailure)
        XCTAssertEqual(result.claim.amount, yuan("200"))
        XCTAssertEqual(result.claim.state, .credited)
        XCTAssertEqual(result.claim.creditedAt, clock.now())
        XCTAssertEqual(result.claim.attempts, 1)
        XCTAssertEqual(result.claim.id, ClaimID(packet: packet.id, slot: 1))
        XCTAssertEqual(try balance("r"), yuan("200"))
        XCTAssertEqual(try balance("s"), yuan("100"))
        XCTAssertEqual(try held(packet), .zero)
        XCTAssertEqual(try service.packet(packet.id).state, .finished)
        XCTAssertEqual(try ledger.transfer(id: result.claim.id.creditTransferID)?.amount, yuan("200"))
        try await assertAuditsClean()
    }

    func testOpeningTwiceReturnsTheSameClaim() async throws {
        try await user("s", yuan("10"))
        try await user("a")
        let packet = try await service.send(.group(from: "s", total: yuan("3"), shares: 3))
        try await service.grab(packet.id, user: "a")
        let first = try await open(packet.id, user: "a")
        let before = try snapshot()
        clock.advance(by: .seconds(5))
        let second = try await open(packet.id, user: "a")
        XCTAssertFalse(first.wasReplay)
        XCTAssertTrue(second.wasReplay)
        XCTAssertEqual(second.claim, first.claim)
        XCTAssertEqual(try snapshot(), before)
        XCTAssertEqual(try balance("a"), first.claim.amount)
    }

    func testEqualSplitOfAHundredIntoThree() async throws {
        try await user("s", yuan("100"))
        for name in ["a", "b", "c"] { try await user(name) }
        let packet = try await service.send(.group(from: "s", total: yuan("100.00"), shares: 3, equal: true))
        var amounts: [Money] = []
        for name in ["a", "b", "c"] {
            try await service.grab(packet.id, user: name)
            amounts.append(try await open(packet.id, user: name).claim.amount)
        }
        XCTAssertEqual(amounts, [yuan("33.34"), yuan("33.33"), yuan("33.33")])
        XCTAssertEqual(try balance("a"), yuan("33.34"))
        XCTAssertEqual(try balance("b"), yuan("33.33"))
        XCTAssertEqual(try balance("c"), yuan("33.33"))
        XCTAssertEqual(try balance("s"), .zero)
        XCTAssertEqual(try held(packet), .zero)
        XCTAssertEqual(try service.packet(packet.id).state, .finished)
        try await assertAuditsClean()
    }

    func testLuckySharesAreAtLeastAFenAndSumToTheTotal() async throws {
        try await user("s", yuan("1000"))
        let names = (0..<100).map { "u\($0)" }
        for name in names { try await user(name) }
        let packet = try await service.send(.group(from: "s", total: yuan("1.37"), shares: 100))
        var sum = Money.zero
        for name in names {
            try await service.grab(packet.id, user: name)
            let amount = try await open(packet.id, user: name).claim.amount
            XCTAssertGreaterThanOrEqual(amount, yuan("0.01"))
            XCTAssertEqual(try balance(name), amount)
            sum += amount
        }
        XCTAssertEqual(sum, yuan("1.37"))
        XCTAssertEqual(try held(packet), .zero)
        try await assertAuditsClean()
    }

    func testBestLuckIsTheLargestShareOnceAllAreOpened() async throws {
        try await user("s", yuan("100"))
        for name in ["a", "b", "c", "d"] { try await user(name) }
        let packet = try await service.send(.group(from: "s", total: yuan("10"), shares: 4))
        var claims: [Claim] = []
        for name in ["a", "b", "c", "d"] {
            try await service.grab(packet.id, user: name)
            claims.append(try await open(packet.id, user: name).claim)
            if claims.count < 4 { XCTAssertNil(try service.detail(packet.id).bestLuck, "no best luck until all are open") }
        }
        let detail = try service.detail(packet.id)
        XCTAssertEqual(detail.claims.map(\.id), claims.map(\.id))
        XCTAssertEqual(detail.claims.map(\.amount).reduce(.zero, +), yuan("10"))
        let best = claims.max { $0.amount < $1.amount || ($0.amount == $1.amount && $0.slot > $1.slot) }!
        XCTAssertEqual(detail.bestLuck, best.id)
    }

    func testEqualSharesTieForBestLuckGoesToTheEarliest() async throws {
        try await user("s", yuan("100"))
        for name in ["a", "b"] { try await user(name) }
        let packet = try await service.send(.group(from: "s", total: yuan("10"), shares: 2, equal: true))
        for name in ["a", "b"] {
            try await service.grab(packet.id, user: name)
            _ = try await open(packet.id, user: name)
        }
        XCTAssertEqual(try service.detail(packet.id).bestLuck, ClaimID(packet: packet.id, slot: 1))
    }

    func testSentAndReceivedListsAreNewestFirst() async throws {
        try await user("s", yuan("100"))
        try await user("r")
        let first = try await service.send(.personal(from: "s", to: "r", amount: yuan("1")))
        clock.advance(by: .seconds(1))
        let second = try await service.send(.group(from: "s", total: yuan("2"), shares: 1))
        clock.advance(by: .seconds(1))
        let third = try await service.send(.personal(from: "s", to: "r", amount: yuan("3")))
        for packet in [first, second, third] {
            clock.advance(by: .seconds(1))
            try await service.grab(packet.id, user: "r")
            _ = try await open(packet.id, user: "r")
        }
        let sentByS = try await service.sent(by: "s"), sentTwo = try await service.sent(by: "s", limit: 2)
        XCTAssertEqual(sentByS.map(\.id), [third.id, second.id, first.id])
        XCTAssertEqual(sentTwo.map(\.id), [third.id, second.id])
        let receivedByR = try await service.received(by: "r")
        XCTAssertEqual(receivedByR.map(\.packetID), [third.id, second.id, first.id])
        XCTAssertEqual(receivedByR.map(\.amount), [yuan("3"), yuan("2"), yuan("1")])
        let sentByR = try await service.sent(by: "r"), receivedByS = try await service.received(by: "s")
        XCTAssertEqual(sentByR, [])
        XCTAssertEqual(receivedByS, [])
        await assertThrows({ try await self.service.sent(by: "nobody") }, PacketError.unknownAccount("nobody"))
        await assertThrows({ try await self.service.received(by: "nobody") }, PacketError.unknownAccount("nobody"))
        XCTAssertEqual(try balance("r"), yuan("6"))
    }
}

final class ExpiryTests: PacketTestCase {
    func testExpiryRefundsExactlyTheUndrawnRemainder() async throws {
        try await user("s", yuan("100"))
        for name in ["a", "b", "c", "late"] { try await user(name) }
        let packet = try await service.send(.group(from: "s", total: yuan("10.00"), shares: 5, timeToLive: .seconds(60)))
        for name in ["a", "b", "c"] { try await service.grab(packet.id, user: name) }
        let opened = try await open(packet.id, user: "a").claim.amount
            + open(packet.id, user: "b").claim.amount
        let due1 = try await service.expireDue()
        XCTAssertEqual(due1, [], "not due yet")

        clock.advance(by: .seconds(60))
        let expired = try await service.expireDue()
        XCTAssertEqual(expired.map(\.id), [packet.id])
        let after = try XCTUnwrap(expired.first)
        XCTAssertEqual(after.state, .expired)
        XCTAssertEqual(after.refunded, yuan("10.00") - opened)
        XCTAssertEqual(after, try packetStore.packet(packet.id), "what the sweep returns is what is stored")
        XCTAssertFalse(after.refundPending)
        XCTAssertEqual(try balance("s"), yuan("90.00") + (yuan("10.00") - opened))
        XCTAssertEqual(try held(packet), .zero)
        let refund = try XCTUnwrap(try ledger.transfer(id: packet.id.refundTransferID))
        XCTAssertEqual(refund.amount, yuan("10.00") - opened)
        XCTAssertEqual(refund.to, packet.senderID)

        // Grabbed but not opened in time: too late. Never grabbed: too late.
        await assertThrows({ try await self.open(packet.id, user: "c") }, PacketError.expired(packet.id))
        await assertThrows({ try await self.service.grab(packet.id, user: "late") }, PacketError.expired(packet.id))
        // Already opened: still the same claim.
        let replay = try await open(packet.id, user: "a")
        XCTAssertTrue(replay.wasReplay)
        XCTAssertEqual(try balance("c"), .zero)

        let before = try snapshot()
        clock.advance(by: .seconds(3600))
        let due2 = try await service.expireDue()
        XCTAssertEqual(due2, [], "expiring twice refunds nothing more")
        XCTAssertEqual(try snapshot(), before)
        try await assertAuditsClean()
    }

    func testOpeningAfterExpiryBeforeTheSweepIsAlreadyTooLate() async throws {
        try await user("s", yuan("10"))
        try await user("a")
        let packet = try await service.send(.group(from: "s", total: yuan("1"), shares: 2, timeToLive: .seconds(10)))
        try await service.grab(packet.id, user: "a")
        clock.advance(by: .seconds(10))
        await assertThrows({ try await self.open(packet.id, user: "a") }, PacketError.expired(packet.id))
        XCTAssertEqual(try held(packet), yuan("1"))
        try await service.expireDue()
        XCTAssertEqual(try balance("s"), yuan("10"))
        try await assertAuditsClean()
    }

    func testAFullyOpenedPacketNeverExpires() async throws {
        try await user("s", yuan("10"))
        try await user("a")
        let packet = try await service.send(.group(from: "s", total: yuan("1"), shares: 1, timeToLive: .seconds(10)))
        try await service.grab(packet.id, user: "a")
        _ = try await open(packet.id, user: "a")
        clock.advance(by: .seconds(10))
        let due3 = try await service.expireDue()
        XCTAssertEqual(due3, [])
        XCTAssertEqual(try service.packet(packet.id).state, .finished)
        XCTAssertNil(try ledger.transfer(id: packet.id.refundTransferID))
        XCTAssertEqual(try balance("a"), yuan("1"))
    }

    func testExpiryOfAnUnopenedPacketRefundsEverythingAndOnlyDuePacketsExpire() async throws {
        try await user("s", yuan("10"))
        let short = try await service.send(.group(from: "s", total: yuan("3"), shares: 3, timeToLive: .seconds(10)))
        let long = try await service.send(.group(from: "s", total: yuan("4"), shares: 3, timeToLive: .seconds(20)))
        XCTAssertEqual(try service.nextExpiry(), short.expiresAt)
        clock.advance(by: .seconds(15))
        let due4 = try await service.expireDue()
        XCTAssertEqual(due4.map(\.id), [short.id])
        XCTAssertEqual(try balance("s"), yuan("6"))
        XCTAssertEqual(try service.packet(long.id).state, .open)
        XCTAssertEqual(try service.nextExpiry(), long.expiresAt)
        XCTAssertEqual(try service.openPackets().map(\.id), [long.id])
        try await assertAuditsClean()
    }

    func testExpiryHandlesMoreThanOneBatchOfDuePackets() async throws {
        try await user("s", yuan("1000"))
        for _ in 0..<300 {
            _ = try await service.send(.group(from: "s", total: yuan("1"), shares: 1, timeToLive: .seconds(5)))
        }
        XCTAssertEqual(try balance("s"), yuan("700"))
        clock.advance(by: .seconds(5))
        let due5 = try await service.expireDue()
        XCTAssertEqual(due5.count, 300)
        XCTAssertEqual(try balance("s"), yuan("1000"))
        XCTAssertEqual(try service.stats().expired, 300)
        try await assertAuditsClean()
    }
}
