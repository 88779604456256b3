import NIOCore

/// Runs the jobs of the tasks that prefer it (`withTaskExecutorPreference`, `Task(executorPreference:)`) on one
/// NIO event loop. A connection's task pinned to its own channel's event loop reads, answers and writes on that
/// one thread: the bytes arrive there, and the code that parses them, the queue's actor (a default actor runs
/// on its caller's preferred executor) and the write of the answer follow without a hop to Swift's global pool
/// and back. What waits elsewhere (the replicas' disk writes) resumes it with one enqueue onto the loop.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// The executor the current task's connection is pinned to, if any (set by `PinnedHTTPChannel`).
    @TaskLocal public static var current: EventLoopTaskExecutor?

    /// Runs `body` pinned to `eventLoop`, with `current` set to the executor for the tasks it starts.
    public static func pinned<T: Sendable>(
        to eventLoop: any EventLoop, _ body: () async throws -> T
    ) async rethrows -> T {
        let executor = EventLoopTaskExecutor(eventLoop)
        return try await withTaskExecutorPreference(executor) {
            try await $current.withValue(executor) { try await body() }
        }
    }
}
