import GRDB
import Ledger
import Primitives
import SQLiteSupport

/// The red-packet operations, each run inside a ledger transaction so that money and packet state change
/// together or not at all. Stateless: the service and the account service call these.
public enum PacketOperations {
    /// Debits the sender into a new escrow account and creates the packet.
    public static func send(_ request: SendRequest, id: PacketID, in transaction: LedgerTransaction) throws -> Packet {
        if let error = request.validate(limits: transaction.limits) { throw error }
        let sender = try requireUser(request.sender, in: transaction)
        var recipientID: AccountID?
        if request.kind == .personal, let recipientName = request.recipient {
            let recipient = try requireUser(recipientName, in: transaction)
            guard recipient.id != sender.id else { throw PacketError.sendToSelf }
            recipientID = recipient.id
        }
        guard sender.balance >= request.total else {
            throw PacketError.insufficientFunds(account: sender.name, balance: sender.balance, needed: request.total)
        }
        let escrow = try transaction.openAccount(name: "escrow:\(id.rawValue)", kind: .escrow)
        try transaction.transfer(TransferRequest(
            id: id.fundingTransferID, from: sender.id, to: escrow.id, amount: request.total,
            memo: "red packet \(id.rawValue)"))
        let expiresAt = transaction.now + (request.timeToLive ?? transaction.limits.packets.defaultTimeToLive)
        try transaction.database.execute(prepared: """
            INSERT INTO packet (id, kind, sender_id, recipient_id, escrow_id, total, shares, greeting, created_at,
                                expires_at, state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')
            """, id.rawValue, request.kind.rawValue, sender.id.rawValue, recipientID?.rawValue,
            escrow.id.rawValue, request.total.minorUnits, request.shares, request.greeting,
            transaction.now.millisecondsSinceEpoch, expiresAt.millisecondsSinceEpoch)
        return try requirePacket(id, in: transaction.database)
    }

    /// A new time-ordered packet id (`PacketID.generate`) that no packet has yet. Checked inside the write
    /// transaction, so two sends can never be given the same id.
    public static func unusedID(random: any RandomSource, in transaction: LedgerTransaction) throws -> PacketID {
        while true {
            let id = PacketID.generate(at: transaction.now, random: random)
            if try PacketQueries.packet(id, in: transaction.database) == nil { return id }
        }
    }

    /// Reserves a slot for `user`. One per user per packet.
    public static func grab(_ packetID: PacketID, user: String, in transaction: LedgerTransaction) throws -> Int {
        let packet = try requirePacket(packetID, in: transaction.database)
        let account = try requireUser(user, in: transaction)
        try checkLive(packet, now: transaction.now)
        if packet.kind == .personal && packet.recipientID != account.id {
            throw PacketError.notRecipient(packetID, user: user)
        }
        if try slot(of: account.id, in: packetID, database: transaction.database) != nil {
            throw PacketError.alreadyGrabbed(packetID, user: user)
        }
        guard packet.grabbed < packet.shares else { throw PacketError.soldOut(packetID) }
        let slot = packet.grabbed + 1
        try transaction.database.execute(prepared: "INSERT INTO grab (packet_id, user_id, slot, grabbed_at) VALUES (?, ?, ?, ?)",
            packetID.rawValue, account.id.rawValue, slot, transaction.now.millisecondsSinceEpoch)
        try transaction.database.execute(prepared: "UPDATE packet SET grabbed = grabbed + 1 WHERE id = ?", packetID.rawValue)
        return slot
    }

    /// Step 1 of opening: draws the amount and records the claim as `crediting`. Opening twice returns the
    /// existing claim (`wasReplay`), whatever its state.
    public static func draw(
        _ packetID: PacketID, user: String, random: any RandomSource, in transaction: LedgerTransaction
    ) throws -> (claim: Claim, wasReplay: Bool) {
        let database = transaction.database
        let packet = try requirePacket(packetID, in: database)
        let account = try requireUser(user, in: transaction)
        guard let slot = try slot(of: account.id, in: packetID, database: database) else {
            throw PacketError.notGrabbed(packetID, user: user)
        }
        let claimID = ClaimID(packet: packetID, slot: slot)
        if let existing = try PacketQueries.claim(claimID, in: database) { return (existing, true) }
        try checkLive(packet, now: transaction.now)
        let amount = ShareDraw.next(kind: packet.kind, remaining: packet.remaining,
                                    sharesLeft: packet.shares - packet.opened,
                                    minShare: transaction.limits.packets.minShare, random: random)
        try database.execute(prepared: """
            INSERT INTO claim (id, packet_id, user_id, slot, amount, state, opened_at)
            VALUES (?, ?, ?, ?, ?, 'crediting', ?)
            """, claimID.rawValue, packetID.rawValue, account.id.rawValue, slot, amount.minorUnits,
            transaction.now.millisecondsSinceEpoch)
        try database.execute(prepared: """
            UPDATE packet SET opened = opened + 1, opened_amount = opened_amount + ?,
                state = CASE WHEN opened + 1 = shares THEN 'finished' ELSE state END
            WHERE id = ?
            """, amount.minorUnits, packetID.rawValue)
        // Built from what was just written rather than read back: this runs tens of thousands of times a second.
        let claim = Claim(id: claimID, packetID: packetID, userID: account.id, userName: account.name, slot: slot,
                          amount: amount, state: .crediting, openedAt: transaction.now, creditedAt: nil, attempts: 0,
                          escrowID: packet.escrowID)
        return (claim, false)
    }

