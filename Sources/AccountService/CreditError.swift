/// Why the account service did not credit a claim this time. Every case is retryable.
public enum CreditError: Error, Equatable, Sendable {
    /// An injected failure (the operator's failure rate).
    case injectedFailure
    /// The account system is down (injected outage).
    case outage
    /// Too many credits in flight: refused at once rather than queued behind them.
    case overloaded(inFlight: Int)
    /// The credit did not commit within the deadline. It may still land later; the retry is idempotent.
    case deadlineExceeded
}
