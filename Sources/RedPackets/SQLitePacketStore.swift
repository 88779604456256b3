import Crediting
import GRDB
import Ledger
import Primitives
import SQLiteSupport

/// The red-packet store in its own SQLite database (WAL) with its own group-commit writer: the second writer
/// of the two systems, on the second core. Nothing outside this file sees its SQL.
public final class SQLitePacketStore: PacketStore {
    public let path: String
    public let limits: Limits
    let store: SQLiteStore
    private let clock: any WallClock

    /// Marks a database as the red-packet store's ("HBRP"), so that a ledger or a foreign file is refused.
    static let applicationID: Int32 = 0x4842_5250

    public init(
        path: String, durability: Durability = .full, limits: Limits = .default, clock: any WallClock = SystemClock(),
        writeMode: LedgerWriteMode = .groupCommit, readOnly: Bool = false
    ) throws(LedgerError) {
        self.path = path
        self.limits = limits
        self.clock = clock
        // The same writer tuning as the ledger's: the two databases see the same kind of load.
        let options = SQLiteStoreOptions(
            applicationID: SQLitePacketStore.applicationID, syncWAL: durability == .full,
            groupCommit: writeMode == .groupCommit, maxUnitsPerCommit: limits.ledger.maxTransactionsPerCommit,
            writerCacheBytes: limits.ledger.writerCacheBytes, memoryMapBytes: limits.ledger.memoryMapBytes,
            walAutocheckpointPages: limits.ledger.walAutocheckpointPages, readOnly: readOnly)
        do {
            store = try SQLiteStore(path: path, options: options, migrations: SQLitePacketStore.register)
        } catch {
            throw SQLitePacketStore.classify(error)
        }
    }

    /// Closes the database once its writer is idle (see `Ledger.close`).
    public func close() throws(LedgerError) {
        do {
            try store.close()
        } catch {
            throw SQLitePacketStore.classify(error)
        }
    }

    /// How many group commits the store's writer has made.
    public var commitCount: Int { store.commitCount }

    static func classify(_ error: any Error) -> LedgerError {
        switch error {
        case let error as LedgerError: return error
        case let SQLiteStoreError.corruptDatabase(path, reason): return .corruptDatabase(path: path, reason: reason)
        case let SQLiteStoreError.foreignDatabase(path): return .foreignDatabase(path: path)
        case let SQLiteStoreError.missingDatabase(path): return .missingDatabase(path: path)
        case let SQLiteStoreError.storage(message): return .storage(message)
        default: return .storage("\(error)")
        }
    }

    private func write<T: Sendable>(_ work: @escaping @Sendable (Database, Timestamp) throws -> T) async throws -> T {
        let clock = self.clock
        do {
            return try await store.write { try work($0, clock.now()) }
        } catch let error as SQLiteStoreError {
            throw SQLitePacketStore.classify(error)
        }
    }

    func read<T>(_ work: (Database) throws -> T) throws -> T {
        do {
            return try store.read(work)
        } catch let error as SQLiteStoreError {
            throw SQLitePacketStore.classify(error)
        }
    }

    /// One statement outside an explicit transaction (see `SQLiteStore.readStatement`): point lookups.
    func readStatement<T>(_ work: (Database) throws -> T) throws -> T {
        do {
            return try store.readStatement(work)
        } catch let error as SQLiteStoreError {
            throw SQLitePacketStore.classify(error)
        }
    }

