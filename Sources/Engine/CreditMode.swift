/// How opening a packet credits the recipient.
public enum CreditMode: String, Sendable, Codable, CaseIterable {
    /// The CMQ way: draw, try the credit, and if it fails queue it; the opener always gets the amount.
    case queue
    /// The old way: draw and credit in one all-or-nothing transaction; a failed credit rolls the open back
    /// and the opener gets an error.
    case transaction
}
