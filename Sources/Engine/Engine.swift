import AccountService
import Crediting
import Dispatch
import Ledger
import MessageQueue
import PostgresStores
import Primitives
import RedPackets
import RetryWorker
import Synchronization

/// Everything in one process: the account system (ledger) and the red-packet system, each in its own
/// database with its own writer, the account service, the queue that joins them, the retry workers and the
/// expiry timer, over one locked data directory. The stores are SQLite's (two files and the three-copy queue
/// in the data directory) or PostgreSQL's (one server's database), chosen at start (`StoreChoice`); the
/// credit path holds them through their protocols.
///
/// `start` opens the stores and runs recovery; `run()` is the long-running service (workers, expiry,
/// re-queueing, the slow half of the snapshot) and returns once cancelled, after every loop has stopped.
public final class Engine: Sendable {
    public let directory: DataDirectory
    /// The stores, by storage engine.
    public let books: EngineBooks
    /// The account system (the ledger) as the credit path sees it.
    public let accounts: any AccountStore
    /// The red-packet system's store.
    public let packetStore: any PacketStore
    public let packets: PacketService
    public let accountService: GuardedAccountService
    public let workers: RetryWorkerPool<EngineCreditQueue>
    /// The `credits` queue as the credit path and the workers see it (message id = claim id).
    public let creditQueue: EngineCreditQueue
    public let faults: CreditFaults
    public let limits: Limits
    public let durability: Durability

    /// How durable an acknowledged commit is, for the header: the SQLite files' `FULL` or `NORMAL`; on
    /// PostgreSQL what the server's settings make it ("2 SERVERS" on the cluster of `hongbao cluster up`).
    public var durabilityLabel: String {
        switch books {
        case .sqlite: durability == .full ? "FULL" : "NORMAL"
        case let .postgres(books): books.durability
        }
    }
    let clock: any WallClock
    let metrics: EngineMetrics
    let events: EventLog
    let creditPath: CreditPath
    let expiryWakeup = Wakeup()
    /// Passes the expiry timer has made (`runExpiry`).
    let expiryPasses = Atomic<Int>(0)
    let mode: Mutex<CreditMode>
    /// The transaction mode's opens whose credit missed its deadline, waiting for the write's end (`finishLate`).
    let lateCredits = Mutex(LateCredits())

    struct LateCredits {
        var next = 0
        var tasks: [Int: Task<Void, Never>] = [:]
    }
    let slowSnapshot = Mutex<SlowSnapshot?>(nil)
    /// The PostgreSQL queue's counts, refreshed by `run()` (see `runPostgresQueueFigures`).
    let postgresQueueFigures = Mutex(QueueSnapshot(queues: []))
    /// Where the PostgreSQL primary is now (`EngineConfiguration.postgresPrimary`).
    let postgresPrimary: (@Sendable () -> PostgresSettings?)?
    /// The PostgreSQL server the engine last said its connections are on (`primaryMoved`).
    private let announcedPrimary: Mutex<PostgresSettings.Server?>
    /// How often `run()` asks where the PostgreSQL primary is.
    static let primaryCheckInterval: Duration = .milliseconds(250)
    /// How often `run()` looks for sends left half done (`runSendSettlement`).
    static let sendSettlementInterval: Duration = .seconds(1)
    /// How often `run()` counts the PostgreSQL queue's messages.
    static let postgresQueueInterval: Duration = .milliseconds(250)
    /// How often `run()` writes `finished` into the PostgreSQL rows of the packets whose every share is opened.
    static let finishInterval: Duration = .seconds(1)
    /// How many packets one such write takes at most (more wait for the next, at once).
    static let finishBatch = 5_000
    let startedAt: Timestamp

    /// How often the expensive figures (whole-table counts, the conservation check) are refreshed.
    static let slowSnapshotInterval: Duration = .seconds(2)
    /// The pause after a slow refresh is at least this many times as long as the refresh took.
    static let slowSnapshotSpacing = 5
    private let slowSnapshotQueue = DispatchQueue(label: "hongbao.engine.slow-snapshot", qos: .utility)
    /// Where the engine's loops and the snapshot run the packet store's blocking reads (`blockingRead`).
    let blockingReads = DispatchQueue(label: "hongbao.engine.blocking-reads", qos: .userInitiated)
    /// How often claims that could not be queued (no quorum) are re-sent.
    public static let requeueInterval: Duration = .milliseconds(500)

