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
        let (pool, database) = try await packetDatabase(atVersion: 2)
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
                                       database: database), "13")
        XCTAssertEqual(try server.psql("SELECT reloptions::TEXT FROM pg_class WHERE relname = 'claim'", database: database),
                       "{fillfactor=50}", "version 10 leaves half of each new page of claims free for the marks")
        XCTAssertEqual(try server.psql("SELECT string_agg(id, ',' ORDER BY id) FROM claim_pending", database: database), "p1.1",
                       "version 7 found the claim not yet credited")
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
        // Version 5 dropped the grabs' and claims' foreign keys to the packets; the audit finds a stray.
        XCTAssertEqual(try server.psql("""
            SELECT COUNT(*) FROM pg_constraint WHERE conrelid IN ('grab'::regclass, 'claim'::regclass) AND contype = 'f'
            """, database: database), "0")
        _ = try server.psql("INSERT INTO grab (packet_id, user_id, slot, grabbed_at, amount) VALUES ('gone', 11, 1, 0, 5)",
                            database: database)
        audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit.map(\.code), ["packet.orphans"])
    }

    /// Version 5's batch (a grab that opens at once inserts its claim without `hb_draw`) answers every write as
    /// version 4's did and leaves the same rows, and so do version 6's (its waiting mark written so that it
    /// cannot take the partial index) and version 7's (the marks HOT, the triggers keeping `claim_pending`): the
    /// same batch run on a database at each version. It holds fresh
    /// grabs that open at once (one taking a packet's last share), one refused for each reason, one found by its
    /// token (the retry of an unclear commit, which draws through `hb_draw`), a plain grab, draws (of a grab made
    /// in the batch, of a share a grab opened in the batch, of nothing) and marks.
    func testTheBatchAnswersAndWritesAsVersion4Did() async throws {
        let server = try running()
        let far = Int64(4_000_000_000_000)
        let setup = [
            """
            INSERT INTO packet (id, kind, sender_id, sender_name, recipient_id, total, shares, greeting, created_at,
                                expires_at, grabbed, allotted, state) VALUES
                ('pa', 'lucky', 10, 'alice', NULL, 1000, 4, 'hi', 0, \(far), 2, 500, 'open'),
                ('pb', 'personal', 10, 'alice', 21, 100, 1, 'hi', 0, \(far), 0, 0, 'open'),
                ('pe', 'lucky', 10, 'alice', NULL, 100, 2, 'hi', 0, 5, 0, 0, 'open'),
                ('pp', 'lucky', 10, 'alice', NULL, 100, 2, 'hi', 0, \(far), 0, 0, 'paying')
            """,
            """
            INSERT INTO grab (packet_id, user_id, slot, grabbed_at, token, amount) VALUES
                ('pa', 30, 1, 0, 777, 300), ('pa', 31, 2, 0, 5, 200)
            """,
        ]
        // Grabs: 40 and 43 open pa's last two shares, 41 finds it sold out, 30 is the lost attempt found by its
        // token, 31 grabbed before with another token; 21 grabs pb (plain), 22 is not its recipient; pe expired;
        // pp not paid; nope unknown. Draws: 21's pb (grabbed in this batch), 40's pa (opened in it), 50 nothing.
        let batch = """
            SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', part, ord, status, slot, claim_id, amount, state,
                                     opened_at, credited_at, attempts), ',' ORDER BY part, ord, claim_id)
            FROM hb_packet_batch(
                ARRAY['pa', 'pa', 'pa', 'pa', 'pa', 'pb', 'pb', 'pe', 'pp', 'nope']::TEXT[],
                ARRAY[40, 30, 43, 41, 31, 21, 22, 40, 40, 40]::BIGINT[],
                ARRAY['u40', 'u30', 'u43', 'u41', 'u31', 'u21', 'u22', 'u40', 'u40', 'u40']::TEXT[],
                ARRAY[1, 777, 3, 4, 6, 7, 8, 9, 10, 11]::BIGINT[],
                ARRAY[123456789, 5, 987654321, 42, 43, 44, 45, 46, 47, 48]::BIGINT[],
                ARRAY[true, true, true, true, true, false, true, true, true, true]::BOOLEAN[],
                ARRAY['pb', 'pa', 'pa']::TEXT[], ARRAY[21, 40, 50]::BIGINT[], ARRAY['u21', 'u40', 'u50']::TEXT[],
                ARRAY[12, 13, 14]::BIGINT[],
                ARRAY['pa.3', 'zz.1']::TEXT[], ARRAY[1500, 1500]::BIGINT[], ARRAY['pb.1']::TEXT[], 1000, 1)
            """
        let tables = [
            """
            SELECT string_agg(format('%s:%s:%s:%s:%s:%s', packet_id, user_id, slot, grabbed_at, token, amount), ','
                              ORDER BY packet_id, user_id) FROM grab
            """,
            """
            SELECT string_agg(format('%s:%s:%s:%s:%s:%s:%s:%s:%s:%s:%s', id, packet_id, user_id, user_name, slot, amount,
                                     state, opened_at, credited_at, attempts, token), ',' ORDER BY id) FROM claim
            """,
            "SELECT string_agg(format('%s:%s:%s:%s', id, grabbed, allotted, state), ',' ORDER BY id) FROM packet",
        ]
        let versions = [4, 5, 6, 7]
        var seen: [[String]] = []
        for version in versions {
            let (_, database) = try await packetDatabase(atVersion: version)
            for statement in setup { _ = try server.psql(statement, database: database) }
            seen.append([try server.psql(batch, database: database)]
                + (try tables.map { try server.psql($0, database: database) }))
            if version >= 7 {
                // The claims drawn and not credited (pa.1 found by its token, pa.4, pb.1 marked waiting); pa.3 was
                // credited in the same batch.
                XCTAssertEqual(try server.psql("SELECT string_agg(id, ',' ORDER BY id) FROM claim_pending", database: database),
                               "pa.1,pa.4,pb.1")
            }
        }
        XCTAssertEqual(seen[0], seen[1])
        XCTAssertEqual(seen[1], seen[2])
        XCTAssertEqual(seen[2], seen[3])
        let answer = seen[1][0]
        for expected in ["grab+draw|1|drawn|3|pa.3|", "grab+draw|2|drawn|1|pa.1|300|crediting|1000||0",
                         "grab+draw|3|drawn|4|pa.4|", "grab|4|sold_out||", "grab|5|already||",
                         "grab|6|ok|1|", "grab|7|not_recipient||", "grab|8|expired||", "grab|9|unknown||",
                         "grab|10|unknown||", "draw|1|drawn|1|pb.1|100|crediting",
                         "draw|2|existing|3|pa.3|", "draw|3|not_grabbed||", "credited||||pa.3|"] {
            XCTAssertTrue(answer.contains(expected), "\(expected) not in \(answer)")
        }
        // pa's four shares were all allotted (its total), pa.3 was credited, pb.1 is waiting.
        XCTAssertTrue(seen[1][3].contains("pa:4:1000:open"), seen[1][3])
        XCTAssertTrue(seen[1][2].contains("pa.3:pa:40:u40:3:"), seen[1][2])
        XCTAssertTrue(seen[1][2].contains(":credited:1000:1500:1:1"), seen[1][2])
        XCTAssertTrue(seen[1][2].contains("pb.1:pb:21:u21:1:100:waiting:1000::1:12"), seen[1][2])
    }

    /// The batch's credited and waiting marks find their claims by the primary key when the statistics say that
    /// no claim is uncredited (analyzed after a quiet spell, then a load began). With version 5's index (`WHERE
    /// state <> 'credited'`) the planner took the partial index for them and hashed all of it in every batch: here
    /// that is 2 scans of `claim_uncredited` in the transaction, where version 6 makes none. (Version 7 drops the
    /// index: below.)
    func testTheBatchsMarksFindTheirClaimsByKeyWhateverTheStatisticsSay() async throws {
        let server = try running()
        let (_, database) = try await packetDatabase(atVersion: 6)
        try server.psql("""
            INSERT INTO claim (id, packet_id, user_id, user_name, slot, amount, state, opened_at, credited_at)
            SELECT 'old.' || g, 'old', g, 'u', g, 1, 'credited', 0, 0 FROM generate_series(1, 5000) g;
            ANALYZE claim;
            INSERT INTO claim (id, packet_id, user_id, user_name, slot, amount, state, opened_at)
            SELECT 'new.' || g, 'new', g, 'u', g, 1, 'crediting', 0 FROM generate_series(1, 40) g
            """, database: database)
        // One transaction (psql -c): 20 credited marks and 20 waiting marks (20 rows answered), then the index
        // scans it made.
        let answers = try server.psql("""
            SELECT COUNT(*) FROM hb_packet_batch('{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',
                ARRAY(SELECT 'new.' || g FROM generate_series(1, 20) g), ARRAY(SELECT 7::BIGINT FROM generate_series(1, 20)),
                ARRAY(SELECT 'new.' || g FROM generate_series(21, 40) g), 1, 1);
            SELECT pg_stat_get_xact_numscans('claim_uncredited'::regclass) || ' ' || (pg_stat_get_xact_numscans('claim_pkey'::regclass) > 0)
            """, database: database)
        XCTAssertEqual(answers.split(separator: "\n"), ["20", "0 true"],
                       "rows answered; scans of claim_uncredited, and whether the primary key was used")
        XCTAssertEqual(try server.psql("SELECT string_agg(state || ':' || COUNT, ',' ORDER BY state) FROM (SELECT state, COUNT(*) FROM claim WHERE id LIKE 'new.%' GROUP BY state) s",
                                       database: database), "credited:20,waiting:20")
        // The reads that want the claims still uncredited take the index.
        XCTAssertEqual(try server.psql("""
            SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT state, COUNT(*) FROM claim WHERE state IN ('crediting', 'waiting') GROUP BY state
            """, database: database).contains("claim_uncredited"), true)
    }

    /// Version 7: a mark changes no indexed column of `claim`, so on a page with room it is a HOT update (no index
    /// entry written), and `claim_pending` holds exactly the claims not yet credited, whichever statement changed
    /// them: the batch's claim insert and marks, `hb_draw`, a delete (undraw) and a hand-written update. A drift
    /// is an audit violation (`claim.pending`).
    func testTheMarksAreHOTUpdatesAndClaimPendingFollowsEveryWrite() async throws {
        let server = try running()
        let pool = try freshPool()
        let database = pool.settings.database
        let store = try await PostgresPacketStore(pool: pool)
        XCTAssertEqual(try server.psql("SELECT reloptions::TEXT FROM pg_class WHERE relname = 'claim'", database: database),
                       "{fillfactor=50}")
        XCTAssertEqual(try server.psql("""
            SELECT COUNT(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = 'claim'::regclass AND a.attname IN ('state', 'credited_at', 'attempts')
            """, database: database), "0", "no index names a column that a mark changes")
        let far = Int64(4_000_000_000_000)
        try server.psql("""
            INSERT INTO packet (id, kind, sender_id, sender_name, total, shares, greeting, created_at, expires_at, state)
            VALUES ('pa', 'equal', 10, 'alice', 1200, 12, 'hi', 0, \(far), 'open');
            """, database: database)
        // Eleven grabs that open at once in one batch (the batch's claim INSERT), then a draw through hb_draw.
        let users = (1...11).map { "\($0)" }.joined(separator: ", ")
        let names = (1...11).map { "'u\($0)'" }.joined(separator: ", ")
        _ = try server.psql("""
            SELECT COUNT(*) FROM hb_packet_batch(
                ARRAY(SELECT 'pa'::TEXT FROM generate_series(1, 11)), ARRAY[\(users)]::BIGINT[],
                ARRAY[\(names)]::TEXT[], ARRAY(SELECT g::BIGINT FROM generate_series(1, 11) g),
                ARRAY(SELECT g::BIGINT FROM generate_series(1, 11) g), ARRAY(SELECT TRUE FROM generate_series(1, 11)),
                '{}', '{}', '{}', '{}', '{}', '{}', '{}', 100, 1)
            """, database: database)
        let pending = "SELECT COUNT(*) || ':' || COALESCE(string_agg(id, ',' ORDER BY id), '') FROM claim_pending"
        XCTAssertEqual(try server.psql(pending, database: database), "11:pa.1,pa.10,pa.11,pa.2,pa.3,pa.4,pa.5,pa.6,pa.7,pa.8,pa.9")
        // Eight credited marks and two waiting marks in one batch: HOT, and the credited leave claim_pending.
        let marks = try server.psql("""
            SELECT COUNT(*) FROM hb_packet_batch('{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',
                ARRAY(SELECT 'pa.' || g FROM generate_series(1, 8) g), ARRAY(SELECT 7::BIGINT FROM generate_series(1, 8)),
                ARRAY['pa.9', 'pa.10'], 1, 1);
            SELECT pg_stat_get_xact_tuples_updated('claim'::regclass) || ' ' || pg_stat_get_xact_tuples_hot_updated('claim'::regclass)
            """, database: database)
        XCTAssertEqual(marks.split(separator: "\n"), ["8", "10 10"], "rows answered; claims updated, of them HOT")
        XCTAssertEqual(try server.psql(pending, database: database), "3:pa.10,pa.11,pa.9")
        var audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
        // The last share through hb_draw (a grab, then a draw of its own), an undraw's delete, and an update by hand.
        _ = try server.psql("SELECT * FROM hb_grab('pa', 12, 100, 12, 1, 12)", database: database)
        _ = try server.psql("SELECT status FROM hb_draw('pa', 12, 'u12', 100, 12)", database: database)
        XCTAssertEqual(try server.psql(pending, database: database), "4:pa.10,pa.11,pa.12,pa.9")
        _ = try server.psql("DELETE FROM claim WHERE id = 'pa.11'", database: database)
        _ = try server.psql("UPDATE claim SET state = 'credited' WHERE id = 'pa.9'", database: database)
        _ = try server.psql("UPDATE claim SET state = 'waiting' WHERE id = 'pa.1'", database: database)
        XCTAssertEqual(try server.psql(pending, database: database), "3:pa.1,pa.10,pa.12")
        // Twelve claims made, one deleted: the tally the screen reads says 11, as a count of the claims does.
        XCTAssertEqual(try server.psql("SELECT SUM(claims) FROM claim_tally", database: database), "11")
        let stats = try store.stats()
        XCTAssertEqual(stats.claimsCredited + stats.claimsCrediting + stats.claimsWaiting, 11)
        XCTAssertEqual(stats.claimsWaiting, 2)
        let waiting = try await store.uncreditedClaims(in: .waiting, limit: 10)
        XCTAssertEqual(Set(waiting.map(\.id.rawValue)), ["pa.1", "pa.10"])
        // A pending id removed behind the triggers' back, and one that names nothing: both reported.
        _ = try server.psql("""
            ALTER TABLE claim DISABLE TRIGGER claim_pending_update;
            UPDATE claim SET state = 'waiting' WHERE id = 'pa.2';
            ALTER TABLE claim ENABLE TRIGGER claim_pending_update;
            INSERT INTO claim_pending (id) VALUES ('nothing.1')
            """, database: database)
        audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit.map(\.code), ["claim.pending"])
        XCTAssertTrue(audit.first?.detail.hasPrefix("1 claims not yet credited are missing from claim_pending, which names 1 ") == true,
                      audit.first?.detail ?? "")
        // A tally that has drifted from the claims: reported too.
        _ = try server.psql("UPDATE claim_tally SET claims = claims - 1 WHERE backend = 0", database: database)
        audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(Set(audit.map(\.code)), ["claim.pending", "claim.tally"])
        XCTAssertEqual(audit.first { $0.code == "claim.tally" }?.detail,
                       "claim_tally counts 10 claims and there are 11: the screen's opened count is wrong")
    }

    /// Version 13 counts a database's packets by state into `packet_tally`, and from then on the triggers keep it
    /// through inserts, changes of state (and only those) and deletes; the packets pane's total and `stats` read
    /// it, and the audit reports a drift (`packet.tally`).
    func testThePacketTallyStartsFromThePacketsThereAreAndFollowsEveryChangeOfState() async throws {
        let server = try running()
        let (pool, database) = try await packetDatabase(atVersion: 12)
        let far = Int64(4_000_000_000_000)
        try server.psql("""
            INSERT INTO packet (id, kind, sender_id, sender_name, total, shares, greeting, created_at, expires_at, state)
            SELECT 'old' || g, 'equal', 10, 'alice', 100, 1, 'hi', 0, \(far),
                   (ARRAY['open', 'finished', 'expired', 'cancelled', 'paying'])[1 + g % 5]
            FROM generate_series(1, 10) g;
            """, database: database)
        let store = try await PostgresPacketStore(pool: pool)
        let tally = "SELECT string_agg(state || ' ' || n, ', ' ORDER BY state) FROM (SELECT state, SUM(packets) n FROM packet_tally GROUP BY state) t"
        XCTAssertEqual(try server.psql(tally, database: database),
                       "cancelled 2, expired 2, finished 2, open 2, paying 2")
        try server.psql("""
            INSERT INTO packet (id, kind, sender_id, sender_name, total, shares, greeting, created_at, expires_at, state)
            SELECT 'new' || g, 'equal', 10, 'alice', 100, 1, 'hi', 0, \(far), 'paying' FROM generate_series(1, 3) g;
            UPDATE packet SET state = 'open' WHERE id IN ('new1', 'new2');
            UPDATE packet SET state = 'cancelled' WHERE id = 'new3';
            UPDATE packet SET state = 'finished' WHERE id = 'new1';
            UPDATE packet SET grabbed = 1 WHERE id = 'new2';
            UPDATE packet SET state = state WHERE id = 'old1';
            DELETE FROM packet WHERE id = 'old5';
            """, database: database)
        let counted = "SELECT string_agg(state || ' ' || n, ', ' ORDER BY state) FROM (SELECT state, COUNT(*) n FROM packet GROUP BY state) t"
        XCTAssertEqual(try server.psql(counted, database: database), "cancelled 3, expired 2, finished 3, open 2, paying 2")
        XCTAssertEqual(try server.psql(tally, database: database), try server.psql(counted, database: database))
        XCTAssertEqual(try store.packetCount(matching: nil), 7, "open, finished and expired: not paying or cancelled")
        let stats = try store.stats()
        XCTAssertEqual([stats.open, stats.finished, stats.expired, stats.paying], [2, 3, 2, 2])
        var audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertFalse(audit.map(\.code).contains("packet.tally"), "\(audit)")
        // Folded: the ended psql session's rows (one per state it moved a packet to or from) go into row 0's.
        let rowsBefore = try server.psql("SELECT COUNT(*) FROM packet_tally WHERE backend <> 0", database: database)
        XCTAssertNotEqual(rowsBefore, "0")
        let folded = try await store.foldTallies()
        XCTAssertEqual(folded, Int(rowsBefore))
        XCTAssertEqual(try server.psql("SELECT COUNT(*) FROM packet_tally WHERE backend <> 0", database: database), "0")
        XCTAssertEqual(try server.psql(tally, database: database), try server.psql(counted, database: database))
        audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertFalse(audit.map(\.code).contains("packet.tally"), "\(audit)")
        _ = try server.psql("UPDATE packet_tally SET packets = packets + 1 WHERE backend = 0 AND state = 'expired'",
                            database: database)
        audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit.first { $0.code == "packet.tally" }?.detail,
                       "packet_tally counts other packets than there are (state, tallied against counted): expired 3 against 2")
    }

    /// Version 12 counts the claims a database already has into `claim_tally`, and from then on the triggers keep
    /// it: each batch's claims added on its backend's row, in transactions on several connections at once.
    func testTheClaimTallyStartsFromTheClaimsThereAreAndFollowsEveryBatch() async throws {
        let server = try running()
        let (pool, database) = try await packetDatabase(atVersion: 11)
        let far = Int64(4_000_000_000_000)
        try server.psql("""
            INSERT INTO packet (id, kind, sender_id, sender_name, total, shares, greeting, created_at, expires_at, state)
            SELECT 'p' || g, 'equal', 10, 'alice', 1000, 10, 'hi', 0, \(far), 'open' FROM generate_series(1, 4) g;
            """, database: database)
        func openAll(_ packet: String, users: ClosedRange<Int>) throws {
            let ids = users.map(String.init).joined(separator: ", ")
            let names = users.map { "'u\($0)'" }.joined(separator: ", ")
            _ = try server.psql("""
                SELECT COUNT(*) FROM hb_packet_batch(
                    ARRAY(SELECT '\(packet)'::TEXT FROM generate_series(1, \(users.count))), ARRAY[\(ids)]::BIGINT[],
                    ARRAY[\(names)]::TEXT[], ARRAY[\(ids)]::BIGINT[], ARRAY[\(ids)]::BIGINT[],
                    ARRAY(SELECT TRUE FROM generate_series(1, \(users.count))),
                    '{}', '{}', '{}', '{}', '{}', '{}', '{}', 100, 1)
                """, database: database)
        }
        try openAll("p1", users: 1...7)
        let store = try await PostgresPacketStore(pool: pool)
        XCTAssertEqual(try server.psql("SELECT version FROM hongbao_schema WHERE component = 'redpackets'",
                                       database: database), "13")
        XCTAssertEqual(try server.psql("SELECT backend || ':' || claims FROM claim_tally", database: database), "0:7")
        try openAll("p2", users: 1...10)
        try openAll("p3", users: 1...3)
        try openAll("p3", users: 1...3) // the same grabs again: nothing new, nothing counted
        XCTAssertEqual(try server.psql("SELECT SUM(claims) || ' ' || COUNT(*) FROM claim_tally", database: database),
                       "20 3", "row 0 and one row for each of the two psql sessions that inserted claims")
        XCTAssertEqual(try server.psql("SELECT COUNT(*) FROM claim", database: database), "20")
        var audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])

        // The psql sessions have ended: their rows are folded into row 0, the sum unchanged. A session still
        // connected keeps its row, and a row is made afresh by a session whose row was folded.
        let live = try await pool.rows("INSERT INTO claim_tally (backend, claims) VALUES (pg_backend_pid(), 0) RETURNING backend")
            .first?.decode(Int32.self) ?? 0
        let folded = try await store.foldTallies()
        XCTAssertEqual(folded, 2)
        XCTAssertEqual(try server.psql("SELECT string_agg(backend || ':' || claims, ',' ORDER BY backend) FROM claim_tally",
                                       database: database), "0:20,\(live):0")
        let foldedAgain = try await store.foldTallies()
        XCTAssertEqual(foldedAgain, 0, "nothing more to fold")
        try openAll("p4", users: 1...2)
        XCTAssertEqual(try server.psql("SELECT SUM(claims) || ' ' || COUNT(*) FROM claim_tally", database: database), "22 3")
        audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// A reading command (`create: false`) changes nothing, so a database at an older version is refused with a
    /// clear message rather than read with this version's statements.
    func testAReaderRefusesAnOlderVersionAndLeavesItAsItIs() async throws {
        let server = try running()
        let (pool, database) = try await packetDatabase(atVersion: 6)
        do {
            _ = try await PostgresPacketStore(pool: pool, create: false)
            XCTFail("a reader opened a version 6 database")
        } catch let PostgresStoreError.missing(message) {
            XCTAssertTrue(message.contains("is at version 6 and this program reads version 13"), message)
        }
        XCTAssertEqual(try server.psql("SELECT version FROM hongbao_schema WHERE component = 'redpackets'",
                                       database: database), "6")
        XCTAssertEqual(try server.psql("SELECT to_regclass('claim_pending') IS NULL", database: database), "t")
    }

    /// The triggers' deletes take `claim_pending`'s primary key whatever its statistics say. Analyzed empty, then
    /// 3,000 claims drawn: a batch of 20 credited marks makes no sequential scan of it. Written as a join, the plan
    /// hashed the transition table and read all of `claim_pending` (1 scan here; 726 in a 20 s load).
    func testTheTriggersFindPendingClaimsByKeyWhateverTheStatisticsSay() async throws {
        let server = try running()
        let pool = try freshPool()
        let database = pool.settings.database
        _ = try await PostgresPacketStore(pool: pool)
        try server.psql("ANALYZE claim_pending", database: database)
        try server.psql("""
            INSERT INTO claim (id, packet_id, user_id, user_name, slot, amount, state, opened_at)
            SELECT 'n.' || g, 'n', g, 'u', g, 1, 'crediting', 0 FROM generate_series(1, 3000) g
            """, database: database)
        let answers = try server.psql("""
            SELECT COUNT(*) FROM hb_packet_batch('{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',
                ARRAY(SELECT 'n.' || g FROM generate_series(1, 20) g), ARRAY(SELECT 7::BIGINT FROM generate_series(1, 20)),
                '{}', 1, 1);
            SELECT pg_stat_get_xact_numscans('claim_pending'::regclass) || ' '
                || (pg_stat_get_xact_numscans('claim_pending_pkey'::regclass) > 0)
            """, database: database)
        XCTAssertEqual(answers.split(separator: "\n"), ["20", "0 true"],
                       "rows answered; sequential scans of claim_pending, and whether its primary key was used")
        XCTAssertEqual(try server.psql("SELECT COUNT(*) FROM claim_pending", database: database), "2980")
    }

    /// The batch's statements find their rows by key even when the server process made their plans while the
    /// tables were small: on a new database, the plans a process keeps (generic ones, after five custom plans)
    /// were made on the load's first few hundred rows and kept while the tables grew. Here one session calls the
    /// batch ten times on tables analyzed empty, then 3,000 claims and grabs arrive, and a batch of credited and
    /// waiting marks and a grab follows: no sequential scan of `claim` or `grab`. Before version 8 it scanned
    /// `claim` twice.
    func testTheBatchFindsItsRowsByKeyWhenItsPlansWereMadeOnSmallTables() async throws {
        let server = try running()
        let pool = try freshPool()
        let database = pool.settings.database
        _ = try await PostgresPacketStore(pool: pool)
        let answers = try server.psql("""
            ANALYZE packet; ANALYZE grab; ANALYZE claim; ANALYZE claim_pending;
            SELECT COUNT(*) FROM generate_series(1, 10) i,
                LATERAL hb_packet_batch('{x}', '{1}', '{u}', ARRAY[i::BIGINT], '{1}', '{f}', '{}', '{}', '{}', '{}',
                                        '{x.1}', '{7}', '{x.2}', 1, 1);
            INSERT INTO packet (id, kind, sender_id, sender_name, total, shares, greeting, created_at, expires_at,
                                grabbed, allotted, state)
            SELECT 'n' || g, 'lucky', 1, 's', 100, 1, 'hi', 0, 4102444800000, 1, 100, 'open' FROM generate_series(1, 3000) g;
            INSERT INTO grab (packet_id, user_id, slot, grabbed_at, token, amount)
            SELECT 'n' || g, g, 1, 0, g, 100 FROM generate_series(1, 3000) g;
            INSERT INTO claim (id, packet_id, user_id, user_name, slot, amount, state, opened_at)
            SELECT 'n' || g || '.1', 'n' || g, g, 'u', 1, 100, 'crediting', 0 FROM generate_series(1, 3000) g;
            CREATE TEMP TABLE before AS SELECT pg_stat_get_xact_numscans('claim'::regclass) AS claim,
                                               pg_stat_get_xact_numscans('grab'::regclass) AS grab;
            SELECT COUNT(*) FROM hb_packet_batch('{n1}', '{2}', '{v}', '{99}', '{1}', '{f}', '{}', '{}', '{}', '{}',
                ARRAY(SELECT 'n' || g || '.1' FROM generate_series(2, 21) g), ARRAY(SELECT 7::BIGINT FROM generate_series(1, 20)),
                ARRAY(SELECT 'n' || g || '.1' FROM generate_series(22, 31) g), 1, 1);
            SELECT (pg_stat_get_xact_numscans('claim'::regclass) - claim) || ' '
                || (pg_stat_get_xact_numscans('grab'::regclass) - grab) FROM before;
            SELECT COUNT(*) FILTER (WHERE state = 'credited') || ' ' || COUNT(*) FILTER (WHERE state = 'waiting') FROM claim
            """, database: database)
        XCTAssertEqual(answers.split(separator: "\n"), ["10", "21", "0 0", "20 10"],
                       "the warming calls' answers; the batch's (its grab's and 20 credited marks'; a waiting mark answers nothing); "
                       + "sequential scans of claim and grab in that batch; the claims marked")
    }

    /// Version 11: the send batch finds its packets by key even when its plans were made while `packet` was
    /// empty. Analyzed empty, the function called ten times (so that it keeps a generic plan), then 3,000 packets
    /// made: a batch that creates one packet, marks 20 paid and cancels 5 scans `packet` sequentially not once.
    /// As a top-level prepared statement (version 10), its generic plan scanned it sequentially for the paid marks
    /// and for the read of marks replayed; without `planningByKey` the function's scanned it once.
    func testTheSendBatchFindsItsPacketsByKeyWhenItsPlansWereMadeOnAnEmptyTable() async throws {
        let server = try running()
        let pool = try freshPool()
        let database = pool.settings.database
        _ = try await PostgresPacketStore(pool: pool)
        let none = "'{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'"
        let answers = try server.psql("""
            ANALYZE packet;
            SELECT COUNT(*) FROM generate_series(1, 10) i, LATERAL hb_send_batch(\(none), ARRAY['w' || i], ARRAY['v' || i]);
            INSERT INTO packet (id, kind, sender_id, sender_name, total, shares, greeting, created_at, expires_at, state)
            SELECT 'n' || g, 'lucky', 1, 's', 100, 1, 'hi', 0, 4102444800000, 'paying' FROM generate_series(1, 3000) g;
            CREATE TEMP TABLE before AS SELECT pg_stat_get_xact_numscans('packet'::regclass) AS packet;
            SELECT string_agg(part, ',' ORDER BY part) FROM hb_send_batch(
                '{new}', '{lucky}', '{1}', '{s}', '{f}', '{0}', '{100}', '{1}', '{hi}', '{0}', '{4102444800000}',
                ARRAY(SELECT 'n' || g FROM generate_series(1, 20) g), ARRAY(SELECT 'n' || g FROM generate_series(21, 25) g));
            SELECT pg_stat_get_xact_numscans('packet'::regclass) - packet FROM before;
            SELECT string_agg(state || ':' || n, ' ' ORDER BY state) FROM (SELECT state, COUNT(*) n FROM packet GROUP BY state) s
            """, database: database)
        XCTAssertEqual(answers.split(separator: "\n"),
                       ["0", "created," + Array(repeating: "paid", count: 20).joined(separator: ","), "0",
                        "cancelled:5 open:20 paying:2976"],
                       "the warming calls' rows; the batch's parts; sequential scans of packet in that batch; the packets")
    }

    /// Two batches mark the same two claims the other way round (one credited and the other waiting, and the
    /// reverse), the first held up on its first claim until the second is under way too: both commit. Before
    /// version 9 each held the claim of its first mark and waited for the other's, and the server failed one of
    /// them as a deadlock a second later.
    func testBatchesMarkingTheSameClaimsTheOtherWayRoundBothCommit() async throws {
        let server = try running()
        let pool = PostgresPool(settings: try server.freshDatabase(), maxConnections: 4)
        pools.append(pool)
        let database = pool.settings.database
        _ = try await PostgresPacketStore(pool: pool)
        try server.psql("""
            INSERT INTO packet (id, kind, sender_id, sender_name, total, shares, greeting, created_at, expires_at,
                                grabbed, allotted, state)
            VALUES ('x', 'lucky', 1, 's', 200, 2, 'hi', 0, 4102444800000, 2, 200, 'open');
            INSERT INTO claim (id, packet_id, user_id, user_name, slot, amount, state, opened_at)
            VALUES ('x.1', 'x', 1, 'u', 1, 100, 'crediting', 0), ('x.2', 'x', 2, 'v', 2, 100, 'crediting', 0)
            """, database: database)
        @Sendable func marks(credited: String, waiting: String) async throws {
            try await pool.transaction { connection in
                _ = try await connection.query("""
                    SELECT COUNT(*) FROM hb_packet_batch('{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',
                                                         ARRAY[\(credited)], '{7}', ARRAY[\(waiting)], 1, 1)
                    """, logger: pool.logger).collect()
            }
        }
        let lockWaits = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '\(database)' AND wait_event_type = 'Lock'"
        let (first, second) = try await pool.transaction { holding in
            _ = try await holding.query("SELECT 1 FROM claim WHERE id = 'x.1' FOR UPDATE", logger: pool.logger).collect()
            let first = Task { try await marks(credited: "x.1", waiting: "x.2") }
            try await waitUntil("the first batch waits on x.1", interval: .milliseconds(20)) { try server.psql(lockWaits) == "1" }
            let second = Task { try await marks(credited: "x.2", waiting: "x.1") }
            try await waitUntil("both batches wait", interval: .milliseconds(20)) { try server.psql(lockWaits) == "2" }
            return (first, second)
        }
        try await first.value
        try await second.value
        XCTAssertEqual(try server.psql("SELECT string_agg(id || ' ' || state, ', ' ORDER BY id) FROM claim",
                                       database: database), "x.1 credited, x.2 credited")
        XCTAssertEqual(try server.psql("SELECT deadlocks FROM pg_stat_database WHERE datname = '\(database)'"), "0")
    }

    /// A fresh database with the red-packet store made up to `version` (its first `version` steps).
    private func packetDatabase(atVersion version: Int) async throws -> (PostgresPool, String) {
        let pool = try freshPool()
        try await PostgresSchema.ensure("redpackets", tables: PostgresSchema.packetTables,
                                        steps: Array(PostgresSchema.packetSteps.prefix(version)), on: pool)
        return (pool, pool.settings.database)
    }
}
