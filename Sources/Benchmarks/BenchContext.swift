import Foundation
import Primitives
import PostgresStores

/// What every suite is run with: size, where scratch data goes, and where progress is reported.
public struct BenchContext: Sendable {
    /// Smaller runs: a full `all` stays under two minutes (a CI smoke test, no thresholds).
    public var quick: Bool
    /// A directory for scratch data (each bench gets a fresh subdirectory, removed afterwards); nil: the
    /// system's temporary directory.
    public var dataRoot: String?
    /// The `hongbao` binary, for the `kill -9` recovery bench (nil: that part is skipped).
    public var executablePath: String?
    /// Runs per figure (the median and spread are over these).
    public var runs: Int
    public var progress: @Sendable (String) -> Void
    /// The PostgreSQL server the `pgqueue` suite runs on (nil: that suite refuses).
    public var postgres: PostgresSettings?
    /// The data directory of a `hongbao cluster up` cluster whose servers `pgfaults` kills (nil: it refuses).
    public var cluster: String?
    /// The opens/s `pgfaults` offers (nil: its default).
    public var rate: Int?

    public init(quick: Bool, dataRoot: String? = nil, executablePath: String? = nil, runs: Int? = nil,
                postgres: PostgresSettings? = nil, cluster: String? = nil, rate: Int? = nil,
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.quick = quick
        self.postgres = postgres
        self.cluster = cluster
        self.rate = rate
        self.dataRoot = dataRoot
        self.executablePath = executablePath
        self.runs = runs ?? 3
        self.progress = progress
    }

    /// A fresh, empty directory for one bench; `body` runs with it and it is removed afterwards.
    public func withScratch<T>(_ name: String, _ body: (String) async throws -> T) async throws -> T {
        let root = dataRoot ?? FileManager.default.temporaryDirectory.path
        let path = root + "/hongbao-bench-\(getpid())-\(name)-\(UUID().uuidString.prefix(8))"
        do {
            try DirectoryMaker.make(path)
        } catch {
            throw BenchError.setupFailed("cannot create \(path): \(error)")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(path)
    }

    /// The 1-, 5- and 15-minute load averages (the machine is shared: numbers mean little when it is busy).
    public static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// Peak resident set size of a process (`VmHWM`), in MiB; nil if it cannot be read. It counts the pages
    /// of memory-mapped files (SQLite's mmap of the ledger) as well as the process's own memory.
    public static func peakRSSMebibytes(pid: Int32? = nil) -> Double? {
        statusField("VmHWM", pid: pid)
    }

    /// Resident anonymous memory now (`RssAnon`: heap, stacks, SQLite page caches; not mapped files), in MiB.
    public static func anonymousRSSMebibytes(pid: Int32? = nil) -> Double? {
        statusField("RssAnon", pid: pid)
    }

    private static func statusField(_ name: String, pid: Int32?) -> Double? {
        let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
              let kibibytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kibibytes / 1_024
    }
}
