import AccountService
import Crediting
import Engine
import Foundation
import Ledger
import MessageQueue
import PostgresStores
import Primitives
import RedPackets
import RetryWorker
import Synchronization

/// The credit path's whole service stack (`PacketService`, `GuardedAccountService` with injected credit
/// failures, `CreditFlowDriver`, `RetryWorkerPool`) over one family of stores: SQLite's (ledger, packet store,
/// three-copy queue) or PostgreSQL's. Closed loop: each client sends a group packet and opens all its shares
/// (grab, draw, in-line credit; a failed credit is queued and retried by the workers), again and again; then
/// the queue is drained and both systems are audited, so a figure is only reported for books that balance.
///
/// It is not the engine (`bench e2e`): no dashboard snapshot, no metrics, no open-loop rate. It measures what
/// the stores carry through the same code on each engine, side by side.
public enum StoreOpenBenchmark {
    public struct Run: Sendable {
        public let opens: Int
        public let seconds: Double
        public let drainSeconds: Double
        public var opensPerSecond: Double { seconds > 0 ? Double(opens) / seconds : 0 }
    }

    /// One family of stores, opened and ready.
    struct Stack<Queue: CreditQueue>: Sendable {
        let accounts: any AccountStore
        let packets: any PacketStore
        let queue: Queue
        let openAccount: @Sendable (String, Money) async throws -> Void
        let auditLedger: @Sendable () async throws -> [AuditViolation]
    }

    static let users = 200
    static let shares = 10

    /// How many group commits of the packet store's open-path writes may run at once on PostgreSQL: the
    /// store's default (1), or `HONGBAO_BENCH_PACKET_BATCHES` (1…64) to measure others.
    static var packetBatches: Int {
        ProcessInfo.processInfo.environment["HONGBAO_BENCH_PACKET_BATCHES"].flatMap(Int.init).map { min(max($0, 1), 64) } ?? 1
    }

    public static func sqlite(directory: String, clients: Int, duration: Duration, failurePercent: Int) async throws -> Run {
        let limits = Limits.default
        let ledger = try Ledger(path: directory + "/ledger.sqlite", durability: .full, limits: limits)
        let packets = try SQLitePacketStore(path: directory + "/packets.sqlite", durability: .full, limits: limits)
        let service = try MessageQueueService.open(root: directory + "/queue", limits: limits.queue)
        do {
            try await service.createQueue(limits.credit.queueName + "-dlq")
            try await service.createQueue(limits.credit.queueName, attributes: QueueAttributes(
                limits: limits.queue, maxReceiveCount: limits.credit.maxReceiveCount,
                deadLetterQueue: limits.credit.queueName + "-dlq"))
            let stack = Stack(accounts: ledger, packets: packets,
                              queue: MessageQueueCreditQueue(queue: service, name: limits.credit.queueName),
                              openAccount: { name, deposit in _ = try await ledger.openAccount(name: name, deposit: deposit) },
                              auditLedger: { try ledger.auditLedger() })
            let run = try await measure(stack, clients: clients, duration: duration, failurePercent: failurePercent)
            await service.close()
            return run
        } catch {
            await service.close()
            throw error
        }
    }

