import Crediting
import MessageQueue
import Primitives
import Synchronization

/// The credit queue on the real three-copy message queue: message id = claim id, body = the credit order.
/// Receipts stay `ReceiptHandle`s from receive to delete.
public struct MessageQueueCreditQueue: CreditQueue {
    public typealias Receipt = ReceiptHandle

    let queue: MessageQueueService
    let name: String
    private let unreadable: Counter

    public init(queue: MessageQueueService, name: String) {
        self.queue = queue
        self.name = name
        unreadable = Counter()
    }

    /// Deliveries whose body was not a credit order. They are neither credited nor deleted: they come back
    /// until the queue dead-letters them, where the operator sees them.
    public var unreadableDeliveries: Int { unreadable.value }

    public func enqueue(_ order: CreditOrder) async throws {
        _ = try await queue.send(name, body: order.messageBody, id: order.claim.rawValue)
    }

    public func receive(max: Int, wait: Duration, visibility: Duration) async throws -> [CreditMessage<ReceiptHandle>] {
        try await queue.receiveBatch(name, maxCount: max, visibilityTimeout: visibility, pollingWait: wait).compactMap {
            guard let order = CreditOrder(messageBody: $0.body) else {
                unreadable.increment()
                return nil
            }
            return CreditMessage(order: order, receipt: $0.receipt, receiveCount: $0.receiveCount)
        }
    }

    public func acknowledge(_ message: CreditMessage<ReceiptHandle>) async throws {
        try await queue.delete(name, receipt: message.receipt)
    }

    public func retry(_ message: CreditMessage<ReceiptHandle>, after delay: Duration) async throws {
        try await queue.changeVisibility(name, receipt: message.receipt, timeout: delay)
    }
}

final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
