import Crediting
import Ledger
import PostgresNIO
import Primitives
import RedPackets
import Synchronization

/// The red-packet store's group commit on PostgreSQL: the open path's writes (grabs, draws, credited and
/// waiting marks, and grabs that open at once) submitted while a batch is committing wait and go together in
/// the next one. A batch is one statement in a transaction of its own whatever its size (`hb_packet_batch`:
/// one round trip), so many opens share one commit and one wait for the standby, as the ledger's transfers do
/// in `TransferBatcher`.
///
/// Only a grab locks its packet's row (to take the next slot and draw its share); a draw locks its own grab
/// row; the marks lock their claims, all of a batch's at once and in id order, before the first mark (a batch's
/// credited marks and its waiting marks are two statements). Up to `concurrentBatches` batches run at once, and
/// never two that grab the same packet: a grab of a packet that a batch under way is grabbing waits for the next
/// batch, so batches do not queue on each other's packet rows (each held until its COMMIT has reached a standby).
/// Batches that deadlock (with another process's) are rolled back by PostgreSQL and run again.
///
/// A refusal (sold out, expired, not grabbed…) is one write's own result, decided from what the batch read,
/// and never undoes the others. A batch whose connection is lost before its answer came (even while its
/// commit waited for a standby, when it may have committed) runs again as a whole; every write in it is
/// idempotent by id: a grab by the token its call chose, a draw by the token its call chose (stored with the
/// claim), a mark by the claim's state. A batch that fails for another reason is split, so one bad write
/// fails alone.
final class PacketWriteBatcher: Sendable {
    struct Grab: Sendable {
        let packet: PacketID
        let user: Account
        let token: Int64
        /// The random value the grab's share is drawn with (chosen once, so a retry draws the same).
        let random: Int64
    }

    struct Draw: Sendable {
        let packet: PacketID
        let user: Account
        /// Chosen once for all the draw's attempts and stored with the claim it inserts: after an unclear commit
        /// the retry finds the claim by it, and it is this call's own, not a replay.
        let token: Int64
    }

    enum Write: Sendable {
        case grab(Grab)
        case draw(Draw)
        /// A grab and, when it succeeds, the draw of its share in the same batch (the draw's statement runs
        /// after the grabs'): one commit for a user who opens at once. Answered `drawn` (never a replay).
        case grabAndDraw(Grab)
        case credited(ClaimID, at: Timestamp)
        case waiting(ClaimID)

        var kind: String {
            switch self {
            case .grab: "grab"
            case .draw: "draw"
            case .grabAndDraw: "grab+draw"
            case .credited: "credited"
            case .waiting: "waiting"
            }
        }

        /// The grab this write makes, if it makes one.
        var grab: Grab? {
            switch self {
            case let .grab(grab), let .grabAndDraw(grab): grab
            case .draw, .credited, .waiting: nil
            }
        }
    }

    enum Outcome: Sendable {
        case slot(Int)
        case drawn(Claim, wasReplay: Bool)
        case done
    }

    struct Pending {
        let write: Write
        let finish: @Sendable (Result<Outcome, any Error>) -> Void
        let submitted = ContinuousClock.now
    }

    struct State {
        var queue: [Pending] = []
        var running = 0
        /// The packets whose grabs are in a batch under way: a grab of one of them waits for the next batch.
        var grabbing = Set<PacketID>()

        /// The next batch: up to `limit` writes in arrival order, leaving in the queue the grabs of packets
        /// being grabbed in a batch under way (or already taken in this one by an earlier write's batch).
        mutating func take(_ limit: Int) -> [Pending] {
            var batch: [Pending] = []
            var kept: [Pending] = []
            var mine = Set<PacketID>()
            var index = 0
            while index < queue.count && batch.count < limit {
                let pending = queue[index]
                index += 1
                if let grab = pending.write.grab {
                    if grabbing.contains(grab.packet) && !mine.contains(grab.packet) {
                        kept.append(pending)
                        continue
                    }
                    mine.insert(grab.packet)
                }
                batch.append(pending)
            }
            grabbing.formUnion(mine)
            queue = kept + queue[index...]
            return batch
        }

        mutating func release(_ batch: [Pending]) {
            for pending in batch { if let grab = pending.write.grab { grabbing.remove(grab.packet) } }
        }
    }

    private let pool: PostgresPool
    private let maxBatch: Int
    private let concurrentBatches: Int
    private let minShare: Money
    private let clock: any WallClock
    private let state = Mutex(State())
    private let batches = Atomic<Int>(0)

    init(pool: PostgresPool, maxBatch: Int, concurrentBatches: Int, minShare: Money, clock: any WallClock) {
        self.pool = pool
        self.maxBatch = max(1, maxBatch)
        self.concurrentBatches = max(1, concurrentBatches)
        self.minShare = minShare
        self.clock = clock
    }

    /// How many batches have committed.
    var commitCount: Int { batches.load(ordering: .relaxed) }

    /// Writes waiting for a batch (not yet in one).
    var queued: Int { state.withLock { $0.queue.count } }

