import Ledger
import PostgresNIO
@testable import PostgresStores
import Primitives
import RedPackets
import TestKit
import XCTest

/// The ledger's batch of transfers on PostgreSQL (`hb_transfer_batch`) decides each transfer as if the
/// transfers ran one after the other (`hb_transfer`, one call each), and writes each account's row once per
/// batch, however many of the batch's transfers move its money.
final class TransferBatchTests: PostgresServerTestCase {
    private struct Books {
        let ledger: PostgresLedger
        let alice: AccountID, bob: AccountID, carol: AccountID, mint: AccountID
    }

    /// A ledger on a fresh database with alice (1,000), bob and carol (0), and one transfer made before.
    private func books() async throws -> Books {
        let ledger = try await PostgresLedger(pool: try freshPool(), clock: ManualClock())
        let alice = try await ledger.openAccount(name: "alice", deposit: Money(minorUnits: 1_000))
        let bob = try await ledger.openAccount(name: "bob")
        let carol = try await ledger.openAccount(name: "carol")
        let found = try await ledger.account(named: Account.mintName)
        let mint = try XCTUnwrap(found)
        _ = try await ledger.transfer(TransferRequest(id: "before.1", from: alice.id, to: carol.id,
                                                      amount: Money(minorUnits: 100), memo: "before"))
        return Books(ledger: ledger, alice: alice.id, bob: bob.id, carol: carol.id, mint: mint.id)
    }

    /// Every kind of outcome in one batch, several depending on an earlier one in the same batch.
    private func requests(_ books: Books) -> [TransferRequest] {
        func request(_ id: String, _ from: AccountID, _ to: AccountID, _ amount: Int64) -> TransferRequest {
            TransferRequest(id: TransferID(id), from: from, to: to, amount: Money(minorUnits: amount), memo: "m-\(id)")
        }
        var requests = [
            request("t.1", books.alice, books.bob, 300),      // applied: alice 600, bob 300
            request("t.1", books.alice, books.bob, 300),      // a replay of the one just applied
            request("t.1", books.alice, books.bob, 301),      // the same id with other fields: a conflict
            request("before.1", books.alice, books.carol, 100), // a replay of one committed before
            request("t.2", books.alice, books.carol, 700),    // insufficient: alice has 600 now
            request("t.3", books.bob, books.carol, 200),      // applied from what bob got in this batch
            request("t.4", books.bob, AccountID(999_999), 1), // unknown recipient
            request("t.5", AccountID(999_998), books.bob, 1), // unknown payer
            request("t.6", books.bob, books.bob, 1),          // same account
            request("t.7", books.bob, books.carol, 0),        // invalid amount
            request("t.8", books.mint, books.alice, 50),      // the mint goes negative
        ]
        // The same two rows again and again: alice's and bob's balance change ten times in this batch.
        for index in 0..<10 { requests.append(request("loop.\(index)", books.alice, books.bob, 10)) }
        requests.append(request("t.9", books.alice, books.bob, 1_000)) // insufficient after the loop
        return requests
    }

    /// Each result row as text, in order.
    private static func lines(_ rows: PostgresRowSequence) async throws -> [String] {
        var lines: [String] = []
        for try await (ord, status, seq, debit, credit, amount, memo, debitAfter, creditAfter, at, detail) in rows.decode(
            (Int, String, Int64?, Int64?, Int64?, Int64?, String?, Int64?, Int64?, Int64?, String?).self) {
            func text(_ value: Int64?) -> String { value.map { String($0) } ?? "-" }
            let numbers = [seq, debit, credit, amount].map(text)
            let after = [debitAfter, creditAfter, at].map(text)
            let fields: [String] = [String(ord), status] + numbers + [memo ?? "-"] + after + [detail ?? "-"]
            lines.append(fields.joined(separator: "|"))
        }
        return lines
    }

    private func state(_ books: Books) async throws -> [String] {
        let pool = books.ledger.pool
        let accounts = try await pool.rows("SELECT id, balance FROM account ORDER BY id").map {
            let (id, balance) = try $0.decode((Int64, Int64).self)
            return "account \(id) \(balance)"
        }
        let transfers = try await pool.rows("""
            SELECT seq, id, debit_id, credit_id, amount, debit_balance_after, credit_balance_after, memo, created_at
            FROM transfer ORDER BY seq
            """).map {
            let (seq, id, debit, credit, amount, debitAfter, creditAfter, memo, at) = try $0.decode(
                (Int64, String, Int64, Int64, Int64, Int64, Int64, String, Int64).self)
            return "transfer \(seq) \(id) \(debit)→\(credit) \(amount) \(debitAfter)/\(creditAfter) \(memo) \(at)"
        }
        return accounts + transfers
    }

