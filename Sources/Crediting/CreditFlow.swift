import Primitives

/// The credit of one opened share, from the in-line attempt at open time to a retry worker's delivery, as one
/// pure state machine in the style of swift-nio's: each event returns the one action the caller must perform
/// next and report back; the machine does no I/O, reads no clock and draws no random number. The engine and
/// the retry workers perform the actions (`CreditFlowDriver`); the tests drive it by hand.
///
/// At open (`origin: .open`):
/// ```
/// credit ─ok─▶ markCreditedWithoutWaiting ─▶ finish(credited)   (the opener's outcome)
///    │              └ later, on a copy: recorded ─▶ finish(credited)
///    │                                  recordFailed ─▶ enqueue (a worker's replay records it) ─▶ finish(credited)
///    └─failed─▶ enqueue ─ok─▶ markWaitingWithoutWaiting ─▶ finish(queued)
///                  └─failed─▶ remember (re-sent when the queue is back) ─▶ finish(unqueued)
/// ```
/// The opener does not wait for the record of an in-line credit: the money is in the ledger (durably, under
/// the claim's transfer id) before the opener is told, the claim is already durable as `crediting`, and a
/// crash before the record lands leaves a `crediting` claim whose credit recovery finds and records. The
/// driver keeps a copy of the flow taken at `markCreditedWithoutWaiting` and feeds it the record's result.
/// Nor for the waiting mark of a queued credit: the message is durable in the queue before the opener is told,
/// and whether the mark lands or not (or finds the claim already credited by a worker), that message credits
/// the claim; a crash before the mark leaves a `crediting` claim with a live message, which recovery queues
/// again (idempotent by claim id). The mark only says "on its way" in the red-packet store's lists.
/// For a worker's delivery (`origin: .retry(attempt:)`):
/// ```
/// credit ─ok─▶ markCredited ─ok─▶ acknowledge ─▶ finish(credited)
///    │              └─failed─▶ retryLater
///    └─failed─▶ retryLater (exponential backoff ceiling; the driver draws the full jitter) ─▶ finish(retrying)
/// ```
/// Every path that moved money or may have moved it ends with the claim either recorded as credited or a
/// message (or a remembered re-send) that will replay the credit: no path loses a credit, and the ledger's
/// idempotent transfer id makes every replay move nothing.
public struct CreditFlow: Sendable {
    public enum Origin: Sendable, Equatable {
        /// The in-line attempt, right after the share was drawn.
        case open
        /// A worker's delivery of the credit message (`attempt` = the message's receive count).
        case retry(attempt: Int)
    }

    public enum Action: Sendable, Equatable {
        /// Ask the account service to credit the order.
        case credit(CreditOrder)
        /// Record the claim as credited in the red-packet store.
        case markCredited(ClaimID, at: Timestamp)
        /// Start recording the claim as credited and report `recordStarted()` without waiting for it; report
        /// the record's result (`recorded()` / `recordFailed(_:)`) later, to a copy of the flow taken before.
        case markCreditedWithoutWaiting(ClaimID, at: Timestamp)
        /// Send the credit message (message id = claim id).
        case enqueue(CreditOrder)
        /// Start recording the claim as waiting for its queued credit and report `waitingMarkStarted()` without
        /// waiting for it (its result changes nothing in the flow: the message is live either way).
        case markWaitingWithoutWaiting(ClaimID)
        /// Delete the delivered message.
        case acknowledge
        /// Show the delivered message again after a delay drawn from `0...ceiling` (full jitter).
        case retryLater(ceiling: Duration)
        /// The queue has no quorum: keep the order and send it when the queue is back.
        case remember(CreditOrder)
        /// Nothing more to do.
        case finish(Outcome)
    }

    public enum Outcome: Sendable, Equatable {
        /// The money is in the recipient's account (`appliedNow` false: an earlier attempt had moved it).
        case credited(CreditOutcome)
        /// Open only: the in-line credit failed and the message carries it now; the claim's waiting mark is on
        /// its way to the red-packet store.
        case queued(reason: String)
        /// Open only: the in-line credit failed and the queue could not take the message yet; it is remembered.
        case unqueued(reason: String)
        /// Retry only: the credit failed again; the message shows again after `delay`.
        case retrying(reason: String, delay: Duration)
    }

    private enum State: Sendable, Equatable {
        case idle
        case crediting
        case markingCredited(CreditOutcome)
        /// `credited`: the money already moved and only the record is missing.
        case queueing(reason: String, credited: CreditOutcome?)
        case remembering(reason: String, credited: CreditOutcome?)
        case markingWaiting(reason: String)
        case acknowledging(CreditOutcome)
        case rescheduling(reason: String)
        case done(Outcome)
    }

