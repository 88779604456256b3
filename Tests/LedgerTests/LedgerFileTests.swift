import Foundation
import GRDB
@testable import Ledger
import Primitives
import TestKit
import XCTest

final class LedgerDurabilityTests: LedgerTestCase {
    func testStateSurvivesClosingAndReopening() async throws {
        var bills: [Bill] = []
        var totals: LedgerTotals?
        do {
            let ledger = try makeLedger(durability: .full)
            let a = try await ledger.openAccount(name: "张三", deposit: Money(minorUnits: 10_000))
            let b = try await ledger.openAccount(name: "李四")
            try await ledger.transfer(TransferRequest(id: "t", from: a.id, to: b.id, amount: Money(minorUnits: 1_234), memo: "m"))
            bills = try ledger.bills(of: a.id)
            totals = try ledger.totals()
        } // the ledger is released here (its connections close, possibly a moment later: the reopen must not care)
        let reopened = try makeLedger(durability: .full)
        XCTAssertEqual(try balance("张三", in: reopened), Money(minorUnits: 8_766))
        XCTAssertEqual(try balance("李四", in: reopened), Money(minorUnits: 1_234))
        XCTAssertEqual(try reopened.bills(of: try XCTUnwrap(reopened.account(named: "张三")).id), bills)
        XCTAssertEqual(try reopened.totals(), totals)
        XCTAssertEqual(try reopened.auditLedger(), [])
        // Idempotency survives the restart too.
        let replay = try await reopened.transfer(TransferRequest(
            id: "t", from: try XCTUnwrap(reopened.account(named: "张三")).id,
            to: try XCTUnwrap(reopened.account(named: "李四")).id, amount: Money(minorUnits: 1_234), memo: "m"))
        XCTAssertTrue(replay.wasReplay)
    }

    /// The files as a crash would leave them: the database and its write-ahead log, never checkpointed.
    func testALedgerCopiedWhileOpenWithItsWALReopens() async throws {
        let ledger = try makeLedger(durability: .full)
        let a = try await ledger.openAccount(name: "a", deposit: Money(minorUnits: 500))
        _ = a
        let copy = directory.appending("copy.sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        if FileManager.default.fileExists(atPath: path + "-wal") {
            try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
        }
        let recovered = try Ledger(path: copy, durability: .full, clock: clock)
        XCTAssertEqual(try balance("a", in: recovered), Money(minorUnits: 500))
        XCTAssertEqual(try recovered.auditLedger(), [])
        withExtendedLifetime(ledger) {}
    }
}

final class LedgerDurabilitySettingTests: LedgerTestCase {
    private func writerPragmas(_ ledger: Ledger) async throws -> (synchronous: Int, journalMode: String) {
        try await ledger.write { transaction in
            (try Int.fetchOne(transaction.database, sql: "PRAGMA synchronous") ?? -1,
             try String.fetchOne(transaction.database, sql: "PRAGMA journal_mode") ?? "")
        }
    }

    /// FULL is the default: commits are made with synchronous=NORMAL and every write is acknowledged after an
    /// fsync of the WAL by the ledger's syncer (see `GroupCommitWriterSyncTests` for the ordering).
    func testFullDurabilityIsTheDefaultAndFsyncsTheWALForEveryWrite() async throws {
        let ledger = try Ledger(path: path, clock: clock)
        XCTAssertEqual(ledger.durability, .full)
        let syncer = try XCTUnwrap(ledger.walSyncer)
        XCTAssertEqual(syncer.path, path + "-wal")
        let pragmas = try await writerPragmas(ledger)
        XCTAssertEqual(pragmas.synchronous, 1, "the commit itself does not fsync; the syncer does")
        XCTAssertEqual(pragmas.journalMode, "wal")
        for round in 1...3 {
            let before = syncer.syncCount
            _ = try await ledger.openAccount(name: "user\(round)", deposit: Money(minorUnits: 100))
            XCTAssertGreaterThan(syncer.syncCount, before, "round \(round)")
        }
        let before = syncer.syncCount
        _ = try ledger.writeNow { try $0.openAccount(name: "now") }
        XCTAssertGreaterThan(syncer.syncCount, before, "writeNow fsyncs too")
    }

