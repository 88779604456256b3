import Primitives
import Synchronization

/// Performs a `CreditFlow`'s actions against the real account service, queue and red-packet store, feeding
/// each result back to the machine, until it finishes. The engine runs it for the in-line credit at open
/// time; the retry workers for each delivery.
public struct CreditFlowDriver<Queue: CreditQueue>: Sendable {
    public let accountService: any AccountService
    public let queue: Queue
    public let recorder: any ClaimRecorder
    public let limits: CreditLimits
    private let random: any RandomSource
    private let remember: @Sendable (CreditOrder) -> Void
    /// Records started without waiting whose flow has not finished (shared by every copy of this driver).
    private let recordsInFlight = RecordsInFlight()

    /// - Parameter remember: keeps an order the queue could not take, to be sent when it is back.
    public init(accountService: any AccountService, queue: Queue, recorder: any ClaimRecorder, limits: CreditLimits,
                random: any RandomSource, remember: @escaping @Sendable (CreditOrder) -> Void) {
        self.accountService = accountService
        self.queue = queue
        self.recorder = recorder
        self.limits = limits
        self.random = random
        self.remember = remember
    }

    /// How many records made at open (credited, or waiting) are still on their way to the store (see `CreditFlow`).
    public var unsettledRecords: Int { recordsInFlight.count }

    /// Returns once every record started at open so far has landed, or has failed (and, for a credit, its
    /// replay was queued or remembered): after it, the red-packet store agrees with the ledger about every credit
    /// this driver made at open, and every claim it queued is marked waiting unless a worker credited it first
    /// (what an audit, or a look at a quiet system, expects).
    public func recordsSettled() async {
        await recordsInFlight.waitUntilNone()
    }

    /// The in-line credit of a share just drawn.
    public func creditAtOpen(_ order: CreditOrder) async -> CreditFlow.Outcome {
        var flow = CreditFlow(order: order, origin: .open, limits: limits)
        let first = flow.start()
        return await run(&flow, from: first, message: nil)
    }

    /// A worker's attempt for a delivered credit message.
    public func creditDelivery(_ message: CreditMessage<Queue.Receipt>) async -> CreditFlow.Outcome {
        var flow = CreditFlow(order: message.order, origin: .retry(attempt: message.receiveCount), limits: limits)
        let first = flow.start()
        return await run(&flow, from: first, message: message)
    }

    private func run(_ flow: inout CreditFlow, from first: CreditFlow.Action,
                     message: CreditMessage<Queue.Receipt>?) async -> CreditFlow.Outcome {
        var action = first
        while true {
            switch action {
            case let .credit(order):
                do {
                    action = flow.credited(try await accountService.credit(order))
                } catch {
                    action = flow.creditFailed("\(error)")
                }
            case let .markCredited(claim, time):
                do {
                    try await recorder.markCredited(claim, at: time)
                    action = flow.recorded()
                } catch {
                    action = flow.recordFailed("\(error)")
                }
            case let .markCreditedWithoutWaiting(claim, time):
                let pending = flow
                let inFlight = recordsInFlight
                inFlight.add()
                recorder.markCreditedWithoutWaiting(claim, at: time) { error in
                    guard let error else { return inFlight.remove() }
                    // Rare (the store failed): the rest of the flow queues a replay that records it.
                    let reason = "\(error)"
                    Task {
                        var rest = pending
                        let next = rest.recordFailed(reason)
                        _ = await self.run(&rest, from: next, message: nil)
                        inFlight.remove()
                    }
                }
                action = flow.recordStarted()
            case let .markWaitingWithoutWaiting(claim):
                // Whatever the mark's result, the live message credits the claim: nothing follows it.
                let inFlight = recordsInFlight
                inFlight.add()
                recorder.markWaitingWithoutWaiting(claim) { _ in inFlight.remove() }
                action = flow.waitingMarkStarted()
            case let .enqueue(order):
                do {
                    try await queue.enqueue(order)
                    action = flow.enqueued()
                } catch {
                    action = flow.enqueueFailed("\(error)")
                }
            case let .remember(order):
                remember(order)
                action = flow.remembered()
            case .acknowledge:
                if let message { try? await queue.acknowledge(message) }
                action = flow.acknowledged()
            case let .retryLater(ceiling):
                let delay = Duration.milliseconds(random.uniform(in: 0...max(0, ceiling.wholeMilliseconds)))
                if let message { try? await queue.retry(message, after: delay) }
                action = flow.rescheduled(after: delay)
            case let .finish(outcome):
                return outcome
            }
        }
    }
}

/// A count of records in flight, and the callers waiting for it to reach zero.
private final class RecordsInFlight: Sendable {
    private let state = Mutex<(count: Int, waiters: [CheckedContinuation<Void, Never>])>((0, []))

    var count: Int { state.withLock { $0.count } }

    func add() {
        state.withLock { $0.count += 1 }
    }

    func remove() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count -= 1
            guard state.count == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func waitUntilNone() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.count == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