    public let order: CreditOrder
    public let origin: Origin
    private let limits: CreditLimits
    private var state: State = .idle

    public init(order: CreditOrder, origin: Origin, limits: CreditLimits) {
        self.order = order
        self.origin = origin
        self.limits = limits
    }

    /// The outcome once the flow has finished.
    public var outcome: Outcome? {
        if case let .done(outcome) = state { return outcome }
        return nil
    }

    public mutating func start() -> Action {
        guard state == .idle else { return unexpected() }
        state = .crediting
        return .credit(order)
    }

    /// The account service credited the order (now, or before).
    public mutating func credited(_ credit: CreditOutcome) -> Action {
        guard state == .crediting else { return unexpected() }
        state = .markingCredited(credit)
        if origin == .open { return .markCreditedWithoutWaiting(order.claim, at: credit.creditedAt) }
        return .markCredited(order.claim, at: credit.creditedAt)
    }

    /// At open: the record of the in-line credit is under way; the opener's outcome is `credited`.
    public mutating func recordStarted() -> Action {
        guard origin == .open, case let .markingCredited(credit) = state else { return unexpected() }
        return finish(.credited(credit))
    }

    /// The account service refused or timed out. The credit may still land later (a missed deadline): the
    /// retry that follows is idempotent.
    public mutating func creditFailed(_ reason: String) -> Action {
        guard state == .crediting else { return unexpected() }
        switch origin {
        case .open:
            state = .queueing(reason: reason, credited: nil)
            return .enqueue(order)
        case let .retry(attempt):
            state = .rescheduling(reason: reason)
            return .retryLater(ceiling: limits.backoffCeiling(attempt: attempt))
        }
    }

    /// The red-packet store recorded the claim credited.
    public mutating func recorded() -> Action {
        guard case let .markingCredited(credit) = state else { return unexpected() }
        if origin == .open { return finish(.credited(credit)) }
        state = .acknowledging(credit)
        return .acknowledge
    }

    /// At open: the waiting mark of the queued credit is under way; the opener's outcome is `queued`.
    public mutating func waitingMarkStarted() -> Action {
        guard case let .markingWaiting(reason) = state else { return unexpected() }
        return finish(.queued(reason: reason))
    }

    /// The red-packet store could not record the claim credited.
    public mutating func recordFailed(_ reason: String) -> Action {
        switch state {
        case let .markingCredited(credit):
            switch origin {
            case .open:
                // The money moved; a message makes a worker replay the credit and record it.
                state = .queueing(reason: reason, credited: credit)
                return .enqueue(order)
            case let .retry(attempt):
                state = .rescheduling(reason: reason)
                return .retryLater(ceiling: limits.backoffCeiling(attempt: attempt))
            }
        default:
            return unexpected()
        }
    }

    public mutating func enqueued() -> Action {
        guard case let .queueing(reason, credited) = state else { return unexpected() }
        if let credited { return finish(.credited(credited)) }
        state = .markingWaiting(reason: reason)
        return .markWaitingWithoutWaiting(order.claim)
    }

    public mutating func enqueueFailed(_ reason: String) -> Action {
        guard case let .queueing(firstReason, credited) = state else { return unexpected() }
        state = .remembering(reason: credited == nil ? firstReason : reason, credited: credited)
        return .remember(order)
    }

    public mutating func remembered() -> Action {
        guard case let .remembering(reason, credited) = state else { return unexpected() }
        if let credited { return finish(.credited(credited)) }
        return finish(.unqueued(reason: reason))
    }

    /// The delivered message was deleted, or could not be (it comes back after its visibility timeout and its
    /// credit is a replay): the credit stands either way.
    public mutating func acknowledged() -> Action {
        guard case let .acknowledging(credit) = state else { return unexpected() }
        return finish(.credited(credit))
    }

    /// The delivered message will show again after `delay` (or after its visibility timeout, if the queue
    /// refused the change).
    public mutating func rescheduled(after delay: Duration) -> Action {
        guard case let .rescheduling(reason) = state else { return unexpected() }
        return finish(.retrying(reason: reason, delay: delay))
    }

    private mutating func finish(_ outcome: Outcome) -> Action {
        state = .done(outcome)
        return .finish(outcome)
    }

    /// An event the current state does not expect is a bug in the driver.
    private func unexpected(function: StaticString = #function) -> Action {
        preconditionFailure("CreditFlow: \(function) in state \(state)")
    }
}
