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
}
