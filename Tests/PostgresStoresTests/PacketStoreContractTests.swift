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
final class PostgresPacketStoreContractTests: XCTestCase {
    nonisolated(unsafe) static var server: TestPostgresServer?
    nonisolated(unsafe) static var startError: (any Error)?
    private var pools: [PostgresPool] = []
    private let clock = ManualClock()

    override class func setUp() {
        do {
            server = try TestPostgresServer.start()
        } catch {
            startError = error
        }
    }

    override class func tearDown() {
        server?.stop()
        server = nil
    }

    override func tearDown() async throws {
        for pool in pools { await pool.close() }
        pools = []
    }

    private func running() throws -> TestPostgresServer {
        if let error = PostgresPacketStoreContractTests.startError { throw error }
        return try XCTUnwrap(PostgresPacketStoreContractTests.server)
    }

    private func store() async throws -> PostgresPacketStore {
        let pool = PostgresPool(settings: try running().freshDatabase())
        pools.append(pool)
        return try await PostgresPacketStore(pool: pool, clock: clock)
    }

    func testLifeOfAPacket() async throws { try await PacketStoreContract.lifeOfAPacket(try await store(), clock: clock) }
    func testRefusals() async throws { try await PacketStoreContract.refusals(try await store(), clock: clock) }
    func testExpiryAndUndraw() async throws { try await PacketStoreContract.expiryAndUndraw(try await store(), clock: clock) }
    func testConcurrentOpensNeverOverdraw() async throws {
        try await PacketStoreContract.concurrentOpensNeverOverdraw(try await store(), clock: clock)
    }
}
