import Crediting
import Primitives
import RedPackets
import Synchronization

/// The engine's part of the credit path: the driver that performs each `CreditFlow`'s actions, the orders the
/// queue could not take yet (no quorum) and their re-sending, and the recovery of claims a crash left
/// `crediting` (step 3 of the open flow: the message is sent before the claim is marked, so a crash in between
/// leaves a `crediting` claim whose message may exist; re-sending it is idempotent).
final class CreditPath: Sendable {
    let driver: CreditFlowDriver<EngineCreditQueue>
    private let packets: PacketService
    private let events: EventLog
    private let unqueued: UnqueuedOrders
    let wakeup: Wakeup

    init(accountService: any AccountService, queue: EngineCreditQueue, packets: PacketService,
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

    /// On start: every claim still `crediting` is finished. One whose credit is in the ledger (a crash
    /// between the in-line credit and its record, which the opener does not wait for) is recorded credited at
    /// once; any other (a crash between open and queueing) gets its message, and those that cannot be queued
    /// now (no quorum) are remembered. Returns (recorded, queued).
    ///
    /// Selects `crediting` claims directly: filtering the oldest uncredited claims would miss every stranded
    /// claim behind a backlog of `waiting` ones. Stranded claims are few (opens in flight at a crash, opens
    /// during a quorum loss), so they are read in one go.
    func recover() async throws -> (recorded: Int, queued: Int) {
        var recorded = 0, queued = 0
        let stranded = try await packets.store.uncreditedClaims(in: .crediting, limit: Int.max)
        let credits = try await packets.accounts.transfers(stranded.map(\.id.creditTransferID))
        for claim in stranded {
            if let credit = credits[claim.id.creditTransferID] {
                try await packets.store.markCredited(claim.id, at: credit.at)
                recorded += 1
            } else if await enqueue(claim.creditOrder) {
                queued += 1
            }
        }
        return (recorded, queued)
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
