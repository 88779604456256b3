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
    func testExpiringSoonCountsEveryOpenPacket() async throws {
        try await PacketStoreContract.expiringSoonCountsEveryOpenPacket(try store(), clock: clock)
    }
    func testConcurrentOpensNeverOverdraw() async throws {
        try await PacketStoreContract.concurrentOpensNeverOverdraw(try store(), clock: clock)
    }
    func testGrabAndDraw() async throws {
        let store = try store()
        try await PacketStoreContract.grabAndDraw(store, clock: clock) { store.commitCount }
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
    func testExpiringSoonCountsEveryOpenPacket() async throws {
        try await PacketStoreContract.expiringSoonCountsEveryOpenPacket(try await store(), clock: clock)
    }
    func testConcurrentOpensNeverOverdraw() async throws {
        try await PacketStoreContract.concurrentOpensNeverOverdraw(try await store(), clock: clock)
    }
    func testGrabAndDraw() async throws {
        let store = try await store()
        try await PacketStoreContract.grabAndDraw(store, clock: clock) { store.commitCount }
    }

    /// A store on the test server, for a test that makes COMMITs unclear: the server's standby setting that
    /// test changes is reset when it ends.
    private func unclearCommitStore() async throws -> (server: TestPostgresServer, store: PostgresPacketStore,
                                                       database: String) {
        let server = try running()
        let store = try await store()
        addTeardownBlock {
            _ = try? server.psql("ALTER SYSTEM RESET synchronous_standby_names")
            _ = try? server.psql("SELECT pg_reload_conf()")
        }
        return (server, store, store.pool.settings.database)
    }

    /// `unclearCommitStore` with a paid packet.
    private func unclearCommitSetup(seed: UInt64) async throws -> (
        server: TestPostgresServer, store: PostgresPacketStore, database: String, random: SeededRandomSource, packet: Packet
    ) {
        let (server, store, database) = try await unclearCommitStore()
        let random = SeededRandomSource(seed: seed)
        let packet = try await store.markPaid(try await store.createPacket(PacketStoreContract.draft(), random: random).id)
        return (server, store, database, random, packet)
    }

    /// A grab and draw whose COMMIT is unclear is retried and returns this call's own claim, drawn once; a
    /// second grab and draw by the same user is still refused.
    func testAnUnclearCommitOfAGrabAndDrawReturnsItsOwnClaim() async throws {
        let (server, store, database, random, packet) = try await unclearCommitSetup(seed: 13)
        let bob = PacketStoreContract.bob
        let opened = try await server.withUnclearCommit(database: database) {
            try await store.grabAndDraw(packet.id, user: bob, random: random)
        }
        XCTAssertTrue(opened.caughtWaiting, "no COMMIT waited for the standby")
        XCTAssertEqual(opened.value.id, ClaimID(packet: packet.id, slot: 1))
        XCTAssertEqual(try store.claim(opened.value.id), opened.value)
        await assertThrows({ try await store.grabAndDraw(packet.id, user: bob, random: random) },
                           PacketError.alreadyGrabbed(packet.id, user: "bob"))
        XCTAssertEqual(try server.psql("SELECT COUNT(*) FROM claim", database: database), "1")
        XCTAssertEqual(try server.psql("SELECT grabbed || '/' || opened FROM packet_now", database: database), "1/1")
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// A grab and a draw whose COMMITs are unclear (see `TestPostgresServer.withUnclearCommit`) are retried
    /// and come back as this call's own: the grab returns its slot (not "already grabbed"), the draw its claim
    /// as new (not a replay), once each; a second grab is still refused and a second draw is a replay.
    func testUnclearCommitsOfGrabAndDrawAreTheirOwn() async throws {
        let (server, store, database, random, packet) = try await unclearCommitSetup(seed: 12)
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
        XCTAssertEqual(try server.psql("SELECT grabbed || '/' || opened FROM packet_now", database: database), "1/1")
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// Three credited marks go in one group commit (one COMMIT for the three), whose COMMIT is made unclear:
    /// the batch is run again as a whole, and nothing is doubled: each claim is credited once (one attempt),
    /// and each packet's credited amount is its claims' sum once. An unknown claim in the same call fails
    /// alone.
    func testAnUnclearGroupCommitIsRetriedWithoutDoubling() async throws {
        let (server, store, database) = try await unclearCommitStore()
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
            XCTAssertEqual(try server.psql("SELECT credited_amount FROM packet_now WHERE id = '\(packet.rawValue)'",
                                           database: database), "\(amount)")
        }
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// Runs `first`, holds it at the server (a transaction holds `packet` in a mode no write can share) until
    /// `rest` are all queued behind it, then lets everything go; returns every call's answer and how many
    /// commits the store made.
    private func heldWrites<T: Sendable>(
        _ store: PostgresPacketStore, first: @escaping @Sendable () async throws -> T,
        rest: [@Sendable () async throws -> T]
    ) async throws -> (answers: [T], commits: Int) {
        let server = try running()
        let database = store.pool.settings.database
        let holder = try await server.session("BEGIN; LOCK TABLE packet IN SHARE MODE; SELECT pg_sleep(600);",
                                              database: database, until: "PgSleep")
        let commitsBefore = store.commitCount
        let firstTask = Task { try await first() }
        while try server.lockWaits(database: database, except: [holder]) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let queuedBefore = store.queuedWrites
        let tasks = rest.map { write in Task { try await write() } }
        while store.queuedWrites < queuedBefore + rest.count { try await Task.sleep(for: .milliseconds(5)) }
        try await server.end(holder)
        var answers = [try await firstTask.value]
        for task in tasks { answers.append(try await task.value) }
        return (answers, store.commitCount - commitsBefore)
    }

    /// Sends under way at once share group commits: ten packets' inserts that arrive while another is on its
    /// way go in one statement after it (two commits for eleven), each answered with its own packet; then ten
    /// paid marks and a cancel that way too, each packet in the state its own write asked for.
    func testSendsUnderWayAtOnceShareGroupCommits() async throws {
        let store = try await store()
        let random = SeededRandomSource(seed: 16)
        let drafts = (0...10).map { PacketStoreContract.draft(total: 1_000 + Int64($0)) }
        let created = try await heldWrites(store, first: { try await store.createPacket(drafts[0], random: random) },
                                           rest: drafts.dropFirst().map { draft in
                                               { try await store.createPacket(draft, random: random) }
                                           })
        XCTAssertEqual(created.commits, 2, "eleven inserts were not two group commits")
        XCTAssertEqual(created.answers.map(\.total), drafts.map(\.total))
        XCTAssertEqual(Set(created.answers.map(\.id)).count, 11)
        for packet in created.answers { XCTAssertEqual(try store.packet(packet.id), packet) }

        let ids = created.answers.map(\.id)
        let marked = try await heldWrites(store, first: { try await store.markPaid(ids[0]) },
                                          rest: ids[1...9].map { id in { try await store.markPaid(id) } } + [{
                                              try await store.cancel(ids[10])
                                              return try XCTUnwrap(try store.packet(ids[10]))
                                          }])
        XCTAssertEqual(marked.commits, 2, "ten marks and a cancel were not two group commits")
        XCTAssertEqual(marked.answers.map(\.id), ids)
        XCTAssertEqual(marked.answers.map(\.state), Array(repeating: .open, count: 10) + [.cancelled])
        for packet in marked.answers { XCTAssertEqual(try store.packet(packet.id)?.state, packet.state) }
        // A mark of a packet the store does not have is refused; a mark of one already paid answers it open.
        await assertThrows({ try await store.markPaid(PacketID("nobody")) }, PacketError.unknownPacket("nobody"))
        let again = try await store.markPaid(ids[0])
        XCTAssertEqual(again.state, .open)
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// A send's insert and its paid mark whose COMMITs are unclear (see `TestPostgresServer.withUnclearCommit`)
    /// are retried in their group commits and come back as this send's own: the insert returns the packet it
    /// stored (not a second packet under another id), and the mark the packet open.
    func testUnclearCommitsOfASendAreItsOwn() async throws {
        let (server, store, database) = try await unclearCommitStore()
        let random = SeededRandomSource(seed: 17)
        let created = try await server.withUnclearCommit(database: database) {
            try await store.createPacket(PacketStoreContract.draft(), random: random)
        }
        XCTAssertTrue(created.caughtWaiting, "no COMMIT waited for the standby")
        XCTAssertEqual(try server.psql("SELECT string_agg(id || ':' || state, ',') FROM packet", database: database),
                       created.value.id.rawValue + ":paying")
        let paid = try await server.withUnclearCommit(database: database) { try await store.markPaid(created.value.id) }
        XCTAssertTrue(paid.caughtWaiting, "no COMMIT waited for the standby")
        XCTAssertEqual(paid.value.id, created.value.id)
        XCTAssertEqual(paid.value.state, .open)
        XCTAssertEqual(try server.psql("SELECT string_agg(id || ':' || state, ',') FROM packet", database: database),
                       created.value.id.rawValue + ":open")
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// The opens of one packet do not queue behind each other's commits: while another transaction holds the
    /// packet's row (as a grab does until its COMMIT, which on a cluster waits for a standby), a draw of that
    /// packet, a waiting mark and a credited mark all go through without waiting for a lock.
    func testDrawsAndMarksDoNotWaitForATransactionHoldingThePacketsRow() async throws {
        let server = try running()
        let store = try await store()
        let database = store.pool.settings.database
        let random = SeededRandomSource(seed: 15)
        let packet = try await store.markPaid(try await store.createPacket(PacketStoreContract.draft(), random: random).id)
        let (bob, carol) = (PacketStoreContract.bob, PacketStoreContract.carol)
        _ = try await store.grab(packet.id, user: bob)
        _ = try await store.grab(packet.id, user: carol)
        let bobClaim = try await store.draw(packet.id, user: bob, random: random).claim
        let holder = try await server.session("""
            BEGIN; SELECT 1 FROM packet WHERE id = '\(packet.id.rawValue)' FOR NO KEY UPDATE; SELECT pg_sleep(600);
            """, database: database, until: "PgSleep")
        let finished = AsyncFlag()
        let clock = clock
        let writes = Task {
            defer { finished.fire() }
            let carolClaim = try await store.draw(packet.id, user: carol, random: random).claim
            try await store.markWaiting(carolClaim.id)
            try await store.markCredited(bobClaim.id, at: clock.now())
            return carolClaim
        }
        var waited = 0
        while !finished.hasFired && waited == 0 {
            waited = try server.lockWaits(database: database, except: [holder])
            if waited == 0 { try await Task.sleep(for: .milliseconds(20)) }
        }
        try await server.end(holder)
        let carolClaim = try await writes.value
        XCTAssertEqual(waited, 0, "a draw or a mark waited for a lock while another transaction held the packet's row")
        XCTAssertEqual(try store.claim(carolClaim.id)?.state, .waiting)
        XCTAssertEqual(try store.claim(bobClaim.id)?.state, .credited)
        let read = try XCTUnwrap(try store.packet(packet.id))
        XCTAssertEqual(read.opened, 2)
        XCTAssertEqual(read.openedAmount, bobClaim.amount + carolClaim.amount)
        XCTAssertEqual(read.creditedAmount, bobClaim.amount)
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }

    /// A draw of `packet` by `user` in a transaction of its own (holding the user's grab row), which commits only
    /// once `gate` is ended: the gate session holds the advisory `lock` the draw's transaction waits for after
    /// drawing. End the gate, then `finish` the drawer.
    private func drawHeldUntilTheGateGoes(
        _ packet: PacketID, by user: Account, on server: TestPostgresServer, database: String, lock: Int
    ) async throws -> (gate: TestPostgresServer.Session, drawer: TestPostgresServer.Session) {
        let gate = try await server.session("SELECT pg_advisory_lock(\(lock)); SELECT pg_sleep(600);",
                                            database: database, until: "PgSleep")
        let drawer = try await server.session("""
            BEGIN; SELECT status FROM hb_draw('\(packet.rawValue)', \(user.id.rawValue), '\(user.name)', \(clock.now().millisecondsSinceEpoch));
            SELECT pg_advisory_xact_lock(\(lock)); COMMIT;
            """, database: database, until: "advisory")
        return (gate, drawer)
    }

    /// An expiry and a draw in flight: the draw holds its grab row until it commits, the expiry waits for it
    /// (it locks the packet's grab rows before it sums the claims), and the refund leaves the drawn share out.
    /// (Were the expiry not to wait, it would refund the whole packet and the audit would find the share paid
    /// twice.)
    func testAnExpiryWaitsForADrawInFlightAndRefundsOnlyWhatIsLeft() async throws {
        let server = try running()
        let store = try await store()
        let database = store.pool.settings.database
        let random = SeededRandomSource(seed: 16)
        let packet = try await store.markPaid(try await store.createPacket(
            PacketStoreContract.draft(total: 300, shares: 3, ttl: .seconds(30)), random: random).id)
        let bob = PacketStoreContract.bob
        _ = try await store.grab(packet.id, user: bob)
        let (gate, drawer) = try await drawHeldUntilTheGateGoes(packet.id, by: bob, on: server, database: database,
                                                                lock: 4242)
        clock.advance(by: .seconds(31))
        let finished = AsyncFlag()
        let expiry = Task {
            defer { finished.fire() }
            return try await store.expireDue(limit: 10)
        }
        while !finished.hasFired, try server.lockWaits(database: database, except: [drawer]) == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await server.end(gate)
        try await server.finish(drawer)
        let expired = try await expiry.value
        let claims = try store.claims(of: packet.id)
        XCTAssertEqual(claims.count, 1, "the draw in flight did not commit")
        let drawn = claims.first?.amount ?? .zero
        XCTAssertEqual(expired.map(\.id), [packet.id])
        XCTAssertEqual(expired.first?.refunded, Money(minorUnits: 300) - drawn)
        XCTAssertEqual(expired.first?.openedAmount, drawn)
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
        let held = try await store.totalHeld()
        XCTAssertEqual(held, drawn, "what the packet still holds is the drawn share, not yet credited")
    }

    /// `recordFinished` writes `finished` into the row of a packet whose every share is opened and committed,
    /// and into no other: not one with a share grabbed and not drawn, not one whose last draw is still in
    /// flight (were it to count the grabs, or the claims it cannot see yet, it would). The reads answer the same
    /// before and after it (the row only spares them summing the claims); the finished packet then refuses a
    /// grab as before and does not expire.
    func testRecordFinishedWritesOnlyPacketsWhoseEveryShareIsOpened() async throws {
        let server = try running()
        let store = try await store()
        let database = store.pool.settings.database
        let random = SeededRandomSource(seed: 17)
        let (alice, bob, carol) = (PacketStoreContract.alice, PacketStoreContract.bob, PacketStoreContract.carol)
        let draft = PacketStoreContract.draft(total: 200, shares: 2, ttl: .seconds(30))
        let done = try await store.markPaid(try await store.createPacket(draft, random: random).id)
        let pending = try await store.markPaid(try await store.createPacket(draft, random: random).id)
        _ = try await store.grabAndDraw(done.id, user: bob, random: random)
        _ = try await store.grab(done.id, user: carol)
        _ = try await store.grabAndDraw(pending.id, user: bob, random: random)
        _ = try await store.grab(pending.id, user: carol)
        // Carol's draw of `done`'s last share, still in flight.
        let (gate, drawer) = try await drawHeldUntilTheGateGoes(done.id, by: carol, on: server, database: database,
                                                                lock: 4243)
        let whileDrawing = try await store.recordFinished(limit: 10)
        try await server.end(gate)
        try await server.finish(drawer)
        XCTAssertEqual(whileDrawing, 0, "a packet was recorded finished while its last draw was in flight")
        XCTAssertEqual(try store.claims(of: done.id).count, 2, "the draw in flight did not commit")

        let (statsBefore, openBefore) = (try store.stats(), try store.openPackets(limit: 10))
        let recorded = try await store.recordFinished(limit: 10)
        let again = try await store.recordFinished(limit: 10)
        XCTAssertEqual(recorded, 1)
        XCTAssertEqual(again, 0)
        XCTAssertEqual(try server.psql("SELECT id || ' ' || state FROM packet ORDER BY id", database: database)
                           .split(separator: "\n").map(String.init).sorted(),
                       ["\(done.id.rawValue) finished", "\(pending.id.rawValue) open"].sorted())
        let stats = try store.stats()
        XCTAssertEqual(stats, statsBefore)
        XCTAssertEqual([stats.open, stats.finished, stats.grabbedUnopened], [1, 1, 1])
        XCTAssertEqual(try store.openPackets(limit: 10).map(\.id), [pending.id])
        XCTAssertEqual(openBefore.map(\.id), [pending.id])
        XCTAssertEqual(try store.packetCount(matching: nil), 2)
        XCTAssertEqual(try store.packetCount(matching: "finished"), 1)
        XCTAssertEqual(try store.packet(done.id)?.state, .finished)
        do {
            _ = try await store.grab(done.id, user: alice)
            XCTFail("a finished packet let a third user grab")
        } catch PacketError.soldOut(let id) {
            XCTAssertEqual(id, done.id)
        }
        clock.advance(by: .seconds(31))
        let expired = try await store.expireDue(limit: 10)
        XCTAssertEqual(expired.map(\.id), [pending.id])
        XCTAssertEqual(expired.first?.refunded, Money(minorUnits: 200) - (try store.claims(of: pending.id).first?.amount ?? .zero))
        XCTAssertEqual(try store.packet(done.id)?.state, .finished)
        let audit = try await store.auditStore(maxViolationsPerCheck: 20)
        XCTAssertEqual(audit, [])
    }
}