    /// Opens the data directory's stores, makes sure the credit queue exists, and recovers stranded claims.
    /// Inconsistent limits are refused (`LimitsError`) before anything is opened.
    public static func start(_ configuration: EngineConfiguration) async throws -> Engine {
        try configuration.limits.validate()
        let directory = try DataDirectory(path: configuration.dataPath)
        return try await Engine(directory: directory, configuration: configuration)
    }

    private init(directory: DataDirectory, configuration: EngineConfiguration) async throws {
        let limits = configuration.limits
        let clock = configuration.clock
        self.directory = directory
        self.limits = limits
        self.durability = configuration.durability
        self.clock = clock
        startedAt = clock.now()
        events = EventLog(clock: clock)
        metrics = EngineMetrics(clock: clock)
        mode = Mutex(configuration.creditMode)
        postgresPrimary = configuration.postgresPrimary
        faults = CreditFaults()
        let books = try await Engine.openBooks(configuration, directory: directory, events: events)
        self.books = books
        if case let .postgres(postgres) = books {
            announcedPrimary = Mutex(postgres.packetStore.pool.settings.server)
        } else {
            announcedPrimary = Mutex(nil)
        }
        accounts = books.accounts
        packetStore = books.packetStore
        switch books {
        case let .sqlite(sqlite):
            creditQueue = .sqlite(MessageQueueCreditQueue(queue: sqlite.queue, name: limits.credit.queueName))
        case let .postgres(postgres):
            creditQueue = .postgres(postgres.queue)
        }
        accountService = GuardedAccountService(accounts: accounts, limits: limits.credit, clock: clock,
                                               random: configuration.random, faults: faults)
        packets = PacketService(store: packetStore, accounts: accounts, limits: limits, random: configuration.random,
                                clock: clock)
        creditPath = CreditPath(accountService: accountService, queue: creditQueue, packets: packets,
                                limits: limits.credit, random: configuration.random, events: events)
        let metrics = self.metrics
        workers = RetryWorkerPool(driver: creditPath.driver, clock: clock, workers: configuration.workers,
                                  onCredited: { outcome in
                                      metrics.recordRetriedCredit(openedAt: outcome.order.openedAt,
                                                                  creditedAt: outcome.creditedAt)
                                  })
        if configuration.recoverOnStart {
            let settled = try await packets.recover()
            if settled != RecoveryReport() {
                events.add(.recovery, "settled what the last run left between two systems: " + Engine.describe(settled))
            }
            try await packets.expireDue()
            let recovered = try await creditPath.recover()
            if recovered.recorded > 0 {
                events.add(.recovery, "recorded \(NumberText.grouped(recovered.recorded)) credit\(recovered.recorded == 1 ? "" : "s") the ledger had made before the last run stopped")
            }
            if recovered.queued > 0 { events.add(.recovery, "re-queued \(NumberText.grouped(recovered.queued)) credits left mid-flight by the last run") }
            // Purge first what the downtime pushed past retention: a credit purged later would be stranded.
            if case let .sqlite(sqlite) = books { try await sqlite.queue.purgeExpired() }
            let lost = try await requeueLostCredits()
            if lost > 0 { events.add(.recovery, "re-queued \(NumberText.grouped(lost)) waiting credits whose message the queue had purged") }
        }
        switch books {
        case .sqlite:
            events.add(.info, "started on \(directory.path) (\(configuration.durability.rawValue) durability)")
        case let .postgres(postgres):
            // The server first, and the databases on a line of their own: the events pane cuts a line at its
            // width (a URL's user and host filled 120 columns; with the databases, the line was cut after them).
            events.add(.info, "started on PostgreSQL \(postgres.packetStore.pool.settings.server), "
                + "each commit on \(postgres.durability.lowercased())")
            events.add(.info, postgres.databases.described)
        }
    }