    func testABatchDecidesEachTransferAsOneAfterTheOtherAndWritesEachAccountOnce() async throws {
        let batched = try await books()
        let oneByOne = try await books()
        let now: Int64 = 1_780_000_000_000
        let maximum = Limits.default.money.maxSingleAmount.minorUnits

        // The batch, and in the same transaction how many account rows it wrote.
        let requests = requests(batched)
        let (batchLines, accountRowsWritten) = try await batched.ledger.pool.transaction { connection in
            // The backend's count of rows updated (it may include earlier transactions' not yet reported).
            func updated() async throws -> Int64 {
                var count: Int64 = 0
                for try await value in try await connection.query(
                    "SELECT pg_stat_get_xact_tuples_updated('account'::regclass)", logger: Logger(label: "test")
                ).decode(Int64.self) {
                    count = value
                }
                return count
            }
            let before = try await updated()
            let lines = try await TransferBatchTests.lines(try await connection.query("""
                SELECT * FROM hb_transfer_batch(\(requests.map(\.id.rawValue)), \(requests.map(\.from.rawValue)),
                                                \(requests.map(\.to.rawValue)), \(requests.map(\.amount.minorUnits)),
                                                \(requests.map(\.memo)), \(Array(1...Int64(requests.count))),
                                                \(now), \(maximum))
                """, logger: Logger(label: "test")))
            return (lines, try await updated() - before)
        }

        // The same transfers one call each, in order, in one transaction (what a batch was before).
        let reference = self.requests(oneByOne)
        let referenceLines = try await oneByOne.ledger.pool.transaction { connection in
            var lines: [String] = []
            for (index, request) in reference.enumerated() {
                lines += try await TransferBatchTests.lines(try await connection.query("""
                    SELECT \(index + 1)::INTEGER, * FROM hb_transfer(\(request.id.rawValue), \(request.from.rawValue),
                                                                     \(request.to.rawValue), \(request.amount.minorUnits),
                                                                     \(request.memo), \(now), \(maximum))
                    """, logger: Logger(label: "test")))
            }
            return lines
        }

        XCTAssertEqual(batchLines.count, requests.count)
        XCTAssertEqual(batchLines, referenceLines)
        let batchedState = try await state(batched)
        let referenceState = try await state(oneByOne)
        XCTAssertEqual(batchedState, referenceState)
        XCTAssertEqual(batchLines.filter { $0.contains("|applied|") }.count, 13)
        // alice, bob, carol and the mint changed; each row written once (one at a time: twice per transfer).
        XCTAssertEqual(accountRowsWritten, 4)
        let audit = try await batched.ledger.auditAccounts()
        XCTAssertEqual(audit, [])
    }

    /// A database made by the ledger's version 1 is brought to the last version in place when the ledger
    /// opens, and keeps its books.
    func testAVersion1LedgerIsBroughtUpToDateInPlace() async throws {
        let server = try running()
        let pool = try freshPool()
        try await PostgresSchema.ensure("ledger", tables: PostgresSchema.ledgerTables, steps: [PostgresSchema.ledger],
                                        on: pool)
        try server.psql("""
            INSERT INTO account (name, kind, balance, created_at) VALUES ('alice', 'user', 0, 0);
            SELECT * FROM hb_transfer('open.1', 1, 3, 500, 'deposit', 0, 1000000)
            """, database: pool.settings.database)
        let ledger = try await PostgresLedger(pool: pool, clock: ManualClock())
        XCTAssertEqual(try server.psql("SELECT version FROM hongbao_schema WHERE component = 'ledger'",
                                       database: pool.settings.database), "6")
        let bob = try await ledger.openAccount(name: "bob")
        let outcome = try await ledger.transfer(TransferRequest(id: "t.1", from: AccountID(3), to: bob.id,
                                                                amount: Money(minorUnits: 200), memo: "after"))
        XCTAssertEqual(outcome.record.fromBalanceAfter, Money(minorUnits: 300))
        XCTAssertEqual(outcome.record.sequence, 2, "the sequence goes on from version 1's transfers")
        let audit = try await ledger.auditAccounts()
        XCTAssertEqual(audit, [])
    }

    /// Version 5 drops the transfers' foreign keys to the accounts (checked per transfer, and redundant with the
    /// batch's own lock of both accounts); the audit finds what they kept out: a transfer naming no account.
    func testWithoutForeignKeysAStrayTransferIsFoundByTheAudit() async throws {
        let server = try running()
        let pool = try freshPool()
        let ledger = try await PostgresLedger(pool: pool, clock: ManualClock())
        let database = pool.settings.database
        XCTAssertEqual(try server.psql("SELECT COUNT(*) FROM pg_constraint WHERE conrelid = 'transfer'::regclass AND contype = 'f'",
                                       database: database), "0")
        let alice = try await ledger.openAccount(name: "alice", deposit: Money(minorUnits: 500))
        var audit = try await ledger.auditAccounts()
        XCTAssertEqual(audit, [])
        await assertThrows({
            try await ledger.transfer(TransferRequest(id: "t.stray", from: alice.id, to: AccountID(999),
                                                      amount: Money(minorUnits: 5), memo: "nobody"))
        }, LedgerError.unknownAccountID(AccountID(999)))
        _ = try server.psql("""
            INSERT INTO transfer (id, debit_id, credit_id, amount, debit_balance_after, credit_balance_after, memo, created_at)
            VALUES ('t.forced', \(alice.id.rawValue), 999, 5, 495, 5, 'forced', 0)
            """, database: database)
        audit = try await ledger.auditAccounts()
        XCTAssertTrue(audit.map(\.code).contains("ledger.accounts"), "\(audit)")
    }