    func submit(_ write: Write) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            enqueue([Pending(write: write, finish: { continuation.resume(with: $0) })])
        }
    }

    /// Several writes queued at once, so that they go in the same batch (unless it is fuller than `maxBatch`);
    /// each write's own result, in order.
    func submit(_ writes: [Write]) async -> [Result<Outcome, any Error>] {
        guard !writes.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let results = Mutex<[Result<Outcome, any Error>?]>(Array(repeating: nil, count: writes.count))
            let left = Atomic<Int>(writes.count)
            enqueue(writes.enumerated().map { index, write in
                Pending(write: write, finish: { result in
                    results.withLock { $0[index] = result }
                    if left.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                        continuation.resume(returning: results.withLock { $0.map { $0! } })
                    }
                })
            })
        }
    }

    private func enqueue(_ pending: [Pending]) {
        let start = state.withLock { state -> Bool in
            state.queue.append(contentsOf: pending)
            guard state.running < concurrentBatches else { return false }
            state.running += 1
            return true
        }
        if start { Task { await self.drain() } }
    }

    private func drain() async {
        while true {
            // A batch that finds only grabs of packets another batch is grabbing ends this drain: that batch's
            // drain takes them when it is done.
            let batch = state.withLock { state -> [Pending] in
                let batch = state.take(maxBatch)
                if batch.isEmpty { state.running -= 1 }
                return batch
            }
            if batch.isEmpty { return }
            let taken = ContinuousClock.now
            for pending in batch { pool.profile.record("packets.queued." + pending.write.kind, taken - pending.submitted) }
            await run(batch)
            state.withLock { $0.release(batch) }
        }
    }

    /// One batch; split in halves when the server refuses it (`bisectingRefusals`).
    private func run(_ batch: [Pending]) async {
        _ = await bisectingRefusals(batch) { part in
            let started = ContinuousClock.now
            let outcomes = try await commit(part.map(\.write))
            batches.add(1, ordering: .relaxed)
            let done = ContinuousClock.now
            // Recorded before any writer hears its outcome: a profile read once the last write has returned
            // (`simulate`'s, at the end of the run) holds every batch that carried one.
            pool.profile.record("packets.batch", done - started, items: part.count)
            for (pending, outcome) in zip(part, outcomes) {
                pool.profile.record("packets.total." + pending.write.kind, done - pending.submitted)
                pending.finish(outcome)
            }
            return part.map { _ in () }
        } failure: { pending, error in pending.finish(.failure(error)) }
    }

    /// The batch's writes in one statement (a transaction of its own), retried as a whole after a lost
    /// connection.
    private func commit(_ writes: [Write]) async throws -> [Result<Outcome, any Error>] {
        let batch = PacketWriteBatcher.Statement(writes, now: clock.now(), minShare: minShare)
        let pool = pool
        let call = PreparedCall<Statement>(batch.query)
        let rows = try await pool.retrying { try await pool.run(call, profiledAs: "packets") }
        return try batch.results(rows)
    }

    // MARK: The statement

    /// A batch's call of `hb_packet_batch`, and how its rows answer each write. The call's text is the same
    /// for every batch (`sql`, the text of a batch of nothing), so it runs prepared.
    struct Statement: CallText {
        static let name = "hb_packet_batch_call"
        static let sql = Statement([], now: Timestamp(millisecondsSinceEpoch: 0), minShare: Money(minorUnits: 0)).query.sql

        let writes: [Write]
        /// Where each grab (plain, or opening at once), each draw and each credited mark is among `writes`.
        private var grabs: [(Int, Grab)] = [], draws: [(Int, Draw)] = [], credited: [(Int, ClaimID, Timestamp)] = []
        private var waiting: [Int] = []
        let query: PostgresQuery

        init(_ writes: [Write], now: Timestamp, minShare: Money) {
            self.writes = writes
            var waitingIDs: [String] = []
            for (index, write) in writes.enumerated() {
                switch write {
                case let .grab(grab), let .grabAndDraw(grab): grabs.append((index, grab))
                case let .draw(draw): draws.append((index, draw))
                case let .credited(claim, at): credited.append((index, claim, at))
                case let .waiting(claim):
                    waiting.append(index)
                    waitingIDs.append(claim.rawValue)
                }
            }
            let opening = grabs.map { position, _ -> Bool in
                if case .grabAndDraw = writes[position] { return true }
                return false
            }
            query = """
                SELECT part, ord, status, slot, claim_id, amount, state, opened_at, credited_at, attempts
                FROM hb_packet_batch(\(grabs.map(\.1.packet.rawValue))::TEXT[], \(grabs.map(\.1.user.id.rawValue))::BIGINT[],
                                     \(grabs.map(\.1.user.name))::TEXT[], \(grabs.map(\.1.token))::BIGINT[],
                                     \(grabs.map(\.1.random))::BIGINT[], \(opening)::BOOLEAN[],
                                     \(draws.map(\.1.packet.rawValue))::TEXT[], \(draws.map(\.1.user.id.rawValue))::BIGINT[],
                                     \(draws.map(\.1.user.name))::TEXT[], \(draws.map(\.1.token))::BIGINT[],
                                     \(credited.map(\.1.rawValue))::TEXT[], \(credited.map(\.2.millisecondsSinceEpoch))::BIGINT[],
                                     \(waitingIDs)::TEXT[], \(now.millisecondsSinceEpoch), \(minShare.minorUnits))
                """
        }

        /// Each write's own result, in order; refusals are results, not errors.
        func results(_ rows: [PostgresRow]) throws -> [Result<Outcome, any Error>] {
            var results = [Result<Outcome, any Error>?](repeating: nil, count: writes.count)
            var known = Set<String>()
            for row in rows {
                let (part, ord, status, slot, id, amount, state, opened, creditedAt, attempts) = try row.decode(
                    (String, Int?, String?, Int64?, String?, Int64?, String?, Int64?, Int64?, Int64?).self)
                switch part {
                case "credited":
                    if let id { known.insert(id) }
                    continue
                case "grab", "grab+draw":
                    guard let ord, grabs.indices.contains(ord - 1), let status else { break }
                    let (position, grab) = grabs[ord - 1]
                    if part == "grab" {
                        results[position] = Statement.grabResult(status, slot: slot, grab: grab)
                    } else {
                        // This call's own share, drawn now or found drawn by its lost attempt: its grab is this call's.
                        results[position] = Statement.drawResult(
                            status, packet: grab.packet, user: grab.user, slot: slot, id: id, amount: amount,
                            state: state, opened: opened, credited: creditedAt, attempts: attempts).map { outcome in
                            guard case let .drawn(claim, _) = outcome else { return outcome }
                            return .drawn(claim, wasReplay: false)
                        }
                    }
                    continue
                case "draw":
                    guard let ord, draws.indices.contains(ord - 1), let status else { break }
                    let (position, draw) = draws[ord - 1]
                    results[position] = Statement.drawResult(
                        status, packet: draw.packet, user: draw.user, slot: slot, id: id, amount: amount, state: state,
                        opened: opened, credited: creditedAt, attempts: attempts)
                    continue
                default:
                    break
                }
                throw PostgresStoreError.server("a packet batch answered an unknown row (\(part), \(ord.map(String.init) ?? "-"))")
            }
            for (position, claim, _) in credited {
                results[position] = known.contains(claim.rawValue)
                    ? .success(.done) : .failure(PacketError.unknownPacket(claim.rawValue))
            }
            for position in waiting { results[position] = .success(.done) }
            let answered = results.compactMap { $0 }
            guard answered.count == writes.count else {
                throw PostgresStoreError.server("a batch of \(writes.count) packet writes answered \(answered.count)")
            }
            return answered
        }

        private static func grabResult(_ status: String, slot: Int64?, grab: Grab) -> Result<Outcome, any Error> {
            let id = grab.packet
            switch status {
            case "ok": return .success(.slot(Int(slot ?? 0)))
            case "unknown": return .failure(PacketError.unknownPacket(id.rawValue))
            case "expired": return .failure(PacketError.expired(id))
            case "not_recipient": return .failure(PacketError.notRecipient(id, user: grab.user.name))
            case "already": return .failure(PacketError.alreadyGrabbed(id, user: grab.user.name))
            case "sold_out": return .failure(PacketError.soldOut(id))
            default: return .failure(PostgresStoreError.server("unknown grab status \(status)"))
            }
        }

        /// A draw's answer: `drawn` now or `mine` (drawn by this call's lost attempt) is this call's claim,
        /// `existing` a replay of another call's.
        private static func drawResult(_ status: String, packet: PacketID, user: Account, slot: Int64?, id: String?,
                                       amount: Int64?, state: String?, opened: Int64?, credited: Int64?,
                                       attempts: Int64?) -> Result<Outcome, any Error> {
            switch status {
            case "unknown": return .failure(PacketError.unknownPacket(packet.rawValue))
            case "not_grabbed": return .failure(PacketError.notGrabbed(packet, user: user.name))
            case "expired": return .failure(PacketError.expired(packet))
            case "drawn", "mine", "existing":
                guard let id, let slot, let amount, let state, let opened, let attempts else {
                    return .failure(PostgresStoreError.server("a draw returned no claim"))
                }
                let claim = Claim(id: ClaimID(id), packetID: packet, userID: user.id, userName: user.name,
                                  slot: Int(slot), amount: Money(minorUnits: amount),
                                  state: ClaimState(rawValue: state) ?? .crediting,
                                  openedAt: Timestamp(millisecondsSinceEpoch: opened),
                                  creditedAt: credited.map(Timestamp.init(millisecondsSinceEpoch:)),
                                  attempts: Int(attempts))
                return .success(.drawn(claim, wasReplay: status == "existing"))
            default:
                return .failure(PostgresStoreError.server("unknown draw status \(status)"))
            }
        }
    }
}
