import GRDB
import Primitives
import SQLiteSupport

/// Counts for the dashboard.
public struct PacketStats: Sendable, Equatable, Codable {
    public var open = 0
    public var finished = 0
    public var expired = 0
    /// Created, with the sender's payment not yet confirmed (in flight, or left by a crash for recovery).
    public var paying = 0
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

    public init() {}
}

extension SQLitePacketStore {
    public func packet(_ id: PacketID) throws -> Packet? {
        try readStatement { try SQLitePacketStore.packet(id, in: $0) }
    }

    public func claim(_ id: ClaimID) throws -> Claim? {
        try readStatement { try SQLitePacketStore.claim(id, in: $0) }
    }

    public func claims(of packet: PacketID) throws -> [Claim] {
        try read { database in
            try database.fetchAll(prepared: """
                SELECT \(SQLitePacketStore.claimColumns) FROM claim WHERE packet_id = ? ORDER BY slot
                """, packet.rawValue, map: SQLitePacketStore.claim(from:))
        }
    }

    public func sent(by sender: AccountID, limit: Int) throws -> [Packet] {
        try read { database in
            try database.fetchAll(prepared: """
                SELECT \(SQLitePacketStore.packetColumns) FROM packet
                WHERE sender_id = ? AND state NOT IN ('paying', 'cancelled')
                ORDER BY created_at DESC, rowid DESC LIMIT ?
                """, sender.rawValue, limit, map: SQLitePacketStore.packet(from:))
        }
    }

    public func received(by user: AccountID, limit: Int) throws -> [Claim] {
        try read { database in
            try database.fetchAll(prepared: """
                SELECT \(SQLitePacketStore.claimColumns) FROM claim WHERE user_id = ?
                ORDER BY opened_at DESC, rowid DESC LIMIT ?
                """, user.rawValue, limit, map: SQLitePacketStore.claim(from:))
        }
    }

    public func packets(matching text: String?, limit: Int, offset: Int) throws -> [Packet] {
        try read { database in
            try database.fetchAll(prepared: """
                SELECT \(SQLitePacketStore.packetColumns) FROM packet
                WHERE state NOT IN ('paying', 'cancelled')
                  AND (?1 IS NULL OR instr(lower(id || ' ' || sender_name || ' ' || kind || ' ' || state), lower(?1)) > 0)
                ORDER BY rowid DESC LIMIT ?2 OFFSET ?3
                """, text, limit, offset, map: SQLitePacketStore.packet(from:))
        }
    }

    public func packetCount(matching text: String?) throws -> Int {
        try read { database in
            try database.fetchFirst(prepared: """
                SELECT COUNT(*) FROM packet WHERE state NOT IN ('paying', 'cancelled')
                  AND (?1 IS NULL OR instr(lower(id || ' ' || sender_name || ' ' || kind || ' ' || state), lower(?1)) > 0)
                """, text) { Int($0.int64(0)) } ?? 0
        }
    }

    public func waitingClaims(matching text: String?, limit: Int, offset: Int) throws -> [Claim] {
        try read { database in
            try database.fetchAll(prepared: """
                SELECT \(SQLitePacketStore.claimColumns) FROM claim
                WHERE state = 'waiting' AND (?1 IS NULL OR instr(lower(id || ' ' || user_name), lower(?1)) > 0)
                ORDER BY opened_at, id LIMIT ?2 OFFSET ?3
                """, text, limit, offset, map: SQLitePacketStore.claim(from:))
        }
    }

    public func waitingClaimCount(matching text: String?) throws -> Int {
        try read { database in
            try database.fetchFirst(prepared: """
                SELECT COUNT(*) FROM claim
                WHERE state = 'waiting' AND (?1 IS NULL OR instr(lower(id || ' ' || user_name), lower(?1)) > 0)
                """, text) { Int($0.int64(0)) } ?? 0
        }
    }

    public func uncreditedTotals(for users: [AccountID]) throws -> [AccountID: (count: Int, amount: Money)] {
        try read { database in
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

    public func openPackets(limit: Int) throws -> [Packet] {
        try read { database in
            try database.fetchAll(prepared: """
                SELECT \(SQLitePacketStore.packetColumns) FROM packet WHERE state = 'open' ORDER BY expires_at LIMIT ?
                """, limit, map: SQLitePacketStore.packet(from:))
        }
    }

    public func openPacketCount(expiringBy deadline: Timestamp) throws -> Int {
        try read { database in
            try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM packet WHERE state = 'open' AND expires_at <= ?",
                             arguments: [deadline.millisecondsSinceEpoch]) ?? 0
        }
    }

    public func nextExpiry() throws -> Timestamp? {
        try read { database in
            try Int64.fetchOne(database, sql: "SELECT MIN(expires_at) FROM packet WHERE state = 'open'")
                .map(Timestamp.init(millisecondsSinceEpoch:))
        }
    }

    public func stats() throws -> PacketStats {
        try read { database in
            var stats = PacketStats()
            for row in try Row.fetchAll(database, sql: "SELECT state, COUNT(*) FROM packet GROUP BY state") {
                switch PacketState(rawValue: row[0]) {
                case .open: stats.open = row[1]
                case .finished: stats.finished = row[1]
                case .expired: stats.expired = row[1]
                case .paying: stats.paying = row[1]
                case .cancelled, nil: break
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
                SELECT \(SQLitePacketStore.claimColumns) FROM claim
                WHERE packet_id = (SELECT id FROM packet WHERE state = 'finished' AND shares > 1
                                   ORDER BY rowid DESC LIMIT 1)
                ORDER BY amount DESC, slot LIMIT 1
                """, map: SQLitePacketStore.claim(from:))
            return stats
        }
    }
}
