import Crediting
import Ledger
import PostgresNIO
import Primitives
import RedPackets
import Synchronization

/// The red-packet store's group commit on PostgreSQL: the open path's writes (grabs, draws, credited and
/// waiting marks) submitted while a batch is committing wait and go together in the next one. A batch is one
/// transaction of at most five round trips whatever its size: one multi-row statement per kind of write
/// and the COMMIT, so many opens share one commit and one wait for the standby, as the ledger's transfers do
/// in `TransferBatcher`.
///
/// Only a grab locks its packet's row (to take the next slot and draw its share); a draw locks its own grab
/// row, a mark its claim. Up to `concurrentBatches` batches run at once, and never two that grab the same
/// packet: a grab of a packet that a batch under way is grabbing waits for the next batch, so batches do not
/// queue on each other's packet rows (each held until its COMMIT has reached a standby). Batches that deadlock
/// (with another process's) are rolled back by PostgreSQL and run again.
///
/// A refusal (sold out, expired, not grabbed…) is one write's own result, decided from what the batch read,
/// and never undoes the others. A batch whose connection is lost (even during COMMIT, when it may have
/// committed) runs again as a whole; every write in it is idempotent by id: a grab by the token its call
/// chose, a draw by the claim its first attempt drew, a mark by the claim's state. A batch that fails for
/// another reason is split, so one bad write fails alone.
final class PacketWriteBatcher: Sendable {
    struct Grab: Sendable {
        let packet: PacketID
        let user: Account
        let token: Int64
        /// The random value the grab's share is drawn with (chosen once, so a retry draws the same).
        let random: Int64
    }

    final class Draw: Sendable {
        let packet: PacketID
        let user: Account
        /// The claim an earlier attempt of the same draw drew: after an unclear commit the retry finds it,
        /// and it is this call's own, not a replay.
        let attempted = Mutex<Claim?>(nil)

