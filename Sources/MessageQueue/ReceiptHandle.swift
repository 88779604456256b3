/// Proof that a message was received, opaque to its holder (as SQS's receipt handles are): pass on the text form
/// as it is. It names the delivery (receive count), so a receipt from an earlier delivery is stale once the
/// message has been delivered again, and it carries a random part drawn for that one delivery, so that a receipt
/// cannot be guessed or made up from a message id: a forged one names no delivery and is refused.
///
/// The random part travels in the replicated `lease` operation and is stored with the message by every replica,
/// so any replica (and the process after a `kill -9`) accepts exactly the receipts the queue handed out.
/// Text form: `<receiveCount>:<nonce>:<messageID>`.
public struct ReceiptHandle: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The received message.
    public let messageID: String
    /// Which delivery of the message this receipt belongs to (1 for the first).
    public let receiveCount: Int
    /// The random part of this delivery (`QueueLimits.receiptNonceLength` identifier characters).
    public let nonce: String

    public init(messageID: String, receiveCount: Int, nonce: String) {
        self.messageID = messageID
        self.receiveCount = receiveCount
        self.nonce = nonce
    }

    /// Parses the text form; nil if it is malformed (the queue then says the receipt names no delivery).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count <= 9, parts[0].allSatisfy({ ("0"..."9").contains($0) }),
              let count = Int(parts[0]), count > 0,
              !parts[1].isEmpty, parts[1].count <= 64, parts[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
              !parts[2].isEmpty else { return nil }
        self.init(messageID: String(parts[2]), receiveCount: count, nonce: String(parts[1]))
    }

    public var description: String { "\(receiveCount):\(nonce):\(messageID)" }
}
