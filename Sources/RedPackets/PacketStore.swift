import Crediting
import Ledger
import Primitives

/// A packet about to be created: everything but its id and times, which the store assigns in its write.
public struct PacketDraft: Sendable, Equatable {
    public let kind: PacketKind
    public let senderID: AccountID
    public let senderName: String
    public let recipientID: AccountID?
    public let total: Money
    public let shares: Int
    public let greeting: String
    public let timeToLive: Duration

    public init(kind: PacketKind, senderID: AccountID, senderName: String, recipientID: AccountID?, total: Money,
                shares: Int, greeting: String, timeToLive: Duration) {
        self.kind = kind
        self.senderID = senderID
        self.senderName = senderName
        self.recipientID = recipientID
        self.total = total
        self.shares = shares
        self.greeting = greeting
        self.timeToLive = timeToLive
    }
}

/// The red-packet system's own store: packets, grabs, claims, refunds and what each packet still holds. It
/// never sees the account system's database: money moves only through `AccountStore` transfers, and the
/// two are joined by ids (`send:`, `claim:`, `refund:` transfer ids) and the credit queue.
///
/// `SQLitePacketStore` is the SQLite implementation. The writes, and the reads that recovery and the audit
/// make, are `async` so that a network database can implement them; the display reads (lists, details and
/// counts for the CLI and the dashboard's snapshot) are synchronous in this version.
public protocol PacketStore: ClaimRecorder {
    // MARK: Send

    /// Creates a packet in state `paying` under a new unused id.
    func createPacket(_ draft: PacketDraft, random: any RandomSource) async throws -> Packet
    /// The payment is in the settlement account: the packet opens. Idempotent.
    func markPaid(_ id: PacketID) async throws -> Packet
    /// The payment did not and will not happen: the packet is `cancelled`. Only from `paying`.
    func cancel(_ id: PacketID) async throws

    // MARK: Grab and open

    /// Reserves the next slot for `user`; one per user per packet.
    func grab(_ id: PacketID, user: Account) async throws -> Int
    /// Draws the user's share and records the claim as `crediting`; a second draw returns the same claim.
    func draw(_ id: PacketID, user: Account, random: any RandomSource) async throws -> (claim: Claim, wasReplay: Bool)
    /// `grab` and then `draw` for a user who opens the share at once, with the same refusals in the same order
    /// (`grab`'s; a user who grabbed before gets `alreadyGrabbed`, even with the claim drawn). A store may do
    /// both in one write; the default is the two calls.
    func grabAndDraw(_ id: PacketID, user: Account, random: any RandomSource) async throws -> Claim

    /// Compensates a draw whose credit failed in the all-or-nothing credit mode: removes the `crediting`
    /// claim and gives its share back (the grab stays, so the user can open again). Refused (nothing changes)
    /// once the packet has expired: the claim is then credited like any other.
    func undraw(_ claim: ClaimID) async throws

    // MARK: Expiry

    /// Expires up to `limit` open packets past their time: each records its undrawn remainder as refunded
    /// and the refund as pending. Returns them.
    func expireDue(limit: Int) async throws -> [Packet]
    /// The refund's transfer is in the ledger. Idempotent.
    func markRefunded(_ id: PacketID) async throws

    // MARK: Recovery and audit

    /// Packets between two steps of a cross-system flow: `paying`, or expired with the refund pending.
    func unsettledPackets() async throws -> [Packet]
    /// Claims not credited yet, oldest first (`state` nil: crediting and waiting).
    func uncreditedClaims(in state: ClaimState?, limit: Int) async throws -> [Claim]
    /// Every credited claim's id and amount (the cross-system audit compares them with the ledger's credits).
    func creditedClaimAmounts() async throws -> [ClaimID: Money]
    /// Every packet, for the cross-system audit.
    func allPackets() async throws -> [Packet]
    /// What every paid packet still holds, by the store's books (`Packet.held` summed).
    func totalHeld() async throws -> Money
    /// The store's own invariants that do not hold.
    func auditStore(maxViolationsPerCheck: Int) async throws -> [AuditViolation]

    /// The claim as it stands now, read without blocking: what an open returns after its credit. A store whose
    /// reads are a network round trip implements it; the default is the synchronous `claim(_:)`.
    func currentClaim(_ id: ClaimID) async throws -> Claim?

    // MARK: Display reads (synchronous in this version)

    func packet(_ id: PacketID) throws -> Packet?
    func claim(_ id: ClaimID) throws -> Claim?
    /// A packet's claims by slot.
    func claims(of packet: PacketID) throws -> [Claim]
    /// Packets sent by an account, newest first (paying and cancelled ones left out).
    func sent(by sender: AccountID, limit: Int) throws -> [Packet]
    /// Claims received by an account, newest first.
    func received(by user: AccountID, limit: Int) throws -> [Claim]
    /// `uncreditedClaims` for the dashboard's snapshot.
    func uncreditedClaimsNow(in state: ClaimState?, limit: Int) throws -> [Claim]
    /// Open packets, soonest to expire first.
    func openPackets(limit: Int) throws -> [Packet]
    /// How many open packets expire at `deadline` or before (all of them, not a page).
    func openPacketCount(expiringBy deadline: Timestamp) throws -> Int
    /// Packets whose id, sender, kind or state contains `text` (every packet when nil), newest first, a page
    /// at a time: the dashboard's packet list.
    func packets(matching text: String?, limit: Int, offset: Int) throws -> [Packet]
    /// How many packets `packets(matching:limit:offset:)` pages through.
    func packetCount(matching text: String?) throws -> Int
    /// Claims waiting in the queue for a retry whose recipient or id contains `text` (all when nil), oldest
    /// first, a page at a time: the dashboard's retries list.
    func waitingClaims(matching text: String?, limit: Int, offset: Int) throws -> [Claim]
    /// How many claims `waitingClaims(matching:limit:offset:)` pages through.
    func waitingClaimCount(matching text: String?) throws -> Int
    /// Credits not yet made to each of `users`: how many and how much (users owed nothing are left out).
    func uncreditedTotals(for users: [AccountID]) throws -> [AccountID: (count: Int, amount: Money)]
    /// The earliest expiry among open packets, for the expiry timer.
    func nextExpiry() throws -> Timestamp?
    func stats() throws -> PacketStats
}

extension PacketStore {
    public func grabAndDraw(_ id: PacketID, user: Account, random: any RandomSource) async throws -> Claim {
        _ = try await grab(id, user: user)
        return try await draw(id, user: user, random: random).claim
    }

    public func currentClaim(_ id: ClaimID) async throws -> Claim? {
        try claim(id)
    }
}
