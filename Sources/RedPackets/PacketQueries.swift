import GRDB
import Primitives

/// Row mapping for packets and claims.
enum PacketQueries {
    static let packetColumns = """
        p.id, p.kind, p.sender_id, s.name, p.recipient_id, p.escrow_id, p.total, p.shares, p.greeting, p.created_at,
        p.expires_at, p.grabbed, p.opened, p.opened_amount, p.refunded, p.state
        """

    static let claimColumns = """
        c.id, c.packet_id, c.user_id, u.name, c.slot, c.amount, c.state, c.opened_at, c.credited_at, c.attempts,
        p.escrow_id
        """

    static func packet(_ id: PacketID, in database: Database) throws -> Packet? {
        let statement = try database.cachedStatement(sql: """
            SELECT \(packetColumns) FROM packet p JOIN account s ON s.id = p.sender_id WHERE p.id = ?
            """)
        return try statement.fetchFirst(arguments: [id.rawValue], packet(from:))
    }

    static func claim(_ id: ClaimID, in database: Database) throws -> Claim? {
        let statement = try database.cachedStatement(sql: """
            SELECT \(claimColumns) FROM claim c JOIN account u ON u.id = c.user_id
            JOIN packet p ON p.id = c.packet_id WHERE c.id = ?
            """)
        return try statement.fetchFirst(arguments: [id.rawValue], claim(from:))
    }

    static func packet(from row: Row) -> Packet {
        Packet(
            id: PacketID(row[0] as String),
            kind: PacketKind(rawValue: row[1]) ?? .lucky,
            senderID: AccountID(row[2]),
            senderName: row[3],
            recipientID: (row[4] as Int64?).map(AccountID.init),
            escrowID: AccountID(row[5]),
            total: Money(minorUnits: row[6]),
            shares: row[7],
            greeting: row[8],
            createdAt: Timestamp(millisecondsSinceEpoch: row[9]),
            expiresAt: Timestamp(millisecondsSinceEpoch: row[10]),
            grabbed: row[11],
            opened: row[12],
            openedAmount: Money(minorUnits: row[13]),
            refunded: Money(minorUnits: row[14]),
            state: PacketState(rawValue: row[15]) ?? .open
        )
    }

    static func claim(from row: Row) -> Claim {
        Claim(
            id: ClaimID(row[0] as String),
            packetID: PacketID(row[1] as String),
            userID: AccountID(row[2]),
            userName: row[3],
            slot: row[4],
            amount: Money(minorUnits: row[5]),
            state: ClaimState(rawValue: row[6]) ?? .crediting,
            openedAt: Timestamp(millisecondsSinceEpoch: row[7]),
            creditedAt: (row[8] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)),
            attempts: row[9],
            escrowID: AccountID(row[10])
        )
    }
}