    func testNormalDurabilityIsOptInAndNeverFsyncsOnCommit() async throws {
        let ledger = try makeLedger(durability: .normal)
        XCTAssertNil(ledger.walSyncer)
        let pragmas = try await writerPragmas(ledger)
        XCTAssertEqual(pragmas.synchronous, 1, "synchronous=NORMAL")
        XCTAssertEqual(pragmas.journalMode, "wal")
    }
}

final class LedgerCorruptFileTests: LedgerTestCase {
    func testClosingALedgerWaitsForItsWriterAndClosesThePool() async throws {
        let ledger = try makeLedger(durability: .full)
        for index in 0..<20 { _ = try await ledger.openAccount(name: "user\(index)", deposit: Money(yuan: 1)) }
        try ledger.close()
        XCTAssertThrowsError(try ledger.account(named: "user0"), "the pool is closed, not left to whoever releases it last")
    }

    func testADamagedLedgerIsReportedAsCorrupt() async throws {
        do {
            let ledger = try makeLedger(durability: .full)
            for index in 0..<50 { _ = try await ledger.openAccount(name: "user\(index)", deposit: Money(yuan: 1)) }
            // Closed explicitly: leaving scope does not close the pool while the writer's acknowledgement queue
            // still holds it, and the checkpoint below then found the database locked.
            try ledger.close()
        }
        // Fold the write-ahead log into the file, so that the pages scribbled over below hold the data.
        try await DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        // Keep the header page (so the file is still recognisably ours), scribble over every later page.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertGreaterThan(bytes.count, 8_192)
        for index in 4_096..<bytes.count { bytes[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }
        try bytes.write(to: URL(fileURLWithPath: path))
        do {
            let ledger = try makeLedger()
            _ = try ledger.auditLedger()
            XCTFail("a damaged ledger opened and audited cleanly")
        } catch let LedgerError.corruptDatabase(path: reported, reason: _) {
            XCTAssertEqual(reported, path)
        }
    }
}

final class LedgerForeignFileTests: LedgerTestCase {
    private func assertRefusedAsForeign(file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try makeLedger(), file: file, line: line) { error in
            XCTAssertEqual(error as? LedgerError, .foreignDatabase(path: self.path), file: file, line: line)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "the foreign file was modified",
                       file: file, line: line)
    }

    func testAShortTextFileIsForeign() throws {
        try "hello, not a database\n".write(toFile: path, atomically: true, encoding: .utf8)
        try assertRefusedAsForeign()
    }

    func testALongTextFileIsForeign() throws {
        try String(repeating: "garbage text that is longer than a SQLite header. ", count: 100)
            .write(toFile: path, atomically: true, encoding: .utf8)
        try assertRefusedAsForeign()
    }

    func testAnotherApplicationsSQLiteDatabaseIsForeign() throws {
        do {
            let queue = try DatabaseQueue(path: path)
            try queue.write { database in
                try database.execute(sql: "CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT)")
                try database.execute(sql: "INSERT INTO recipes (name) VALUES ('饺子')")
            }
        }
        try assertRefusedAsForeign()
    }

    func testASQLiteDatabaseWithAnotherApplicationIDIsForeign() throws {
        do {
            let queue = try DatabaseQueue(path: path)
            try queue.writeWithoutTransaction { database in
                try database.execute(sql: "PRAGMA application_id = 1234")
                try database.execute(sql: "CREATE TABLE account (id INTEGER PRIMARY KEY)")
            }
        }
        try assertRefusedAsForeign()
    }

    /// The WAL-aware check that lets an uncheckpointed ledger reopen must not let a foreign WAL database in.
    func testAnotherApplicationsWALDatabaseInUseIsForeign() throws {
        let pool = try DatabasePool(path: path)
        try pool.write { try $0.execute(sql: "CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT)") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "-wal"))
        try assertRefusedAsForeign()
        try withExtendedLifetime(pool) {
            XCTAssertEqual(try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM recipes") }, 0)
        }
    }

