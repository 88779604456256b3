import MessageQueue
import Primitives
import RetryWorker

/// The credit queue on the real three-copy message queue: message id = body = claim id.
struct MessageQueueCreditQueue: CreditQueue {
    let queue: MessageQueueService
    let name: String

    func enqueue(_ claim: ClaimID) async throws {
        _ = try await queue.send(name, body: claim.rawValue, id: claim.rawValue)
    }

    func receive(max: Int, wait: Duration, visibility: Duration) async throws -> [CreditMessage] {
        try await queue.receiveBatch(name, maxCount: max, visibilityTimeout: visibility, pollingWait: wait).map {
            CreditMessage(claim: ClaimID($0.body), receipt: $0.receipt.description, receiveCount: $0.receiveCount)
        }
    }

    func acknowledge(_ message: CreditMessage) async throws {
        guard let receipt = ReceiptHandle(message.receipt) else { return }
        try await queue.delete(name, receipt: receipt)
    }

    func retry(_ message: CreditMessage, after delay: Duration) async throws {
        guard let receipt = ReceiptHandle(message.receipt) else { return }
        try await queue.changeVisibility(name, receipt: receipt, timeout: delay)
    }
}
