import Primitives

/// What the account system needs to credit one opened share of a red packet: move `amount` from the
/// red-packet system's settlement account to `recipient`, under the transfer id derived from the claim id
/// (which makes every repetition of the credit a replay that moves nothing).
///
/// It is the body of the credit message: the account system never reads the red-packet system's store.
public struct CreditOrder: Sendable, Hashable, Codable {
    public let claim: ClaimID
    public let packet: PacketID
    public let recipient: AccountID
    public let amount: Money
    /// When the share was opened (time to credit is measured from here).
    public let openedAt: Timestamp

    public init(claim: ClaimID, packet: PacketID, recipient: AccountID, amount: Money, openedAt: Timestamp) {
        self.claim = claim
        self.packet = packet
        self.recipient = recipient
        self.amount = amount
        self.openedAt = openedAt
    }

    /// The ledger transfer that carries this credit.
    public var transferID: TransferID { claim.creditTransferID }

    /// The message body: `credit/1|claim|packet|recipient|amount|openedAt`.
    public var messageBody: String {
        [CreditOrder.bodyVersion, claim.rawValue, packet.rawValue, "\(recipient.rawValue)", "\(amount.minorUnits)",
         "\(openedAt.millisecondsSinceEpoch)"].joined(separator: "|")
    }

    /// Reads a message body written by `messageBody`; nil for anything else.
    public init?(messageBody: String) {
        let fields = messageBody.split(separator: "|", omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0] == CreditOrder.bodyVersion, !fields[1].isEmpty, !fields[2].isEmpty,
              let recipient = Int64(fields[3]), let amount = Int64(fields[4]), amount > 0,
              let openedAt = Int64(fields[5]) else { return nil }
        self.init(claim: ClaimID(String(fields[1])), packet: PacketID(String(fields[2])),
                  recipient: AccountID(recipient), amount: Money(minorUnits: amount),
                  openedAt: Timestamp(millisecondsSinceEpoch: openedAt))
    }

    static let bodyVersion = "credit/1"
}

/// A credit the account system accepted.
public struct CreditOutcome: Sendable, Equatable {
    public let order: CreditOrder
    /// False when the credit had already been applied (a replay): no money moved this time.
    public let appliedNow: Bool
    /// When the money reached the recipient (the first time, for a replay).
    public let creditedAt: Timestamp

    public init(order: CreditOrder, appliedNow: Bool, creditedAt: Timestamp) {
        self.order = order
        self.appliedNow = appliedNow
        self.creditedAt = creditedAt
    }
}

/// The boundary where the account system may fail: credits an order, idempotently by its transfer id.
public protocol AccountService: Sendable {
    func credit(_ order: CreditOrder) async throws -> CreditOutcome
}

/// The red-packet system's side of the credit path: where each claim's credit stands, in its own store.
public protocol ClaimRecorder: Sendable {
    /// The credit landed in the ledger. Idempotent.
    func markCredited(_ claim: ClaimID, at time: Timestamp) async throws
    /// `markCredited` without waiting for it: `completion` gets nil once the record is durable, or the error.
    /// The opener's in-line credit records this way (the credit is already in the ledger and the claim is
    /// its proof; after a crash, recovery finds the credit and records it). The default starts a task.
    func markCreditedWithoutWaiting(_ claim: ClaimID, at time: Timestamp, completion: @escaping @Sendable ((any Error)?) -> Void)
    /// The in-line credit failed and its message is queued. Never undoes `markCredited` (a claim a worker has
    /// already credited stays credited).
    func markWaiting(_ claim: ClaimID) async throws
    /// `markWaiting` without waiting for it: `completion` gets nil once the mark is durable (whether or not it
    /// changed the claim), or the error. The opener of a queued credit marks this way (the message is already
    /// durable and credits the claim either way). The default starts a task.
    func markWaitingWithoutWaiting(_ claim: ClaimID, completion: @escaping @Sendable ((any Error)?) -> Void)
}

extension ClaimRecorder {
    public func markWaitingWithoutWaiting(_ claim: ClaimID, completion: @escaping @Sendable ((any Error)?) -> Void) {
        inTask({ try await markWaiting(claim) }, completion)
    }

    public func markCreditedWithoutWaiting(_ claim: ClaimID, at time: Timestamp,
                                           completion: @escaping @Sendable ((any Error)?) -> Void) {
        inTask({ try await markCredited(claim, at: time) }, completion)
    }

    /// Runs `work` in a task of its own; `completion` gets nil when it returns, or its error.
    private func inTask(_ work: @escaping @Sendable () async throws -> Void,
                        _ completion: @escaping @Sendable ((any Error)?) -> Void) {
        Task {
            do {
                try await work()
                completion(nil)
            } catch {
                completion(error)
            }
        }
    }
}

/// A credit waiting in the queue, as a worker received it. The receipt stays the queue's own typed value.
public struct CreditMessage<Receipt: Sendable>: Sendable {
    public let order: CreditOrder
    /// Proof of this delivery; deleting or delaying needs it. A stale receipt is refused by the queue.
    public let receipt: Receipt
    /// 1 on the first delivery; the attempt number of the credit this delivery carries (the in-line attempt
    /// at open time is attempt 0).
    public let receiveCount: Int

    public init(order: CreditOrder, receipt: Receipt, receiveCount: Int) {
        self.order = order
        self.receipt = receipt
        self.receiveCount = receiveCount
    }
}

extension CreditMessage: Equatable where Receipt: Equatable {}

/// What the credit path needs from the message queue. The engine adapts the real queue to it; tests can use
/// any implementation with the same at-least-once semantics.
public protocol CreditQueue: Sendable {
    associatedtype Receipt: Sendable
    /// Queues a credit. Idempotent by claim id while the message is live.
    func enqueue(_ order: CreditOrder) async throws
    /// Takes up to `max` credits, hiding each for `visibility`; waits up to `wait` for one to appear.
    func receive(max: Int, wait: Duration, visibility: Duration) async throws -> [CreditMessage<Receipt>]
    /// The credit landed: remove the message for good.
    func acknowledge(_ message: CreditMessage<Receipt>) async throws
    /// The credit failed: show the message again after `delay`.
    func retry(_ message: CreditMessage<Receipt>, after delay: Duration) async throws
}
