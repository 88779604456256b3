import Primitives

/// A credit waiting in the queue, as a worker received it.
public struct CreditMessage: Sendable, Equatable {
    public let claim: ClaimID
    /// Proof of this delivery; deleting or delaying needs it. A stale receipt is refused by the queue.
    public let receipt: String
    /// 1 on the first delivery; the attempt number of the credit this delivery carries (the in-line attempt
    /// at open time is attempt 0).
    public let receiveCount: Int

    public init(claim: ClaimID, receipt: String, receiveCount: Int) {
        self.claim = claim
        self.receipt = receipt
        self.receiveCount = receiveCount
    }
}

/// What the credit path needs from the message queue. The engine adapts the real queue to it; tests and
/// the deterministic simulation can use any implementation with the same at-least-once semantics.
public protocol CreditQueue: Sendable {
    /// Queues a credit for the claim. Idempotent by claim id while the message is live.
    func enqueue(_ claim: ClaimID) async throws
    /// Takes up to `max` credits, hiding each for `visibility`; waits up to `wait` for one to appear.
    func receive(max: Int, wait: Duration, visibility: Duration) async throws -> [CreditMessage]
    /// The credit landed: remove the message for good.
    func acknowledge(_ message: CreditMessage) async throws
    /// The credit failed: show the message again after `delay`.
    func retry(_ message: CreditMessage, after delay: Duration) async throws
}
