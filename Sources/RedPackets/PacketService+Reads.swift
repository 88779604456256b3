import GRDB
import Ledger
import Primitives
import SQLiteSupport

/// A packet with its claims, for `packet show` and the dashboard.
public struct PacketDetail: Sendable, Equatable, Codable {
    public let packet: Packet
    public let claims: [Claim]
    /// The largest share, once every share is opened (WeChat's "best luck"); ties go to the earliest.
    public let bestLuck: ClaimID?
}

/// Counts for the dashboard.
public struct PacketStats: Sendable, Equatable, Codable {
    public var open = 0
    public var finished = 0
    public var expired = 0
    public var grabbedUnopened = 0
    public var claimsCrediting = 0
    public var claimsWaiting = 0
    public var claimsCredited = 0
    public var waitingAmount = Money.zero
    /// Drawn and not yet credited, not yet queued either (in-line credits in flight, or stranded by a crash).
    public var creditingAmount = Money.zero
    /// Every claim ever opened (credited or not).
    public var claimsOpened: Int { claimsCrediting + claimsWaiting + claimsCredited }
    /// The best share of the most recently finished group packet (WeChat's "best luck").
    public var latestBestLuck: Claim?
}

extension PacketService {
    public func packet(_ id: PacketID) throws -> Packet {
        try ledger.read { try PacketOperations.requirePacket(id, in: $0) }
    }

    public func detail(_ id: PacketID) throws -> PacketDetail {
        try ledger.read { database in
            let packet = try PacketOperations.requirePacket(id, in: database)
            let claims = try database.fetchAll(prepared: """
                SELECT \(PacketQueries.claimColumns) FROM claim c JOIN account u ON u.id = c.user_id
                JOIN packet p ON p.id = c.packet_id WHERE c.packet_id = ? ORDER BY c.slot
                """, id.rawValue, map: PacketQueries.claim(from:))
            var best: Claim?
            if packet.opened == packet.shares && packet.shares > 1 {
                for claim in claims where best.map({ claim.amount > $0.amount }) ?? true { best = claim }
            }
            return PacketDetail(packet: packet, claims: claims, bestLuck: best?.id)
        }
    }

    public func claim(_ id: ClaimID) throws -> Claim? {
        try ledger.read { try PacketQueries.claim(id, in: $0) }
    }

    /// Packets sent by `user`, newest first.
    public func sent(by user: String, limit: Int = 50) throws -> [Packet] {
        try ledger.read { database in
            guard let account = try userID(user, database) else { throw PacketError.unknownAccount(user) }
            return try database.fetchAll(prepared: """
                SELECT \(PacketQueries.packetColumns) FROM packet p JOIN account s ON s.id = p.sender_id
                WHERE p.sender_id = ? ORDER BY p.created_at DESC, p.rowid DESC LIMIT ?
                """, account.rawValue, limit, map: PacketQueries.packet(from:))
        }
    }

    /// Claims received by `user`, newest first.
    public func received(by user: String, limit: Int = 50) throws -> [Claim] {
        try ledger.read { database in
            guard let account = try userID(user, database) else { throw PacketError.unknownAccount(user) }
            return try database.fetchAll(prepared: """
                SELECT \(PacketQueries.claimColumns) FROM claim c JOIN account u ON u.id = c.user_id
                JOIN packet p ON p.id = c.packet_id WHERE c.user_id = ? ORDER BY c.opened_at DESC, c.rowid DESC LIMIT ?
                """, account.rawValue, limit, map: PacketQueries.claim(from:))
        }
    }

    /// Claims not yet credited, oldest first (the credit path's recovery and the dashboard use these).
    /// - Parameter state: only claims in this state (`crediting` or `waiting`); nil: both.
    public func uncreditedClaims(in state: ClaimState? = nil, limit: Int = 1_000) throws -> [Claim] {
        try ledger.read { database in
            try database.fetchAll(prepared: """
                SELECT \(PacketQueries.claimColumns) FROM claim c JOIN account u ON u.id = c.user_id
                JOIN packet p ON p.id = c.packet_id
                WHERE c.state <> 'credited' AND (?1 IS NULL OR c.state = ?1)
                ORDER BY c.opened_at, c.id LIMIT ?2
                """, state?.rawValue, limit, map: PacketQueries.claim(from:))
        }
    }

    /// Packets whose id, sender, kind or state contains `text` (every packet when nil), newest first, a page at a
    /// time: the dashboard's packet list over the whole ledger.
    public func packets(matching text: String?, limit: Int, offset: Int) throws -> [Packet] {
        try ledger.read { database in
            try database.fetchAll(prepared: """
                SELECT \(PacketQueries.packetColumns) FROM packet p JOIN account s ON s.id = p.sender_id
                WHERE ?1 IS NULL OR instr(lower(p.id || ' ' || s.name || ' ' || p.kind || ' ' || p.state), lower(?1)) > 0
                ORDER BY p.rowid DESC LIMIT ?2 OFFSET ?3
                """, text, limit, offset, map: PacketQueries.packet(from:))
        }
    }

