import Primitives

/// Waits for an operation for at most a deadline, without cancelling it.
///
/// A credit that misses its deadline is not rolled back: it may still commit, exactly as a real remote
/// call that timed out may still have happened. The caller treats it as failed and queues a retry, which is
/// idempotent. So the operation keeps running on its own task after the deadline; that task ends when the
/// operation does. This is the one place in the libraries that starts an unstructured task, and why (the
/// completion form starts none: the operation runs on the store's writer and the deadline is a clock timer).
enum Deadline {
    /// The operation's value, or `nil` if the deadline passed first. Errors of the operation are rethrown.
    static func race<T: Sendable>(
        _ deadline: Duration, clock: any WallClock, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        let once = FirstResult<T?>()
        return try await withCheckedThrowingContinuation { continuation in
            once.set(continuation)
            let timer = Task {
                try? await clock.sleep(for: deadline)
                if !Task.isCancelled { once.resume(with: .success(nil)) }
            }
            Task {
                let result: Result<T?, any Error>
                do { result = .success(try await operation()) } catch { result = .failure(error) }
                timer.cancel()
                once.resume(with: result)
            }
        }
    }

    /// The same for an operation that reports through a completion (`start` begins it and returns): the
    /// deadline is a clock timer, so no task is started at all. The operation keeps running past the deadline
    /// and its late completion is ignored.
    static func race<T: Sendable>(
        _ deadline: Duration, clock: any WallClock,
        start: (_ completion: @escaping @Sendable (Result<T, any Error>) -> Void) -> Void
    ) async throws -> T? {
        let once = FirstResult<T?>()
        return try await withCheckedThrowingContinuation { continuation in
            once.set(continuation)
            let timer = clock.schedule(after: deadline) { once.resume(with: .success(nil)) }
            start { result in
                timer.cancel()
                once.resume(with: result.map { Optional($0) })
            }
        }
    }
}
