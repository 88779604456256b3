import PostgresStores
import XCTest

/// A test class on one throwaway PostgreSQL server: started before the class's first test (an error is kept and
/// thrown by each test, so a missing server is one clear failure or skip per test), stopped after its last. Each
/// test gets fresh databases through `freshPool()`; their pools are closed after it.
class PostgresServerTestCase: XCTestCase {
    nonisolated(unsafe) static var server: TestPostgresServer?
    nonisolated(unsafe) static var startError: (any Error)?
    var pools: [PostgresPool] = []

    override class func setUp() {
        do {
            server = try TestPostgresServer.start()
        } catch {
            startError = error
        }
    }

    override class func tearDown() {
        server?.stop()
        server = nil
        startError = nil
    }

    override func tearDown() async throws {
        for pool in pools { await pool.close() }
        pools = []
    }

    /// The class's server, or the reason it has none.
    func running() throws -> TestPostgresServer {
        if let error = Self.startError { throw error }
        return try XCTUnwrap(Self.server)
    }

    /// A pool on a new, empty database of the class's server, closed after the test.
    func freshPool() throws -> PostgresPool {
        let pool = PostgresPool(settings: try running().freshDatabase())
        pools.append(pool)
        return pool
    }
}
