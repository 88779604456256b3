import Crediting
import Ledger
import Primitives
import Synchronization

/// The outcome of opening a share, as the opener sees it.
public struct OpenResult: Sendable, Equatable {
    public let claim: Claim
    /// True when this user had already opened the share: the same claim is returned, nothing changes.
    public let wasReplay: Bool
    /// The error of the in-line credit attempt, when it failed and the claim is `crediting`/`waiting`.
    public let creditFailure: String?

    public init(claim: Claim, wasReplay: Bool, creditFailure: String?) {
        self.claim = claim
        self.wasReplay = wasReplay
        self.creditFailure = creditFailure
    }
}

/// A packet with its claims, for `packet show` and the dashboard.
public struct PacketDetail: Sendable, Equatable, Codable {
    public let packet: Packet
    public let claims: [Claim]
    /// The largest share, once every share is opened (WeChat's "best luck"); ties go to the earliest.
    public let bestLuck: ClaimID?
}

/// What `recover` settled: the cross-system steps a crash left half done.
public struct RecoveryReport: Sendable, Equatable {
    public init() {}

    /// `paying` packets whose payment had landed: now open.
    public var paymentsConfirmed = 0
    /// `paying` packets whose payment never happened: cancelled, no money moved.
    public var sendsCancelled = 0
    /// Expired packets whose refund was still to be made or recorded.
    public var refundsSettled = 0
}

/// The red-packet system: sends, grabs, opens and expires red packets in its own store, and moves their
/// money only through the account system's transfers, each idempotent by an id derived from the packet or
/// the claim. No transaction spans the two; each flow records its intent in the packet store first, so a
/// crash between the steps leaves something `recover` (or the credit queue) finishes:
///
/// - send: packet `paying` → pay sender → settlement (`send:<packet>`) → packet `open`;
/// - open: claim `crediting` → credit settlement → recipient (`claim:<claim>`, see `CreditFlow`) → `credited`;
/// - expiry: packet `expired` with its refund pending → refund settlement → sender (`refund:<packet>`) → settled.
public final class PacketService: Sendable {
    public let store: any PacketStore
    public let accounts: any AccountStore
    public let limits: Limits
    private let random: any RandomSource
    /// Name → account for grab and draw (`knownUser`), emptied when it reaches `maxKnownUsers`.
    private let knownUsers = Mutex<[String: Account]>([:])
    static let maxKnownUsers = 1 << 18

    /// The sends under way in this process: when each began, by a number of its own.
    private let sendsUnderWay = Mutex<(next: Int, began: [Int: Timestamp])>((0, [:]))
    /// Tells when a send began; the store's clock (a packet's `createdAt`) must be the same clock.
    private let clock: any WallClock

    public init(store: any PacketStore, accounts: any AccountStore, limits: Limits,
                random: any RandomSource = SystemRandomSource(), clock: any WallClock = SystemClock()) {
        self.store = store
        self.accounts = accounts
        self.limits = limits
        self.random = random
        self.clock = clock
    }

    // MARK: Send

