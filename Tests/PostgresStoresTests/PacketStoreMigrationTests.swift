@testable import PostgresStores
import Primitives
import RedPackets
import TestKit
import XCTest

/// A red-packet database made by the previous version (the opened and credited amounts kept on the packet's
/// row, shares drawn at the open) is brought over in place when the store opens it.
final class PacketStoreMigrationTests: PostgresServerTestCase {
    func testAVersion2DatabaseIsBroughtOverInPlaceAndItsBooksStayTheSame() async throws {
        let server = try running()
        let pool = try freshPool()
        let database = pool.settings.database
        try await PostgresSchema.ensure("redpackets", tables: PostgresSchema.packetTables,
                                        steps: [PostgresSchema.packets, PostgresSchema.packetsGrab], on: pool)
        let far = Int64(4_000_000_000_000)
        // p1: lucky, 1,000 in 4; three grabbed, two opened (250 credited, 350 crediting). p2: equal, 200 in 2,
        // finished and credited. p3: expired with its refund pending.
        try server.psql("""
            INSERT INTO packet (id, kind, sender_id, sender_name, total, shares, greeting, created_at, expires_at,
                                grabbed, opened, opened_amount, credited_amount, refunded, refund_pending, state) VALUES
                ('p1', 'lucky', 10, 'alice', 1000, 4, 'hi', 0, \(far), 3, 2, 600, 250, 0, FALSE, 'open'),
                ('p2', 'equal', 10, 'alice', 200, 2, 'hi', 0, \(far), 2, 2, 200, 200, 0, FALSE, 'finished'),
                ('p3', 'lucky', 10, 'alice', 500, 5, 'hi', 0, 1, 1, 1, 100, 100, 400, TRUE, 'expired');
            INSERT INTO grab (packet_id, user_id, slot, grabbed_at, token) VALUES
                ('p1', 11, 1, 0, 1), ('p1', 12, 2, 0, 2), ('p1', 13, 3, 0, 3),
                ('p2', 11, 1, 0, 4), ('p2', 12, 2, 0, 5), ('p3', 11, 1, 0, 6);
            INSERT INTO claim (id, packet_id, user_id, user_name, slot, amount, state, opened_at, credited_at) VALUES
                ('p1.2', 'p1', 12, 'carol', 2, 250, 'credited', 0, 0), ('p1.1', 'p1', 11, 'bob', 1, 350, 'crediting', 0, NULL),
                ('p2.1', 'p2', 11, 'bob', 1, 100, 'credited', 0, 0), ('p2.2', 'p2', 12, 'carol', 2, 100, 'credited', 0, 0),
                ('p3.1', 'p3', 11, 'bob', 1, 100, 'credited', 0, 0);
            """, database: database)
        let store = try await PostgresPacketStore(pool: pool)
        XCTAssertEqual(try server.psql("SELECT version FROM hongbao_schema WHERE component = 'redpackets'",
                                       database: database), "4")
        let p1 = try XCTUnwrap(try store.packet(PacketID("p1")))
        XCTAssertEqual([p1.grabbed, p1.opened], [3, 2])
        XCTAssertEqual(p1.openedAmount, Money(minorUnits: 600))
        XCTAssertEqual(p1.creditedAmount, Money(minorUnits: 250))
        XCTAssertEqual(p1.state, .open)
        let p2 = try XCTUnwrap(try store.packet(PacketID("p2")))
        XCTAssertEqual(p2.state, .finished)
        XCTAssertEqual(p2.creditedAmount, Money(minorUnits: 200))
        let p3 = try XCTUnwrap(try store.packet(PacketID("p3")))
        XCTAssertEqual(p3.state, .expired)
        XCTAssertEqual(p3.refunded, Money(minorUnits: 400))
        let unsettled = try await store.unsettledPackets()
        XCTAssertEqual(unsettled.map(\.id), [PacketID("p3")])
        let held = try await store.totalHeld()
        XCTAssertEqual(held, Money(minorUnits: 1000 - 250))
        var audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
        // The opened grabs kept their claims' amounts; dave's grab, not opened, was given a share of what is left,
        // which his open draws; the last share takes the rest, so the packet's shares sum to its total.
        XCTAssertEqual(try server.psql("SELECT string_agg(slot || ':' || amount, ',' ORDER BY slot) FROM grab WHERE packet_id = 'p1' AND slot < 3",
                                       database: database), "1:350,2:250")
        let dave = PacketStoreContract.user(13, "dave")
        let erin = PacketStoreContract.user(14, "erin")
        let random = SeededRandomSource(seed: 17)
        let daveClaim = try await store.draw(PacketID("p1"), user: dave, random: random).claim
        XCTAssertEqual(daveClaim.slot, 3)
        XCTAssertEqual(try store.claims(of: PacketID("p1")).map(\.slot), [1, 2, 3])
        let erinSlot = try await store.grab(PacketID("p1"), user: erin)
        XCTAssertEqual(erinSlot, 4)
        let erinClaim = try await store.draw(PacketID("p1"), user: erin, random: random).claim
        XCTAssertEqual(daveClaim.amount + erinClaim.amount, Money(minorUnits: 400))
        XCTAssertEqual(try store.packet(PacketID("p1"))?.state, .finished)
        audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }
}
