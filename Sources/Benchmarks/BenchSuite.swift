import Foundation
import SQLiteSupport

/// The suites of `hongbao bench`, in the order `all` runs them.
public enum BenchSuite: String, CaseIterable, Sendable, Codable {
    case ledger, queue, e2e, render, scale, sqs, pgqueue, pgstores, pgfaults

    /// What `all` runs: every suite but the PostgreSQL ones, which need a server (`--postgres`) or a cluster
    /// (`--cluster`).
    public static var standard: [BenchSuite] { allCases.filter { !$0.needsPostgres && !$0.needsCluster } }

    /// Whether the suite runs against a PostgreSQL server.
    public var needsPostgres: Bool { self == .pgqueue || self == .pgstores }

    /// Whether the suite kills the servers of a local cluster (`hongbao cluster up`).
    public var needsCluster: Bool { self == .pgfaults }

    public func run(_ context: BenchContext) async throws -> [BenchFigure] {
        switch self {
        case .ledger: return try await LedgerSuite.run(context)
        case .queue: return try await QueueSuite.run(context)
        case .e2e: return try await EndToEndSuite.run(context)
        case .render: return try await RenderSuite.run(context)
        case .scale: return try await ScaleSuite.run(context)
        case .sqs: return try await SQSSuite.run(context)
        case .pgqueue: return try await PostgresQueueSuite.run(context)
        case .pgstores: return try await PostgresStoresSuite.run(context)
        case .pgfaults: return try await FaultRecoverySuite.run(context)
        }
    }
}

/// Everything one `hongbao bench` run measured, with the conditions it ran in.
public struct BenchReport: Sendable, Codable {
    public var suites: [String]
    public var quick: Bool
    public var startedAt: String
    public var loadAverageBefore: String
    public var loadAverageAfter: String
    public var seconds: Double
    public var cores: Int
    /// SQLite's version and whether it counted its memory in this run (`SQLiteProcessSettings.summary`).
    public var sqlite: String
    public var figures: [BenchFigure]

    /// Runs `suites` one after the other and collects their figures.
    public static func run(_ suites: [BenchSuite], context: BenchContext) async throws -> BenchReport {
        try await run(named: suites.map(\.rawValue), context: context) {
            var figures: [BenchFigure] = []
            for suite in suites {
                figures += try await suite.run(context)
            }
            return figures
        }
    }

    /// `bench e2e --store postgres`: the engine's end-to-end suite on PostgreSQL beside SQLite.
    public static func runEndToEndOnPostgres(context: BenchContext) async throws -> BenchReport {
        try await run(named: ["e2e --store postgres"], context: context) { try await PostgresEndToEndSuite.run(context) }
    }

    private static func run(named names: [String], context: BenchContext,
                            _ body: () async throws -> [BenchFigure]) async throws -> BenchReport {
        let started = ContinuousClock.now
        let before = BenchContext.loadAverage()
        let figures = try await body()
        return BenchReport(
            suites: names, quick: context.quick, startedAt: ISO8601DateFormatter().string(from: Date()),
            loadAverageBefore: before, loadAverageAfter: BenchContext.loadAverage(),
            seconds: (ContinuousClock.now - started).secondsDouble, cores: ProcessInfo.processInfo.activeProcessorCount,
            sqlite: SQLiteProcessSettings.summary, figures: figures)
    }
}
