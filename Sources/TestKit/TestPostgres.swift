import Foundation
import PostgresCluster
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// PostgreSQL servers for a test: the one way every test gets them. `start` makes a cluster (one server, or a
/// primary with standbys) in a fresh temporary directory and registers its removal in the test's tear-down, which
/// runs when the test fails too; a watchdog process kills the servers if the test process dies without tearing
/// down. When no PostgreSQL programs are installed, `start` prints why and throws `XCTSkip`.
public final class TestPostgres: Sendable {
    public let cluster: LocalCluster
    public let settings: ClusterSettings
    public let dataDirectory: TemporaryDirectory

    /// Where the primary is now (re-read from the cluster's settings, which failover rewrites).
    public var primary: PostgresLogin {
        (try? cluster.settings().primarySettings) ?? settings.primarySettings
    }

    private init(cluster: LocalCluster, settings: ClusterSettings, dataDirectory: TemporaryDirectory) {
        self.cluster = cluster
        self.settings = settings
        self.dataDirectory = dataDirectory
    }

    /// Starts a cluster with `standbys` standbys (0: a single server, what store contract tests use), removed in
    /// `testCase`'s tear-down. `durable` servers fsync, as `hongbao cluster up` makes them (and a failover syncs
    /// the rewound old primary's files).
    public static func start(_ testCase: XCTestCase, standbys: Int = 0, durable: Bool = false) async throws -> TestPostgres {
        do {
            _ = try PostgresInstallation.find()
        } catch {
            let reason = "PostgreSQL is not installed: \(error.description)"
            print("TestPostgres: skipping \(testCase.name): \(reason)")
            throw XCTSkip(reason)
        }
        let dataDirectory = try TemporaryDirectory(prefix: "hongbao-pg")
        let cluster = LocalCluster(dataDirectory: dataDirectory.path)
        testCase.addTeardownBlock {
            await cluster.remove()
            dataDirectory.remove()
        }
        // No fsync unless asked: these tests kill processes, never the machine, and a killed process loses nothing
        // the kernel has.
        let result = try await cluster.up(standbys: standbys, durable: durable)
        // When this test process dies before its tear-down, a watchdog kills the servers and deletes the directories.
        try cluster.removeAfterExit(alsoRemove: [dataDirectory.path])
        return TestPostgres(cluster: cluster, settings: result.settings, dataDirectory: dataDirectory)
    }

}