    func testAPathInAMissingDirectoryIsAStorageError() {
        let missing = directory.appending("no/such/dir/ledger.sqlite")
        XCTAssertThrowsError(try Ledger(path: missing, clock: clock)) { error in
            guard case .storage = error as? LedgerError else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
    }

    func testAnEmptyFileBecomesALedger() async throws {
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        let ledger = try makeLedger()
        _ = try await ledger.openAccount(name: "a", deposit: Money(yuan: 1))
        XCTAssertEqual(try balance("a", in: ledger), Money(yuan: 1))
    }
}

final class LedgerAuditTests: LedgerTestCase {
    private func populatedLedger() async throws -> Ledger {
        let ledger = try makeLedger()
        let a = try await ledger.openAccount(name: "a", deposit: Money(yuan: 100))
        let b = try await ledger.openAccount(name: "b", deposit: Money(yuan: 50))
        try await ledger.transfer(TransferRequest(id: "t1", from: a.id, to: b.id, amount: Money(minorUnits: 1_234), memo: ""))
        try await ledger.transfer(TransferRequest(id: "t2", from: b.id, to: a.id, amount: Money(minorUnits: 99), memo: ""))
        return ledger
    }

    private func tamper(_ sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: sql) }
    }

    func testAHealthyLedgerPassesTheAudit() async throws {
        let ledger = try await populatedLedger()
        XCTAssertEqual(try ledger.auditLedger(), [])
    }

    func testMoneyCreatedOutOfThinAirFailsSumAndHistory() async throws {
        let ledger = try await populatedLedger()
        try tamper("UPDATE account SET balance = balance + 100 WHERE name = 'a'")
        let violations = try ledger.auditLedger()
        XCTAssertEqual(Set(violations.map(\.code)), ["ledger.sum", "ledger.history"], "\(violations)")
        XCTAssertTrue(violations.contains { $0.code == "ledger.sum" && $0.detail.contains("¥1.00") }, "\(violations)")
        XCTAssertTrue(violations.contains { $0.code == "ledger.history" && $0.detail.contains("account a") }, "\(violations)")
    }

    func testMoneyMovedWithoutATransferFailsHistoryOnly() async throws {
        let ledger = try await populatedLedger()
        try tamper("""
            UPDATE account SET balance = balance - 1 WHERE name = 'a';
            UPDATE account SET balance = balance + 1 WHERE name = 'b';
            """)
        let violations = try ledger.auditLedger()
        XCTAssertEqual(violations.map(\.code), ["ledger.history", "ledger.history"], "\(violations)")
    }

    func testADeletedTransferFailsHistory() async throws {
        let ledger = try await populatedLedger()
        try tamper("DELETE FROM transfer WHERE id = 't2'")
        // Both accounts still point at t2 as their newest transfer: their chains show the loss too.
        XCTAssertEqual(Set(try ledger.auditLedger().map(\.code)), ["ledger.history", "ledger.chain"])
        XCTAssertEqual(try ledger.auditLedgerQuick(), [], "the quick check sees sums only: a lost transfer keeps them at zero")
    }

    func testABillWhoseRunningBalanceDoesNotReplayIsCaught() async throws {
        let ledger = try await populatedLedger()
        // Balances and their sums untouched: only b's bill after t1 claims a running balance one fen too high.
        try tamper("UPDATE transfer SET credit_balance_after = credit_balance_after + 1 WHERE id = 't1'")
        let violations = try ledger.auditLedger()
        XCTAssertEqual(violations.map(\.code), ["ledger.bills"], "\(violations)")
        XCTAssertTrue(violations[0].detail.contains("account b"), violations[0].detail)
        XCTAssertTrue(violations[0].detail.contains("records ¥62.35, replays to ¥62.34"), violations[0].detail)
        XCTAssertEqual(try ledger.auditLedgerQuick(), [], "the quick check sees sums only; bills are the full audit's")
    }

    // The dashboard's headline comes from the quick check: fed the same damaged books as the full audit, it
    // must fail wherever the damage shows in the sums it checks.

    func testTheQuickCheckCatchesMoneyCreatedOutOfThinAir() async throws {
        let ledger = try await populatedLedger()
        XCTAssertEqual(try ledger.auditLedgerQuick(), [])
        try tamper("UPDATE account SET balance = balance + 100 WHERE name = 'a'")
        let violations = try ledger.auditLedgerQuick()
        XCTAssertEqual(violations.map(\.code), ["ledger.sum"], "\(violations)")
        XCTAssertTrue(violations[0].detail.contains("¥1.00"), violations[0].detail)
    }

    func testTheQuickCheckCatchesANegativeUser() async throws {
        let ledger = try await populatedLedger()
        try tamper("""
            PRAGMA ignore_check_constraints = ON;
            UPDATE account SET balance = -5 WHERE name = 'b';
            """)
        XCTAssertEqual(Set(try ledger.auditLedger().map(\.code)), ["ledger.sum", "ledger.negative", "ledger.history"])
        XCTAssertEqual(Set(try ledger.auditLedgerQuick().map(\.code)), ["ledger.sum", "ledger.negative"])
    }
}

