import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The source of time. Injected everywhere so that tests and deterministic simulations control it.
public protocol WallClock: Sendable {
    /// The current wall-clock time.
    func now() -> Timestamp
    /// Suspends the caller for `duration` of this clock's time. Honours cancellation.
    func sleep(for duration: Duration) async throws
    /// Runs `action` once `delay` of this clock's time has passed, unless cancelled first. The default sleeps
    /// on a task; the system clock uses a shared dispatch timer instead (no task per deadline on the hot path).
    func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> any ScheduledAction
}

/// An action scheduled on a clock.
public protocol ScheduledAction: Sendable {
    /// Calls the action off if it has not run yet (it may already be running).
    func cancel()
}

extension WallClock {
    public func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> any ScheduledAction {
        TaskScheduledAction(task: Task {
            do { try await sleep(for: delay) } catch { return }
            if !Task.isCancelled { action() }
        })
    }
}

private struct TaskScheduledAction: ScheduledAction {
    let task: Task<Void, Never>

    func cancel() { task.cancel() }
}

/// The real clock: `CLOCK_REALTIME` for timestamps, `ContinuousClock` for sleeping.
public struct SystemClock: WallClock {
    public init() {}

    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1_000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public func sleep(for duration: Duration) async throws {
        try await ContinuousClock().sleep(for: duration)
    }

    /// On the shared `TimerQueue`: one dispatch timer for every deadline, and no wake-up for a cancelled one.
    public func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> any ScheduledAction {
        TimerQueue.shared.schedule(after: delay, action)
    }
}