    /// Creates the packet (`paying`), takes the payment into the settlement account, and opens the packet.
    /// Insufficient funds cancel it and throw. A payment call that fails otherwise is settled at once: the packet
    /// opens (and is returned) if the payment landed after all, and is cancelled if not (the call's error is
    /// thrown; nothing was paid). Only when that settling cannot reach the account system either, or the
    /// packet's opening fails after the payment, is it left `paying` for `settleSends` (the engine runs it while
    /// it runs, and when it closes) or `recover`, which do the same. While this call runs, neither touches its
    /// packet.
    public func send(_ request: SendRequest) async throws -> Packet {
        if let error = request.validate(limits: limits) { throw error }
        let began = clock.now()
        let number = sendsUnderWay.withLock { sends in
            defer { sends.next += 1 }
            sends.began[sends.next] = began
            return sends.next
        }
        defer { _ = sendsUnderWay.withLock { $0.began.removeValue(forKey: number) } }
        let sender = try await requireUser(request.sender)
        var recipientID: AccountID?
        if request.kind == .personal, let recipientName = request.recipient {
            let recipient = try await requireUser(recipientName)
            guard recipient.id != sender.id else { throw PacketError.sendToSelf }
            recipientID = recipient.id
        }
        // Refused before anything is written; the payment checks again, atomically.
        guard sender.balance >= request.total else {
            throw PacketError.insufficientFunds(account: sender.name, balance: sender.balance, needed: request.total)
        }
        let draft = PacketDraft(kind: request.kind, senderID: sender.id, senderName: sender.name,
                                recipientID: recipientID, total: request.total, shares: request.shares,
                                greeting: request.greeting,
                                timeToLive: request.timeToLive ?? limits.packets.defaultTimeToLive)
        let packet = try await store.createPacket(draft, random: random)
        do {
            try await pay(packet)
        } catch let LedgerError.insufficientFunds(account, balance, needed) {
            try await store.cancel(packet.id)
            throw PacketError.insufficientFunds(account: account, balance: balance, needed: needed)
        } catch LedgerError.voidedTransfer {
            // Settled as unpaid while this call was under way elsewhere: cancelled there, or here (idempotent).
            try await store.cancel(packet.id)
            throw PacketError.sendCancelled(packet.id)
        } catch {
            // The payment's fate is unknown (the call failed, or its answer was lost): settle it now. The
            // settling waits for a write of it already under way and voids the id if it did not land, so the
            // packet opens if the money moved and is cancelled if not, and a payment still on its way can land
            // no more. When the account system cannot answer that either, the packet stays `paying` for
            // `settleSends`.
            guard let landed = try? await accounts.settleTransfers([packet.id.fundingTransferID]) else { throw error }
            if landed[packet.id.fundingTransferID] != nil { return try await store.markPaid(packet.id) }
            try await store.cancel(packet.id)
            throw error
        }
        return try await store.markPaid(packet.id)
    }

    private func pay(_ packet: Packet) async throws {
        _ = try await accounts.transfer(TransferRequest(
            id: packet.id.fundingTransferID, from: packet.senderID, to: accounts.settlementAccountID,
            amount: packet.total, memo: "red packet \(packet.id.rawValue)"))
    }

    // MARK: Grab and open

    /// Reserves a share of the packet for `user`; returns the slot number.
    @discardableResult
    public func grab(_ packet: PacketID, user: String) async throws -> Int {
        try await store.grab(packet, user: try await knownUser(user))
    }

    /// Step 1 of opening: draws the amount and records the claim as `crediting`. Opening twice returns the
    /// existing claim (`wasReplay`), whatever its state.
    public func draw(_ packet: PacketID, user: String) async throws -> (claim: Claim, wasReplay: Bool) {
        try await store.draw(packet, user: try await knownUser(user), random: random)
    }

    /// Opens the grabbed share: draws the amount, then runs its credit flow through `driver` (the in-line
    /// credit, and on failure the queue). The opener sees the amount, with `creditFailure` set when the money
    /// is on its way rather than already in the account; never an error for a failed credit.
    public func open<Queue: CreditQueue>(
        _ packet: PacketID, user: String, via driver: CreditFlowDriver<Queue>
    ) async throws -> OpenResult {
        let drawn = try await draw(packet, user: user)
        if drawn.wasReplay || drawn.claim.state != .crediting {
            return OpenResult(claim: drawn.claim, wasReplay: drawn.wasReplay, creditFailure: nil)
        }
        return await credit(drawn.claim, via: driver)
    }

    /// Grabs a share for `user` and opens it at once: what `grab` and then `open` do, with the grab and the
    /// draw in one write of the store (`PacketStore.grabAndDraw`). Refused as `grab` refuses (a user who
    /// grabbed before gets `alreadyGrabbed`); never a replay.
    public func grabAndOpen<Queue: CreditQueue>(
        _ packet: PacketID, user: String, via driver: CreditFlowDriver<Queue>
    ) async throws -> OpenResult {
        try await grabAndOpen(packet, as: try await knownUser(user), via: driver)
    }

