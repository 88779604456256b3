/// Proof that a message was received. It names the delivery (receive count), so a receipt from an earlier
/// delivery is stale once the message has been delivered again. Text form: `<receiveCount>:<messageID>`.
public struct ReceiptHandle: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The received message.
    public let messageID: String
    /// Which delivery of the message this receipt belongs to (1 for the first).
    public let receiveCount: Int

    public init(messageID: String, receiveCount: Int) {
        self.messageID = messageID
        self.receiveCount = receiveCount
    }

    /// Parses the text form; nil if it is malformed.
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":"), let count = Int(text[..<colon]), count > 0 else { return nil }
        let id = String(text[text.index(after: colon)...])
        guard !id.isEmpty else { return nil }
        self.init(messageID: id, receiveCount: count)
    }

    public var description: String { "\(receiveCount):\(messageID)" }
}
