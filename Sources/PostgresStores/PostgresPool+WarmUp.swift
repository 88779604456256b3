import Ledger
import Logging
import PostgresNIO
import Primitives
import RedPackets
import Synchronization

/// The open path's statements, run once on every warm connection before the load comes: a server process
/// parses and plans a prepared statement on its first run, and compiles a PL/pgSQL function and plans each
/// statement in it on its first call (`hb_packet_batch`'s first call took 8.0 ms in a fresh process, its
/// second 1.2 ms). Left to the load, the 48 connections' first calls all come in its first moment, on the
/// cores the load needs.
extension PostgresPool {
    /// One warm-up statement: run on a connection, in a transaction that is rolled back.
    typealias WarmUpCall = @Sendable (PostgresConnection, Logger) async throws -> Void

    /// Runs `calls(n)` on the n-th of the pool's warm connections, all connections at once (each is held until
    /// every one is taken, so that none runs them twice), each call in a transaction of its own that is rolled
    /// back: they write nothing. Best effort: a call that fails is skipped, and connections not taken within
    /// `limit` are left cold.
    func warmUp(_ calls: @escaping @Sendable (Int) -> [WarmUpCall], limit: Duration = .seconds(5)) async {
        let count = warmConnections
        guard count > 0 else { return }
        let client = client
        let logger = logger
        let taken = TakenCount()
        let deadline = ContinuousClock.now + limit
        await withDiscardingTaskGroup { group in
            for index in 0..<count {
                // At most `openingAtOnce` asked for and not yet had: postgres-nio's pool opens a connection for a
                // request only while fewer than 20 are being opened, and once the requests queue beyond that it
                // counts the connections held as soon free and opens no more (all 48 asked for at once, the pool
                // stopped at 34 and the rest came with the load's first statements).
                while index - taken.value.load(ordering: .relaxed) >= PostgresPool.openingAtOnce,
                      ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(1))
                }
                group.addTask {
                    try? await client.withConnection { connection in
                        taken.value.add(1, ordering: .relaxed)
                        while taken.value.load(ordering: .relaxed) < count && ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(2))
                        }
                        for call in calls(index) {
                            guard ContinuousClock.now < deadline else { return }
                            _ = try await self.answered(on: connection) { connection in
                                try await connection.query("BEGIN", logger: logger)
                                try? await call(connection, logger)
                                try await connection.query("ROLLBACK", logger: logger)
                            }
                        }
                    }
                }
            }
        }
    }

    /// How many warm connections are asked for at once (see `warmUp`).
    static let openingAtOnce = 16

    /// A `CallText` statement's run, prepared (`warmUpCall(_:)`).
    static func warmUpCall<Text: CallText>(_ query: PostgresQuery, as _: Text.Type) -> WarmUpCall {
        warmUpCall(PreparedCall<Text>(query))
    }

    /// A prepared statement's run, its rows read and dropped.
    static func warmUpCall<Statement: PostgresPreparedStatement>(_ statement: Statement) -> WarmUpCall {
        return { connection, logger in
            for try await _ in try await connection.execute(statement, logger: logger) {}
        }
    }

    /// Warms the connections of each store's pool for its part of the open path (the ledger's and the packet
    /// store's batches and reads, the queue's send and receive, which a failed credit and the workers run), with
    /// ids and names no row has, the pools side by side; stores that share a pool warm its connections together.
    /// The engine runs it once its stores are open.
    public static func warmUp(ledger: PostgresLedger, packets: PostgresPacketStore, queue: PostgresCreditQueue) async {
        var calls: [(pool: PostgresPool, calls: [@Sendable (Int) -> [WarmUpCall]])] = []
        let stores: [(PostgresPool, @Sendable (Int) -> [WarmUpCall])] = [
            (ledger.pool, { ledger.warmUpCalls(connection: $0) }),
            (packets.pool, { _ in packets.warmUpCalls }),
            (queue.pool, { _ in queue.warmUpCalls }),
        ]
        for (pool, call) in stores {
            if let index = calls.firstIndex(where: { $0.pool === pool }) {
                calls[index].calls.append(call)
            } else {
                calls.append((pool, [call]))
            }
        }
        await withDiscardingTaskGroup { group in
            for (pool, each) in calls {
                group.addTask { await pool.warmUp { connection in each.flatMap { $0(connection) } } }
            }
        }
    }
}

