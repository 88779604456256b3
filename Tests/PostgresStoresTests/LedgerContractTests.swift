import Ledger
import PostgresStores
import Primitives
import TestKit
import XCTest

/// The account-store contract on SQLite's `Ledger`.
final class SQLiteLedgerContractTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var ledgers: [Ledger] = []

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-contract")
    }

    override func tearDown() {
        for ledger in ledgers { try? ledger.close() }
        directory?.remove()
    }

    private func ledger() throws -> Ledger {
        let ledger = try Ledger(path: directory.appending("ledger-\(ledgers.count).sqlite"), durability: .normal,
                                clock: ManualClock())
        ledgers.append(ledger)
        return ledger
    }

    func testTransferIsIdempotentByID() async throws { try await LedgerContract.transferIsIdempotentByID(try ledger()) }
    func testRefusalsMoveNothing() async throws { try await LedgerContract.refusalsMoveNothing(try ledger()) }
    func testSettlingVoidsTheMissingIDs() async throws { try await LedgerContract.settlingVoidsTheMissingIDs(try ledger()) }
    func testConcurrentTransfersConserveMoney() async throws {
        try await LedgerContract.concurrentTransfersConserveMoney(try ledger())
    }
    func testSettlementAndPrefixes() async throws { try await LedgerContract.settlementAndPrefixes(try ledger()) }
    func testNamesAreGuarded() async throws { try await LedgerContract.namesAreGuarded(try ledger()) }
}

/// The account-store contract on `PostgresLedger`, each test on a fresh database of one throwaway server.
final class PostgresLedgerContractTests: PostgresServerTestCase {

    private func ledger(limits: Limits = .default) async throws -> PostgresLedger {
        let pool = try freshPool()
        return try await PostgresLedger(pool: pool, limits: limits, clock: ManualClock())
    }

    func testTransferIsIdempotentByID() async throws { try await LedgerContract.transferIsIdempotentByID(try await ledger()) }
    func testRefusalsMoveNothing() async throws { try await LedgerContract.refusalsMoveNothing(try await ledger()) }
    func testSettlingVoidsTheMissingIDs() async throws {
        try await LedgerContract.settlingVoidsTheMissingIDs(try await ledger())
    }
    func testConcurrentTransfersConserveMoney() async throws {
        try await LedgerContract.concurrentTransfersConserveMoney(try await ledger())
    }
    func testSettlementAndPrefixes() async throws { try await LedgerContract.settlementAndPrefixes(try await ledger()) }
    func testNamesAreGuarded() async throws { try await LedgerContract.namesAreGuarded(try await ledger()) }

    /// Opening the ledger twice on one database (a second process, a restart) finds the tables made by the
    /// first and keeps their money.
    func testReopenKeepsTheBooks() async throws {
        let server = try running()
        let settings = try server.freshDatabase()
        let first = PostgresPool(settings: settings)
        pools.append(first)
        let ledger = try await PostgresLedger(pool: first, clock: ManualClock())
        _ = try await ledger.openAccount(name: "alice", deposit: Money(minorUnits: 700))
        let second = PostgresPool(settings: settings)
        pools.append(second)
        let again = try await PostgresLedger(pool: second, clock: ManualClock())
        XCTAssertEqual(again.settlementAccountID, ledger.settlementAccountID)
        let alice = try await again.userAccount(named: "alice")
        XCTAssertEqual(alice?.balance, Money(minorUnits: 700))
    }

    /// A database whose `account` table was made by another program is refused, and left as it was.
    func testForeignTablesAreRefused() async throws {
        let server = try running()
        let settings = try server.freshDatabase()
        try server.psql("CREATE TABLE account (x INTEGER); INSERT INTO account VALUES (42)", database: settings.database)
        let pool = PostgresPool(settings: settings)
        pools.append(pool)
        do {
            _ = try await PostgresLedger(pool: pool, clock: ManualClock())
            XCTFail("a foreign account table was accepted")
        } catch let PostgresStoreError.foreignSchema(message) {
            XCTAssertTrue(message.contains("account"), message)
        }
        XCTAssertEqual(try server.psql("SELECT x FROM account", database: settings.database), "42")
    }

    /// An unclear commit, made for real: the server is set to wait for a synchronous standby that does not
    /// exist, so the batch's COMMIT is written locally and then waits; the backend is terminated while it
    /// waits (as when a primary loses its standbys and the connection drops). The client cannot know whether
    /// the transfer committed. The ledger retries the batch on a new connection: the transfer is found by its
    /// id and reported applied once, nothing is doubled, and a later repeat is a replay.
    func testUnclearCommitIsRetriedWithoutDoubling() async throws {
        let server = try running()
        let ledger = try await ledger()
        let database = ledger.pool.settings.database
        let alice = try await ledger.openAccount(name: "alice", deposit: Money(minorUnits: 10_000))
        let bob = try await ledger.openAccount(name: "bob", deposit: nil)
        addTeardownBlock {
            _ = try? server.psql("ALTER SYSTEM RESET synchronous_standby_names")
            _ = try? server.psql("SELECT pg_reload_conf()")
        }
        let request = TransferRequest(id: "claim:unclear.1", from: alice.id, to: bob.id, amount: Money(minorUnits: 1_234),
                                      memo: "unclear")
        // The COMMIT waits for the standby: the transfer is committed locally, not acknowledged.
        let transfer = try await server.withUnclearCommit(database: database) { try await ledger.transfer(request) }
        XCTAssertTrue(transfer.caughtWaiting, "no COMMIT waited for the standby")
        let outcome = transfer.value
        XCTAssertFalse(outcome.wasReplay, "the retry found this call's own transfer: applied once, by this call")
        XCTAssertEqual(outcome.record.toBalanceAfter, Money(minorUnits: 1_234))
        let replay = try await ledger.transfer(request)
        XCTAssertTrue(replay.wasReplay)
        XCTAssertEqual(replay.record, outcome.record)
        XCTAssertEqual(try server.psql("SELECT COUNT(*) FROM transfer WHERE id = 'claim:unclear.1'", database: database), "1")
        let bobBalance = try await ledger.balance(of: bob.id)
        XCTAssertEqual(bobBalance, Money(minorUnits: 1_234))
        let audit = try await ledger.auditAccounts()
        XCTAssertEqual(audit, [])
    }

    func testBadURLsAreOneLineErrors() {
        XCTAssertThrowsError(try PostgresSettings(url: "mysql://a@b/c")) { error in
            XCTAssertEqual("\(error)", "not a PostgreSQL URL (it must start with postgres://): mysql://a@b/c")
        }
        XCTAssertThrowsError(try PostgresSettings(url: "postgres://127.0.0.1/db"))
        XCTAssertEqual(try PostgresSettings(url: "postgres://u:p@127.0.0.1:6543/books"),
                       PostgresSettings(host: "127.0.0.1", port: 6543, user: "u", password: "p", database: "books"))
    }
}
