import AccountService
import Crediting
import Ledger
import Primitives
import RedPackets
import TestKit
import XCTest

/// ShareDraw is pure: thousands of seeded cases run in well under a second.
final class ShareDrawPropertyTests: XCTestCase {
    private let minShare = Limits.default.packets.minShare

    private func drawAll(_ kind: PacketKind, total: Int64, shares: Int, random: any RandomSource) -> [Int64] {
        var remaining = total
        var drawn: [Int64] = []
        for opened in 0..<shares {
            let share = ShareDraw.next(kind: kind, remaining: Money(minorUnits: remaining), sharesLeft: shares - opened,
                                       minShare: minShare, random: random).minorUnits
            drawn.append(share)
            remaining -= share
        }
        return drawn
    }

    func testLuckySharesAreEachAtLeastAFenAndSumExactlyToTheTotal() {
        let random = SeededRandomSource(seed: 8_888)
        let maxTotal = Limits.default.packets.maxGroupAmount.minorUnits
        for index in 0..<20_000 {
            let shares = Int(random.uniform(in: 1...100))
            // Bias a quarter of the cases to the tight end, where the minimum share binds.
            let total = index % 4 == 0 ? random.uniform(in: Int64(shares)...Int64(shares) * 3)
                                       : random.uniform(in: Int64(shares)...maxTotal)
            let draws = drawAll(.lucky, total: total, shares: shares, random: random)
            guard draws.allSatisfy({ $0 >= 1 }), draws.reduce(0, +) == total else {
                return XCTFail("case \(index): \(shares) shares of \(total) fen drew \(draws)")
            }
            // Double mean: every share but the last is below twice the mean of what was left (or the minimum).
            var remaining = total
            for (opened, share) in draws.enumerated().dropLast() {
                let left = Int64(shares - opened)
                guard share == 1 || share * left < 2 * remaining else {
                    return XCTFail("case \(index): share \(share) of \(remaining) with \(left) left breaks the double mean")
                }
                remaining -= share
            }
        }
    }

    func testLuckyDrawsAreDeterministicForASeed() {
        let a = drawAll(.lucky, total: 10_000, shares: 10, random: SeededRandomSource(seed: 1))
        let b = drawAll(.lucky, total: 10_000, shares: 10, random: SeededRandomSource(seed: 1))
        XCTAssertEqual(a, b)
        XCTAssertGreaterThan(Set(a).count, 1, "a lucky split is not all equal")
    }

    func testEqualSharesDifferByAtMostAFenAndSumExactly() {
        let random = SeededRandomSource(seed: 33)
        for index in 0..<5_000 {
            let shares = Int(random.uniform(in: 1...100))
            let total = random.uniform(in: Int64(shares)...2_000_000)
            let draws = drawAll(.equal, total: total, shares: shares, random: random)
            guard draws.reduce(0, +) == total, draws.max()! - draws.min()! <= 1, draws.min()! >= 1,
                  draws == draws.sorted(by: >) else {
                return XCTFail("case \(index): \(shares) shares of \(total) fen drew \(draws)")
            }
        }
    }

    func testPersonalTakesEverything() {
        XCTAssertEqual(ShareDraw.next(kind: .personal, remaining: Money(minorUnits: 12_345), sharesLeft: 1,
                                      minShare: minShare, random: SeededRandomSource(seed: 0)), Money(minorUnits: 12_345))
    }
}

/// Random sends, grabs, opens, clock advances and expiries against a real ledger; afterwards the books balance.
final class RandomWorkloadTests: PacketTestCase {
    func testRandomWorkloadKeepsTheBooksBalanced() async throws {
        try await runWorkload(seed: 2_026)
        XCTAssertEqual(try service.uncreditedClaims(), [])
    }

    /// The same kind of workload with an account system that fails a third of the credits: claims stay owed in
    /// escrow (the audit still holds), and crediting them afterwards settles every one exactly once.
    func testRandomWorkloadWithAFlakyAccountSystemSettlesAfterRecovery() async throws {
        service = PacketService(store: packetStore, accounts: ledger, limits: .default, random: SeededRandomSource(seed: 4))
        accountService = FlakyAccountService(ledger: ledger, seed: 99)
        try await runWorkload(seed: 7_777)
        let owed = try service.uncreditedClaims(limit: 10_000)
        XCTAssertFalse(owed.isEmpty, "the flaky account system never failed")
        let direct = DirectCredit(ledger: ledger, store: packetStore)
        for claim in owed {
            let before = try balance(claim.userName)
            let credited = try await direct.credit(claim.id)
            XCTAssertEqual(credited.claim.state, .credited)
            XCTAssertTrue(credited.appliedNow)
            XCTAssertEqual(try balance(claim.userName), before + claim.amount)
            let again = try await direct.credit(claim.id) // again: no effect
            XCTAssertFalse(again.appliedNow)
            XCTAssertEqual(try balance(claim.userName), before + claim.amount)
        }
        XCTAssertEqual(try service.uncreditedClaims(), [])
        for packet in try await packetStore.allPackets() {
            XCTAssertEqual(packet.held, .zero, "packet \(packet.id) still holds money")
        }
        XCTAssertEqual(try settlementBalance(), .zero)
        try await assertAuditsClean()
    }