    /// Opens the stores `configuration.store` chooses. On SQLite: the ledger and red-packet files and the
    /// queue's replicas (repairing them at open), and the credit queue made on first start. On PostgreSQL: the
    /// three stores on the server's database, their tables made on first start; the server is checked first,
    /// so an unreachable one fails at once with its reason.
    private static func openBooks(_ configuration: EngineConfiguration, directory: DataDirectory,
                                  events: EventLog) async throws -> EngineBooks {
        let limits = configuration.limits
        let clock = configuration.clock
        switch configuration.store {
        case .sqlite:
            let ledger = try Ledger(path: directory.ledgerPath, durability: configuration.durability, limits: limits,
                                    clock: clock, writeMode: configuration.ledgerWrites)
            let packetStore = try SQLitePacketStore(path: directory.packetsPath, durability: configuration.durability,
                                                    limits: limits, clock: clock, writeMode: configuration.ledgerWrites)
            let queue = try MessageQueueService.open(root: directory.queuePath, limits: limits.queue, clock: clock,
                                                     random: configuration.random)
            for repair in queue.repairsAtOpen { events.add(.recovery, "repaired at open: " + repair.summary) }
            try await Engine.ensureCreditQueue(queue, limits: limits)
            return .sqlite(SQLiteBooks(ledger: ledger, packetStore: packetStore, queue: queue))
        case let .postgres(named):
            // The server that takes writes (of a URL's list; a one-server URL naming a standby is refused).
            let settings = try await PostgresPool.writableServer(of: named)
            let databases = try await PostgresDatabases.locate(settings, create: true)
            let pools = databases.pools(maxConnections: configuration.postgresConnections,
                                        warmConnections: configuration.postgresWarmConnections)
            do {
                let ledger = try await PostgresLedger(pool: pools.ledger, limits: limits, clock: clock)
                let packetStore = try await PostgresPacketStore(pool: pools.packets, limits: limits, clock: clock,
                                                                concurrentBatches: configuration.postgresPacketBatches)
                let queue = try await PostgresCreditQueue(pool: pools.queue, name: limits.credit.queueName,
                                                          maxReceiveCount: limits.credit.maxReceiveCount, clock: clock)
                // The tallies' rows of the server processes that earlier runs (and commands) wrote with, in one.
                try await packetStore.foldTallies()
                // Before the first load: each connection's first statements are parsed, planned and compiled here.
                await PostgresPool.warmUp(ledger: ledger, packets: packetStore, queue: queue)
                return .postgres(PostgresBooks(databases: databases, ledger: ledger, packetStore: packetStore,
                                               queue: queue, durability: try await pools.packets.commitDurability()))
            } catch {
                await pools.close()
                throw error
            }
        }
    }

    /// The SQLite stores; on PostgreSQL, `EngineError.notOnThisStore` naming what was asked for.
    public func sqlite(_ operation: String = "this") throws(EngineError) -> SQLiteBooks {
        guard case let .sqlite(books) = books else {
            throw .notOnThisStore(operation: operation, store: books.storeName)
        }
        return books
    }

    /// The credit queue and its dead-letter queue, created on first start. Both keep messages as long as the
    /// queue allows (`QueueLimits.maxRetention`): a purged credit message is money owed with nobody to
    /// deliver it (the next start re-queues it, see `requeueLostCredits`).
    private static func ensureCreditQueue(_ queue: MessageQueueService, limits: Limits) async throws {
        let existing = Set(await queue.listQueues())
        let deadLetter = limits.credit.queueName + "-dlq"
        var attributes = QueueAttributes(limits: limits.queue)
        attributes.retention = limits.queue.maxRetention
        if !existing.contains(deadLetter) { try await queue.createQueue(deadLetter, attributes: attributes) }
        if !existing.contains(limits.credit.queueName) {
            attributes.maxReceiveCount = limits.credit.maxReceiveCount
            attributes.deadLetterQueue = deadLetter
            try await queue.createQueue(limits.credit.queueName, attributes: attributes)
        }
    }

