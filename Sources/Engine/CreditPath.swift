import Ledger
import Primitives
import RedPackets
import RetryWorker
import Synchronization

/// Steps 3 and 5 of DESIGN section 5: a credit that failed in line goes to the queue (message id = claim id)
/// and the claim becomes `waiting`; a claim left `crediting` by a crash is re-queued on start.
///
/// The message is sent before the claim is marked, so a crash in between leaves a `crediting` claim whose
/// message may exist; re-sending it is idempotent. If the queue has no quorum, the claim is remembered
/// and re-sent when the queue is back (`retryUnqueued`), without polling the database.
final class CreditPath: Sendable {
    private let ledger: Ledger
    private let queue: any CreditQueue
    private let events: EventLog
    private let unqueued = Mutex<Set<ClaimID>>([])
    let wakeup = Wakeup()

    init(ledger: Ledger, queue: any CreditQueue, events: EventLog) {
        self.ledger = ledger
        self.queue = queue
        self.events = events
    }

    /// Claims whose message could not be sent yet.
    var unqueuedCount: Int { unqueued.withLock { $0.count } }

    /// Queues the credit of a claim whose in-line credit failed.
    func creditFailed(_ claim: Claim, _ error: any Error) async {
        await enqueue(claim.id)
    }

    /// Queues the credit and marks the claim `waiting`; on failure remembers it for `retryUnqueued`.
    @discardableResult
    func enqueue(_ claim: ClaimID) async -> Bool {
        do {
            try await queue.enqueue(claim)
            try await ledger.write { try PacketOperations.markWaiting(claim, in: $0) }
            return true
        } catch {
            let first = unqueued.withLock { $0.insert(claim).inserted }
            if first { events.add(.failure, "credit \(claim) could not be queued (\(error)); will retry") }
            wakeup.signal()
            return false
        }
    }

    /// On start: every claim still `crediting` (a crash between open and queueing) gets its message; those
    /// that cannot be queued now (no quorum) are remembered for `retryUnqueued`.
    ///
    /// Selects `crediting` claims directly: filtering the oldest uncredited claims would miss every stranded
    /// claim behind a backlog of `waiting` ones. Stranded claims are few (opens in flight at a crash, opens
    /// during a quorum loss), so they are read in one go.
    func recover(_ packets: PacketService) async throws -> Int {
        var recovered = 0
        for claim in try packets.uncreditedClaims(in: .crediting, limit: Int.max) where await enqueue(claim.id) {
            recovered += 1
        }
        return recovered
    }

    /// Re-sends remembered claims until none is left; sleeps until signalled or a retry interval passes.
    func retryUnqueued(clock: any WallClock, interval: Duration) async {
        while !Task.isCancelled {
            let stillPending = await retryUnqueuedOnce() > 0
            await wakeup.wait(timeout: stillPending ? interval : .seconds(3_600), clock: clock)
        }
    }

    /// One pass over the remembered claims, in claim order; returns how many are still not queued.
    func retryUnqueuedOnce() async -> Int {
        let pending = unqueued.withLock { $0 }.sorted { $0.rawValue < $1.rawValue }
        var stillPending = 0
        for claim in pending {
            do {
                try await queue.enqueue(claim)
                try await ledger.write { try PacketOperations.markWaiting(claim, in: $0) }
                unqueued.withLock { _ = $0.remove(claim) }
            } catch {
                stillPending += 1
            }
        }
        return stillPending
    }
}
