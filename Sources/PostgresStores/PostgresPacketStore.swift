import Crediting
import Ledger
import PostgresNIO
import Primitives
import RedPackets
import Synchronization

/// The red-packet store on PostgreSQL: the `PacketStore` that `SQLitePacketStore` is on SQLite, with the same
/// states. The open path's writes (grab, draw, grab and draw, credited and waiting marks) go through a group
/// commit (`PacketWriteBatcher`): many in one statement and one commit; so do the send path's (a new packet,
/// its paid mark, a cancel: `SendWriteBatcher`). Every other write is a transaction of its own. An open locks
/// its packet's row once, at the grab, which takes the next slot and draws that slot's share (so the opens of
/// one packet do not queue behind each other's commits at the draw and the marks); what a packet has opened
/// and credited is summed from its claims when read (`packet_now`). Each write is safe to run again after an
/// unclear commit: a write retried after its connection was lost finds its own earlier effect by id (the
/// packet id chosen before the first attempt, the grab's and the draw's tokens, the claim id) and returns what
/// the first attempt would have.
///
/// Shares are drawn by `ShareDraw`'s rule (in PL/pgSQL, `hb_share`) in grab order, each with a random value
/// the grab's call chose: the same split as SQLite's, which draws in open order when the share is opened.
/// The `random` given to `draw` is not used here; the store's own `random` feeds the grabs.
public final class PostgresPacketStore: PacketStore {
    public let pool: PostgresPool
    public let limits: Limits
    private let clock: any WallClock
    private let writes = Atomic<Int>(0)
    private let batcher: PacketWriteBatcher
    private let sends: SendWriteBatcher
    private let random: any RandomSource

    /// Opens the store on `pool`'s database, creating its tables the first time (unless `create` is false).
    /// `concurrentBatches` group commits of the open path's writes may be under way at once (each up to
    /// `limits.ledger.maxTransactionsPerCommit` writes); the send path's go one at a time (`SendWriteBatcher`).
    public init(pool: PostgresPool, limits: Limits = .default, clock: any WallClock = SystemClock(),
                create: Bool = true, concurrentBatches: Int = 1, random: any RandomSource = SystemRandomSource())
        async throws {
        self.pool = pool
        self.random = random
        self.limits = limits
        self.clock = clock
        batcher = PacketWriteBatcher(pool: pool, maxBatch: limits.ledger.maxTransactionsPerCommit,
                                     concurrentBatches: concurrentBatches, minShare: limits.packets.minShare,
                                     clock: clock)
        sends = SendWriteBatcher(pool: pool, maxBatch: limits.ledger.maxTransactionsPerCommit)
        try await PostgresSchema.ensure("redpackets", tables: PostgresSchema.packetTables,
                                        steps: PostgresSchema.packetSteps, on: pool, create: create)
    }

    /// How many write transactions have committed (a group commit counts once).
    public var commitCount: Int { writes.load(ordering: .relaxed) + batcher.commitCount + sends.commitCount }

    /// How many group commits of the open path's writes have committed.
    public var groupCommitCount: Int { batcher.commitCount }

    /// The open path's and the send path's writes waiting for a group commit (not yet in one).
    public var queuedWrites: Int { batcher.queued + sends.queued }

    // MARK: Plumbing

