import Synchronization

/// Resumes one continuation with the first result offered, whichever side offers it first (an operation, a
/// timer, a cancellation), and ignores the rest. A result offered before the continuation is set is kept and
/// given to it when it is. The waits that must not wait for an operation that may never end (a statement on a
/// connection that closed under it, a call past its deadline) race that operation through one of these.
public final class FirstResult<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, result: Result<T, any Error>?)>((nil, nil))

    public init() {}

    /// The continuation to resume; resumed at once when a result came first.
    public func set(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            if state.result == nil { state.continuation = continuation }
            return state.result
        }
        if let early { continuation.resume(with: early) }
    }

    /// Offers `result`; returns whether it was the first (and so the one the waiter gets).
    @discardableResult
    public func resume(with result: Result<T, any Error>) -> Bool {
        let (first, continuation) = state.withLock { state -> (Bool, CheckedContinuation<T, any Error>?) in
            guard state.result == nil else { return (false, nil) }
            state.result = result
            defer { state.continuation = nil }
            return (true, state.continuation)
        }
        continuation?.resume(with: result)
        return first
    }
}