    /// `grabAndOpen` as a user the caller has already identified, as an authenticated session would: no lookup
    /// by name. `user` must be a user account of this system's ledger (its id and name are what the claim
    /// records; its balance is not read).
    public func grabAndOpen<Queue: CreditQueue>(
        _ packet: PacketID, as user: Account, via driver: CreditFlowDriver<Queue>
    ) async throws -> OpenResult {
        let claim = try await store.grabAndDraw(packet, user: user, random: random)
        return await credit(claim, via: driver)
    }

    /// The credit flow of a claim just drawn (`crediting`), and what the opener sees of it.
    private func credit<Queue: CreditQueue>(_ claim: Claim, via driver: CreditFlowDriver<Queue>) async -> OpenResult {
        switch await driver.creditAtOpen(claim.creditOrder) {
        case let .credited(credit):
            // Not read back: the record of the credit may still be on its way to the store (see `CreditFlow`),
            // and the money is in the recipient's account now.
            return OpenResult(claim: claim.afterAttempt(recordedAs: .credited, creditedAt: credit.creditedAt),
                              wasReplay: false, creditFailure: nil)
        case let .queued(reason):
            // Not read back either: the message is durable, and the claim is `waiting` (one more attempt) once
            // its mark lands, unless a worker has credited it by then (see `CreditFlow`).
            return OpenResult(claim: claim.afterAttempt(recordedAs: .waiting, creditedAt: nil), wasReplay: false,
                              creditFailure: reason)
        case let .unqueued(reason), let .retrying(reason, _):
            return OpenResult(claim: (try? await store.currentClaim(claim.id)) ?? claim, wasReplay: false,
                              creditFailure: reason)
        }
    }

    /// The old way, for comparison: the open succeeds only if the credit does. `credit` is the account
    /// system's call (its faults, deadline and concurrency limit). With two systems there is no transaction to
    /// roll back: a failed credit is compensated by removing the claim again (`undraw`), and the opener gets
    /// the error and must try again. A crash between the two leaves a `crediting` claim that recovery queues.
    ///
    /// Only a credit known not to have landed may be compensated: `notCredited` says which errors prove it (the
    /// call refused before anything was written, or the ledger's own refusal). Any other error leaves the claim
    /// `crediting`, as a crash would, for the credit path to finish by its id: undrawn, its slot's share could
    /// be drawn again while the first credit landed (a credit past its deadline on a loaded ledger did, and the
    /// audit found the money paid twice).
    public func openAtomically(
        _ packet: PacketID, user: String, credit: @Sendable (CreditOrder) async throws -> CreditOutcome,
        notCredited: @Sendable (any Error) -> Bool
    ) async throws -> OpenResult {
        let drawn = try await draw(packet, user: user)
        if drawn.wasReplay || drawn.claim.state != .crediting {
            return OpenResult(claim: drawn.claim, wasReplay: drawn.wasReplay, creditFailure: nil)
        }
        let outcome: CreditOutcome
        let (store, claim) = (store, drawn.claim.id)
        do {
            outcome = try await credit(drawn.claim.creditOrder)
        } catch {
            if notCredited(error) { try await PacketService.toTheEnd { try await store.undraw(claim) } }
            throw error
        }
        try await PacketService.toTheEnd { try await store.markCredited(claim, at: outcome.creditedAt) }
        return OpenResult(claim: (try? await store.currentClaim(claim)) ?? drawn.claim, wasReplay: false, creditFailure: nil)
    }

    /// `write` on a task of its own, which the caller's cancellation does not reach. Once the credit's fate is
    /// known, the open's record of it (the claim credited, or taken back) must be written whatever the opener
    /// does meanwhile: a load stopped or a program quitting cancels its opens, and a PostgreSQL pool refuses a
    /// cancelled task its connection, which left the share drawn, never credited and never taken back.
    private static func toTheEnd(_ write: @escaping @Sendable () async throws -> Void) async throws {
        try await Task { try await write() }.value
    }

    /// Ends an all-or-nothing open whose credit's fate was learnt after the opener was answered (a credit past
    /// its deadline, `openAtomically` having left the claim `crediting`): `credited` keeps the open (the claim
    /// credited), nil undoes it (`undraw`), which only a credit known not to have landed may do.
    public func finishAtomicOpen(_ claim: ClaimID, credited: CreditOutcome?) async throws {
        if let credited {
            try await store.markCredited(claim, at: credited.creditedAt)
        } else {
            try await store.undraw(claim)
        }
    }