final class LedgerLayoutTests: LedgerTestCase {
    /// A ledger from the single-database layout (red packets inside it) is refused with its own error; its
    /// red-packet tables stay and no settlement account is added.
    func testALedgerThatStillHoldsRedPacketTablesIsRefusedUntouched() throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { database in
            try database.execute(sql: "PRAGMA application_id = \(LedgerSchema.applicationID)")
            try database.execute(sql: "CREATE TABLE packet (id TEXT PRIMARY KEY)")
        }
        try queue.close()
        XCTAssertThrowsError(try makeLedger()) { error in
            XCTAssertEqual(error as? LedgerError, .singleDatabaseLayout(path: self.path))
        }
        let reopened = try DatabaseQueue(path: path)
        try reopened.read { database in
            XCTAssertTrue(try database.tableExists("packet"))
            XCTAssertEqual(try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM account WHERE name = ?",
                                            arguments: [Account.settlementName]), 0)
        }
    }

    func testANewLedgerHasAnEmptySettlementAccount() throws {
        let ledger = try makeLedger()
        let settlement = try XCTUnwrap(try ledger.account(named: Account.settlementName))
        XCTAssertEqual(settlement.id, ledger.settlementAccountID)
        XCTAssertEqual(settlement.balance, .zero)
    }
}

/// An open that meets another connection's brief hold on the file (the last connection of a released ledger
/// checkpointing and removing its WAL, as when an engine restarts in the same process) waits for it instead of
/// failing at once with "database is locked".
final class LedgerBusyOpenTests: LedgerTestCase {
    func testAnOpenWhileAnotherConnectionBrieflyHoldsTheFileWaitsForIt() async throws {
        do { _ = try makeLedger(durability: .full) } // created, then released
        // Another connection takes the file in exclusive locking mode (its first write takes the lock and keeps
        // it) and lets go 300 ms later. Before the retry, the open failed in well under a millisecond.
        let holder = try DatabaseQueue(path: path)
        try await holder.writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA locking_mode = EXCLUSIVE")
            try db.execute(sql: "UPDATE account SET balance = balance WHERE id = 1")
        }
        let release = Task.detached {
            try await Task.sleep(for: .milliseconds(300))
            try await holder.writeWithoutTransaction { db in
                _ = try String.fetchOne(db, sql: "PRAGMA locking_mode = NORMAL")
                try db.execute(sql: "SELECT 1 FROM sqlite_master") // the next access lets the lock go
            }
            try holder.close()
        }
        let reopened = try makeLedger(durability: .full)
        XCTAssertEqual(try reopened.auditLedger(), [])
        XCTAssertNotNil(try reopened.account(named: "mint"))
        try await release.value
    }
}
