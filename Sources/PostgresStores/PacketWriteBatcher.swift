import Crediting
import Ledger
import PostgresNIO
import Primitives
import RedPackets
import Synchronization

/// The red-packet store's group commit on PostgreSQL: the open path's writes (grabs, draws, credited and
/// waiting marks) submitted while a batch is committing wait and go together in the next one. A batch is one
/// transaction of at most five round trips whatever its size: one multi-row statement per kind of write
/// (draws take two: lock and read, then write) and the COMMIT, so many opens share one commit and one wait
/// for the standby, as the ledger's transfers do in `TransferBatcher`.
///
/// Up to `concurrentBatches` batches run at once (one by default: the writes of one open all lock its packet's
/// row, so a second batch mostly queues on the first's locks; measured, one at a time did best). Batches that
/// deadlock (another process's, or two of ours in a different order) are rolled back by PostgreSQL and run
/// again.
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
    }

    final class Draw: Sendable {
        let packet: PacketID
        let user: Account
        let random: any RandomSource
        /// The claim an earlier attempt of the same draw drew: after an unclear commit the retry finds it,
        /// and it is this call's own, not a replay.
        let attempted = Mutex<Claim?>(nil)

        init(packet: PacketID, user: Account, random: any RandomSource) {
            self.packet = packet
            self.user = user
            self.random = random
        }
    }

    enum Write: Sendable {
        case grab(Grab)
        case draw(Draw)
        case credited(ClaimID, at: Timestamp)
        case waiting(ClaimID)
    }

    enum Outcome: Sendable {
        case slot(Int)
        case drawn(Claim, wasReplay: Bool)
        case done
    }

    private struct Pending {
        let write: Write
        let finish: @Sendable (Result<Outcome, any Error>) -> Void
    }

    private struct State {
        var queue: [Pending] = []
        var running = 0
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
            let batch = state.withLock { state -> [Pending] in
                guard !state.queue.isEmpty else {
                    state.running -= 1
                    return []
                }
                let batch = Array(state.queue.prefix(maxBatch))
                state.queue.removeFirst(batch.count)
                return batch
            }
            if batch.isEmpty { return }
            await run(batch)
        }
    }

    /// One batch; split in halves when it fails for a reason other than a lost connection, so that a write
    /// the server refuses outright fails alone.
    private func run(_ batch: [Pending]) async {
        do {
            let outcomes = try await commit(batch.map(\.write))
            batches.add(1, ordering: .relaxed)
            for (pending, outcome) in zip(batch, outcomes) { pending.finish(outcome) }
        } catch {
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
        return try await pool.retrying {
            try await pool.transaction { connection in
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
            case let .grab(grab): grabs.append((index, grab))
            case let .draw(draw): draws.append((index, draw))
            case let .credited(claim, at): credited.append((index, claim, at))
            case let .waiting(claim): waiting.append((index, claim))
            }
        }
        if !grabs.isEmpty {
            for (index, result) in try await grab(grabs.map(\.1), now: now, on: connection, logger: logger)
                .enumerated() {
                results[grabs[index].0] = result
            }
        }
        if !draws.isEmpty {
            for (index, result) in try await draw(draws.map(\.1), now: now, minShare: minShare, on: connection,
                                                  logger: logger).enumerated() {
                results[draws[index].0] = result
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
    private static func grab(_ grabs: [Grab], now: Timestamp, on connection: PostgresConnection, logger: Logger)
        async throws -> [Result<Outcome, any Error>] {
        let packets = grabs.map(\.packet.rawValue)
        let users = grabs.map(\.user.id.rawValue)
        let tokens = grabs.map(\.token)
        var results: [Result<Outcome, any Error>] = []
        results.reserveCapacity(grabs.count)
        for try await (status, slot) in try await connection.query("""
            SELECT r.status, r.slot
            FROM unnest(\(packets)::TEXT[], \(users)::BIGINT[], \(tokens)::BIGINT[]) WITH ORDINALITY AS g(packet, usr, token, ord)
            CROSS JOIN LATERAL hb_grab(g.packet, g.usr, \(now.millisecondsSinceEpoch), g.token) r
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

    /// Every draw: the packets locked (in id order) and read, the users' grabs and claims read, the amounts
    /// drawn here in order (a second draw of the same packet sees the first), and the new claims inserted and
    /// counted on their packets in one statement.
    private static func draw(_ draws: [Draw], now: Timestamp, minShare: Money, on connection: PostgresConnection,
                             logger: Logger) async throws -> [Result<Outcome, any Error>] {
        let packetIDs = Array(Set(draws.map(\.packet.rawValue))).sorted()
        var packets: [String: Packet] = [:]
        for try await row in try await connection.query("""
            SELECT \(unescaped: PostgresPacketStore.packetColumns) FROM packet WHERE id = ANY(\(packetIDs)::TEXT[])
            ORDER BY id FOR UPDATE
            """, logger: logger) {
            let packet = try PostgresPacketStore.packet(from: row)
            packets[packet.id.rawValue] = packet
        }
        // Read after the locks: a claim committed by the batch we waited for is seen.
        let drawPackets = draws.map(\.packet.rawValue)
        let users = draws.map(\.user.id.rawValue)
        var slots: [Int: Int] = [:]
        var existing: [Int: Claim] = [:]
        for try await row in try await connection.query("""
            SELECT d.ord, g.slot, \(unescaped: PostgresPacketStore.claimColumns.split(separator: ",")
                .map { "c." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", "))
            FROM unnest(\(drawPackets)::TEXT[], \(users)::BIGINT[]) WITH ORDINALITY AS d(packet, usr, ord)
            JOIN grab g ON g.packet_id = d.packet AND g.user_id = d.usr
            LEFT JOIN claim c ON c.packet_id = d.packet AND c.user_id = d.usr
            """, logger: logger) {
            let columns = row.makeRandomAccess()
            let ord = Int(try columns[0].decode(Int64.self, context: .default)) - 1
            slots[ord] = Int(try columns[1].decode(Int64.self, context: .default))
            if try columns[2].decode(String?.self, context: .default) != nil {
                let (_, _, id, packet, user, userName, slot, amount, state, opened, credited, attempts) = try row.decode(
                    (Int64, Int64, String, String, Int64, String, Int64, Int64, String, Int64, Int64?, Int64).self)
                existing[ord] = Claim(id: ClaimID(id), packetID: PacketID(packet), userID: AccountID(user),
                                      userName: userName, slot: Int(slot), amount: Money(minorUnits: amount),
                                      state: ClaimState(rawValue: state) ?? .crediting,
                                      openedAt: Timestamp(millisecondsSinceEpoch: opened),
                                      creditedAt: credited.map(Timestamp.init(millisecondsSinceEpoch:)),
                                      attempts: Int(attempts))
            }
        }
        var results: [Result<Outcome, any Error>] = []
        results.reserveCapacity(draws.count)
        var drawnHere: [String: Claim] = [:]
        var inserts: [Claim] = []
        for (ord, draw) in draws.enumerated() {
            let id = draw.packet
            guard let packet = packets[id.rawValue], packet.isPaid else {
                results.append(.failure(PacketError.unknownPacket(id.rawValue)))
                continue
            }
            guard let slot = slots[ord] else {
                results.append(.failure(PacketError.notGrabbed(id, user: draw.user.name)))
                continue
            }
            let claimID = ClaimID(packet: id, slot: slot)
            if let found = existing[ord] ?? drawnHere[claimID.rawValue] {
                let mine = draw.attempted.withLock { $0 }
                let ownDraw = drawnHere[claimID.rawValue] == nil
                    && (mine.map { $0.amount == found.amount && $0.openedAt == found.openedAt } ?? false)
                results.append(.success(.drawn(found, wasReplay: !ownDraw)))
                continue
            }
            if packet.state == .expired || now >= packet.expiresAt {
                results.append(.failure(PacketError.expired(id)))
                continue
            }
            let amount = ShareDraw.next(kind: packet.kind, remaining: packet.remaining,
                                        sharesLeft: packet.shares - packet.opened, minShare: minShare,
                                        random: draw.random)
            packets[id.rawValue] = packet.opening(amount)
            let claim = Claim(id: claimID, packetID: id, userID: draw.user.id, userName: draw.user.name, slot: slot,
                              amount: amount, state: .crediting, openedAt: now, creditedAt: nil, attempts: 0)
            drawnHere[claimID.rawValue] = claim
            inserts.append(claim)
            draw.attempted.withLock { $0 = claim }
            results.append(.success(.drawn(claim, wasReplay: false)))
        }
        if !inserts.isEmpty {
            try await connection.query("""
                WITH drawn AS (
                    INSERT INTO claim (id, packet_id, user_id, user_name, slot, amount, state, opened_at)
                    SELECT c.id, c.packet, c.usr, c.name, c.slot, c.amount, 'crediting', \(now.millisecondsSinceEpoch)
                    FROM unnest(\(inserts.map(\.id.rawValue))::TEXT[], \(inserts.map(\.packetID.rawValue))::TEXT[],
                                \(inserts.map(\.userID.rawValue))::BIGINT[], \(inserts.map(\.userName))::TEXT[],
                                \(inserts.map { Int64($0.slot) })::BIGINT[], \(inserts.map(\.amount.minorUnits))::BIGINT[])
                        AS c(id, packet, usr, name, slot, amount)
                    RETURNING packet_id, amount
                ), counted AS (
                    SELECT packet_id, COUNT(*) AS n, SUM(amount)::BIGINT AS total FROM drawn GROUP BY packet_id
                )
                UPDATE packet p SET opened = p.opened + counted.n, opened_amount = p.opened_amount + counted.total,
                    state = CASE WHEN p.opened + counted.n = p.shares THEN 'finished' ELSE p.state END
                FROM counted WHERE p.id = counted.packet_id
                """, logger: logger)
        }
        return results
    }

    /// Every credited mark in one statement: each claim not yet credited is, and its packet's credited amount
    /// grows by it, once; a claim credited already is left as it is; an unknown claim is an error of its own.
    /// (The data-modifying parts of a WITH run whether or not the final SELECT reads them; it sees the claims
    /// as they were before the statement, which is enough to tell a known claim.)
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
                RETURNING c.id, c.packet_id, c.amount
            ), counted AS (
                UPDATE packet p SET credited_amount = p.credited_amount + sums.total
                FROM (SELECT packet_id, SUM(amount)::BIGINT AS total FROM credited GROUP BY packet_id) sums
                WHERE p.id = sums.packet_id
                RETURNING p.id
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

private extension Packet {
    /// The packet after one more share of `amount` is drawn (the batch's running view of it).
    func opening(_ amount: Money) -> Packet {
        Packet(id: id, kind: kind, senderID: senderID, senderName: senderName, recipientID: recipientID, total: total,
               shares: shares, greeting: greeting, createdAt: createdAt, expiresAt: expiresAt, grabbed: grabbed,
               opened: opened + 1, openedAmount: openedAmount + amount, creditedAmount: creditedAmount,
               refunded: refunded, refundPending: refundPending,
               state: opened + 1 == shares ? .finished : state)
    }
}
