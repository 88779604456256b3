import PostgresStores
import Primitives
import XCTest

/// Where each system's books go on a server (`PostgresDatabases`): the ledger and the queue each in a database of
/// their own beside the red packets', so that no connection, and so no transaction, reaches two systems' tables;
/// books made in one database stay there; a reader makes nothing.
final class PostgresDatabasesTests: PostgresServerTestCase {
    private func databases(like name: String) throws -> [String] {
        try running().psql("SELECT datname FROM pg_database WHERE datname LIKE '\(name)%' ORDER BY datname")
            .split(separator: "\n").map(String.init)
    }

    private func tables(in database: String) throws -> [String] {
        try running().psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", database: database)
            .split(separator: "\n").map(String.init)
    }

    func testEachSystemsStoreIsInADatabaseOfItsOwnAndSeesNoneOfTheOthersTables() async throws {
        let settings = try running().freshDatabase()
        let name = settings.database
        let located = try await PostgresDatabases.locate(settings, create: true)
        XCTAssertEqual(located.names, [name, name + "_ledger", name + "_queue"])
        XCTAssertEqual(located, PostgresDatabases(beside: settings))
        XCTAssertEqual(located.described, "databases \(name), \(name)_ledger and \(name)_queue")
        let again = try await PostgresDatabases.locate(settings, create: true)
        XCTAssertEqual(again, located, "the second start finds what the first made")

        let ledgerPool = PostgresPool(settings: located.ledger)
        let packetsPool = PostgresPool(settings: located.packets)
        let queuePool = PostgresPool(settings: located.queue)
        pools += [ledgerPool, packetsPool, queuePool]
        let ledger = try await PostgresLedger(pool: ledgerPool)
        _ = try await PostgresPacketStore(pool: packetsPool)
        let queue = try await PostgresCreditQueue(pool: queuePool, name: "credits", maxReceiveCount: 5)
        _ = try await ledger.openAccount(name: "alice", deposit: Money(yuan: 10))
        try await queue.send([(id: "m1", body: "{}")])

        XCTAssertEqual(try tables(in: name + "_ledger"), ["account", "hongbao_schema", "transfer", "voided_transfer"])
        XCTAssertEqual(try tables(in: name + "_queue"), ["hongbao_schema", "queue_message"])
        let packetTables = try tables(in: name)
        XCTAssertTrue(packetTables.contains("packet") && packetTables.contains("claim"), "\(packetTables)")
        XCTAssertFalse(packetTables.contains("account") || packetTables.contains("transfer")
            || packetTables.contains("queue_message"), "\(packetTables)")
        // A statement on the red packets' connection cannot name the ledger's rows: there is no transaction
        // that spans the two systems to write.
        XCTAssertThrowsError(try running().psql("SELECT count(*) FROM account", database: name))
        XCTAssertEqual(try running().psql("SELECT name FROM account WHERE name = 'alice'", database: name + "_ledger"), "alice")
    }

    /// Several processes starting at once on new books (two `seed-demo`s, the dashboard and a command): each
    /// finds the databases another is making, and none fails.
    func testStartsAtOnceMakeEachDatabaseOnceAndAllFindThem() async throws {
        let settings = try running().freshDatabase()
        let found = try await withThrowingTaskGroup(of: PostgresDatabases.self) { group in
            for _ in 0..<8 { group.addTask { try await PostgresDatabases.locate(settings, create: true) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(found, Array(repeating: PostgresDatabases(beside: settings), count: 8))
        XCTAssertEqual(try databases(like: settings.database),
                       [settings.database, settings.database + "_ledger", settings.database + "_queue"])
    }

    func testBooksMadeInOneDatabaseStayInIt() async throws {
        let settings = try running().freshDatabase()
        let pool = try freshPoolOn(settings)
        let ledger = try await PostgresLedger(pool: pool)
        _ = try await PostgresPacketStore(pool: pool)
        _ = try await PostgresCreditQueue(pool: pool, name: "credits", maxReceiveCount: 5)
        _ = try await ledger.openAccount(name: "alice", deposit: Money(yuan: 10))

        let located = try await PostgresDatabases.locate(settings, create: true)
        XCTAssertEqual(located.names, Array(repeating: settings.database, count: 3))
        XCTAssertEqual(located.described, "database \(settings.database)")
        XCTAssertEqual(try databases(like: settings.database), [settings.database], "nothing made beside them")
    }

    func testAReaderMakesNoDatabaseAndSaysWhichIsMissing() async throws {
        let settings = try running().freshDatabase()
        do {
            _ = try await PostgresDatabases.locate(settings, create: false)
            XCTFail("a reader found books on an empty database")
        } catch let error as PostgresStoreError {
            XCTAssertEqual(error, .missing("no hongbao ledger in postgres://hongbao@127.0.0.1:\(settings.port)/\(settings.database)_ledger"))
        }
        XCTAssertEqual(try databases(like: settings.database), [settings.database])
    }

    func testAUserWhoMayNotMakeDatabasesIsToldWhatToRunAndNothingIsMade() async throws {
        let server = try running()
        let settings = try server.freshDatabase()
        try server.psql("CREATE ROLE weak LOGIN PASSWORD 'weak-password' NOCREATEDB")
        defer { _ = try? server.psql("DROP ROLE weak") }
        var limited = settings
        limited.user = "weak"
        limited.password = "weak-password"
        do {
            _ = try await PostgresDatabases.locate(limited, create: true)
            XCTFail("a user without CREATEDB made the ledger's database")
        } catch let error as PostgresStoreError {
            let name = settings.database + "_ledger"
            XCTAssertEqual(error, .server("""
                cannot make the database \(name) for the ledger: weak may not create databases; make it \
                (CREATE DATABASE "\(name)" OWNER "weak") or grant CREATEDB
                """))
        }
        XCTAssertEqual(try databases(like: settings.database), [settings.database])
    }

    func testANameTooLongForItsSiblingsIsRefusedBeforeAnythingIsAsked() async throws {
        var settings = try running().freshDatabase()
        settings.database = String(repeating: "d", count: 60)
        do {
            _ = try await PostgresDatabases.locate(settings, create: true)
            XCTFail("a 60-byte name was taken")
        } catch let error as PostgresStoreError {
            guard case let .badURL(_, reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("at most 63 bytes"), reason)
        }
    }

    private func freshPoolOn(_ settings: PostgresSettings) throws -> PostgresPool {
        let pool = PostgresPool(settings: settings)
        pools.append(pool)
        return pool
    }
}
