import Ledger
import PostgresStores
import Primitives
import RedPackets
import TestKit
import XCTest

/// The red-packet store's contract on `SQLitePacketStore`.
final class SQLitePacketStoreContractTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var stores: [SQLitePacketStore] = []
    private let clock = ManualClock()

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-contract")
    }

    override func tearDown() {
        for store in stores { try? store.close() }
        directory?.remove()
    }

    private func store() throws -> SQLitePacketStore {
        let store = try SQLitePacketStore(path: directory.appending("packets-\(stores.count).sqlite"),
                                          durability: .normal, clock: clock)
        stores.append(store)
        return store
    }

    func testLifeOfAPacket() async throws { try await PacketStoreContract.lifeOfAPacket(try store(), clock: clock) }
    func testRefusals() async throws { try await PacketStoreContract.refusals(try store(), clock: clock) }
    func testExpiryAndUndraw() async throws { try await PacketStoreContract.expiryAndUndraw(try store(), clock: clock) }
    func testConcurrentOpensNeverOverdraw() async throws {
        try await PacketStoreContract.concurrentOpensNeverOverdraw(try store(), clock: clock)
    }
}

/// The red-packet store's contract on `PostgresPacketStore`, each test on a fresh database.
final class PostgresPacketStoreContractTests: PostgresServerTestCase {
    private let clock = ManualClock()

    private func store() async throws -> PostgresPacketStore {
        let pool = try freshPool()
        return try await PostgresPacketStore(pool: pool, clock: clock)
    }

    func testLifeOfAPacket() async throws { try await PacketStoreContract.lifeOfAPacket(try await store(), clock: clock) }
    func testRefusals() async throws { try await PacketStoreContract.refusals(try await store(), clock: clock) }
    func testExpiryAndUndraw() async throws { try await PacketStoreContract.expiryAndUndraw(try await store(), clock: clock) }
    func testConcurrentOpensNeverOverdraw() async throws {
        try await PacketStoreContract.concurrentOpensNeverOverdraw(try await store(), clock: clock)
    }

    /// A grab and a draw whose COMMITs are unclear (see `TestPostgresServer.withUnclearCommit`) are retried
    /// and come back as this call's own: the grab returns its slot (not "already grabbed"), the draw its claim
    /// as new (not a replay), once each; a second grab is still refused and a second draw is a replay.
    func testUnclearCommitsOfGrabAndDrawAreTheirOwn() async throws {
        let server = try running()
        let store = try await store()
        let database = store.pool.settings.database
        addTeardownBlock {
            _ = try? server.psql("ALTER SYSTEM RESET synchronous_standby_names")
            _ = try? server.psql("SELECT pg_reload_conf()")
        }
        let random = SeededRandomSource(seed: 12)
        let packet = try await store.markPaid(try await store.createPacket(PacketStoreContract.draft(), random: random).id)
        let bob = PacketStoreContract.bob
        let grab = try await server.withUnclearCommit(database: database) { try await store.grab(packet.id, user: bob) }
        XCTAssertTrue(grab.caughtWaiting, "no COMMIT waited for the standby")
        XCTAssertEqual(grab.value, 1)
        await assertThrows({ try await store.grab(packet.id, user: bob) }, PacketError.alreadyGrabbed(packet.id, user: "bob"))
        let draw = try await server.withUnclearCommit(database: database) {
            try await store.draw(packet.id, user: bob, random: random)
        }
        XCTAssertTrue(draw.caughtWaiting, "no COMMIT waited for the standby")
        XCTAssertFalse(draw.value.wasReplay, "the retried draw was taken for a second open")
        let again = try await store.draw(packet.id, user: bob, random: random)
        XCTAssertTrue(again.wasReplay)
        XCTAssertEqual(again.claim, draw.value.claim)
        XCTAssertEqual(try server.psql("SELECT COUNT(*) FROM claim", database: database), "1")
        XCTAssertEqual(try server.psql("SELECT grabbed || '/' || opened FROM packet", database: database), "1/1")
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// Three credited marks go in one group commit (one COMMIT for the three), whose COMMIT is made unclear:
    /// the batch is run again as a whole, and nothing is doubled: each claim is credited once (one attempt),
    /// and each packet's credited amount is its claims' sum once. An unknown claim in the same call fails
    /// alone.
    func testAnUnclearGroupCommitIsRetriedWithoutDoubling() async throws {
        let server = try running()
        let store = try await store()
        let database = store.pool.settings.database
        addTeardownBlock {
            _ = try? server.psql("ALTER SYSTEM RESET synchronous_standby_names")
            _ = try? server.psql("SELECT pg_reload_conf()")
        }
        let random = SeededRandomSource(seed: 14)
        let first = try await store.markPaid(try await store.createPacket(PacketStoreContract.draft(), random: random).id)
        let second = try await store.markPaid(try await store.createPacket(PacketStoreContract.draft(), random: random).id)
        var claims: [Claim] = []
        for (packet, user) in [(first, PacketStoreContract.bob), (first, PacketStoreContract.carol),
                               (second, PacketStoreContract.bob)] {
            _ = try await store.grab(packet.id, user: user)
            claims.append(try await store.draw(packet.id, user: user, random: random).claim)
        }
        let commitsBefore = store.groupCommitCount
        let at = clock.now()
        let marks = claims.map { ($0.id, at) } + [(ClaimID("nobody.1"), at)]
        let marked = try await server.withUnclearCommit(database: database) { await store.markCredited(marks) }
        XCTAssertTrue(marked.caughtWaiting, "no COMMIT waited for the standby")
        XCTAssertEqual(store.groupCommitCount - commitsBefore, 1, "the four marks were not one group commit")
        for result in marked.value.prefix(3) { XCTAssertNoThrow(try result.get()) }
        XCTAssertThrowsError(try marked.value[3].get()) { error in
            XCTAssertEqual(error as? PacketError, PacketError.unknownPacket("nobody.1"))
        }
        XCTAssertEqual(try server.psql("SELECT string_agg(state || ':' || attempts, ',' ORDER BY id) FROM claim",
                                       database: database), "credited:1,credited:1,credited:1")
        let expected = Dictionary(grouping: claims, by: \.packetID).mapValues { $0.reduce(Int64(0)) { $0 + $1.amount.minorUnits } }
        for (packet, amount) in expected {
            XCTAssertEqual(try server.psql("SELECT credited_amount FROM packet WHERE id = '\(packet.rawValue)'",
                                           database: database), "\(amount)")
        }
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }
}