    public static func postgres(_ settings: PostgresSettings, clients: Int, duration: Duration, failurePercent: Int)
        async throws -> Run {
        let limits = Limits.default
        // Each system in its database, as the engine keeps them.
        let databases = try await PostgresDatabases.locate(settings, create: true)
        // The clients' sends, grabs and opens each take a red packets' connection, as with one pool; the ledger
        // runs one batch at a time and the queue at most 16 statements.
        let pools = PostgresDatabases.Pools(ledger: PostgresPool(settings: databases.ledger, maxConnections: 12),
                                            packets: PostgresPool(settings: databases.packets, maxConnections: clients + 8),
                                            queue: PostgresPool(settings: databases.queue, maxConnections: 16))
        do {
            let ledger = try await PostgresLedger(pool: pools.ledger, limits: limits)
            let packets = try await PostgresPacketStore(pool: pools.packets, limits: limits,
                                                        concurrentBatches: packetBatches)
            let queue = try await PostgresCreditQueue(pool: pools.queue, name: limits.credit.queueName,
                                                      maxReceiveCount: limits.credit.maxReceiveCount)
            let stack = Stack(accounts: ledger, packets: packets, queue: queue,
                              openAccount: { name, deposit in _ = try await ledger.openAccount(name: name, deposit: deposit) },
                              auditLedger: { try await ledger.auditLedger() })
            let run = try await measure(stack, clients: clients, duration: duration, failurePercent: failurePercent)
            await pools.close()
            return run
        } catch {
            await pools.close()
            throw error
        }
    }

    static func measure<Queue: CreditQueue>(_ stack: Stack<Queue>, clients: Int, duration: Duration,
                                            failurePercent: Int) async throws -> Run {
        let limits = Limits.default
        let random = SeededRandomSource(seed: 11)
        let names = (0..<users).map { "u\($0)" }
        for name in names { try await stack.openAccount(name, Money(yuan: 1_000_000)) }
        let faults = CreditFaults(CreditFaults.Settings(failurePercent: failurePercent))
        let guarded = GuardedAccountService(accounts: stack.accounts, limits: limits.credit, clock: SystemClock(),
                                            random: random, faults: faults)
        let unqueued = Mutex<[CreditOrder]>([])
        let driver = CreditFlowDriver(accountService: guarded, queue: stack.queue, recorder: stack.packets,
                                      limits: limits.credit, random: random,
                                      remember: { order in unqueued.withLock { $0.append(order) } })
        let workers = RetryWorkerPool(driver: driver, clock: SystemClock(), workers: limits.credit.defaultWorkers)
        let service = PacketService(store: stack.packets, accounts: stack.accounts, limits: limits, random: random)
        let started = ContinuousClock.now
        let deadline = started + duration
        let workerTask = Task { await workers.run() }
        let opens: Int
        do {
            opens = try await withThrowingTaskGroup(of: Int.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var opened = 0
                        var round = 0
                        while ContinuousClock.now < deadline {
                            let sender = names[(client * 7 + round) % names.count]
                            let packet = try await service.send(.group(from: sender, total: Money(yuan: 10), shares: shares))
                            for share in 1...shares {
                                let user = names[(client * 7 + round + share) % names.count]
                                try await service.grab(packet.id, user: user)
                                _ = try await service.open(packet.id, user: user, via: driver)
                                opened += 1
                            }
                            round += 1
                        }
                        return opened
                    }
                }
                return try await group.reduce(0, +)
            }
        } catch {
            workerTask.cancel()
            await workerTask.value
            throw error
        }
        let seconds = (ContinuousClock.now - started).secondsDouble
        // Drain: the workers credit what is queued; orders the queue could not take are sent again.
        let drainStarted = ContinuousClock.now
        var drained = false
        while ContinuousClock.now - drainStarted < .seconds(120) {
            for order in unqueued.withLock({ orders in defer { orders = [] }; return orders }) {
                try await stack.queue.enqueue(order)
            }
            let left = try await stack.packets.uncreditedClaims(in: nil, limit: 1)
            if left.isEmpty {
                drained = true
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let drainSeconds = (ContinuousClock.now - drainStarted).secondsDouble
        workerTask.cancel()
        await workerTask.value
        guard drained else { throw BenchError.verificationFailed("stores: the credit queue did not drain in 120 s") }
        let violations = try await stack.auditLedger()
            + (try await service.auditAcrossSystems()).violations
        guard violations.isEmpty else {
            throw BenchError.verificationFailed("stores: audit found \(violations.prefix(3))")
        }
        return Run(opens: opens, seconds: seconds, drainSeconds: drainSeconds)
    }
}