    // MARK: Expiry

    /// Expires every packet past its time to live and refunds the undrawn remainders (then settles any
    /// refund an earlier crash left pending). Returns the packets expired now.
    @discardableResult
    public func expireDue() async throws -> [Packet] {
        var all: [Packet] = []
        while true {
            let batch = try await store.expireDue(limit: 256)
            all += batch
            if batch.count < 256 { break }
        }
        // Refunds left pending by a failed transfer earlier are settled here too (idempotent by their ids).
        let pending = try await store.unsettledPackets().filter(\.refundPending)
        var refunded = Set<PacketID>()
        for packet in pending {
            try await refund(packet)
            refunded.insert(packet.id)
        }
        // What `markRefunded` changed, without reading each packet again (a blocking read on PostgreSQL).
        return all.map { refunded.contains($0.id) ? $0.withRefundMade : $0 }
    }

    private func refund(_ packet: Packet) async throws {
        _ = try await accounts.transfer(TransferRequest(
            id: packet.id.refundTransferID, from: accounts.settlementAccountID, to: packet.senderID,
            amount: packet.refunded, memo: "refund of red packet \(packet.id.rawValue)"))
        try await store.markRefunded(packet.id)
    }

    // MARK: Recovery

    /// Finishes every send and expiry left between its steps: by a crash (run at start, before any traffic),
    /// or by a failure while the engine ran (run when it closes). A `paying` packet is settled as
    /// `settleSends` says; a pending refund is made (idempotent by its id) and recorded. Opens are the credit
    /// path's (`crediting` claims are re-queued by the engine).
    public func recover() async throws -> RecoveryReport {
        try await settleUnfinished(createdBefore: nil)
    }

    /// What `recover` does while the engine runs (every second): settles the sends left `paying` since before
    /// `createdBefore` (`settleSends`), and makes the refunds left pending (a transfer that failed) of packets
    /// that expired before it too (a younger one is the expiry timer's, likely under way).
    public func settleUnfinished(createdBefore: Timestamp?) async throws -> RecoveryReport {
        let unsettled = try await store.unsettledPackets()
        var report = try await settle(unsettled.filter { $0.state == .paying }, createdBefore: createdBefore)
        for packet in unsettled where packet.state != .paying && packet.refundPending
            && createdBefore.map({ packet.expiresAt < $0 }) ?? true {
            try await refund(packet)
            report.refundsSettled += 1
        }
        return report
    }

    /// Settles the sends that a failure left `paying`, created before `createdBefore` (nil: any), leaving out
    /// every send still under way in this process: a packet is opened if its payment landed and cancelled if
    /// not. Whether it landed is decided by `AccountStore.settleTransfers`, which waits for a write of the
    /// payment already under way (a call that gave up on it, a commit waiting for a standby) and voids the
    /// payment's id when it is missing: a payment that lands while this runs opens its packet, and one tried after
    /// it (a retry in another process still sending it) is refused, so a cancelled packet is never paid.
    public func settleSends(createdBefore: Timestamp?) async throws -> RecoveryReport {
        try await settle(try await store.unsettledPackets().filter { $0.state == .paying }, createdBefore: createdBefore)
    }

    private func settle(_ paying: [Packet], createdBefore: Timestamp?) async throws -> RecoveryReport {
        var report = RecoveryReport()
        // Read after the packets: a send under way then that began before this horizon has its packet left out,
        // and one that began after it has a packet created after it (the store's clock is this clock).
        let horizon = sendsUnderWay.withLock { sends -> Timestamp? in
            [createdBefore, sends.began.values.min()].compactMap { $0 }.min()
        }
        let due = paying.filter { packet in horizon.map { packet.createdAt < $0 } ?? true }
        guard !due.isEmpty else { return report }
        let payments = try await accounts.settleTransfers(due.map(\.id.fundingTransferID))
        for packet in due {
            if payments[packet.id.fundingTransferID] != nil {
                _ = try await store.markPaid(packet.id)
                report.paymentsConfirmed += 1
            } else {
                try await store.cancel(packet.id)
                report.sendsCancelled += 1
            }
        }
        return report
    }

