import Crediting
import Ledger
import PostgresStores
import Primitives
import RedPackets
import TestKit
import XCTest

/// The red-packet store's contract: one test body each, run against `SQLitePacketStore` and
/// `PostgresPacketStore`. The store needs no ledger: accounts are values here.
enum PacketStoreContract {
    static func user(_ id: Int64, _ name: String) -> Account {
        Account(id: AccountID(id), name: name, kind: .user, balance: .zero, createdAt: Timestamp(millisecondsSinceEpoch: 0))
    }

    static let alice = user(10, "alice")
    static let bob = user(11, "bob")
    static let carol = user(12, "carol")

    static func draft(_ kind: PacketKind = .lucky, total: Int64 = 300, shares: Int = 3, recipient: AccountID? = nil,
                      ttl: Duration = .seconds(60)) -> PacketDraft {
        PacketDraft(kind: kind, senderID: alice.id, senderName: alice.name, recipientID: recipient,
                    total: Money(minorUnits: total), shares: shares, greeting: "恭喜发财", timeToLive: ttl)
    }

    /// Send, grab, draw, wait, credit: each step idempotent where the protocol says so; the books agree.
    static func lifeOfAPacket(_ store: any PacketStore, clock: ManualClock) async throws {
        let random = SeededRandomSource(seed: 7)
        let created = try await store.createPacket(draft(), random: random)
        XCTAssertEqual(created.state, .paying)
        await assertThrows({ try await store.grab(created.id, user: bob) }, PacketError.unknownPacket(created.id.rawValue))
        let paid = try await store.markPaid(created.id)
        XCTAssertEqual(paid.state, .open)
        let paidAgain = try await store.markPaid(created.id)
        XCTAssertEqual(paidAgain, paid)
        let bobSlot = try await store.grab(created.id, user: bob)
        let carolSlot = try await store.grab(created.id, user: carol)
        XCTAssertEqual([bobSlot, carolSlot], [1, 2])
        await assertThrows({ try await store.grab(created.id, user: bob) }, PacketError.alreadyGrabbed(created.id, user: "bob"))
        await assertThrows({ try await store.draw(created.id, user: alice, random: random) },
                           PacketError.notGrabbed(created.id, user: "alice"))
        clock.advance(by: .seconds(1))
        let drawn = try await store.draw(created.id, user: bob, random: random)
        XCTAssertFalse(drawn.wasReplay)
        XCTAssertEqual(drawn.claim.state, .crediting)
        XCTAssertEqual(drawn.claim.id, ClaimID(packet: created.id, slot: 1))
        let again = try await store.draw(created.id, user: bob, random: random)
        XCTAssertTrue(again.wasReplay)
        XCTAssertEqual(again.claim, drawn.claim)
        try await store.markWaiting(drawn.claim.id)
        XCTAssertEqual(try store.claim(drawn.claim.id)?.state, .waiting)
        XCTAssertEqual(try store.waitingClaims(matching: "bob", limit: 10, offset: 0).map(\.id), [drawn.claim.id])
        XCTAssertEqual(try store.waitingClaimCount(matching: nil), 1)
        XCTAssertEqual(try store.waitingClaimCount(matching: "carol"), 0)
        let totals = try store.uncreditedTotals(for: [bob.id, carol.id])
        XCTAssertEqual(totals[bob.id]?.amount, drawn.claim.amount)
        XCTAssertNil(totals[carol.id])
        let creditedAt = clock.now()
        try await store.markCredited(drawn.claim.id, at: creditedAt)
        try await store.markCredited(drawn.claim.id, at: creditedAt)
        // A claim no packet has: refused, and nothing written (the packet's credited amount below is one share).
        let stray = ClaimID(packet: created.id, slot: 9)
        await assertThrows({ try await store.markCredited(stray, at: creditedAt) }, PacketError.unknownPacket(stray.rawValue))
        // Too late: the claim stays credited.
        try await store.markWaiting(drawn.claim.id)
        let credited = try XCTUnwrap(try store.claim(drawn.claim.id))
        XCTAssertEqual(credited.state, .credited)
        XCTAssertEqual(credited.creditedAt, creditedAt)
        XCTAssertEqual(credited.attempts, 2)
        let packet = try XCTUnwrap(try store.packet(created.id))
        XCTAssertEqual(packet.creditedAmount, drawn.claim.amount)
        XCTAssertEqual(packet.opened, 1)
        XCTAssertEqual(packet.grabbed, 2)
        let amounts = try await store.creditedClaimAmounts()
        XCTAssertEqual(amounts, [drawn.claim.id: drawn.claim.amount])
        let held = try await store.totalHeld()
        XCTAssertEqual(held, Money(minorUnits: 300) - drawn.claim.amount)
        XCTAssertEqual(try store.received(by: bob.id, limit: 5).map(\.id), [drawn.claim.id])
        XCTAssertEqual(try store.sent(by: alice.id, limit: 5).map(\.id), [created.id])
        XCTAssertEqual(try store.claims(of: created.id).map(\.slot), [1])
        let stats = try store.stats()
        XCTAssertEqual(stats.open, 1)
        XCTAssertEqual(stats.claimsCredited, 1)
        XCTAssertEqual(stats.grabbedUnopened, 1)
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// A packet never paid is cancelled and never seen; a personal packet is its recipient's only; a full one
    /// is sold out; an expired one can be neither grabbed nor drawn.
    static func refusals(_ store: any PacketStore, clock: ManualClock) async throws {
        let random = SeededRandomSource(seed: 8)
        let unpaid = try await store.createPacket(draft(), random: random)
        try await store.cancel(unpaid.id)
        try await store.cancel(unpaid.id)
        XCTAssertEqual(try store.packet(unpaid.id)?.state, .cancelled)
        await assertThrows({ try await store.grab(unpaid.id, user: bob) }, PacketError.unknownPacket(unpaid.id.rawValue))
        XCTAssertEqual(try store.packetCount(matching: nil), 0)
        let personal = try await store.markPaid(try await store.createPacket(
            draft(.personal, total: 500, shares: 1, recipient: carol.id), random: random).id)
        await assertThrows({ try await store.grab(personal.id, user: bob) }, PacketError.notRecipient(personal.id, user: "bob"))
        let carolSlot = try await store.grab(personal.id, user: carol)
        XCTAssertEqual(carolSlot, 1)
        let drawn = try await store.draw(personal.id, user: carol, random: random)
        XCTAssertEqual(drawn.claim.amount, Money(minorUnits: 500))
        XCTAssertEqual(try store.packet(personal.id)?.state, .finished)
        let single = try await store.markPaid(try await store.createPacket(draft(total: 100, shares: 1), random: random).id)
        _ = try await store.grab(single.id, user: bob)
        await assertThrows({ try await store.grab(single.id, user: carol) }, PacketError.soldOut(single.id))
        let short = try await store.markPaid(try await store.createPacket(draft(ttl: .seconds(5)), random: random).id)
        _ = try await store.grab(short.id, user: bob)
        clock.advance(by: .seconds(6))
        await assertThrows({ try await store.grab(short.id, user: carol) }, PacketError.expired(short.id))
        await assertThrows({ try await store.draw(short.id, user: bob, random: random) }, PacketError.expired(short.id))
        XCTAssertEqual(try store.packetCount(matching: nil), 3)
        XCTAssertEqual(try store.packets(matching: "personal", limit: 10, offset: 0).map(\.id), [personal.id])
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// The count of open packets expiring by a time is of all of them (the dashboard's "expiring", which once
    /// counted them in a list of 12 and stopped there); paying, finished and expired packets are not in it.
    static func expiringSoonCountsEveryOpenPacket(_ store: any PacketStore, clock: ManualClock) async throws {
        let random = SeededRandomSource(seed: 11)
        let start = clock.now()
        XCTAssertEqual(try store.openPacketCount(expiringBy: start + .seconds(3_600)), 0)
        for _ in 0..<20 {
            _ = try await store.markPaid(try await store.createPacket(draft(ttl: .seconds(30)), random: random).id)
        }
        _ = try await store.markPaid(try await store.createPacket(draft(ttl: .seconds(90)), random: random).id)
        _ = try await store.createPacket(draft(ttl: .seconds(30)), random: random) // still paying
        let single = try await store.markPaid(try await store.createPacket(draft(total: 100, shares: 1, ttl: .seconds(30)),
                                                                           random: random).id)
        _ = try await store.grabAndDraw(single.id, user: bob, random: random) // finished
        XCTAssertEqual(try store.openPacketCount(expiringBy: start + .seconds(29)), 0)
        XCTAssertEqual(try store.openPacketCount(expiringBy: start + .seconds(60)), 20, "all twenty, not a page of them")
        XCTAssertEqual(try store.openPacketCount(expiringBy: start + .seconds(90)), 21)
        clock.advance(by: .seconds(31))
        _ = try await store.expireDue(limit: 100)
        XCTAssertEqual(try store.openPacketCount(expiringBy: clock.now() + .seconds(60)), 1, "the expired are not open")
    }

    /// Expiry records the undrawn remainder as refunded and pending; recovery sees it until `markRefunded`;
    /// an undraw gives a share back before expiry and is refused after.
    static func expiryAndUndraw(_ store: any PacketStore, clock: ManualClock) async throws {
        let random = SeededRandomSource(seed: 9)
        let packet = try await store.markPaid(try await store.createPacket(draft(.equal, total: 300, shares: 3,
                                                                                 ttl: .seconds(30)), random: random).id)
        XCTAssertEqual(try store.nextExpiry(), packet.expiresAt)
        XCTAssertEqual(try store.openPackets(limit: 5).map(\.id), [packet.id])
        _ = try await store.grab(packet.id, user: bob)
        _ = try await store.grab(packet.id, user: carol)
        let bobClaim = try await store.draw(packet.id, user: bob, random: random).claim
        let carolClaim = try await store.draw(packet.id, user: carol, random: random).claim
        XCTAssertEqual(bobClaim.amount, Money(minorUnits: 100))
        try await store.undraw(bobClaim.id)
        XCTAssertNil(try store.claim(bobClaim.id))
        XCTAssertEqual(try store.packet(packet.id)?.openedAmount, Money(minorUnits: 100))
        let none = try await store.expireDue(limit: 10)
        XCTAssertEqual(none, [])
        clock.advance(by: .seconds(31))
        let expired = try await store.expireDue(limit: 10)
        XCTAssertEqual(expired.map(\.id), [packet.id])
        XCTAssertEqual(expired.first?.refunded, Money(minorUnits: 200))
        XCTAssertEqual(expired.first?.refundPending, true)
        XCTAssertEqual(expired.first?.state, .expired)
        try await store.undraw(carolClaim.id)
        XCTAssertNotNil(try store.claim(carolClaim.id), "an undraw after expiry changed the books")
        let unsettled = try await store.unsettledPackets()
        XCTAssertEqual(unsettled.map(\.id), [packet.id])
        try await store.markRefunded(packet.id)
        let settled = try await store.unsettledPackets()
        XCTAssertEqual(settled, [])
        let uncredited = try await store.uncreditedClaims(in: .crediting, limit: 10)
        XCTAssertEqual(uncredited.map(\.id), [carolClaim.id])
        XCTAssertEqual(try store.uncreditedClaimsNow(in: nil, limit: 10).map(\.id), [carolClaim.id])
        let held = try await store.totalHeld()
        XCTAssertEqual(held, Money(minorUnits: 100))
        XCTAssertNil(try store.nextExpiry())
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// Grab and draw at once: the claim is the grab's slot, drawn now, and a later draw replays it; the refusals
    /// are the grab's, in its order (a user who grabbed before is "already grabbed", even sold out), and write
    /// nothing; `commits` is how many commits the store has made (one grab and draw is one).
    static func grabAndDraw(_ store: any PacketStore, clock: ManualClock, commits: () -> Int) async throws {
        let random = SeededRandomSource(seed: 11)
        let packet = try await store.markPaid(try await store.createPacket(draft(total: 300, shares: 2), random: random).id)
        let before = commits()
        let claim = try await store.grabAndDraw(packet.id, user: bob, random: random)
        XCTAssertEqual(commits() - before, 1, "a grab and draw took more than one commit")
        XCTAssertEqual(claim.id, ClaimID(packet: packet.id, slot: 1))
        XCTAssertEqual(claim.state, .crediting)
        XCTAssertEqual(try store.claim(claim.id), claim)
        let again = try await store.draw(packet.id, user: bob, random: random)
        XCTAssertTrue(again.wasReplay)
        XCTAssertEqual(again.claim, claim)
        let personal = try await store.markPaid(try await store.createPacket(
            draft(.personal, total: 500, shares: 1, recipient: carol.id), random: random).id)
        let short = try await store.markPaid(try await store.createPacket(draft(ttl: .seconds(5)), random: random).id)
        _ = try await store.grabAndDraw(packet.id, user: carol, random: random)
        let books = try store.claims(of: packet.id) + store.claims(of: personal.id) + store.claims(of: short.id)
        await assertThrows({ try await store.grabAndDraw(packet.id, user: bob, random: random) },
                           PacketError.alreadyGrabbed(packet.id, user: "bob"))
        await assertThrows({ try await store.grabAndDraw(packet.id, user: alice, random: random) },
                           PacketError.soldOut(packet.id))
        await assertThrows({ try await store.grabAndDraw(personal.id, user: bob, random: random) },
                           PacketError.notRecipient(personal.id, user: "bob"))
        await assertThrows({ try await store.grabAndDraw(PacketID("nope"), user: bob, random: random) },
                           PacketError.unknownPacket("nope"))
        clock.advance(by: .seconds(6))
        await assertThrows({ try await store.grabAndDraw(short.id, user: bob, random: random) }, PacketError.expired(short.id))
        XCTAssertEqual(try store.claims(of: packet.id) + store.claims(of: personal.id) + store.claims(of: short.id), books)
        XCTAssertEqual(try store.packet(short.id)?.grabbed, 0)
        let full = try XCTUnwrap(try store.packet(packet.id))
        XCTAssertEqual(full.grabbed, 2)
        XCTAssertEqual(full.opened, 2)
        XCTAssertEqual(full.openedAmount, Money(minorUnits: 300))
        XCTAssertEqual(full.state, .finished)
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// Twenty users race for ten shares: exactly ten grab and draw, the draws add up to the total, and the
    /// books agree.
    static func concurrentOpensNeverOverdraw(_ store: any PacketStore, clock: ManualClock) async throws {
        let random = SeededRandomSource(seed: 10)
        let packet = try await store.markPaid(try await store.createPacket(draft(total: 1_000, shares: 10), random: random).id)
        let users = (0..<20).map { user(100 + Int64($0), "u\($0)") }
        let claims = await withTaskGroup(of: Claim?.self) { group in
            for user in users {
                group.addTask {
                    guard (try? await store.grab(packet.id, user: user)) != nil else { return nil }
                    return try? await store.draw(packet.id, user: user, random: random).claim
                }
            }
            return await group.reduce(into: [Claim]()) { if let claim = $1 { $0.append(claim) } }
        }
        XCTAssertEqual(claims.count, 10)
        XCTAssertEqual(claims.reduce(Money.zero) { $0 + $1.amount }, Money(minorUnits: 1_000))
        XCTAssertEqual(Set(claims.map(\.slot)), Set(1...10))
        XCTAssertEqual(try store.packet(packet.id)?.state, .finished)
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }
}
