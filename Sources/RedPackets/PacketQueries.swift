import GRDB
import Primitives
import SQLiteSupport

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
        try database.fetchFirst(prepared: """
            SELECT \(packetColumns) FROM packet p JOIN account s ON s.id = p.sender_id WHERE p.id = ?
            """, id.rawValue, map: packet(from:))
    }

    static func claim(_ id: ClaimID, in database: Database) throws -> Claim? {
        try database.fetchFirst(prepared: """
            SELECT \(claimColumns) FROM claim c JOIN account u ON u.id = c.user_id
            JOIN packet p ON p.id = c.packet_id WHERE c.id = ?
            """, id.rawValue, map: claim(from:))
    }

    static func packet(from row: SQLiteRow) -> Packet {
        Packet(
            id: PacketID(row.text(0)),
            kind: PacketKind(rawValue: row.text(1)) ?? .lucky,
            senderID: AccountID(row.int64(2)),
            senderName: row.text(3),
            recipientID: row.optionalInt64(4).map(AccountID.init),
            escrowID: AccountID(row.int64(5)),
            total: Money(minorUnits: row.int64(6)),
            shares: row.int(7),
            greeting: row.text(8),
            createdAt: Timestamp(millisecondsSinceEpoch: row.int64(9)),
            expiresAt: Timestamp(millisecondsSinceEpoch: row.int64(10)),
            grabbed: row.int(11),
            opened: row.int(12),
            openedAmount: Money(minorUnits: row.int64(13)),
            refunded: Money(minorUnits: row.int64(14)),
            state: PacketState(rawValue: row.text(15)) ?? .open
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
            attempts: row.int(9),
            escrowID: AccountID(row.int64(10))
        )
    }
}