    /// The transfer batch finds its accounts by key even when the server process made its plans while the table
    /// was small (version 6): one session calls it ten times on an account table analyzed with the settlement
    /// account alone, then 3,000 accounts arrive, and a batch of ten transfers between them makes no sequential
    /// scan of `account`. Before version 6 it made two: the read of the batch's accounts and their update.
    func testTheBatchFindsItsAccountsByKeyWhenItsPlansWereMadeOnASmallTable() async throws {
        let server = try running()
        let pool = try freshPool()
        _ = try await PostgresLedger(pool: pool, clock: ManualClock())
        let answers = try server.psql("""
            ANALYZE account;
            SELECT COUNT(*) FROM generate_series(1, 10) i,
                LATERAL hb_transfer_batch(ARRAY['warm.' || i], '{-1}', '{-2}', '{1}', '{m}', '{1}', 0, 1000000);
            INSERT INTO account (name, name_key, kind, balance, created_at)
            SELECT 'a' || g, 'a' || g, 'user', 100, 0 FROM generate_series(1, 3000) g;
            CREATE TEMP TABLE pairs AS SELECT f.id AS debit, t.id AS credit FROM generate_series(1, 10) g
                JOIN account f ON f.name = 'a' || g JOIN account t ON t.name = 'a' || (g + 10);
            CREATE TEMP TABLE before AS SELECT pg_stat_get_xact_numscans('account'::regclass) AS scans;
            SELECT COUNT(*) FILTER (WHERE status = 'applied') FROM hb_transfer_batch(
                ARRAY(SELECT 't.' || g FROM generate_series(1, 10) g), ARRAY(SELECT debit FROM pairs),
                ARRAY(SELECT credit FROM pairs), ARRAY(SELECT 5::BIGINT FROM generate_series(1, 10)),
                ARRAY(SELECT 'm' FROM generate_series(1, 10)), ARRAY(SELECT g::BIGINT FROM generate_series(1, 10) g),
                0, 1000000);
            SELECT pg_stat_get_xact_numscans('account'::regclass) - scans FROM before
            """, database: pool.settings.database)
        XCTAssertEqual(answers.split(separator: "\n"), ["10", "10", "0"],
                       "the warming calls' answers; the transfers applied; sequential scans of account in that batch")
    }

    /// Each batch's call of `hb_transfer_batch` and of `hb_packet_batch`, the open path's reads (an account by
    /// name, a claim by id) and the send path's batch (here a paid mark) run as statements the server keeps with
    /// the connection (parsed once, planned from a kept plan), not as text parsed and planned per call: on a pool
    /// of one connection, three of each add three runs each to those prepared statements.
    func testTheBatchCallsRunAsStatementsPreparedOncePerConnection() async throws {
        let pool = PostgresPool(settings: try running().freshDatabase(), maxConnections: 1)
        pools.append(pool)
        let clock = ManualClock()
        let ledger = try await PostgresLedger(pool: pool, clock: clock)
        let alice = try await ledger.openAccount(name: "alice", deposit: Money(minorUnits: 1_000))
        let bob = try await ledger.openAccount(name: "bob")
        let packets = try await PostgresPacketStore(pool: pool, clock: clock)
        let packet = try await packets.createPacket(PacketStoreContract.draft(), random: SeededRandomSource(seed: 3))
        _ = try await packets.markPaid(packet.id)
        func runs() async throws -> [String: Int64] {
            var runs: [String: Int64] = [:]
            for row in try await pool.rows(
                "SELECT name, generic_plans + custom_plans FROM pg_prepared_statements WHERE name LIKE 'hb_%_call'") {
                let (name, count) = try row.decode((String, Int64).self)
                runs[name] = count
            }
            return runs
        }
        let before = try await runs()
        for n in 1...3 {
            _ = try await ledger.transfer(TransferRequest(id: TransferID("p.\(n)"), from: alice.id, to: bob.id,
                                                          amount: Money(minorUnits: 1), memo: "m"))
            let slot = try await packets.grab(packet.id, user: PacketStoreContract.user(Int64(10 + n), "u\(n)"))
            XCTAssertEqual(slot, n)
            // The reads of every open and the send's paid mark, prepared too.
            let found = try await ledger.account(named: "bob")
            XCTAssertEqual(found?.id, bob.id)
            _ = try await packets.currentClaim(ClaimID("\(packet.id.rawValue).\(n)"))
            let paid = try await packets.markPaid(packet.id)
            XCTAssertEqual(paid.state, .open)
        }
        let after = try await runs()
        for name in ["hb_transfer_batch_call", "hb_packet_batch_call", "hb_account_by_name_call", "hb_claim_by_id_call",
                     "hb_send_batch_call"] {
            XCTAssertEqual(after[name].map { $0 - (before[name] ?? 0) }, 3, name)
        }
    }
}