    // MARK: Schema

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("redpackets.v2") { database in
            try database.execute(sql: """
                CREATE TABLE packet (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('personal', 'lucky', 'equal')),
                    sender_id INTEGER NOT NULL,
                    sender_name TEXT NOT NULL,
                    recipient_id INTEGER,
                    total INTEGER NOT NULL CHECK (total > 0),
                    shares INTEGER NOT NULL CHECK (shares > 0),
                    greeting TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    grabbed INTEGER NOT NULL DEFAULT 0 CHECK (grabbed <= shares),
                    opened INTEGER NOT NULL DEFAULT 0 CHECK (opened <= grabbed),
                    opened_amount INTEGER NOT NULL DEFAULT 0 CHECK (opened_amount <= total),
                    credited_amount INTEGER NOT NULL DEFAULT 0,
                    refunded INTEGER NOT NULL DEFAULT 0,
                    refund_pending INTEGER NOT NULL DEFAULT 0,
                    state TEXT NOT NULL CHECK (state IN ('paying', 'cancelled', 'open', 'finished', 'expired'))
                );
                CREATE INDEX packet_by_sender ON packet (sender_id, created_at);
                CREATE INDEX packet_open_by_expiry ON packet (expires_at) WHERE state = 'open';
                -- Packets between two steps of a cross-system flow: what recovery scans, a handful at most.
                CREATE INDEX packet_unsettled ON packet (id) WHERE state = 'paying' OR refund_pending = 1;
                CREATE TABLE grab (
                    packet_id TEXT NOT NULL REFERENCES packet (id),
                    user_id INTEGER NOT NULL,
                    slot INTEGER NOT NULL,
                    grabbed_at INTEGER NOT NULL,
                    PRIMARY KEY (packet_id, user_id)
                ) WITHOUT ROWID;
                CREATE TABLE claim (
                    id TEXT PRIMARY KEY,
                    packet_id TEXT NOT NULL REFERENCES packet (id),
                    user_id INTEGER NOT NULL,
                    user_name TEXT NOT NULL,
                    slot INTEGER NOT NULL,
                    amount INTEGER NOT NULL CHECK (amount > 0),
                    state TEXT NOT NULL CHECK (state IN ('crediting', 'waiting', 'credited')),
                    opened_at INTEGER NOT NULL,
                    credited_at INTEGER,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (packet_id, user_id)
                );
                CREATE INDEX claim_by_user ON claim (user_id, opened_at);
                CREATE INDEX claim_uncredited ON claim (state) WHERE state <> 'credited';
                """)
        }
    }

    static let packetColumns = """
        id, kind, sender_id, sender_name, recipient_id, total, shares, greeting, created_at, expires_at, grabbed,
        opened, opened_amount, credited_amount, refunded, refund_pending, state
        """

    static let claimColumns = "id, packet_id, user_id, user_name, slot, amount, state, opened_at, credited_at, attempts"

    static func packet(from row: SQLiteRow) -> Packet {
        Packet(
            id: PacketID(row.text(0)),
            kind: PacketKind(rawValue: row.text(1)) ?? .lucky,
            senderID: AccountID(row.int64(2)),
            senderName: row.text(3),
            recipientID: row.optionalInt64(4).map(AccountID.init),
            total: Money(minorUnits: row.int64(5)),
            shares: row.int(6),
            greeting: row.text(7),
            createdAt: Timestamp(millisecondsSinceEpoch: row.int64(8)),
            expiresAt: Timestamp(millisecondsSinceEpoch: row.int64(9)),
            grabbed: row.int(10),
            opened: row.int(11),
            openedAmount: Money(minorUnits: row.int64(12)),
            creditedAmount: Money(minorUnits: row.int64(13)),
            refunded: Money(minorUnits: row.int64(14)),
            refundPending: row.int64(15) != 0,
            state: PacketState(rawValue: row.text(16)) ?? .open
        )
    }

    static func claim(from row: SQLiteRow) -> Claim {
        Claim(
            id: ClaimID(row.text(0)),
            packetID: PacketID(row.text(1)),
            userID: AccountID(row.int64(2)),
            userName: row.text(3),
            slot: row.int(4),
            amount: Money(minorUnits: row.int64(5)),
            state: ClaimState(rawValue: row.text(6)) ?? .crediting,
            openedAt: Timestamp(millisecondsSinceEpoch: row.int64(7)),
            creditedAt: row.optionalInt64(8).map(Timestamp.init(millisecondsSinceEpoch:)),
            attempts: row.int(9)
        )
    }

    static func packet(_ id: PacketID, in database: Database) throws -> Packet? {
        try database.fetchFirst(prepared: "SELECT \(packetColumns) FROM packet WHERE id = ?", id.rawValue,
                                map: packet(from:))
    }

    /// A packet anyone can see: paying and cancelled packets do not exist for users.
    static func requireVisible(_ id: PacketID, in database: Database) throws -> Packet {
        guard let packet = try packet(id, in: database), packet.isPaid else { throw PacketError.unknownPacket(id.rawValue) }
        return packet
    }

    static func claim(_ id: ClaimID, in database: Database) throws -> Claim? {
        try database.fetchFirst(prepared: "SELECT \(claimColumns) FROM claim WHERE id = ?", id.rawValue,
                                map: claim(from:))
    }

    private static func checkLive(_ packet: Packet, now: Timestamp) throws {
        if packet.state == .expired || now >= packet.expiresAt { throw PacketError.expired(packet.id) }
    }

    private static func slot(of user: AccountID, in packet: PacketID, database: Database) throws -> Int? {
        try database.fetchFirst(prepared: "SELECT slot FROM grab WHERE packet_id = ? AND user_id = ?",
                                packet.rawValue, user.rawValue) { $0.int(0) }
    }

    // MARK: Send

    public func createPacket(_ draft: PacketDraft, random: any RandomSource) async throws -> Packet {
        try await write { database, now in
            var id = PacketID.generate(at: now, random: random)
            // Time-ordered ids: a collision is possible within a second, so take another one.
            while try SQLitePacketStore.packet(id, in: database) != nil { id = PacketID.generate(at: now, random: random) }
            let expiresAt = now + draft.timeToLive
            try database.execute(prepared: """
                INSERT INTO packet (id, kind, sender_id, sender_name, recipient_id, total, shares, greeting, created_at,
                                    expires_at, state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'paying')
                """, id.rawValue, draft.kind.rawValue, draft.senderID.rawValue, draft.senderName,
                draft.recipientID?.rawValue, draft.total.minorUnits, draft.shares, draft.greeting,
                now.millisecondsSinceEpoch, expiresAt.millisecondsSinceEpoch)
            return Packet(id: id, kind: draft.kind, senderID: draft.senderID, senderName: draft.senderName,
                          recipientID: draft.recipientID, total: draft.total, shares: draft.shares,
                          greeting: draft.greeting, createdAt: now, expiresAt: expiresAt, grabbed: 0, opened: 0,
                          openedAmount: .zero, creditedAmount: .zero, refunded: .zero, refundPending: false,
                          state: .paying)
        }
    }

    public func markPaid(_ id: PacketID) async throws -> Packet {
        try await write { database, _ in
            try database.execute(prepared: "UPDATE packet SET state = 'open' WHERE id = ? AND state = 'paying'",
                                 id.rawValue)
            guard let packet = try SQLitePacketStore.packet(id, in: database) else {
                throw PacketError.unknownPacket(id.rawValue)
            }
            return packet
        }
    }

    public func cancel(_ id: PacketID) async throws {
        _ = try await write { database, _ in
            try database.execute(prepared: "UPDATE packet SET state = 'cancelled' WHERE id = ? AND state = 'paying'",
                                 id.rawValue)
        }
    }

    // MARK: Grab and open

    public func grab(_ id: PacketID, user: Account) async throws -> Int {
        try await write { database, now in
            let packet = try SQLitePacketStore.requireVisible(id, in: database)
            let slot = try SQLitePacketStore.insertGrab(of: packet, by: user, at: now, in: database)
            try database.execute(prepared: "UPDATE packet SET grabbed = grabbed + 1 WHERE id = ?", id.rawValue)
            return slot
        }
    }

    /// One write for a user who opens at once: `grab`'s checks and row, then the draw of the share, with the
    /// packet's counters moved by one UPDATE. Five statements, where `grab` and `draw` took nine in two commits.
    public func grabAndDraw(_ id: PacketID, user: Account, random: any RandomSource) async throws -> Claim {
        let minShare = limits.packets.minShare
        return try await write { database, now in
            let packet = try SQLitePacketStore.requireVisible(id, in: database)
            let slot = try SQLitePacketStore.insertGrab(of: packet, by: user, at: now, in: database)
            let amount = ShareDraw.next(kind: packet.kind, remaining: packet.remaining,
                                        sharesLeft: packet.shares - packet.opened, minShare: minShare, random: random)
            let claim = try SQLitePacketStore.insertClaim(of: packet, slot: slot, by: user, amount: amount, at: now,
                                                          in: database)
            try database.execute(prepared: """
                UPDATE packet SET grabbed = grabbed + 1, opened = opened + 1, opened_amount = opened_amount + ?,
                    state = CASE WHEN opened + 1 = shares THEN 'finished' ELSE state END
                WHERE id = ?
                """, amount.minorUnits, id.rawValue)
            return claim
        }
    }

    /// `grab`'s checks, in its order, and its row; returns the slot. Leaves the packet's `grabbed` to the
    /// caller. The row's key refuses a second grab by the same user, so no lookup precedes it (one is made
    /// only when the packet is sold out, to tell which refusal it is).
    private static func insertGrab(of packet: Packet, by user: Account, at now: Timestamp,
                                   in database: Database) throws -> Int {
        try checkLive(packet, now: now)
        if packet.kind == .personal && packet.recipientID != user.id {
            throw PacketError.notRecipient(packet.id, user: user.name)
        }
        guard packet.grabbed < packet.shares else {
            if try slot(of: user.id, in: packet.id, database: database) != nil {
                throw PacketError.alreadyGrabbed(packet.id, user: user.name)
            }
            throw PacketError.soldOut(packet.id)
        }
        let slot = packet.grabbed + 1
        let inserted = try database.execute(prepared: """
            INSERT INTO grab (packet_id, user_id, slot, grabbed_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (packet_id, user_id) DO NOTHING
            """, packet.id.rawValue, user.id.rawValue, slot, now.millisecondsSinceEpoch)
        guard inserted == 1 else { throw PacketError.alreadyGrabbed(packet.id, user: user.name) }
        return slot
    }

    public func draw(_ id: PacketID, user: Account, random: any RandomSource) async throws -> (claim: Claim, wasReplay: Bool) {
        let minShare = limits.packets.minShare
        return try await write { database, now in
            let packet = try SQLitePacketStore.requireVisible(id, in: database)
            guard let slot = try SQLitePacketStore.slot(of: user.id, in: id, database: database) else {
                throw PacketError.notGrabbed(id, user: user.name)
            }
            let claimID = ClaimID(packet: id, slot: slot)
            if let existing = try SQLitePacketStore.claim(claimID, in: database) { return (existing, true) }
            try SQLitePacketStore.checkLive(packet, now: now)
            let amount = ShareDraw.next(kind: packet.kind, remaining: packet.remaining,
                                        sharesLeft: packet.shares - packet.opened, minShare: minShare, random: random)
            let claim = try SQLitePacketStore.insertClaim(of: packet, slot: slot, by: user, amount: amount, at: now,
                                                          in: database)
            try database.execute(prepared: """
                UPDATE packet SET opened = opened + 1, opened_amount = opened_amount + ?,
                    state = CASE WHEN opened + 1 = shares THEN 'finished' ELSE state END
                WHERE id = ?
                """, amount.minorUnits, id.rawValue)
            return (claim, false)
        }
    }

    /// The claim's row, `crediting`; returns the claim built from what was written rather than read back (this
    /// runs tens of thousands of times a second). Leaves the packet's counters to the caller.
    private static func insertClaim(of packet: Packet, slot: Int, by user: Account, amount: Money, at now: Timestamp,
                                    in database: Database) throws -> Claim {
        let claimID = ClaimID(packet: packet.id, slot: slot)
        try database.execute(prepared: """
            INSERT INTO claim (id, packet_id, user_id, user_name, slot, amount, state, opened_at)
            VALUES (?, ?, ?, ?, ?, ?, 'crediting', ?)
            """, claimID.rawValue, packet.id.rawValue, user.id.rawValue, user.name, slot, amount.minorUnits,
            now.millisecondsSinceEpoch)
        return Claim(id: claimID, packetID: packet.id, userID: user.id, userName: user.name, slot: slot,
                     amount: amount, state: .crediting, openedAt: now, creditedAt: nil, attempts: 0)
    }

    public func markCredited(_ claim: ClaimID, at time: Timestamp) async throws {
        try await write { database, _ in try SQLitePacketStore.markCredited(claim, at: time, in: database) }
    }

    /// Joins the next group commit without a task or a continuation: the opener's in-line credits record this
    /// way, tens of thousands of times a second.
    public func markCreditedWithoutWaiting(_ claim: ClaimID, at time: Timestamp,
                                           completion: @escaping @Sendable ((any Error)?) -> Void) {
        submitWithoutWaiting({ database in try SQLitePacketStore.markCredited(claim, at: time, in: database) }, completion)
    }

    /// `work` in the next group commit; `completion` gets nil once it is durable, or its error (a storage error
    /// classified as the store's `write` throws it).
    private func submitWithoutWaiting(_ work: @escaping @Sendable (Database) throws -> Void,
                                      _ completion: @escaping @Sendable ((any Error)?) -> Void) {
        store.submit(work) { error in
            if let error = error as? SQLiteStoreError {
                completion(SQLitePacketStore.classify(error))
            } else {
                completion(error)
            }
        }
    }

    /// Two statements on the writer, which every open's record passes through (its busiest thread under the Gala
    /// load): the claim's mark returns what the packet's total needs, where a read before it was a third. A claim
    /// already credited is left as it is; only then, or for an unknown claim, is it read, to tell the two apart.
    private static func markCredited(_ claim: ClaimID, at time: Timestamp, in database: Database) throws {
        let marked = try database.fetchFirst(prepared: """
            UPDATE claim SET state = 'credited', credited_at = ?, attempts = attempts + 1
            WHERE id = ? AND state <> 'credited' RETURNING packet_id, amount
            """, time.millisecondsSinceEpoch, claim.rawValue) { ($0.text(0), $0.int64(1)) }
        guard let (packet, amount) = marked else {
            guard try SQLitePacketStore.claim(claim, in: database) != nil else { throw PacketError.unknownPacket(claim.rawValue) }
            return
        }
        try database.execute(prepared: "UPDATE packet SET credited_amount = credited_amount + ? WHERE id = ?",
                             amount, packet)
    }

    public func markWaiting(_ claim: ClaimID) async throws {
        try await write { database, _ in try SQLitePacketStore.markWaiting(claim, in: database) }
    }

    /// Joins the next group commit without a task or a continuation, as `markCreditedWithoutWaiting` does.
    public func markWaitingWithoutWaiting(_ claim: ClaimID, completion: @escaping @Sendable ((any Error)?) -> Void) {
        submitWithoutWaiting({ database in try SQLitePacketStore.markWaiting(claim, in: database) }, completion)
    }

    private static func markWaiting(_ claim: ClaimID, in database: Database) throws {
        try database.execute(prepared: """
            UPDATE claim SET state = 'waiting', attempts = attempts + 1 WHERE id = ? AND state = 'crediting'
            """, claim.rawValue)
    }

    public func undraw(_ claim: ClaimID) async throws {
        try await write { database, _ in
            let found = try database.fetchFirst(prepared: """
                SELECT c.packet_id, c.amount FROM claim c JOIN packet p ON p.id = c.packet_id
                WHERE c.id = ? AND c.state = 'crediting' AND p.state IN ('open', 'finished')
                """, claim.rawValue) { ($0.text(0), $0.int64(1)) }
            guard let found else { return }
            try database.execute(prepared: "DELETE FROM claim WHERE id = ?", claim.rawValue)
            try database.execute(prepared: """
                UPDATE packet SET opened = opened - 1, opened_amount = opened_amount - ?, state = 'open' WHERE id = ?
                """, found.1, found.0)
        }
    }

    // MARK: Expiry

    public func expireDue(limit: Int) async throws -> [Packet] {
        try await write { database, now in
            let due = try database.fetchAll(prepared: """
                SELECT \(SQLitePacketStore.packetColumns) FROM packet
                WHERE state = 'open' AND expires_at <= ? ORDER BY expires_at LIMIT ?
                """, now.millisecondsSinceEpoch, limit, map: SQLitePacketStore.packet(from:))
            var expired: [Packet] = []
            for packet in due {
                let remainder = packet.remaining
                try database.execute(prepared: """
                    UPDATE packet SET state = 'expired', refunded = ?, refund_pending = ? WHERE id = ?
                    """, remainder.minorUnits, remainder.isPositive ? 1 : 0, packet.id.rawValue)
                if let updated = try SQLitePacketStore.packet(packet.id, in: database) { expired.append(updated) }
            }
            return expired
        }
    }

    public func markRefunded(_ id: PacketID) async throws {
        _ = try await write { database, _ in
            try database.execute(prepared: "UPDATE packet SET refund_pending = 0 WHERE id = ?", id.rawValue)
        }
    }

    // MARK: Recovery and audit

    public func unsettledPackets() async throws -> [Packet] {
        try read { database in
            try database.fetchAll(prepared: """
                SELECT \(SQLitePacketStore.packetColumns) FROM packet WHERE state = 'paying' OR refund_pending = 1
                ORDER BY id
                """, map: SQLitePacketStore.packet(from:))
        }
    }

    public func uncreditedClaims(in state: ClaimState?, limit: Int) async throws -> [Claim] {
        try uncreditedClaimsNow(in: state, limit: limit)
    }

    /// `uncreditedClaims` on the caller's thread (the dashboard's snapshot, the CLI).
    public func uncreditedClaimsNow(in state: ClaimState? = nil, limit: Int = 1_000) throws -> [Claim] {
        try read { database in
            try database.fetchAll(prepared: """
                SELECT \(SQLitePacketStore.claimColumns) FROM claim
                WHERE state <> 'credited' AND (?1 IS NULL OR state = ?1)
                ORDER BY opened_at, id LIMIT ?2
                """, state?.rawValue, limit, map: SQLitePacketStore.claim(from:))
        }
    }

    public func creditedClaimAmounts() async throws -> [ClaimID: Money] {
        try read { database in
            var amounts: [ClaimID: Money] = [:]
            for (id, amount) in try database.fetchAll(prepared: "SELECT id, amount FROM claim WHERE state = 'credited'",
                                                      map: { ($0.text(0), $0.int64(1)) }) {
                amounts[ClaimID(id)] = Money(minorUnits: amount)
            }
            return amounts
        }
    }

    public func allPackets() async throws -> [Packet] {
        try read { database in
            try database.fetchAll(prepared: "SELECT \(SQLitePacketStore.packetColumns) FROM packet ORDER BY id",
                                  map: SQLitePacketStore.packet(from:))
        }
    }

    public func totalHeld() async throws -> Money {
        try read { database in
            let held = try database.fetchFirst(prepared: """
                SELECT COALESCE(SUM(total - credited_amount - refunded), 0) FROM packet
                WHERE state NOT IN ('paying', 'cancelled')
                """) { $0.int64(0) } ?? 0
            return Money(minorUnits: held)
        }
    }

    public func auditStore(maxViolationsPerCheck: Int = 20) async throws -> [AuditViolation] {
        try auditStoreNow(maxViolationsPerCheck: maxViolationsPerCheck)
    }

    /// The store's own invariants on one consistent snapshot: Σ claims = opened amount ≤ total and their count
    /// = opened; the credited amount = Σ credited claims; an expired packet refunded its undrawn remainder.
    public func auditStoreNow(maxViolationsPerCheck: Int = 20) throws -> [AuditViolation] {
        try read { database in
            var violations: [AuditViolation] = []
            for row in try Row.fetchAll(database, sql: """
                SELECT p.id, p.total, p.opened_amount, COALESCE(SUM(c.amount), 0), p.opened, COUNT(c.id),
                       p.credited_amount, COALESCE(SUM(CASE WHEN c.state = 'credited' THEN c.amount END), 0)
                FROM packet p LEFT JOIN claim c ON c.packet_id = p.id
                GROUP BY p.id
                HAVING COALESCE(SUM(c.amount), 0) <> p.opened_amount OR p.opened_amount > p.total
                    OR COUNT(c.id) <> p.opened
                    OR p.credited_amount <> COALESCE(SUM(CASE WHEN c.state = 'credited' THEN c.amount END), 0)
                LIMIT ?
                """, arguments: [maxViolationsPerCheck]) {
                violations.append(AuditViolation(code: "packet.claims", detail: """
                    packet \(row[0] as String): \(row[5] as Int) claims sum to \(Money(minorUnits: row[3])) \
                    (\(Money(minorUnits: row[7])) credited), recorded \(row[4] as Int) opened for \
                    \(Money(minorUnits: row[2])) of \(Money(minorUnits: row[1])) (\(Money(minorUnits: row[6])) credited)
                    """))
            }
            let badRefunds = try Int.fetchOne(database, sql: """
                SELECT COUNT(*) FROM packet WHERE (state = 'expired' AND refunded <> total - opened_amount)
                    OR (state <> 'expired' AND (refunded <> 0 OR refund_pending <> 0))
                """) ?? 0
            if badRefunds > 0 {
                violations.append(AuditViolation(code: "packet.refund",
                    detail: "\(badRefunds) packets refunded other than their undrawn remainder at expiry"))
            }
            let unpaidActivity = try Int.fetchOne(database, sql: """
                SELECT COUNT(*) FROM packet WHERE state IN ('paying', 'cancelled') AND (grabbed > 0 OR opened > 0)
                """) ?? 0
            if unpaidActivity > 0 {
                violations.append(AuditViolation(code: "packet.unpaid",
                    detail: "\(unpaidActivity) packets were grabbed or opened before their payment"))
            }
            return violations
        }
    }
}
