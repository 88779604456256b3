import Ledger
import Primitives
import RedPackets
import TestKit
import XCTest

final class SendTests: PacketTestCase {
    func testSendingAPersonalPacketDebitsTheSenderIntoEscrowExactly() async throws {
        try await user("张三", yuan("500"))
        let recipient = try await user("李四")
        let packet = try await service.send(.personal(from: "张三", to: "李四", amount: yuan("88.88"), greeting: "新年快乐"))
        XCTAssertEqual(packet.kind, .personal)
        XCTAssertEqual(packet.total, Money(minorUnits: 8_888))
        XCTAssertEqual(packet.shares, 1)
        XCTAssertEqual(packet.recipientID, recipient.id)
        XCTAssertEqual(packet.senderName, "张三")
        XCTAssertEqual(packet.greeting, "新年快乐")
        XCTAssertEqual(packet.state, .open)
        XCTAssertEqual(packet.grabbed, 0)
        XCTAssertEqual(packet.opened, 0)
        XCTAssertEqual(packet.remaining, Money(minorUnits: 8_888))
        XCTAssertEqual(packet.createdAt, clock.now())
        XCTAssertEqual(packet.expiresAt, clock.now() + Limits.default.packets.defaultTimeToLive)
        XCTAssertEqual(try balance("张三"), Money(minorUnits: 41_112))
        XCTAssertEqual(try balance("李四"), .zero, "nothing reaches the recipient before open")
        XCTAssertEqual(try held(packet), Money(minorUnits: 8_888))
        let funding = try XCTUnwrap(try ledger.transfer(id: packet.id.fundingTransferID))
        XCTAssertEqual(funding.amount, Money(minorUnits: 8_888))
        XCTAssertEqual(funding.to, ledger.settlementAccountID)
        XCTAssertEqual(try settlementBalance(), Money(minorUnits: 8_888))
        XCTAssertEqual(try service.packet(packet.id), packet)
        try await assertAuditsClean()
    }

    func testTheUserAccountCountLeavesOutTheSettlementAccountAndTheMint() async throws {
        try await user("张三", yuan("500"))
        try await user("李四")
        _ = try await service.send(.group(from: "张三", total: yuan("10"), shares: 2, greeting: "新年快乐"))
        _ = try await service.send(.personal(from: "张三", to: "李四", amount: yuan("1"), greeting: "新年快乐"))
        let totals = try ledger.totals()
        XCTAssertEqual(totals.userAccountCount, 2, "people only")
        XCTAssertEqual(totals.accountCount, 4, "two people, the mint and the one settlement account for every packet")
    }

    func testSendingLuckyAndEqualPacketsDebitsTheExactTotal() async throws {
        try await user("a", yuan("1000"))
        let lucky = try await service.send(.group(from: "a", total: yuan("100.00"), shares: 10))
        let equal = try await service.send(.group(from: "a", total: yuan("0.03"), shares: 3, equal: true,
                                                  timeToLive: .seconds(30)))
        XCTAssertEqual(lucky.kind, .lucky)
        XCTAssertEqual(lucky.shares, 10)
        XCTAssertNil(lucky.recipientID)
        XCTAssertEqual(equal.kind, .equal)
        XCTAssertEqual(equal.expiresAt, clock.now() + .seconds(30))
        XCTAssertNotEqual(lucky.id, equal.id)
        XCTAssertEqual(try held(lucky), Money(minorUnits: 10_000))
        XCTAssertEqual(try held(equal), Money(minorUnits: 3))
        XCTAssertEqual(try balance("a"), Money(minorUnits: 100_000 - 10_000 - 3))
        try await assertAuditsClean()
    }

    func testTheLimitsThemselvesAreAccepted() async throws {
        try await user("a", yuan("50000"))
        try await user("b")
        _ = try await service.send(.personal(from: "a", to: "b", amount: yuan("200.00")))
        _ = try await service.send(.group(from: "a", total: yuan("1.00"), shares: 100, equal: true))
        _ = try await service.send(.group(from: "a", total: yuan("0.01"), shares: 1))
        _ = try await service.send(.group(from: "a", total: yuan("20000.00"), shares: 100))
        _ = try await service.send(.group(from: "a", total: yuan("1"), shares: 2, timeToLive: .seconds(1)))
        _ = try await service.send(.group(from: "a", total: yuan("1"), shares: 2, timeToLive: .seconds(7 * 24 * 3600)))
        XCTAssertEqual(try balance("a"), yuan("50000") - yuan("200") - yuan("1") - yuan("0.01") - yuan("20000") - yuan("2"))
        try await assertAuditsClean()
    }

