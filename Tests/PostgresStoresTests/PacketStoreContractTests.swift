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
}