    /// Runs the workers, the expiry timer, re-queueing and the slow snapshot until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.workers.run() }
            group.addTask { await self.runExpiry() }
            group.addTask { await self.creditPath.retryUnqueued(clock: self.clock, interval: Engine.requeueInterval) }
            group.addTask { await self.runSlowSnapshots() }
            group.addTask { await self.runSendSettlement() }
            if case let .postgres(books) = self.books {
                group.addTask { await self.runPostgresQueueFigures(books.queue) }
                group.addTask { await self.runRecordFinished(books.packetStore) }
                if let primary = self.postgresPrimary {
                    group.addTask { await self.followPrimary(books.pools, primary) }
                } else if books.packetStore.pool.settings.servers.count > 1 {
                    // Whichever pool finds the primary gone first moves them all: an idle one would find out
                    // only with its next call.
                    for pool in books.pools {
                        group.addTask {
                            await pool.followWritableServer { self.primaryMoved(to: $0, pools: books.pools) }
                        }
                    }
                }
            }
        }
    }

    /// Group commits made by each system's writer (ledger, red packets) since start.
    public var commitCounts: (ledger: Int, packets: Int) {
        switch books {
        case let .sqlite(books): (books.ledger.commitCount, books.packetStore.commitCount)
        case let .postgres(books): (books.ledger.commitCount, books.packetStore.commitCount)
        }
    }

    /// Waits for the records of in-line credits still on their way to the packet store, settles the sends and
    /// refunds a failure left half done (`PacketService.recover`; what cannot be settled now, with the account
    /// system unreachable, waits for the next start), then closes the queue's replicas, or the PostgreSQL
    /// connections (after `run()` has returned). `settle: false` leaves them as a crash would, for the next
    /// start (the deterministic simulation's restarts).
    public func close(settle: Bool = true) async {
        await creditPath.driver.recordsSettled()
        for late in lateCredits.withLock({ Array($0.tasks.values) }) { await late.value }
        if settle {
            do {
                let settled = try await packets.recover()
                if settled != RecoveryReport() { events.add(.recovery, "on closing, " + Engine.describe(settled)) }
            } catch {
                events.add(.failure, "on closing, settling the half-done sends failed (the next start settles them): \(error)")
            }
        }
        switch books {
        case let .sqlite(books): await books.queue.close()
        case let .postgres(books): for pool in books.pools { await pool.close() }
        }
    }

    // MARK: Loops

    /// Expires what is due, then sleeps until the next packet expires: a send wakes it only when its packet
    /// expires sooner (each pass reads the packets being settled, which on PostgreSQL cost milliseconds; woken by
    /// every send, as it was, it ran 17 times a second under 1,500 opens/s).
    private func runExpiry() async {
        while !Task.isCancelled {
            expiryPasses.add(1, ordering: .relaxed)
            do {
                let expired = try await packets.expireDue()
                for packet in expired {
                    events.add(.info, "packet \(packet.id) expired; \(packet.refunded.formatted) back to \(packet.senderName)")
                }
                expiryWakeup.lookingForNext()
                let next = try await blockingRead(on: blockingReads) { try self.packets.nextExpiry() }
                let wait = next.map { max(.milliseconds(1), $0 - clock.now()) } ?? .seconds(3_600)
                await expiryWakeup.wait(until: next ?? .never, timeout: wait, clock: clock)
            } catch {
                events.add(.failure, "expiry failed: \(error)")
                try? await clock.sleep(for: .seconds(1))
            }
        }
    }

    /// Settles, every `sendSettlementInterval`, the sends a failure left `paying` for longer than
    /// `PacketLimits.settleSendsAfter` (a payment call that failed or gave up, an opening that failed after the
    /// payment): the packet opens if the payment landed and is cancelled if not (`PacketService.settleSends`),
    /// so that a failed send neither holds its sender's money in doubt nor waits for the next start. Refunds left
    /// pending as long are made too (`PacketService.settleUnfinished`): the expiry timer sleeps until the next
    /// packet expires, so it no longer retries them on every send.
    private func runSendSettlement() async {
        while !Task.isCancelled {
            try? await clock.sleep(for: Engine.sendSettlementInterval)
            if Task.isCancelled { break }
            do {
                let settled = try await packets.settleUnfinished(createdBefore: clock.now() - limits.packets.settleSendsAfter)
                if settled != RecoveryReport() { events.add(.recovery, "settled what was left half done: " + Engine.describe(settled)) }
            } catch {
                events.add(.failure, "settling half-done sends failed (tried again in a moment): \(error)")
            }
        }
    }

    /// Keeps the PostgreSQL packet rows' `open` for the packets still open (`PostgresPacketStore.recordFinished`):
    /// the reads of the open packets (the snapshot's list, the counts) then cost what is open, not the history.
    private func runRecordFinished(_ store: PostgresPacketStore) async {
        while !Task.isCancelled {
            do {
                while try await store.recordFinished(limit: Engine.finishBatch) == Engine.finishBatch {}
            } catch {
                if Task.isCancelled { break }
                events.add(.failure, "recording finished packets failed (tried again in a moment): \(error)")
            }
            try? await clock.sleep(for: Engine.finishInterval)
        }
    }

    /// Runs one of the packet store's blocking reads (`PacketStore`'s synchronous reads: on PostgreSQL a round
    /// trip on the display connection, waited for) on a queue of its own, not on the cooperative pool: that pool
    /// has one thread per core (two here), and every open's task runs on them. A read holding one for its round
    /// trip halves what the engine can do meanwhile, and two at once (the slow snapshot's counts beside the
    /// expiry's next deadline or the dashboard's list) would leave the opens no thread until they came back.
    /// `queue` is `blockingReads` for the short reads, `slowSnapshotQueue` for the whole-table scans.
    func blockingRead<T: Sendable, Failure: Error>(on queue: DispatchQueue,
                                                   _ read: @escaping @Sendable () throws(Failure) -> T)
        async throws(Failure) -> T {
        let result: Result<T, Failure> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result { () throws(Failure) -> T in try read() }) }
        }
        return try result.get()
    }

    /// What a recovery settled, the parts that happened only: "1 send paid, 2 cancelled, 1 refund made".
    static func describe(_ settled: RecoveryReport) -> String {
        func count(_ number: Int, _ one: String, _ many: String) -> String? {
            number > 0 ? "\(NumberText.grouped(number)) \(number == 1 ? one : many)" : nil
        }
        let parts = [count(settled.paymentsConfirmed, "send paid", "sends paid"),
                     count(settled.sendsCancelled, "cancelled", "cancelled"),
                     count(settled.refundsSettled, "refund made", "refunds made")].compactMap { $0 }
        return parts.isEmpty ? "nothing" : parts.joined(separator: ", ")
    }

    /// Moves every pool to the server of `settings` (each keeping its database); when that server is not the one
    /// last said, says that the connections moved to a new primary and wakes the credit path to retry there at
    /// once (each pool that finds the primary gone calls this; the move is said once).
    private func primaryMoved(to settings: PostgresSettings, pools: [PostgresPool]) {
        for pool in pools { pool.move(to: pool.settings.on(settings.server)) }
        let changed = announcedPrimary.withLock { server in
            defer { server = settings.server }
            return server != settings.server
        }
        guard changed else { return }
        events.add(.recovery, "the primary moved to \(settings.server)")
        creditPath.wakeup.signal()
    }

    /// Moves the PostgreSQL connections to the primary `primary` names whenever it changes (a failover):
    /// writes in flight on the old one are retried on the new one, by id.
    private func followPrimary(_ pools: [PostgresPool], _ primary: @Sendable () -> PostgresSettings?) async {
        while !Task.isCancelled {
            if let settings = primary() { primaryMoved(to: settings, pools: pools) }
            try? await clock.sleep(for: Engine.primaryCheckInterval)
        }
    }

    /// Refreshes the whole-table figures on their own thread: five table scans take a few hundred milliseconds
    /// at a million accounts, and on the cooperative pool they would hold one of its two threads that long.
    /// The pause between refreshes is `slowSnapshotInterval`, or `slowSnapshotSpacing` times the last refresh
    /// when that is longer, so the check never takes more than a fifth of a core however large the ledger.
    private func runSlowSnapshots() async {
        while !Task.isCancelled {
            let started = ContinuousClock.now
            switch books {
            case let .sqlite(books):
                await blockingRead(on: slowSnapshotQueue) { self.refreshSlowSnapshot(books.ledger) }
            case let .postgres(books):
                await refreshSlowSnapshot(books.ledger)
            }
            let took = ContinuousClock.now - started
            try? await clock.sleep(for: max(Engine.slowSnapshotInterval, took * Engine.slowSnapshotSpacing))
        }
    }
}