/// How many connections the warm-up has taken.
private final class TakenCount: Sendable {
    let value = Atomic<Int>(0)
}

/// The ids and names the warm-up statements ask for: no row has them (ids and names the stores make never
/// contain a space).
private enum WarmUp {
    static let id = "warm up"
    /// The transfer id of the `connection`-th connection's warm-up: a transfer batch takes an advisory lock on
    /// each of its ids until its transaction ends, so with one id for all, the connections' warm-ups ran one
    /// after the other (at an engine's start, the last of the 48 waited 230 ms for the lock; with an id each,
    /// no warm-up statement took over 104 ms, the packet batches' first compilation included).
    static func transferID(connection: Int) -> TransferID { TransferID("\(id) \(connection)") }
    static let user = Account(id: AccountID(-1), name: "warm up", kind: .user, balance: .zero,
                              createdAt: Timestamp(millisecondsSinceEpoch: 0))
}

extension PostgresLedger {
    /// A transfer batch between two accounts that do not exist, with an id of the `connection`-th connection's
    /// own, and a read of an account by name.
    func warmUpCalls(connection: Int) -> [PostgresPool.WarmUpCall] {
        let transfer = TransferRequest(id: WarmUp.transferID(connection: connection), from: AccountID(-1), to: AccountID(-2),
                                       amount: Money(minorUnits: 1), memo: WarmUp.id)
        return [
            PostgresPool.warmUpCall(TransferBatcher.statement([transfer], tokens: [1], now: Timestamp(millisecondsSinceEpoch: 0),
                                                              maxAmount: limits.money.maxSingleAmount),
                                    as: TransferBatchCall.self),
            PostgresPool.warmUpCall(PostgresLedger.accountByName(WarmUp.user.name), as: AccountByNameCall.self),
        ]
    }
}

extension PostgresPacketStore {
    /// An open path's batch (a grab and draw, a draw, a credited and a waiting mark), a send path's batch (a paid
    /// mark and a cancel) of a packet that does not exist, and a read of a claim by id.
    var warmUpCalls: [PostgresPool.WarmUpCall] {
        let packet = PacketID(WarmUp.id)
        let claim = ClaimID(packet: packet, slot: 1)
        let now = Timestamp(millisecondsSinceEpoch: 0)
        let opens = PacketWriteBatcher.Statement([
            .grabAndDraw(.init(packet: packet, user: WarmUp.user, token: 1, random: 1)),
            .draw(.init(packet: packet, user: WarmUp.user, token: 2)),
            .credited(claim, at: now),
            .waiting(claim),
        ], now: now, minShare: limits.packets.minShare)
        return [
            PostgresPool.warmUpCall(opens.query, as: PacketWriteBatcher.Statement.self),
            PostgresPool.warmUpCall(SendWriteBatcher.Statement([.paid(packet), .cancel(packet)]).query,
                                    as: SendWriteBatcher.Statement.self),
            PostgresPool.warmUpCall(PostgresPacketStore.claimByID(claim), as: ClaimByIDCall.self),
        ]
    }
}

extension PostgresCreditQueue {
    /// A send of no message and a receive from a queue no message is in: each statement parsed and planned, and
    /// the queue's table and indexes loaded into the server process, with nothing written even if committed
    /// (measured on a fresh server process: the send's first run 1.5 ms with its prepare, then 0.07 ms; the
    /// receive's 1.2 ms, then 0.2 ms).
    var warmUpCalls: [PostgresPool.WarmUpCall] {
        let queue = WarmUp.id
        return [
            PostgresPool.warmUpCall(Send(queue: queue, now: 0, ids: [], bodies: [])),
            PostgresPool.warmUpCall(Receive(queue: queue, now: 0, limit: 1, maxReceiveCount: Int64(maxReceiveCount),
                                            deadLetter: queue + "-dlq", hiddenUntil: 0)),
        ]
    }
}