    /// One write transaction, retried after a lost connection; `body` gets the transaction's time.
    private func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Timestamp) async throws -> T) async throws -> T {
        let now = clock.now()
        let value = try await pool.retrying {
            try await pool.transaction { connection in try await body(connection, now) }
        }
        writes.add(1, ordering: .relaxed)
        return value
    }

    private func rows(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await connection.query(query, logger: pool.logger) { rows.append(row) }
        return rows
    }

    private func read(_ query: PostgresQuery, preparedAs prepared: (any CallText.Type)? = nil) async throws
        -> [PostgresRow] {
        try await pool.retrying { try await pool.rows(query, preparedAs: prepared) }
    }

    static let packetColumns = """
        id, kind, sender_id, sender_name, recipient_id, total, shares, greeting, created_at, expires_at, grabbed,
        opened, opened_amount, credited_amount, refunded, refund_pending, state
        """

    /// The packets whose row says `open`, through their partial index: the reads of the open packets go
    /// through it, so that they sum the claims of these only, not of every packet (`recordFinished`).
    static let storedOpen = "SELECT id FROM packet WHERE state = 'open'"

    /// The claims not yet credited: the ids in `claim_pending` (packet store version 7), their state checked too.
    static let pendingClaim = "id IN (SELECT id FROM claim_pending) AND state IN ('crediting', 'waiting')"

    /// The claims waiting for a retry, found the same way: by `claim_pending`, not a scan of every claim ever
    /// opened (25 ms at 95,000 claims, read on every refresh of the retries pane).
    static let waitingClaim = "id IN (SELECT id FROM claim_pending) AND state = 'waiting'"

    /// `packetColumns` of a packet row that has no claims yet (`packet_now` sums them).
    static let paidColumns = """
        id, kind, sender_id, sender_name, recipient_id, total, shares, greeting, created_at, expires_at, grabbed,
        0::BIGINT AS opened, 0::BIGINT AS opened_amount, 0::BIGINT AS credited_amount, refunded, refund_pending, state
        """

    static let claimColumns = "id, packet_id, user_id, user_name, slot, amount, state, opened_at, credited_at, attempts"

    static func packet(from row: PostgresRow) throws -> Packet {
        let (id, kind, sender, senderName, recipient, total, shares, greeting, created, expires, grabbed, opened,
             openedAmount, credited, refunded, refundPending, state) = try row.decode(
            (String, String, Int64, String, Int64?, Int64, Int64, String, Int64, Int64, Int64, Int64, Int64, Int64,
             Int64, Bool, String).self)
        return Packet(id: PacketID(id), kind: PacketKind(rawValue: kind) ?? .lucky, senderID: AccountID(sender),
                      senderName: senderName, recipientID: recipient.map(AccountID.init), total: Money(minorUnits: total),
                      shares: Int(shares), greeting: greeting, createdAt: Timestamp(millisecondsSinceEpoch: created),
                      expiresAt: Timestamp(millisecondsSinceEpoch: expires), grabbed: Int(grabbed), opened: Int(opened),
                      openedAmount: Money(minorUnits: openedAmount), creditedAmount: Money(minorUnits: credited),
                      refunded: Money(minorUnits: refunded), refundPending: refundPending,
                      state: PacketState(rawValue: state) ?? .open)
    }

    static func claim(from row: PostgresRow) throws -> Claim {
        let (id, packet, user, userName, slot, amount, state, opened, credited, attempts) = try row.decode(
            (String, String, Int64, String, Int64, Int64, String, Int64, Int64?, Int64).self)
        return Claim(id: ClaimID(id), packetID: PacketID(packet), userID: AccountID(user), userName: userName,
                     slot: Int(slot), amount: Money(minorUnits: amount), state: ClaimState(rawValue: state) ?? .crediting,
                     openedAt: Timestamp(millisecondsSinceEpoch: opened),
                     creditedAt: credited.map(Timestamp.init(millisecondsSinceEpoch:)), attempts: Int(attempts))
    }

    // MARK: Send

    /// One write statement on its own (its own transaction: one round trip), retried after a lost connection.
    private func statement(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let rows = try await pool.retrying { try await pool.rows(query) }
        writes.add(1, ordering: .relaxed)
        return rows
    }

    public func createPacket(_ draft: PacketDraft, random: any RandomSource) async throws -> Packet {
        let now = clock.now()
        let expiresAt = now + draft.timeToLive
        while true {
            // The id is chosen before the first attempt: a retry after an unclear commit finds its own row.
            let id = PacketID.generate(at: now, random: random)
            let new = SendWriteBatcher.NewPacket(id: id, draft: draft, createdAt: now, expiresAt: expiresAt)
            guard case let .created(inserted) = try await sends.submit(.create(new)) else {
                throw PostgresStoreError.server("a packet's insert returned no answer")
            }
            let packet = Packet(id: id, kind: draft.kind, senderID: draft.senderID, senderName: draft.senderName,
                                recipientID: draft.recipientID, total: draft.total, shares: draft.shares,
                                greeting: draft.greeting, createdAt: now, expiresAt: expiresAt, grabbed: 0, opened: 0,
                                openedAmount: .zero, creditedAmount: .zero, refunded: .zero, refundPending: false,
                                state: .paying)
            if inserted { return packet }
            // Either this call's own row (its commit was unclear and the insert was retried) or another packet
            // that took the id (time-ordered ids can collide within a second): then take another id.
            let existing = try await read("""
                SELECT \(unescaped: PostgresPacketStore.packetColumns) FROM packet_now WHERE id = \(id.rawValue)
                """).first.map(PostgresPacketStore.packet(from:))
            if let existing, existing.senderID == draft.senderID, existing.total == draft.total,
               existing.createdAt == now, existing.greeting == draft.greeting, existing.shares == draft.shares {
                return existing
            }
        }
    }

    public func markPaid(_ id: PacketID) async throws -> Packet {
        guard case let .packet(packet) = try await sends.submit(.paid(id)) else {
            throw PostgresStoreError.server("a packet's paid mark returned no packet")
        }
        return packet
    }

    public func cancel(_ id: PacketID) async throws {
        _ = try await sends.submit(.cancel(id))
    }

    // MARK: Grab and open

    public func grab(_ id: PacketID, user: Account) async throws -> Int {
        // The call's token is chosen before the first attempt: a retry after an unclear commit finds the grab
        // stored with it, and returns its slot. So is the random value its share is drawn with.
        let token = Int64.random(in: 1...Int64.max)
        let share = Int64(bitPattern: random.next() >> 1)
        guard case let .slot(slot) = try await batcher.submit(.grab(.init(packet: id, user: user, token: token,
                                                                          random: share))) else {
            throw PostgresStoreError.server("a grab returned no slot")
        }
        return slot
    }

    /// The grab and the draw of its share in one group commit (one COMMIT where `grab` then `draw` take two),
    /// with `grab`'s refusals. Safe to retry after an unclear commit as `grab` is: the retried grab finds its own
    /// row by its token and the draw then finds the claim the first attempt drew.
    public func grabAndDraw(_ id: PacketID, user: Account, random: any RandomSource) async throws -> Claim {
        let token = Int64.random(in: 1...Int64.max)
        let share = Int64(bitPattern: self.random.next() >> 1)
        guard case let .drawn(claim, _) = try await batcher.submit(.grabAndDraw(.init(packet: id, user: user, token: token,
                                                                                      random: share))) else {
            throw PostgresStoreError.server("a grab and draw returned no claim")
        }
        return claim
    }

    public func draw(_ id: PacketID, user: Account, random: any RandomSource) async throws -> (claim: Claim, wasReplay: Bool) {
        let draw = PacketWriteBatcher.Draw(packet: id, user: user, token: Int64.random(in: 1...Int64.max))
        guard case let .drawn(claim, wasReplay) = try await batcher.submit(.draw(draw)) else {
            throw PostgresStoreError.server("a draw returned no claim")
        }
        return (claim, wasReplay)
    }

    public func markCredited(_ claim: ClaimID, at time: Timestamp) async throws {
        _ = try await batcher.submit(.credited(claim, at: time))
    }

    /// Records several credits at once, in one group commit (as recovery finds them in the ledger); each
    /// claim's own result, in order (an unknown claim is `PacketError.unknownPacket`).
    public func markCredited(_ marks: [(claim: ClaimID, at: Timestamp)]) async -> [Result<Void, any Error>] {
        await batcher.submit(marks.map { .credited($0.claim, at: $0.at) }).map { $0.map { _ in () } }
    }

    public func markWaiting(_ claim: ClaimID) async throws {
        _ = try await batcher.submit(.waiting(claim))
    }

    public func undraw(_ claim: ClaimID) async throws {
        try await write { connection, _ in
            // The packet's row is locked (an expiry holds it while it sums the claims), then the claim removed;
            // its grab keeps the share's amount, so opening again draws the same share.
            let found = try await self.rows("""
                SELECT c.packet_id FROM claim c JOIN packet p ON p.id = c.packet_id
                WHERE c.id = \(claim.rawValue) AND c.state = 'crediting' AND p.state IN ('open', 'finished')
                FOR NO KEY UPDATE
                """, on: connection)
            guard let row = found.first else { return }
            let packet = try row.decode(String.self)
            _ = try await self.rows("DELETE FROM claim WHERE id = \(claim.rawValue)", on: connection)
            _ = try await self.rows("UPDATE packet SET state = 'open' WHERE id = \(packet) AND state = 'finished'",
                                    on: connection)
        }
    }

    // MARK: Expiry

    public func expireDue(limit: Int) async throws -> [Packet] {
        var expired: [Packet] = []
        while expired.count < limit {
            let wanted = limit - expired.count
            let due = try await write { connection, now in
                // What a lost commit expired is not returned again: its refunds stay pending and are settled
                // from `unsettledPackets` (as after a crash).
                let due = try await self.rows("""
                    SELECT id FROM packet WHERE state = 'open' AND expires_at <= \(now.millisecondsSinceEpoch)
                    ORDER BY expires_at LIMIT \(Int64(wanted)) FOR NO KEY UPDATE SKIP LOCKED
                    """, on: connection).map { try $0.decode(String.self) }
                guard !due.isEmpty else { return [String]() }
                // The draws in flight hold their grab rows: wait for them, so that the sums below (a new
                // statement, a new snapshot) see their claims; a draw after this waits and then sees `expired`.
                _ = try await self.rows("SELECT 1 FROM grab WHERE packet_id = ANY(\(due)::TEXT[]) FOR SHARE",
                                        on: connection)
                // A packet whose every share is opened is finished, not expired (nothing to refund).
                _ = try await self.rows("""
                    UPDATE packet p SET
                        state = CASE WHEN sums.opened = p.shares THEN 'finished' ELSE 'expired' END,
                        refunded = CASE WHEN sums.opened = p.shares THEN 0 ELSE p.total - sums.amount END,
                        refund_pending = sums.opened <> p.shares AND p.total - sums.amount > 0
                    FROM (
                        SELECT d.id, COUNT(c.id) AS opened, COALESCE(SUM(c.amount), 0)::BIGINT AS amount
                        FROM unnest(\(due)::TEXT[]) AS d(id) LEFT JOIN claim c ON c.packet_id = d.id GROUP BY d.id
                    ) sums
                    WHERE p.id = sums.id
                    """, on: connection)
                return due
            }
            if due.isEmpty { break }
            expired += try await read("""
                SELECT \(unescaped: PostgresPacketStore.packetColumns) FROM packet_now
                WHERE id = ANY(\(due)::TEXT[]) AND state = 'expired'
                """).map(PostgresPacketStore.packet(from:))
            if due.count < wanted { break }
        }
        return expired.sorted { $0.expiresAt < $1.expiresAt }
    }

    /// Records as `finished` up to `limit` packets still stored `open` whose every share is opened, and returns
    /// how many. A packet reads `finished` as soon as its last claim is in (`packet_now` counts its claims), but
    /// the row keeps `open` until this (or its expiry) writes it: the draws do not touch the packet's row, so the
    /// opens of one packet do not wait for each other's commits. Until it is written, every read that wants the
    /// open packets (the snapshot's list every second, the counts, the expiry timer) must sum the claims of
    /// every packet ever sent, which grows with the history; after it, they walk the packets still open
    /// (`packet_open_by_expiry`). The engine runs it every `Engine.finishInterval`.
    ///
    /// Safe beside the open path and expiry: a packet is written only if all of its claims are committed (the
    /// count sees committed rows only, and each grab has at most one claim, so no draw can follow), and only
    /// while `open`; a packet whose row a grab or an expiry holds is skipped (`SKIP LOCKED`) and taken next time.
    public func recordFinished(limit: Int) async throws -> Int {
        let rows = try await write { connection, _ in
            try await self.rows("""
                UPDATE packet p SET state = 'finished'
                FROM (
                    SELECT f.id FROM packet f
                    WHERE f.state = 'open' AND f.grabbed = f.shares
                      AND (SELECT COUNT(*) FROM claim c WHERE c.packet_id = f.id) = f.shares
                    LIMIT \(Int64(limit)) FOR NO KEY UPDATE SKIP LOCKED
                ) done
                WHERE p.id = done.id AND p.state = 'open'
                RETURNING p.id
                """, on: connection)
        }
        return rows.count
    }

    /// Folds the tallies' rows of server processes that have ended into row 0, and returns how many rows it took.
    /// The triggers keep a row per process that wrote (`claim_tally`, `packet_tally` by state), so that no two
    /// transactions wait for one row, and every connection that writes leaves one (62 after one `simulate`, a new
    /// set after each start or failover), all of them summed by every refresh of the screen. A row's process is
    /// gone when `pg_stat_activity` does not list its id. Each table's rows move in one statement, so every sum
    /// stays what it was; a process that writes again later, or a new one given the same id, makes a row afresh
    /// (its upsert waits for the fold's delete, then inserts). The engine runs it at start.
    @discardableResult
    public func foldTallies() async throws -> Int {
        let gone = "t.backend <> 0 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = t.backend)"
        let rows = try await write { connection, _ in
            let claims = try await self.rows("""
                WITH gone AS (DELETE FROM claim_tally t WHERE \(unescaped: gone) RETURNING t.claims),
                     moved AS (
                         INSERT INTO claim_tally (backend, claims) SELECT 0, SUM(claims) FROM gone HAVING COUNT(*) > 0
                         ON CONFLICT (backend) DO UPDATE SET claims = claim_tally.claims + EXCLUDED.claims)
                SELECT COUNT(*)::BIGINT FROM gone
                """, on: connection)
            let packets = try await self.rows("""
                WITH gone AS (DELETE FROM packet_tally t WHERE \(unescaped: gone) RETURNING t.state, t.packets),
                     moved AS (
                         INSERT INTO packet_tally (backend, state, packets)
                         SELECT 0, state, SUM(packets) FROM gone GROUP BY state
                         ON CONFLICT (backend, state) DO UPDATE SET packets = packet_tally.packets + EXCLUDED.packets)
                SELECT COUNT(*)::BIGINT FROM gone
                """, on: connection)
            return claims + packets
        }
        return try rows.reduce(0) { $0 + Int(try $1.decode(Int64.self)) }
    }

    public func markRefunded(_ id: PacketID) async throws {
        _ = try await statement("UPDATE packet SET refund_pending = FALSE WHERE id = \(id.rawValue)")
    }

    // MARK: Recovery and audit

    /// Picked from the base table through its partial index (`packet_unsettled`); the engine asks every second.
    /// (A filter on `packet_now`'s state, a computed column, would sum the claims of every packet first.)
    public func unsettledPackets() async throws -> [Packet] {
        try await read("""
            SELECT \(unescaped: PostgresPacketStore.packetColumns) FROM packet_now
            WHERE id IN (SELECT id FROM packet WHERE state = 'paying' OR refund_pending)
            ORDER BY id
            """).map(PostgresPacketStore.packet(from:))
    }

    public func uncreditedClaims(in state: ClaimState?, limit: Int) async throws -> [Claim] {
        try await read(PostgresPacketStore.uncreditedQuery(state: state, limit: limit)).map(PostgresPacketStore.claim(from:))
    }

    static func uncreditedQuery(state: ClaimState?, limit: Int) -> PostgresQuery {
        """
        SELECT \(unescaped: claimColumns) FROM claim
        WHERE \(unescaped: pendingClaim) AND (\(state?.rawValue)::TEXT IS NULL OR state = \(state?.rawValue))
        ORDER BY opened_at, id LIMIT \(Int64(limit))
        """
    }

    public func creditedClaimAmounts() async throws -> [ClaimID: Money] {
        var amounts: [ClaimID: Money] = [:]
        for row in try await read("SELECT id, amount FROM claim WHERE state = 'credited'") {
            let (id, amount) = try row.decode((String, Int64).self)
            amounts[ClaimID(id)] = Money(minorUnits: amount)
        }
        return amounts
    }

    public func allPackets() async throws -> [Packet] {
        try await read("SELECT \(unescaped: PostgresPacketStore.packetColumns) FROM packet_now ORDER BY id")
            .map(PostgresPacketStore.packet(from:))
    }

    public func totalHeld() async throws -> Money {
        let rows = try await read("""
            SELECT COALESCE(SUM(total - credited_amount - refunded), 0)::BIGINT FROM packet_now
            WHERE state NOT IN ('paying', 'cancelled')
            """)
        return Money(minorUnits: try rows.first?.decode(Int64.self) ?? 0)
    }

    public func auditStore(maxViolationsPerCheck: Int = 20) async throws -> [AuditViolation] {
        let limit = Int64(maxViolationsPerCheck)
        let logger = pool.logger
        return try await pool.retrying {
            try await pool.transaction(limit: PostgresPool.longAnswerTimeout) { connection in
                try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                var violations: [AuditViolation] = []
                // Each packet's grabs add up to what it allotted, its claims are its grabs' shares (same slot,
                // same amount), and a packet whose every share is grabbed has allotted exactly its total.
                for row in try await self.rows("""
                    SELECT p.id, p.total, p.shares, p.grabbed, p.allotted, g.n, g.amount, c.n, c.amount, c.strays
                    FROM packet p
                    CROSS JOIN LATERAL (
                        SELECT COUNT(*) AS n, COALESCE(SUM(amount), 0)::BIGINT AS amount FROM grab
                        WHERE grab.packet_id = p.id
                    ) g
                    CROSS JOIN LATERAL (
                        SELECT COUNT(*) AS n, COALESCE(SUM(c.amount), 0)::BIGINT AS amount,
                               COUNT(*) FILTER (WHERE gr.slot IS DISTINCT FROM c.slot
                                                   OR gr.amount IS DISTINCT FROM c.amount) AS strays
                        FROM claim c LEFT JOIN grab gr ON gr.packet_id = c.packet_id AND gr.user_id = c.user_id
                        WHERE c.packet_id = p.id
                    ) c
                    WHERE g.n <> p.grabbed OR g.amount <> p.allotted OR p.allotted > p.total
                        OR (p.grabbed = p.shares AND p.allotted <> p.total) OR c.n > g.n OR c.amount > p.total
                        OR c.strays > 0
                    LIMIT \(limit)
                    """, on: connection) {
                    let (id, total, shares, grabbed, allotted, grabs, grabbedAmount, claims, claimed, strays) =
                        try row.decode((String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
                    violations.append(AuditViolation(code: "packet.claims", detail: """
                        packet \(id) of \(Money(minorUnits: total)) in \(shares): \(grabs) grabs allotted \
                        \(Money(minorUnits: grabbedAmount)) (recorded \(grabbed) for \(Money(minorUnits: allotted))), \
                        \(claims) claims sum to \(Money(minorUnits: claimed)), \(strays) unlike their grab
                        """))
                }
                let orphans = try await self.rows("""
                    SELECT (SELECT COUNT(*) FROM grab g WHERE NOT EXISTS (SELECT 1 FROM packet p WHERE p.id = g.packet_id))
                         + (SELECT COUNT(*) FROM claim c WHERE NOT EXISTS (SELECT 1 FROM packet p WHERE p.id = c.packet_id))
                    """, on: connection)[0].decode(Int64.self)
                if orphans > 0 {
                    violations.append(AuditViolation(code: "packet.orphans",
                        detail: "\(orphans) grabs or claims name a packet that does not exist"))
                }
                // The claims not yet credited are exactly the ids in claim_pending (kept by the triggers on claim).
                let pendingDrift = try await self.rows("""
                    SELECT (SELECT COUNT(*) FROM claim c WHERE c.state IN ('crediting', 'waiting')
                                AND NOT EXISTS (SELECT 1 FROM claim_pending p WHERE p.id = c.id)),
                           (SELECT COUNT(*) FROM claim_pending p WHERE NOT EXISTS (
                                SELECT 1 FROM claim c WHERE c.id = p.id AND c.state IN ('crediting', 'waiting')))
                    """, on: connection)[0].decode((Int64, Int64).self)
                if pendingDrift != (0, 0) {
                    violations.append(AuditViolation(code: "claim.pending", detail: """
                        \(pendingDrift.0) claims not yet credited are missing from claim_pending, which names \
                        \(pendingDrift.1) claims that are credited or do not exist
                        """))
                }
                // The packets counted by state as they come and change are the packets there are.
                let drifted = try await self.rows("""
                    SELECT COALESCE(string_agg(state || ' ' || COALESCE(tallied, 0) || ' against ' || COALESCE(counted, 0), ', '
                                               ORDER BY state), '')
                    FROM (SELECT state, SUM(packets)::BIGINT AS tallied FROM packet_tally GROUP BY state) t
                    FULL JOIN (SELECT state, COUNT(*) AS counted FROM packet GROUP BY state) c USING (state)
                    WHERE COALESCE(tallied, 0) <> COALESCE(counted, 0)
                    """, on: connection)[0].decode(String.self)
                if !drifted.isEmpty {
                    violations.append(AuditViolation(code: "packet.tally", detail: """
                        packet_tally counts other packets than there are (state, tallied against counted): \(drifted)
                        """))
                }
                // The claims counted as they come and go are the claims there are.
                let (tallied, counted) = try await self.rows("""
                    SELECT (SELECT COALESCE(SUM(claims), 0)::BIGINT FROM claim_tally), (SELECT COUNT(*) FROM claim)
                    """, on: connection)[0].decode((Int64, Int64).self)
                if tallied != counted {
                    violations.append(AuditViolation(code: "claim.tally", detail: """
                        claim_tally counts \(tallied) claims and there are \(counted): the screen's opened count is wrong
                        """))
                }
                let badRefunds = try await self.rows("""
                    SELECT COUNT(*) FROM packet_now WHERE (state = 'expired' AND refunded <> total - opened_amount)
                        OR (state <> 'expired' AND (refunded <> 0 OR refund_pending))
                    """, on: connection)[0].decode(Int64.self)
                if badRefunds > 0 {
                    violations.append(AuditViolation(code: "packet.refund",
                        detail: "\(badRefunds) packets refunded other than their undrawn remainder at expiry"))
                }
                let unpaid = try await self.rows("""
                    SELECT COUNT(*) FROM packet_now WHERE state IN ('paying', 'cancelled') AND (grabbed > 0 OR opened > 0)
                    """, on: connection)[0].decode(Int64.self)
                if unpaid > 0 {
                    violations.append(AuditViolation(code: "packet.unpaid",
                        detail: "\(unpaid) packets were grabbed or opened before their payment"))
                }
                return violations
            }
        }
    }

    /// The claim, read on the pool (the open path's read, which must not block a thread).
    public func currentClaim(_ id: ClaimID) async throws -> Claim? {
        try await read(Self.claimByID(id), preparedAs: ClaimByIDCall.self)
            .first.map(PostgresPacketStore.claim(from:))
    }

    /// The claim `id` (run prepared by `currentClaim`, `ClaimByIDCall`: a read of every open and retry; as text by
    /// the display's `claim`).
    static func claimByID(_ id: ClaimID) -> PostgresQuery {
        "SELECT \(unescaped: PostgresPacketStore.claimColumns) FROM claim WHERE id = \(id.rawValue)"
    }

    // MARK: Display reads (synchronous: the display connection)

    private func readNow(_ query: PostgresQuery) throws -> [PostgresRow] {
        try pool.rowsNow(query)
    }

    public func packet(_ id: PacketID) throws -> Packet? {
        try readNow("SELECT \(unescaped: PostgresPacketStore.packetColumns) FROM packet_now WHERE id = \(id.rawValue)")
            .first.map(PostgresPacketStore.packet(from:))
    }

    public func claim(_ id: ClaimID) throws -> Claim? {
        try readNow(Self.claimByID(id)).first.map(PostgresPacketStore.claim(from:))
    }

    public func claims(of packet: PacketID) throws -> [Claim] {
        try readNow("""
            SELECT \(unescaped: PostgresPacketStore.claimColumns) FROM claim WHERE packet_id = \(packet.rawValue)
            ORDER BY slot
            """).map(PostgresPacketStore.claim(from:))
    }

    public func sent(by sender: AccountID, limit: Int) throws -> [Packet] {
        try readNow("""
            SELECT \(unescaped: PostgresPacketStore.packetColumns) FROM packet_now
            WHERE sender_id = \(sender.rawValue) AND state NOT IN ('paying', 'cancelled')
            ORDER BY created_at DESC, seq DESC LIMIT \(Int64(limit))
            """).map(PostgresPacketStore.packet(from:))
    }

    public func received(by user: AccountID, limit: Int) throws -> [Claim] {
        try readNow("""
            SELECT \(unescaped: PostgresPacketStore.claimColumns) FROM claim WHERE user_id = \(user.rawValue)
            ORDER BY opened_at DESC, seq DESC LIMIT \(Int64(limit))
            """).map(PostgresPacketStore.claim(from:))
    }

    public func uncreditedClaimsNow(in state: ClaimState?, limit: Int) throws -> [Claim] {
        try readNow(PostgresPacketStore.uncreditedQuery(state: state, limit: limit)).map(PostgresPacketStore.claim(from:))
    }

    public func openPackets(limit: Int) throws -> [Packet] {
        try readNow("""
            SELECT \(unescaped: PostgresPacketStore.packetColumns) FROM packet_now
            WHERE id IN (\(unescaped: PostgresPacketStore.storedOpen)) AND state = 'open'
            ORDER BY expires_at LIMIT \(Int64(limit))
            """).map(PostgresPacketStore.packet(from:))
    }

    public func openPacketCount(expiringBy deadline: Timestamp) throws -> Int {
        Int(try readNow("""
            SELECT COUNT(*) FROM packet_now
            WHERE id IN (SELECT id FROM packet WHERE state = 'open' AND expires_at <= \(deadline.millisecondsSinceEpoch))
              AND state = 'open'
            """).first?.decode(Int64.self) ?? 0)
    }

    public func packets(matching text: String?, limit: Int, offset: Int) throws -> [Packet] {
        try readNow("""
            SELECT \(unescaped: PostgresPacketStore.packetColumns) FROM packet_now
            WHERE state NOT IN ('paying', 'cancelled')
              AND (\(text)::TEXT IS NULL
                   OR strpos(lower(id || ' ' || sender_name || ' ' || kind || ' ' || state), lower(\(text))) > 0)
            ORDER BY seq DESC LIMIT \(Int64(limit)) OFFSET \(Int64(offset))
            """).map(PostgresPacketStore.packet(from:))
    }

    public func packetCount(matching text: String?) throws -> Int {
        // Without a text, the row's state is enough (`packet_now` only tells finished from open), and no claims
        // are summed.
        guard let text else {
            return Int(try readNow("""
                SELECT COALESCE(SUM(packets), 0)::BIGINT FROM packet_tally WHERE state NOT IN ('paying', 'cancelled')
                """).first?.decode(Int64.self) ?? 0)
        }
        return Int(try readNow("""
            SELECT COUNT(*) FROM packet_now WHERE state NOT IN ('paying', 'cancelled')
              AND strpos(lower(id || ' ' || sender_name || ' ' || kind || ' ' || state), lower(\(text))) > 0
            """).first?.decode(Int64.self) ?? 0)
    }

    public func waitingClaims(matching text: String?, limit: Int, offset: Int) throws -> [Claim] {
        try readNow("""
            SELECT \(unescaped: PostgresPacketStore.claimColumns) FROM claim
            WHERE \(unescaped: PostgresPacketStore.waitingClaim)
              AND (\(text)::TEXT IS NULL OR strpos(lower(id || ' ' || user_name), lower(\(text))) > 0)
            ORDER BY opened_at, id LIMIT \(Int64(limit)) OFFSET \(Int64(offset))
            """).map(PostgresPacketStore.claim(from:))
    }

    public func waitingClaimCount(matching text: String?) throws -> Int {
        Int(try readNow("""
            SELECT COUNT(*) FROM claim
            WHERE \(unescaped: PostgresPacketStore.waitingClaim)
              AND (\(text)::TEXT IS NULL OR strpos(lower(id || ' ' || user_name), lower(\(text))) > 0)
            """).first?.decode(Int64.self) ?? 0)
    }

    public func uncreditedTotals(for users: [AccountID]) throws -> [AccountID: (count: Int, amount: Money)] {
        let ids = Array(Set(users.map(\.rawValue)))
        guard !ids.isEmpty else { return [:] }
        var totals: [AccountID: (count: Int, amount: Money)] = [:]
        for row in try readNow("""
            SELECT user_id, COUNT(*), COALESCE(SUM(amount), 0)::BIGINT FROM claim
            WHERE user_id = ANY(\(ids)) AND state <> 'credited' GROUP BY user_id
            """) {
            let (user, count, amount) = try row.decode((Int64, Int64, Int64).self)
            totals[AccountID(user)] = (Int(count), Money(minorUnits: amount))
        }
        return totals
    }

    public func nextExpiry() throws -> Timestamp? {
        try readNow("SELECT MIN(expires_at) FROM packet WHERE state = 'open'").first?
            .decode(Int64?.self).map(Timestamp.init(millisecondsSinceEpoch:))
    }

    public func stats() throws -> PacketStats {
        var stats = PacketStats()
        for row in try readNow("""
            SELECT state, SUM(n)::BIGINT FROM (
                SELECT state, packets AS n FROM packet_tally WHERE state <> 'open'
                UNION ALL
                SELECT state, 1 FROM packet_now WHERE id IN (\(unescaped: PostgresPacketStore.storedOpen))
            ) s GROUP BY state
            """) {
            let (state, count) = try row.decode((String, Int64).self)
            switch PacketState(rawValue: state) {
            case .open: stats.open = Int(count)
            case .finished: stats.finished = Int(count)
            case .expired: stats.expired = Int(count)
            case .paying: stats.paying = Int(count)
            case .cancelled, nil: break
            }
        }
        stats.grabbedUnopened = Int(try readNow("""
            SELECT COALESCE(SUM(grabbed - opened), 0)::BIGINT FROM packet_now
            WHERE id IN (\(unescaped: PostgresPacketStore.storedOpen)) AND state = 'open'
            """).first?.decode(Int64.self) ?? 0)
        for row in try readNow("""
            SELECT state, COUNT(*), COALESCE(SUM(amount), 0)::BIGINT FROM claim
            WHERE \(unescaped: PostgresPacketStore.pendingClaim) GROUP BY state
            """) {
            let (state, count, amount) = try row.decode((String, Int64, Int64).self)
            switch ClaimState(rawValue: state) {
            case .crediting:
                stats.claimsCrediting = Int(count)
                stats.creditingAmount = Money(minorUnits: amount)
            case .waiting:
                stats.claimsWaiting = Int(count)
                stats.waitingAmount = Money(minorUnits: amount)
            case .credited, nil: break
            }
        }
        stats.claimsCredited = Int(try readNow("SELECT COALESCE(SUM(claims), 0)::BIGINT FROM claim_tally").first?
            .decode(Int64.self) ?? 0)
        stats.claimsCredited -= stats.claimsCrediting + stats.claimsWaiting
        stats.latestBestLuck = try readNow("""
            SELECT \(unescaped: PostgresPacketStore.claimColumns) FROM claim
            WHERE packet_id = (SELECT id FROM packet_now WHERE state = 'finished' AND shares > 1 ORDER BY seq DESC LIMIT 1)
            ORDER BY amount DESC, slot LIMIT 1
            """).first.map(PostgresPacketStore.claim(from:))
        return stats
    }
}

/// `PostgresPacketStore.claimByID`'s statement, prepared.
enum ClaimByIDCall: CallText {
    static let name = "hb_claim_by_id_call"
    static let sql = PostgresPacketStore.claimByID(ClaimID("")).sql
}