    func testEveryInvalidSendThrowsItsTypedErrorAndWritesNothing() async throws {
        try await user("张三", yuan("300"))
        try await user("李四", yuan("1"))
        let packetLimits = Limits.default.packets
        let cases: [(SendRequest, PacketError)] = [
            (.group(from: "张三", total: .zero, shares: 1), .invalidAmount(.zero)),
            (.personal(from: "张三", to: "李四", amount: .zero), .invalidAmount(.zero)),
            (.group(from: "张三", total: Money(minorUnits: -100), shares: 1), .invalidAmount(Money(minorUnits: -100))),
            (.group(from: "张三", total: Limits.default.money.maxSingleAmount + Money(minorUnits: 1), shares: 1),
             .invalidAmount(Limits.default.money.maxSingleAmount + Money(minorUnits: 1))),
            (.group(from: "张三", total: yuan("20000.01"), shares: 10),
             .groupAmountTooLarge(yuan("20000.01"), max: packetLimits.maxGroupAmount)),
            (.personal(from: "张三", to: "李四", amount: yuan("200.01")),
             .personalAmountTooLarge(yuan("200.01"), max: yuan("200"))),
            (.group(from: "张三", total: yuan("10"), shares: 0), .sharesOutOfRange(0, min: 1, max: 100)),
            (.group(from: "张三", total: yuan("10"), shares: 101), .sharesOutOfRange(101, min: 1, max: 100)),
            (.group(from: "张三", total: yuan("10"), shares: -1, equal: true), .sharesOutOfRange(-1, min: 1, max: 100)),
            (.group(from: "张三", total: yuan("0.99"), shares: 100),
             .totalBelowMinimum(yuan("0.99"), shares: 100, minimum: yuan("0.01"))),
            (.group(from: "张三", total: yuan("0.02"), shares: 3, equal: true),
             .totalBelowMinimum(yuan("0.02"), shares: 3, minimum: yuan("0.01"))),
            (.personal(from: "张三", to: "张三", amount: yuan("1")), .sendToSelf),
            (.group(from: "张三", total: yuan("1"), shares: 1, timeToLive: .milliseconds(999)),
             .invalidTimeToLive(.milliseconds(999))),
            (.group(from: "张三", total: yuan("1"), shares: 1, timeToLive: .seconds(7 * 24 * 3600 + 1)),
             .invalidTimeToLive(.seconds(7 * 24 * 3600 + 1))),
            (.group(from: "张三", total: yuan("1"), shares: 1, greeting: String(repeating: "福", count: 65)),
             .invalidGreeting(reason: "it is longer than 64 characters")),
            (.group(from: "张三", total: yuan("1"), shares: 1, greeting: "hi\u{1B}[2J"),
             .invalidGreeting(reason: "it contains a control character (\\e)")),
            (.group(from: "张三", total: yuan("1"), shares: 1, greeting: "line\nbreak"),
             .invalidGreeting(reason: "it contains a control character (\\n)")),
            (.personal(from: "张三", to: "李四", amount: yuan("1"), greeting: "x\u{2028}y"),
             .invalidGreeting(reason: "it contains a line break")),
            (.personal(from: "张三", to: "李四", amount: yuan("1"), greeting: "evil\u{202E}abc"),
             .invalidGreeting(reason: "it contains an invisible or direction-changing character (U+202E)")),
            (.group(from: "nobody", total: yuan("1"), shares: 1), .unknownAccount("nobody")),
            (.group(from: "mint", total: yuan("1"), shares: 1), .unknownAccount("mint")),
            (.personal(from: "张三", to: "ghost", amount: yuan("1")), .unknownAccount("ghost")),
            (.personal(from: "张三", to: "mint", amount: yuan("1")), .unknownAccount("mint")),
            (.group(from: "张三", total: yuan("300.01"), shares: 5),
             .insufficientFunds(account: "张三", balance: yuan("300"), needed: yuan("300.01"))),
            (.personal(from: "李四", to: "张三", amount: yuan("1.01")),
             .insufficientFunds(account: "李四", balance: yuan("1"), needed: yuan("1.01"))),
        ]
        let before = try snapshot()
        for (request, error) in cases {
            await assertThrows({ try await self.service.send(request) }, error)
            switch error {
            case .unknownAccount, .insufficientFunds:
                XCTAssertNil(request.validate(limits: .default), "needs the accounts, not a pure rule: \(error)")
            default:
                XCTAssertEqual(request.validate(limits: .default), error, "the pure rule")
            }
        }
        XCTAssertEqual(try snapshot(), before)
        let awaited1 = try await service.sent(by: "张三")
        XCTAssertEqual(awaited1, [])
        try await assertAuditsClean()
    }

    func testTheSettlementAccountCannotSendOrReceive() async throws {
        try await user("a", yuan("10"))
        let packet = try await service.send(.group(from: "a", total: yuan("5"), shares: 1))
        let escrowName = Account.settlementName
        XCTAssertEqual(try settlementBalance(), yuan("5"))
        await assertThrows({ try await self.service.send(.group(from: escrowName, total: yuan("1"), shares: 1)) },
                           PacketError.unknownAccount(escrowName))
        await assertThrows({ try await self.service.send(.personal(from: "a", to: escrowName, amount: yuan("1"))) },
                           PacketError.unknownAccount(escrowName))
        XCTAssertEqual(try held(packet), yuan("5"))
    }
}

final class PacketIDAllocationTests: PacketTestCase {
    /// Ids are time-ordered with a short random part, so two sends in one second can draw the same one: the
    /// second must get another id, chosen inside its transaction.
    func testASecondSendThatDrawsATakenIdGetsAnother() async throws {
        try await user("a", yuan("100"))
        service = PacketService(store: packetStore, accounts: ledger, limits: .default, random: SeededRandomSource(seed: 5))
        let first = try await service.send(.group(from: "a", total: yuan("1"), shares: 1))
        service = PacketService(store: packetStore, accounts: ledger, limits: .default, random: SeededRandomSource(seed: 5))
        let second = try await service.send(.group(from: "a", total: yuan("1"), shares: 1))
        XCTAssertEqual(PacketID.generate(at: clock.now(), random: SeededRandomSource(seed: 5)), first.id,
                       "the first send took the seed's first id")
        XCTAssertNotEqual(first.id, second.id)
        XCTAssertEqual(first.id.rawValue.prefix(PacketID.timeCharacters), second.id.rawValue.prefix(PacketID.timeCharacters))
        XCTAssertEqual(try count("packet"), 2)
        try await assertAuditsClean()
    }
}