    private func runWorkload(seed: UInt64) async throws {
        let random = SeededRandomSource(seed: seed)
        let users = (0..<12).map { "用户\($0)" }
        var deposited = Money.zero
        for name in users {
            let deposit = Money(minorUnits: random.uniform(in: 0...50_000))
            try await user(name, deposit.isPositive ? deposit : nil)
            deposited += deposit
        }
        var packets: [PacketID] = []
        var grabbed: [(PacketID, String)] = []
        var outcomes: [String: Int] = [:]
        func pick<T>(_ items: [T]) -> T { items[Int(random.uniform(in: 0...Int64(items.count - 1)))] }

        for _ in 0..<2_000 {
            let roll = random.uniform(in: 0...99)
            do {
                switch roll {
                case 0..<20:
                    let sender = pick(users)
                    let request: SendRequest
                    switch random.uniform(in: 0...2) {
                    case 0:
                        request = .personal(from: sender, to: pick(users), amount: Money(minorUnits: random.uniform(in: 1...25_000)),
                                            timeToLive: .seconds(random.uniform(in: 1...300)))
                    default:
                        request = .group(from: sender, total: Money(minorUnits: random.uniform(in: 1...10_000)),
                                         shares: Int(random.uniform(in: 1...12)), equal: random.uniform(in: 0...1) == 0,
                                         timeToLive: .seconds(random.uniform(in: 1...300)))
                    }
                    packets.append(try await service.send(request).id)
                case 20..<50 where !packets.isEmpty:
                    let packet = pick(Array(packets.suffix(20))), name = pick(users)
                    try await service.grab(packet, user: name)
                    grabbed.append((packet, name))
                case 50..<80 where !grabbed.isEmpty:
                    let (packet, name) = pick(Array(grabbed.suffix(30)))
                    _ = try await open(packet, user: name)
                case 80..<90 where !packets.isEmpty:
                    _ = try await open(pick(Array(packets.suffix(20))), user: pick(users)) // often not grabbed
                case 90..<97:
                    clock.advance(by: .seconds(random.uniform(in: 1...60)))
                default:
                    try await service.expireDue()
                }
                outcomes["ok", default: 0] += 1
            } catch let error as PacketError {
                outcomes[String("\(error)".prefix { $0 != "(" }), default: 0] += 1
            }
        }
        clock.advance(by: .seconds(301))
        try await service.expireDue()

        // The workload exercised the paths it is meant to.
        for path in ["ok", "soldOut", "alreadyGrabbed", "notGrabbed", "expired", "insufficientFunds", "sendToSelf"] {
            XCTAssertGreaterThan(outcomes[path, default: 0], 0, "\(path) never happened: \(outcomes)")
        }
        let totals = try ledger.totals()
        XCTAssertEqual(totals.sumOfBalances, .zero)
        XCTAssertEqual(totals.moneyIssued, deposited)
        try await assertAuditsClean()
        // Every packet is finished or expired; what users do not hold is owed to them from escrow.
        XCTAssertEqual(try service.openPackets(), [])
        let owed = try service.uncreditedClaims(limit: 10_000).map(\.amount).reduce(.zero, +)
        let userMoney = try users.map { try balance($0) }.reduce(.zero, +)
        XCTAssertEqual(userMoney + owed, deposited)
    }
}

/// Credits through the ledger, but fails about a third of the attempts (seeded, before touching the ledger).
final class FlakyAccountService: AccountService {
    struct Outage: Error {}
    private let direct: LedgerAccountService
    private let random: SeededRandomSource

    init(ledger: Ledger, seed: UInt64) {
        direct = LedgerAccountService(accounts: ledger)
        random = SeededRandomSource(seed: seed)
    }

    func credit(_ order: CreditOrder) async throws -> CreditOutcome {
        if random.uniform(in: 0...2) == 0 { throw Outage() }
        return try await direct.credit(order)
    }
}