    /// Step 2 of opening: credits escrow → recipient (transfer id = claim's) and marks the claim `credited`,
    /// in one transaction. Idempotent: crediting an already-credited claim changes nothing.
    public static func credit(_ claimID: ClaimID, in transaction: LedgerTransaction) throws -> CreditOutcome {
        let database = transaction.database
        guard let claim = try PacketQueries.claim(claimID, in: database) else {
            throw PacketError.unknownPacket(claimID.rawValue)
        }
        if claim.state == .credited { return CreditOutcome(claim: claim, appliedNow: false) }
        try transaction.transfer(claim.creditRequest)
        try database.execute(prepared: """
            UPDATE claim SET state = 'credited', credited_at = ?, attempts = attempts + 1 WHERE id = ?
            """, transaction.now.millisecondsSinceEpoch, claimID.rawValue)
        let credited = Claim(id: claim.id, packetID: claim.packetID, userID: claim.userID, userName: claim.userName,
                             slot: claim.slot, amount: claim.amount, state: .credited, openedAt: claim.openedAt,
                             creditedAt: transaction.now, attempts: claim.attempts + 1, escrowID: claim.escrowID)
        return CreditOutcome(claim: credited, appliedNow: true)
    }

    /// Records a failed credit attempt; the claim becomes `waiting` (its credit message is queued).
    public static func markWaiting(_ claimID: ClaimID, in transaction: LedgerTransaction) throws {
        try transaction.database.execute(prepared: """
            UPDATE claim SET state = 'waiting', attempts = attempts + 1 WHERE id = ? AND state <> 'credited'
            """, claimID.rawValue)
    }

    /// Expires every open packet whose time has come: refunds the undrawn remainder escrow → sender.
    /// Claims already drawn stay in escrow until credited. Returns the packets expired.
    public static func expireDue(limit: Int, in transaction: LedgerTransaction) throws -> [Packet] {
        let database = transaction.database
        let due = try String.fetchAll(database, sql: """
            SELECT id FROM packet WHERE state = 'open' AND expires_at <= ? ORDER BY expires_at LIMIT ?
            """, arguments: [transaction.now.millisecondsSinceEpoch, limit])
        var expired: [Packet] = []
        for rawID in due {
            let packet = try requirePacket(PacketID(rawID), in: database)
            let remainder = packet.remaining
            if remainder.isPositive {
                try transaction.transfer(TransferRequest(
                    id: packet.id.refundTransferID, from: packet.escrowID, to: packet.senderID, amount: remainder,
                    memo: "refund of red packet \(packet.id.rawValue)"))
            }
            try database.execute(prepared: "UPDATE packet SET state = 'expired', refunded = ? WHERE id = ?",
                                 remainder.minorUnits, rawID)
            expired.append(try requirePacket(packet.id, in: database))
        }
        return expired
    }

    // MARK: Helpers

    static func requirePacket(_ id: PacketID, in database: Database) throws -> Packet {
        guard let packet = try PacketQueries.packet(id, in: database) else { throw PacketError.unknownPacket(id.rawValue) }
        return packet
    }

    static func requireUser(_ name: String, in transaction: LedgerTransaction) throws -> Account {
        guard let account = try transaction.account(named: name), account.kind == .user else {
            throw PacketError.unknownAccount(name)
        }
        return account
    }

    private static func checkLive(_ packet: Packet, now: Timestamp) throws {
        if packet.state == .expired || now >= packet.expiresAt { throw PacketError.expired(packet.id) }
    }

    private static func slot(of user: AccountID, in packet: PacketID, database: Database) throws -> Int? {
        try database.fetchFirst(prepared: "SELECT slot FROM grab WHERE packet_id = ? AND user_id = ?",
                                packet.rawValue, user.rawValue) { $0.int(0) }
    }
}