    // MARK: Reads

    public func packet(_ id: PacketID) throws -> Packet {
        guard let packet = try store.packet(id), packet.isPaid else { throw PacketError.unknownPacket(id.rawValue) }
        return packet
    }

    public func detail(_ id: PacketID) throws -> PacketDetail {
        let packet = try self.packet(id)
        let claims = try store.claims(of: id)
        var best: Claim?
        if packet.opened == packet.shares && packet.shares > 1 {
            for claim in claims where best.map({ claim.amount > $0.amount }) ?? true { best = claim }
        }
        return PacketDetail(packet: packet, claims: claims, bestLuck: best?.id)
    }

    public func claim(_ id: ClaimID) throws -> Claim? {
        try store.claim(id)
    }

    /// Packets sent by `user`, newest first.
    public func sent(by user: String, limit: Int = 50) async throws -> [Packet] {
        try store.sent(by: try await requireUser(user).id, limit: limit)
    }

    /// Claims received by `user`, newest first.
    public func received(by user: String, limit: Int = 50) async throws -> [Claim] {
        try store.received(by: try await requireUser(user).id, limit: limit)
    }

    /// Claims not yet credited, oldest first (the credit path's recovery and the dashboard use these).
    /// - Parameter state: only claims in this state (`crediting` or `waiting`); nil: both.
    public func uncreditedClaims(in state: ClaimState? = nil, limit: Int = 1_000) throws -> [Claim] {
        try store.uncreditedClaimsNow(in: state, limit: limit)
    }

    public func openPackets(limit: Int = 50) throws -> [Packet] {
        try store.openPackets(limit: limit)
    }

    /// How many open packets expire at `deadline` or before.
    public func openPacketCount(expiringBy deadline: Timestamp) throws -> Int {
        try store.openPacketCount(expiringBy: deadline)
    }

    public func packets(matching text: String?, limit: Int, offset: Int) throws -> [Packet] {
        try store.packets(matching: text, limit: limit, offset: offset)
    }

    public func packetCount(matching text: String?) throws -> Int {
        try store.packetCount(matching: text)
    }

    public func waitingClaims(matching text: String?, limit: Int, offset: Int) throws -> [Claim] {
        try store.waitingClaims(matching: text, limit: limit, offset: offset)
    }

    public func waitingClaimCount(matching text: String?) throws -> Int {
        try store.waitingClaimCount(matching: text)
    }

    public func uncreditedTotals(for users: [AccountID]) throws -> [AccountID: (count: Int, amount: Money)] {
        try store.uncreditedTotals(for: users)
    }

    public func nextExpiry() throws -> Timestamp? {
        try store.nextExpiry()
    }

    public func stats() throws -> PacketStats {
        try store.stats()
    }

    private func requireUser(_ name: String) async throws -> Account {
        guard let account = try await accounts.userAccount(named: name) else { throw PacketError.unknownAccount(name) }
        return account
    }

    /// The user account with that name for grab and draw, which use only its id and name: both are fixed
    /// once the account exists (accounts are never renamed or removed), so a lookup is remembered. Its
    /// balance is the one of the first lookup; never use it. An unknown name is looked up each time.
    private func knownUser(_ name: String) async throws -> Account {
        if let account = knownUsers.withLock({ $0[name] }) { return account }
        let account = try await requireUser(name)
        knownUsers.withLock { known in
            if known.count >= PacketService.maxKnownUsers { known.removeAll(keepingCapacity: true) }
            known[name] = account
        }
        return account
    }
}

extension Claim {
    /// This claim as its store holds it once one more credit attempt has recorded it `state`.
    fileprivate func afterAttempt(recordedAs state: ClaimState, creditedAt: Timestamp?) -> Claim {
        Claim(id: id, packetID: packetID, userID: userID, userName: userName, slot: slot, amount: amount, state: state,
              openedAt: openedAt, creditedAt: creditedAt, attempts: attempts + 1)
    }
}
