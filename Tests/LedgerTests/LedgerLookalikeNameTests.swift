import GRDB
@testable import Ledger
import Primitives
import XCTest

/// Nobody can open an account that prints like someone else's.
final class LedgerLookalikeNameTests: LedgerTestCase {
    func testLookalikesOfAnExistingNameAreRefusedAndNothingIsWritten() async throws {
        let ledger = try makeLedger()
        _ = try await ledger.openAccount(name: "alice", deposit: Money(yuan: 10))
        _ = try await ledger.openAccount(name: "Zoë")
        let before = try ledger.totals()
        for name in ["ALICE", "Alice", "Ａｌｉｃｅ", "ＡＬＩＣＥ", "ZOË", "zoë"] {
            do {
                _ = try await ledger.openAccount(name: name, deposit: Money(yuan: 1))
                XCTFail("opened \(name)")
            } catch let LedgerError.invalidAccountName(rejected, reason) {
                XCTAssertEqual(rejected, name)
                XCTAssertTrue(reason.contains("looks like the existing account"), reason)
            }
        }
        XCTAssertEqual(try ledger.totals(), before)
        XCTAssertEqual(try ledger.userAccountCount(), 2)
    }

    func testSystemNamesAreReservedInEverySpelling() async throws {
        let ledger = try makeLedger()
        for name in ["mint", "Mint", "MINT", "ｍｉｎｔ", "Escrow", "ESCROW", "settlement", "Settlement", "SYSTEM"] {
            do {
                _ = try await ledger.openAccount(name: name)
                XCTFail("opened \(name)")
            } catch let LedgerError.invalidAccountName(_, reason) {
                XCTAssertTrue(reason.contains("reserved"), "\(name): \(reason)")
            }
        }
        XCTAssertEqual(try ledger.userAccountCount(), 0)
    }

    func testInvisibleAndDirectionChangingCharactersAreRefused() async throws {
        let ledger = try makeLedger()
        for name in ["\u{FEFF}bob", "evil\u{202E}abc", "a\u{200B}b", "x\u{2066}y", "a\u{200D}b", "a\u{2060}b", "a\u{AD}b"] {
            do {
                _ = try await ledger.openAccount(name: name)
                XCTFail("opened \(name.debugDescription)")
            } catch LedgerError.invalidAccountName {}
        }
        XCTAssertEqual(try ledger.userAccountCount(), 0)
    }

    func testSeedingSkipsALookalikeInsteadOfFailing() async throws {
        let ledger = try makeLedger()
        _ = try await ledger.openAccount(name: "alice")
        let created = try await ledger.write { try $0.openFundedAccounts([("ALICE", Money(yuan: 1)), ("carol", Money(yuan: 1))]) }
        XCTAssertEqual(created, 1)
        XCTAssertNil(try ledger.account(named: "ALICE"))
    }

    /// A ledger written before the key existed may hold look-alikes: it still opens, both accounts keep working
    /// under their exact names, one of them holds the key, and no third look-alike can be opened.
    func testALedgerThatAlreadyHoldsLookalikesStillOpens() async throws {
        var ledger: Ledger? = try makeLedger()
        _ = try await ledger!.openAccount(name: "bob", deposit: Money(yuan: 5))
        try await ledger!.write { transaction in
            let db = transaction.database
            try db.execute(sql: "DROP INDEX account_by_name_key")
            try db.execute(sql: "ALTER TABLE account DROP COLUMN name_key")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'ledger.v4-name-key'")
            try db.execute(sql: "INSERT INTO account (name, kind, balance, created_at) VALUES ('BOB', 'user', 0, 0)")
            try db.execute(sql: "INSERT INTO account (name, kind, balance, created_at) VALUES ('Ｂｏｂ', 'user', 0, 0)")
            try db.execute(sql: "INSERT INTO account (name, kind, balance, created_at) VALUES ('张三', 'user', 0, 0)")
        }
        try ledger!.close() // before the reopen, not left to deinit
        ledger = nil
        ledger = try makeLedger()
        XCTAssertEqual(try balance("bob", in: ledger!), Money(yuan: 5))
        XCTAssertNotNil(try ledger!.account(named: "BOB"))
        XCTAssertNotNil(try ledger!.account(named: "Ｂｏｂ"))
        let keys = try ledger!.read { db in
            try Row.fetchAll(db, sql: "SELECT name, name_key FROM account WHERE kind = 'user' ORDER BY id")
                .map { "\($0["name"] as String)=\(($0["name_key"] as String?) ?? "-")" }
        }
        XCTAssertEqual(keys, ["bob=bob", "BOB=-", "Ｂｏｂ=-", "张三=张三"])
        do {
            _ = try await ledger!.openAccount(name: "bOb")
            XCTFail("a fourth look-alike was opened")
        } catch LedgerError.invalidAccountName {}
        _ = try await ledger!.transfer(TransferRequest(id: TransferID("t1"), from: try XCTUnwrap(ledger!.account(named: "bob")).id,
                                                       to: try XCTUnwrap(ledger!.account(named: "BOB")).id,
                                                       amount: Money(yuan: 1), memo: "still works"))
        XCTAssertEqual(try balance("BOB", in: ledger!), Money(yuan: 1))
    }
}
