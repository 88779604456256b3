import Primitives

/// A render micro-benchmark for `hongbao bench render`: not a test, no thresholds.
public enum DashboardBenchmark {
    /// One measurement.
    public struct Result: Sendable, Equatable {
        public var width: Int
        public var height: Int
        public var iterations: Int
        /// Total time spent rendering.
        public var total: Duration
        /// Mean time per frame.
        public var perFrame: Duration { iterations > 0 ? total / iterations : .zero }
    }

    /// Renders the synthetic sample `iterations` times at the given size and measures it with `clock`
    /// (a `ContinuousClock` by default). Run in release for meaningful numbers (goal: ≤ 2 ms at 200×60).
    public static func benchmarkRender<C: Clock>(width: Int = 200, height: Int = 60, iterations: Int = 200, clock: C = ContinuousClock())
        -> Result where C.Duration == Duration {
        let now = Timestamp(millisecondsSinceEpoch: 1_769_000_000_000)
        let snapshot = DashboardSnapshot.syntheticSample(at: now)
        let renderer = DashboardRenderer()
        var model = DashboardModel(screenWidth: width, screenHeight: height)
        model.focus = .queue
        var checksum = 0
        let start = clock.now
        for index in 0..<max(0, iterations) {
            let frameTime = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + Int64(index * 100))
            let buffer = renderer.render(model: model, snapshot: snapshot, width: width, height: height, now: frameTime)
            checksum &+= buffer.cells.count
        }
        let total = start.duration(to: clock.now)
        precondition(checksum >= 0, "keeps the renders from being optimised away")
        return Result(width: width, height: height, iterations: max(0, iterations), total: total)
    }
}
