import Foundation
import GRDB
@testable import Ledger
import Primitives
import TestKit
import XCTest

/// Bills follow each account's chain of transfers (`ledger.v6-account-chain`) instead of two per-account indexes.
final class LedgerAccountChainTests: LedgerTestCase {
    /// Transfers between three accounts in a seeded order, each account's expected bills computed here from the
    /// list of transfers made, newest first.
    private func busyLedger() async throws -> (Ledger, [Account], [(id: String, from: Int, to: Int, amount: Int64)]) {
        let ledger = try makeLedger()
        let accounts = [
            try await ledger.openAccount(name: "a", deposit: Money(yuan: 100)),
            try await ledger.openAccount(name: "b", deposit: Money(yuan: 100)),
            try await ledger.openAccount(name: "c", deposit: Money(yuan: 100)),
        ]
        let random = SeededRandomSource(seed: 13)
        var made: [(id: String, from: Int, to: Int, amount: Int64)] = []
        for index in 0..<60 {
            let from = Int(random.uniform(in: 0...2))
            let to = (from + 1 + Int(random.uniform(in: 0...1))) % 3
            let amount = random.uniform(in: 1...50)
            try await ledger.transfer(TransferRequest(id: TransferID("t\(index)"), from: accounts[from].id,
                                                      to: accounts[to].id, amount: Money(minorUnits: amount), memo: ""))
            made.append(("t\(index)", from, to, amount))
        }
        return (ledger, accounts, made)
    }

    private func expectedBills(of account: Int, _ accounts: [Account], _ made: [(id: String, from: Int, to: Int, amount: Int64)])
        -> [String] {
        var balance: Int64 = 10_000
        var lines = ["open:\(accounts[account].id.rawValue) +10000 =10000"]
        for transfer in made where transfer.from == account || transfer.to == account {
            let delta = transfer.from == account ? -transfer.amount : transfer.amount
            balance += delta
            lines.append("\(transfer.id) \(delta > 0 ? "+" : "")\(delta) =\(balance)")
        }
        return lines.reversed()
    }

    private func billLines(_ ledger: Ledger, _ account: Account, limit: Int = 1_000) throws -> [String] {
        try ledger.bills(of: account.id, limit: limit).map { bill in
            "\(bill.transferID.rawValue) \(bill.amount.minorUnits > 0 ? "+" : "")\(bill.amount.minorUnits) =\(bill.balanceAfter.minorUnits)"
        }
    }

    private func transferIndexes(_ ledger: Ledger) throws -> [String] {
        try ledger.read { try String.fetchAll($0, sql: "SELECT name FROM pragma_index_list('transfer') ORDER BY name") }
    }

    func testBillsFollowEachAccountsChainNewestFirst() async throws {
        let (ledger, accounts, made) = try await busyLedger()
        for account in accounts.indices {
            XCTAssertEqual(try billLines(ledger, accounts[account]), expectedBills(of: account, accounts, made))
            XCTAssertEqual(try billLines(ledger, accounts[account], limit: 3),
                           Array(expectedBills(of: account, accounts, made).prefix(3)))
        }
        XCTAssertEqual(try ledger.bills(of: accounts[0].id, limit: 0), [])
        XCTAssertEqual(try ledger.bills(of: AccountID(9_999)), [])
        XCTAssertEqual(try ledger.auditLedger(), [])
        // Only the id's unique index is left on the transfer table: a transfer writes no per-account entry.
        XCTAssertEqual(try transferIndexes(ledger), ["sqlite_autoindex_transfer_1"])
    }

    /// A ledger written before the chains (per-account indexes, no chain columns) gets its history linked when it
    /// is opened: the same bills, a clean audit, the indexes gone, and new transfers go on the chains.
    func testALedgerFromBeforeTheChainsIsLinkedWhenOpened() async throws {
        try writeLedgerFromBeforeTheChains()
        let ledger = try makeLedger()
        XCTAssertEqual(try transferIndexes(ledger), ["sqlite_autoindex_transfer_1"])
        XCTAssertEqual(try ledger.auditLedger(), [])
        let a = try XCTUnwrap(ledger.account(named: "a")), b = try XCTUnwrap(ledger.account(named: "b"))
        let idle = try XCTUnwrap(ledger.account(named: "idle"))
        XCTAssertEqual(try billLines(ledger, a), ["old5 +1 =804", "old4 -7 =803", "old3 +30 =810", "old2 -120 =780", "old0 +900 =900"])
        XCTAssertEqual(try billLines(ledger, b), ["old4 +7 =597", "old3 -30 =590", "old2 +120 =620", "old1 +500 =500"])
        XCTAssertEqual(try billLines(ledger, try XCTUnwrap(ledger.account(named: "mint"))).map { $0.prefix(4) },
                       ["old5", "old1", "old0"])
        XCTAssertEqual(try billLines(ledger, idle), [])
        try await ledger.transfer(TransferRequest(id: "new", from: b.id, to: idle.id, amount: Money(minorUnits: 27), memo: ""))
        XCTAssertEqual(try billLines(ledger, b, limit: 2), ["new -27 =570", "old4 +7 =597"])
        XCTAssertEqual(try billLines(ledger, idle), ["new +27 =27"])
        XCTAssertEqual(try ledger.auditLedger(), [])
    }

