import Crediting
import Primitives
import RedPackets
import Synchronization

/// The engine's part of the credit path: the driver that performs each `CreditFlow`'s actions, the orders the
/// queue could not take yet (no quorum) and their re-sending, and the recovery of claims a crash left
/// `crediting` (step 3 of the open flow: the message is sent before the claim is marked, so a crash in between
/// leaves a `crediting` claim whose message may exist; re-sending it is idempotent).
final class CreditPath: Sendable {
    let driver: CreditFlowDriver<MessageQueueCreditQueue>
    private let packets: PacketService
    private let events: EventLog
    private let unqueued: UnqueuedOrders
    let wakeup: Wakeup

    init(accountService: any AccountService, queue: MessageQueueCreditQueue, packets: PacketService,
         limits: CreditLimits, random: any RandomSource, events: EventLog) {
        let unqueued = UnqueuedOrders()
        let wakeup = Wakeup()
        self.wakeup = wakeup
        self.unqueued = unqueued
        self.packets = packets
        self.events = events
        driver = CreditFlowDriver(
            accountService: accountService, queue: queue, recorder: packets.store, limits: limits, random: random,
            remember: { order in
                let first = unqueued.orders.withLock { $0.updateValue(order, forKey: order.claim) == nil }
                if first { events.add(.failure, "credit \(order.claim) could not be queued; will retry") }
                wakeup.signal()
            })
    }

    /// Claims whose message could not be sent yet.
    var unqueuedCount: Int { unqueued.orders.withLock { $0.count } }

    /// Queues the credit and marks the claim `waiting`; on failure remembers it for `retryUnqueued`.
    @discardableResult
    func enqueue(_ order: CreditOrder) async -> Bool {
        do {
            try await driver.queue.enqueue(order)
            try await packets.store.markWaiting(order.claim)
            return true
        } catch {
            let first = unqueued.orders.withLock { $0.updateValue(order, forKey: order.claim) == nil }
            if first { events.add(.failure, "credit \(order.claim) could not be queued (\(error)); will retry") }
            wakeup.signal()
            return false
        }
    }

    /// On start: every claim still `crediting` (a crash between open and queueing, or between the ledger's
    /// credit and its record) gets its message; those that cannot be queued now (no quorum) are remembered.
    ///
    /// Selects `crediting` claims directly: filtering the oldest uncredited claims would miss every stranded
    /// claim behind a backlog of `waiting` ones. Stranded claims are few (opens in flight at a crash, opens
    /// during a quorum loss), so they are read in one go.
    func recover() async throws -> Int {
        var recovered = 0
        for claim in try await packets.store.uncreditedClaims(in: .crediting, limit: Int.max)
        where await enqueue(claim.creditOrder) {
            recovered += 1
        }
        return recovered
    }

    /// Re-sends remembered orders until none is left; sleeps until signalled or a retry interval passes.
    func retryUnqueued(clock: any WallClock, interval: Duration) async {
        while !Task.isCancelled {
            let stillPending = await retryUnqueuedOnce() > 0
            await wakeup.wait(timeout: stillPending ? interval : .seconds(3_600), clock: clock)
        }
    }

    /// One pass over the remembered orders, in claim order; returns how many are still not queued.
    func retryUnqueuedOnce() async -> Int {
        let pending = unqueued.orders.withLock { $0 }.values.sorted { $0.claim.rawValue < $1.claim.rawValue }
        var stillPending = 0
        for order in pending {
            do {
                try await driver.queue.enqueue(order)
                try await packets.store.markWaiting(order.claim)
                unqueued.orders.withLock { _ = $0.removeValue(forKey: order.claim) }
            } catch {
                stillPending += 1
            }
        }
        return stillPending
    }
}

/// The orders the queue could not take yet, by claim.
final class UnqueuedOrders: Sendable {
    let orders = Mutex<[ClaimID: CreditOrder]>([:])
}
