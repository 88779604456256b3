import AccountService
import Ledger
import MessageQueue
import PostgresStores
import Primitives
import RedPackets
import RetryWorker

/// Everything the dashboard shows, read at one moment. Immutable; cheap to take 10 times a second.
public struct EngineSnapshot: Sendable {
    public let takenAt: Timestamp
    public let uptime: Duration
    public let durability: Durability
    public let creditMode: CreditMode
    public let faults: CreditFaults.Settings
    public let metrics: MetricsSnapshot
    public let accountService: GuardedAccountService.Counters
    public let retries: RetryStats
    public let queue: QueueSnapshot
    /// Richest user accounts, from the slow snapshot (balances are not indexed: finding them scans the table).
    public var topAccounts: [Account] { slow?.topAccounts ?? [] }
    /// Open packets, soonest to expire first, read now (the first `Engine.snapshotListLength`).
    public let openPackets: [Packet]
    /// How many open packets expire within `Engine.expiringSoon` of `takenAt`: all of them, where counting
    /// them in `openPackets` stopped at its length.
    public let packetsExpiringSoon: Int
    /// Claims waiting for the queue (no quorum when they failed).
    public let unqueuedCredits: Int
    /// Whole-table figures and the conservation check, refreshed every couple of seconds.
    public let slow: SlowSnapshot?
    public let events: [EngineEvent]
}

/// The expensive figures: counted or ranked over whole tables, so refreshed on their own schedule.
public struct SlowSnapshot: Sendable {
    public let takenAt: Timestamp
    public let totals: LedgerTotals
    public let packets: PacketStats
    /// Richest user accounts.
    public let topAccounts: [Account]
    /// Broken invariants from the last check (empty: the books balance).
    public let violations: [AuditViolation]
    /// How long the check took.
    public let checkDuration: Duration
}

extension Engine {
    /// How many rows each list in the snapshot carries.
    static let snapshotListLength = 12
    /// What "expiring soon" means in the snapshot.
    public static let expiringSoon: Duration = .seconds(60)

    /// The live picture: in-memory counters, the queue's state, and small indexed reads from the ledger.
    public func snapshot() async -> EngineSnapshot {
        let queueSnapshot: QueueSnapshot
        switch books {
        case let .sqlite(books): queueSnapshot = await books.queue.snapshot()
        case let .postgres(books):
            // Counted before `run()` has counted once (a fresh engine, a test); else the last count, not waited for.
            let figures = postgresQueueFigures.withLock { $0 }
            queueSnapshot = figures.queues.isEmpty ? await postgresQueueSnapshot(books.queue) : figures
        }
        let open = (try? await blockingRead(on: blockingReads) {
            try self.packets.openPackets(limit: Engine.snapshotListLength)
        }) ?? []
        let now = clock.now()
        let expiring = (try? await blockingRead(on: blockingReads) {
            try self.packets.openPacketCount(expiringBy: now + Engine.expiringSoon)
        })
            ?? open.filter { $0.expiresAt <= now + Engine.expiringSoon }.count
        return EngineSnapshot(
            takenAt: now, uptime: now - startedAt, durability: durability, creditMode: creditMode,
            faults: faults.settings, metrics: metrics.snapshot(), accountService: accountService.snapshot,
            retries: workers.snapshot, queue: queueSnapshot, openPackets: open,
            packetsExpiringSoon: expiring,
            unqueuedCredits: creditPath.unqueuedCount,
            slow: slowSnapshot.withLock { $0 }, events: events.recent)
    }

    /// Counts the PostgreSQL queue's messages every `postgresQueueInterval` for the snapshot, which reads the
    /// last count without waiting: while no standby confirms commits, every pooled connection may be waiting
    /// for one, and the screen must still show that (see `run()`).
    func runPostgresQueueFigures(_ queue: PostgresCreditQueue) async {
        while !Task.isCancelled {
            let figures = await postgresQueueSnapshot(queue)
            if !figures.queues.isEmpty { postgresQueueFigures.withLock { $0 = figures } }
            try? await clock.sleep(for: Engine.postgresQueueInterval)
        }
    }

    /// The PostgreSQL credit queue as the dashboard's queue figures: visible, in flight, delayed and
    /// dead-lettered as the server counts them (`PostgresCreditQueue.counters`), the oldest message's age; no
    /// replicas (the servers are the copies).
    func postgresQueueSnapshot(_ queue: PostgresCreditQueue) async -> QueueSnapshot {
        guard let counters = try? await queue.counters() else { return QueueSnapshot(queues: []) }
        let now = clock.now()
        let oldestAge = counters.oldestSentAt.map { max(.zero, now - $0) } ?? .zero
        return QueueSnapshot(queues: [
            .counts(name: queue.name, visible: counters.visible, inFlight: counters.inFlight, delayed: counters.delayed,
                    deadLettered: counters.deadLettered, oldestAge: oldestAge),
            .counts(name: queue.deadLetterName, messages: counters.deadLettered, deadLettered: 0),
        ])
    }

    /// The same whole-table figures on PostgreSQL: a round trip each, the packet store's (blocking) off the
    /// cooperative pool.
    func refreshSlowSnapshot(_ ledger: PostgresLedger) async {
        let started = ContinuousClock.now
        do {
            let totals = try await ledger.totals()
            let stats = try await blockingRead(on: blockingReads) { try self.packets.stats() }
            let top = try await ledger.topAccounts(limit: Engine.snapshotListLength)
            let violations = try await ledger.auditLedgerQuick()
            let snapshot = SlowSnapshot(takenAt: clock.now(), totals: totals, packets: stats, topAccounts: top,
                                        violations: violations, checkDuration: ContinuousClock.now - started)
            slowSnapshot.withLock { $0 = snapshot }
        } catch {
            events.add(.failure, "conservation check failed to run: \(error)")
        }
    }

    /// Recounts the whole-table figures and re-checks conservation (ledger and packet invariants).
    func refreshSlowSnapshot(_ ledger: Ledger) {
        let started = ContinuousClock.now
        do {
            let totals = try ledger.totals()
            let stats = try packets.stats()
            let top = try ledger.accounts(order: .balanceDescending, limit: Engine.snapshotListLength)
            // The ledger's conservation check only: the two systems' stores are read at different moments, so
            // comparing them under load would show the credits in flight as differences (`audit` compares them).
            let violations = try ledger.auditLedgerQuick()
            let snapshot = SlowSnapshot(takenAt: clock.now(), totals: totals, packets: stats, topAccounts: top,
                                        violations: violations, checkDuration: ContinuousClock.now - started)
            slowSnapshot.withLock { $0 = snapshot }
        } catch {
            events.add(.failure, "conservation check failed to run: \(error)")
        }
    }
}