    /// The previous version's schema (up to `ledger.v5-voided`), with transfers written the way it wrote them.
    private func writeLedgerFromBeforeTheChains() throws {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA application_id = \(LedgerSchema.applicationID)") }
        var migrator = DatabaseMigrator()
        LedgerSchema.register(path: path, in: &migrator)
        try migrator.migrate(queue, upTo: "ledger.v5-voided")
        try queue.write { database in
            try database.execute(sql: """
                INSERT INTO account (name, name_key, kind, balance, created_at) VALUES
                    ('a', 'a', 'user', 0, 0), ('b', 'b', 'user', 0, 0), ('idle', 'idle', 'user', 0, 0);
                """)
            let ids = try Row.fetchAll(database, sql: "SELECT name, id FROM account")
                .reduce(into: [String: Int64]()) { $0[$1["name"]] = $1["id"] }
            var balances = [String: Int64]()
            for (index, (from, to, amount)) in [("mint", "a", 900), ("mint", "b", 500), ("a", "b", 120), ("b", "a", 30),
                                                ("a", "b", 7), ("mint", "a", 1)].enumerated() {
                balances[from, default: 0] -= Int64(amount)
                balances[to, default: 0] += Int64(amount)
                try database.execute(sql: """
                    INSERT INTO transfer (id, debit_id, credit_id, amount, debit_balance_after, credit_balance_after, memo, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, '', 0)
                    """, arguments: ["old\(index)", ids[from], ids[to], amount, balances[from], balances[to]])
                try database.execute(sql: "UPDATE account SET balance = ? WHERE id = ?", arguments: [balances[from], ids[from]])
                try database.execute(sql: "UPDATE account SET balance = ? WHERE id = ?", arguments: [balances[to], ids[to]])
            }
        }
        try queue.close()
    }

    private func tamper(_ sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: sql) }
    }

    func testTheAuditFindsATransferOffItsAccountsChain() async throws {
        let (ledger, accounts, _) = try await busyLedger()
        // t30's link on its debit side skips one transfer back: the bill would lose a line.
        try tamper("""
            UPDATE transfer SET debit_prev_seq = (SELECT p.debit_prev_seq FROM transfer p WHERE p.seq = transfer.debit_prev_seq)
            WHERE id = 't30'
            """)
        let violations = try ledger.auditLedger()
        XCTAssertEqual(violations.map(\.code), ["ledger.chain"], "\(violations)")
        let debit = try XCTUnwrap(ledger.transfer(id: "t30")).from
        let name = try XCTUnwrap(accounts.first { $0.id == debit }).name
        XCTAssertTrue(violations[0].detail.contains("account \(name): transfer #"), violations[0].detail)
        XCTAssertEqual(try ledger.auditLedgerQuick(), [], "the quick check sees sums only; chains are the full audit's")
    }

    func testTheAuditFindsAnAccountThatDoesNotPointAtItsNewestTransfer() async throws {
        let (ledger, _, _) = try await busyLedger()
        try tamper("UPDATE account SET last_seq = last_seq - 1 WHERE name = 'c'")
        let violations = try ledger.auditLedger()
        XCTAssertEqual(violations.map(\.code), ["ledger.chain"], "\(violations)")
        XCTAssertTrue(violations[0].detail.contains("account c: its newest transfer is #"), violations[0].detail)
    }

    /// A chain damaged into a loop (a transfer pointing at itself) ends the bill there instead of looping.
    func testBillsStopAtALinkThatDoesNotGoBack() async throws {
        let (ledger, accounts, made) = try await busyLedger()
        try tamper("UPDATE transfer SET debit_prev_seq = seq, credit_prev_seq = seq WHERE id = 't50'")
        let lines = try billLines(ledger, accounts[made[50].from], limit: -1)
        XCTAssertEqual(lines.last?.hasPrefix("t50 "), true, "\(lines)")
        XCTAssertEqual(Set(try ledger.auditLedger().map(\.code)), ["ledger.chain"])
    }
}
