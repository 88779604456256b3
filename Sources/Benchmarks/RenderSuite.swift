import Dashboard

/// `hongbao bench render`: full-frame render time of a busy dashboard at 80×24 and 200×60.
public enum RenderSuite {
    static let maximumMilliseconds = 2.0

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        let iterations = context.quick ? 50 : 300
        var figures: [BenchFigure] = []
        for (width, height) in [(80, 24), (200, 60)] {
            var times: [Double] = []
            _ = DashboardBenchmark.benchmarkRender(width: width, height: height, iterations: 5) // warm up
            for run in 1...max(3, context.runs) {
                context.progress("render \(width)×\(height): run \(run)")
                let result = DashboardBenchmark.benchmarkRender(width: width, height: height, iterations: iterations)
                guard result.iterations == iterations else {
                    throw BenchError.verificationFailed("render: \(result.iterations) of \(iterations) frames")
                }
                times.append(result.perFrame.secondsDouble * 1_000)
            }
            var figure = BenchFigure(suite: "render", name: "full frame \(width)×\(height)", unit: "ms", samples: Samples(times),
                                     higherIsBetter: false, note: "synthetic busy snapshot, \(iterations) frames per run")
            if width == 200 { figure = figure.with(goal: "≤ 2 ms", met: figure.median <= maximumMilliseconds) }
            figures.append(figure)
        }
        return figures
    }
}