    /// How many packets `packets(matching:limit:offset:)` pages through.
    public func packetCount(matching text: String?) throws -> Int {
        try ledger.read { database in
            try database.fetchFirst(prepared: """
                SELECT COUNT(*) FROM packet p JOIN account s ON s.id = p.sender_id
                WHERE ?1 IS NULL OR instr(lower(p.id || ' ' || s.name || ' ' || p.kind || ' ' || p.state), lower(?1)) > 0
                """, text) { Int($0.int64(0)) } ?? 0
        }
    }

    /// Claims waiting in the queue for a retry whose recipient or id contains `text` (all when nil), oldest
    /// first, a page at a time: the dashboard's retries list.
    public func waitingClaims(matching text: String?, limit: Int, offset: Int) throws -> [Claim] {
        try ledger.read { database in
            try database.fetchAll(prepared: """
                SELECT \(PacketQueries.claimColumns) FROM claim c JOIN account u ON u.id = c.user_id
                JOIN packet p ON p.id = c.packet_id
                WHERE c.state = 'waiting' AND (?1 IS NULL OR instr(lower(c.id || ' ' || u.name), lower(?1)) > 0)
                ORDER BY c.opened_at, c.id LIMIT ?2 OFFSET ?3
                """, text, limit, offset, map: PacketQueries.claim(from:))
        }
    }

    /// How many claims `waitingClaims(matching:limit:offset:)` pages through.
    public func waitingClaimCount(matching text: String?) throws -> Int {
        try ledger.read { database in
            try database.fetchFirst(prepared: """
                SELECT COUNT(*) FROM claim c JOIN account u ON u.id = c.user_id
                WHERE c.state = 'waiting' AND (?1 IS NULL OR instr(lower(c.id || ' ' || u.name), lower(?1)) > 0)
                """, text) { Int($0.int64(0)) } ?? 0
        }
    }

    /// Credits not yet made to each of `users`: how many and how much (users owed nothing are left out).
    public func uncreditedTotals(for users: [AccountID]) throws -> [AccountID: (count: Int, amount: Money)] {
        try ledger.read { database in
            var totals: [AccountID: (count: Int, amount: Money)] = [:]
            for user in Set(users) {
                let row = try database.fetchFirst(prepared: """
                    SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM claim WHERE user_id = ? AND state <> 'credited'
                    """, user.rawValue) { ($0.int64(0), $0.int64(1)) }
                if let row, row.0 > 0 { totals[user] = (Int(row.0), Money(minorUnits: row.1)) }
            }
            return totals
        }
    }

    /// Open packets, soonest to expire first.
    public func openPackets(limit: Int = 50) throws -> [Packet] {
        try ledger.read { database in
            try database.fetchAll(prepared: """
                SELECT \(PacketQueries.packetColumns) FROM packet p JOIN account s ON s.id = p.sender_id
                WHERE p.state = 'open' ORDER BY p.expires_at LIMIT ?
                """, limit, map: PacketQueries.packet(from:))
        }
    }

    /// The earliest expiry among open packets, for the expiry timer.
    public func nextExpiry() throws -> Timestamp? {
        try ledger.read { database in
            try Int64.fetchOne(database, sql: "SELECT MIN(expires_at) FROM packet WHERE state = 'open'")
                .map(Timestamp.init(millisecondsSinceEpoch:))
        }
    }

    public func stats() throws -> PacketStats {
        try ledger.read { database in
            var stats = PacketStats()
            for row in try Row.fetchAll(database, sql: "SELECT state, COUNT(*) FROM packet GROUP BY state") {
                switch PacketState(rawValue: row[0]) {
                case .open: stats.open = row[1]
                case .finished: stats.finished = row[1]
                case .expired: stats.expired = row[1]
                case nil: break
                }
            }
            stats.grabbedUnopened = try Int.fetchOne(database, sql: """
                SELECT COALESCE(SUM(grabbed - opened), 0) FROM packet WHERE state = 'open'
                """) ?? 0
            for row in try Row.fetchAll(database, sql: """
                SELECT state, COUNT(*), COALESCE(SUM(amount), 0) FROM claim WHERE state <> 'credited' GROUP BY state
                """) {
                switch ClaimState(rawValue: row[0]) {
                case .crediting:
                    stats.claimsCrediting = row[1]
                    stats.creditingAmount = Money(minorUnits: row[2])
                case .waiting:
                    stats.claimsWaiting = row[1]
                    stats.waitingAmount = Money(minorUnits: row[2])
                case .credited, nil: break
                }
            }
            stats.claimsCredited = try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM claim") ?? 0
            stats.claimsCredited -= stats.claimsCrediting + stats.claimsWaiting
            stats.latestBestLuck = try database.fetchFirst(prepared: """
                SELECT \(PacketQueries.claimColumns) FROM claim c JOIN account u ON u.id = c.user_id
                JOIN packet p ON p.id = c.packet_id
                WHERE c.packet_id = (SELECT id FROM packet WHERE state = 'finished' AND shares > 1
                                     ORDER BY rowid DESC LIMIT 1)
                ORDER BY c.amount DESC, c.slot LIMIT 1
                """, map: PacketQueries.claim(from:))
            return stats
        }
    }

    private func userID(_ name: String, _ database: Database) throws -> AccountID? {
        try Int64.fetchOne(database, sql: "SELECT id FROM account WHERE name = ? AND kind = 'user'", arguments: [name])
            .map(AccountID.init)
    }
}