        init(packet: PacketID, user: Account) {
            self.packet = packet
            self.user = user
        }
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
            pool.profile.record("packets.batch", since: taken, items: batch.count)
        }
    }

    /// One batch; split in halves when it fails for a reason other than a lost connection, so that a write
    /// the server refuses outright fails alone.
    private func run(_ batch: [Pending]) async {
        do {
            let outcomes = try await commit(batch.map(\.write))
            batches.add(1, ordering: .relaxed)
            let done = ContinuousClock.now
            for (pending, outcome) in zip(batch, outcomes) {
                pool.profile.record("packets.total." + pending.write.kind, done - pending.submitted)
                pending.finish(outcome)
            }
        } catch {
            // A server out of reach for the whole retry window is every write's failure: halves would only
            // wait that long again, one after the other.
            if case PostgresStoreError.unavailable = error {
                for pending in batch { pending.finish(.failure(error)) }
                return
            }
            guard batch.count > 1 else {
                batch[0].finish(.failure(error))
                return
            }
            let half = batch.count / 2
            await run(Array(batch[..<half]))
            await run(Array(batch[half...]))
        }
    }

    /// The batch's writes in one transaction, retried as a whole after a lost connection.
    private func commit(_ writes: [Write]) async throws -> [Result<Outcome, any Error>] {
        let now = clock.now()
        let minShare = minShare
        let pool = pool
        return try await pool.retrying {
            try await pool.transaction(profiledAs: "packets") { connection in
                try await PacketWriteBatcher.execute(writes, now: now, minShare: minShare, on: connection,
                                                     logger: pool.logger)
            }
        }
    }

    // MARK: The statements

    static func execute(_ writes: [Write], now: Timestamp, minShare: Money, on connection: PostgresConnection,
                        logger: Logger) async throws -> [Result<Outcome, any Error>] {
        var results = [Result<Outcome, any Error>?](repeating: nil, count: writes.count)
        var grabs: [(Int, Grab)] = [], draws: [(Int, Draw)] = [], credited: [(Int, ClaimID, Timestamp)] = []
        var waiting: [(Int, ClaimID)] = []
        for (index, write) in writes.enumerated() {
            switch write {
            case let .grab(grab), let .grabAndDraw(grab): grabs.append((index, grab))
            case let .draw(draw): draws.append((index, draw))
            case let .credited(claim, at): credited.append((index, claim, at))
            case let .waiting(claim): waiting.append((index, claim))
            }
        }
        if !grabs.isEmpty {
            for (index, result) in try await grab(grabs.map(\.1), now: now, minShare: minShare, on: connection,
                                                  logger: logger).enumerated() {
                let (position, grab) = grabs[index]
                // A grab and draw whose grab succeeded draws its share next, in the draws' statement.
                if case .grabAndDraw = writes[position], case .success = result {
                    draws.append((position, Draw(packet: grab.packet, user: grab.user)))
                } else {
                    results[position] = result
                }
            }
        }
        if !draws.isEmpty {
            for (index, result) in try await draw(draws.map(\.1), now: now, on: connection, logger: logger)
                .enumerated() {
                let position = draws[index].0
                if case .grabAndDraw = writes[position] {
                    // This call's own share, whether drawn now or found drawn: its grab (by its token) is this
                    // call's, so an earlier attempt of it drew the claim (after an unclear commit).
                    results[position] = result.map { outcome in
                        guard case let .drawn(claim, _) = outcome else { return outcome }
                        return .drawn(claim, wasReplay: false)
                    }
                } else {
                    results[position] = result
                }
            }
        }
        if !credited.isEmpty {
            for (index, result) in try await markCredited(credited.map { ($0.1, $0.2) }, on: connection, logger: logger)
                .enumerated() {
                results[credited[index].0] = result
            }
        }
        if !waiting.isEmpty {
            let ids = waiting.map(\.1.rawValue)
            try await connection.query("""
                UPDATE claim c SET state = 'waiting', attempts = c.attempts + 1
                FROM (SELECT DISTINCT id FROM unnest(\(ids)::TEXT[]) AS w(id)) w
                WHERE c.id = w.id AND c.state = 'crediting'
                """, logger: logger)
            for (index, _) in waiting { results[index] = .success(.done) }
        }
        return results.map { $0! }
    }

    /// Every grab through `hb_grab`, in order, in one statement.
    private static func grab(_ grabs: [Grab], now: Timestamp, minShare: Money, on connection: PostgresConnection,
                             logger: Logger) async throws -> [Result<Outcome, any Error>] {
        let packets = grabs.map(\.packet.rawValue)
        let users = grabs.map(\.user.id.rawValue)
        let tokens = grabs.map(\.token)
        let randoms = grabs.map(\.random)
        var results: [Result<Outcome, any Error>] = []
        results.reserveCapacity(grabs.count)
        for try await (status, slot) in try await connection.query("""
            SELECT r.status, r.slot
            FROM unnest(\(packets)::TEXT[], \(users)::BIGINT[], \(tokens)::BIGINT[], \(randoms)::BIGINT[])
                WITH ORDINALITY AS g(packet, usr, token, random, ord)
            CROSS JOIN LATERAL hb_grab(g.packet, g.usr, \(now.millisecondsSinceEpoch), g.token,
                                       \(minShare.minorUnits), g.random) r
            ORDER BY g.ord
            """, logger: logger).decode((String, Int64?).self) {
            let grab = grabs[results.count]
            let id = grab.packet
            switch status {
            case "ok": results.append(.success(.slot(Int(slot ?? 0))))
            case "unknown": results.append(.failure(PacketError.unknownPacket(id.rawValue)))
            case "expired": results.append(.failure(PacketError.expired(id)))
            case "not_recipient": results.append(.failure(PacketError.notRecipient(id, user: grab.user.name)))
            case "already": results.append(.failure(PacketError.alreadyGrabbed(id, user: grab.user.name)))
            case "sold_out": results.append(.failure(PacketError.soldOut(id)))
            default: results.append(.failure(PostgresStoreError.server("unknown grab status \(status)")))
            }
        }
        guard results.count == grabs.count else {
            throw PostgresStoreError.server("a batch of \(grabs.count) grabs returned \(results.count) results")
        }
        return results
    }

    /// Every draw through `hb_draw`, in order, in one statement: each locks its own grab row (never the
    /// packet's), and inserts the claim with the share its grab drew, or finds the claim already there.
    private static func draw(_ draws: [Draw], now: Timestamp, on connection: PostgresConnection, logger: Logger)
        async throws -> [Result<Outcome, any Error>] {
        let packets = draws.map(\.packet.rawValue)
        let users = draws.map(\.user.id.rawValue)
        let names = draws.map(\.user.name)
        var results: [Result<Outcome, any Error>] = []
        results.reserveCapacity(draws.count)
        var drawnHere = Set<String>()
        for try await (status, id, slot, amount, state, opened, credited, attempts) in try await connection.query("""
            SELECT r.status, r.claim_id, r.slot, r.amount, r.state, r.opened_at, r.credited_at, r.attempts
            FROM unnest(\(packets)::TEXT[], \(users)::BIGINT[], \(names)::TEXT[]) WITH ORDINALITY AS d(packet, usr, name, ord)
            CROSS JOIN LATERAL hb_draw(d.packet, d.usr, d.name, \(now.millisecondsSinceEpoch)) r
            ORDER BY d.ord
            """, logger: logger).decode((String, String?, Int64?, Int64?, String?, Int64?, Int64?, Int64?).self) {
            let draw = draws[results.count]
            let packet = draw.packet
            switch status {
            case "unknown": results.append(.failure(PacketError.unknownPacket(packet.rawValue)))
            case "not_grabbed": results.append(.failure(PacketError.notGrabbed(packet, user: draw.user.name)))
            case "expired": results.append(.failure(PacketError.expired(packet)))
            case "drawn", "existing":
                guard let id, let slot, let amount, let state, let opened, let attempts else {
                    results.append(.failure(PostgresStoreError.server("a draw returned no claim")))
                    continue
                }
                let claim = Claim(id: ClaimID(id), packetID: packet, userID: draw.user.id, userName: draw.user.name,
                                  slot: Int(slot), amount: Money(minorUnits: amount),
                                  state: ClaimState(rawValue: state) ?? .crediting,
                                  openedAt: Timestamp(millisecondsSinceEpoch: opened),
                                  creditedAt: credited.map(Timestamp.init(millisecondsSinceEpoch:)),
                                  attempts: Int(attempts))
                if status == "drawn" {
                    drawnHere.insert(id)
                    draw.attempted.withLock { $0 = claim }
                    results.append(.success(.drawn(claim, wasReplay: false)))
                } else {
                    // Found: this call's own claim when an earlier attempt of it drew it (its commit was
                    // unclear), a replay otherwise (or when drawn by another draw in this batch).
                    let mine = draw.attempted.withLock { $0 }
                    let own = !drawnHere.contains(id)
                        && (mine.map { $0.amount == claim.amount && $0.openedAt == claim.openedAt } ?? false)
                    results.append(.success(.drawn(claim, wasReplay: !own)))
                }
            default: results.append(.failure(PostgresStoreError.server("unknown draw status \(status)")))
            }
        }
        guard results.count == draws.count else {
            throw PostgresStoreError.server("a batch of \(draws.count) draws returned \(results.count) results")
        }
        return results
    }

    /// Every credited mark in one statement: each claim not yet credited is, once (its packet's row is not
    /// touched: what a packet has credited is its credited claims' sum); a claim credited already is left as it
    /// is; an unknown claim is an error of its own. (The data-modifying part of a WITH runs whether or not the
    /// final SELECT reads it; the SELECT sees the claims as they were before the statement, which is enough to
    /// tell a known claim.)
    private static func markCredited(_ marks: [(ClaimID, Timestamp)], on connection: PostgresConnection,
                                     logger: Logger) async throws -> [Result<Outcome, any Error>] {
        let ids = marks.map(\.0.rawValue)
        let times = marks.map(\.1.millisecondsSinceEpoch)
        var known = Set<String>()
        for try await id in try await connection.query("""
            WITH marks AS (
                SELECT DISTINCT ON (id) id, at FROM unnest(\(ids)::TEXT[], \(times)::BIGINT[]) AS m(id, at) ORDER BY id
            ), credited AS (
                UPDATE claim c SET state = 'credited', credited_at = marks.at, attempts = c.attempts + 1
                FROM marks WHERE c.id = marks.id AND c.state <> 'credited'
                RETURNING c.id
            )
            SELECT c.id FROM claim c JOIN marks ON marks.id = c.id
            """, logger: logger).decode(String.self) {
            known.insert(id)
        }
        return marks.map { mark in
            known.contains(mark.0.rawValue) ? .success(.done) : .failure(PacketError.unknownPacket(mark.0.rawValue))
        }
    }
}
