import Ledger
import PostgresStores
import Primitives
import TestKit
import XCTest

/// What both ledgers offer the contract: the `AccountStore` protocol and opening a funded account.
protocol ContractLedger: AccountStore {
    func openAccount(name: String, deposit: Money?) async throws -> Account
}

extension Ledger: ContractLedger {}
extension PostgresLedger: ContractLedger {}

/// The account store's contract: one test body each, run against SQLite (`SQLiteLedgerContractTests`) and
/// PostgreSQL (`PostgresLedgerContractTests`).
enum LedgerContract {
    static func balance(_ ledger: any ContractLedger, _ account: Account) async throws -> Money {
        let balance = try await ledger.balance(of: account.id)
        return try XCTUnwrap(balance)
    }

    /// A transfer moves money once; the same id again is a replay of the same record; the same id with other
    /// fields is refused and changes nothing.
    static func transferIsIdempotentByID(_ ledger: any ContractLedger) async throws {
        let alice = try await ledger.openAccount(name: "alice", deposit: Money(minorUnits: 10_000))
        let bob = try await ledger.openAccount(name: "bob", deposit: nil)
        XCTAssertEqual(alice.balance, Money(minorUnits: 10_000))
        let request = TransferRequest(id: "t-1", from: alice.id, to: bob.id, amount: Money(minorUnits: 2_500), memo: "lunch")
        let first = try await ledger.transfer(request)
        XCTAssertFalse(first.wasReplay)
        XCTAssertEqual(first.record.fromBalanceAfter, Money(minorUnits: 7_500))
        XCTAssertEqual(first.record.toBalanceAfter, Money(minorUnits: 2_500))
        let again = try await ledger.transfer(request)
        XCTAssertTrue(again.wasReplay)
        XCTAssertEqual(again.record, first.record)
        await assertThrows({
            try await ledger.transfer(TransferRequest(id: "t-1", from: alice.id, to: bob.id,
                                                      amount: Money(minorUnits: 2_600), memo: "lunch"))
        }, LedgerError.idempotencyConflict("t-1"))
        let aliceAfter = try await balance(ledger, alice)
        let bobAfter = try await balance(ledger, bob)
        XCTAssertEqual(aliceAfter, Money(minorUnits: 7_500))
        XCTAssertEqual(bobAfter, Money(minorUnits: 2_500))
        let found = try await ledger.transfers(["t-1", "t-missing"])
        XCTAssertEqual(Array(found.keys), ["t-1"])
        XCTAssertEqual(found["t-1"], first.record)
        let audit = try await ledger.auditAccounts()
        XCTAssertEqual(audit, [])
    }

    /// Settling decides for good: an id that exists is answered (and stays a replay), an id that does not is
    /// voided, so a transfer with it is refused however late it comes and moves nothing; settling again answers
    /// the same; the audit is clean.
    static func settlingVoidsTheMissingIDs(_ ledger: any ContractLedger) async throws {
        let alice = try await ledger.openAccount(name: "alice", deposit: Money(minorUnits: 10_000))
        let bob = try await ledger.openAccount(name: "bob", deposit: nil)
        func request(_ id: TransferID) -> TransferRequest {
            TransferRequest(id: id, from: alice.id, to: bob.id, amount: Money(minorUnits: 1_000), memo: "pay")
        }
        let paid = try await ledger.transfer(request("send:paid"))
        let settled = try await ledger.settleTransfers(["send:paid", "send:late"])
        XCTAssertEqual(settled, ["send:paid": paid.record])
        let replay = try await ledger.transfer(request("send:paid"))
        XCTAssertTrue(replay.wasReplay, "a transfer that existed is not voided")
        await assertThrows({ try await ledger.transfer(request("send:late")) }, LedgerError.voidedTransfer("send:late"))
        let again = try await ledger.settleTransfers(["send:late", "send:paid"])
        XCTAssertEqual(again, ["send:paid": paid.record])
        await assertThrows({ try await ledger.transfer(request("send:late")) }, LedgerError.voidedTransfer("send:late"))
        let aliceAfter = try await balance(ledger, alice)
        let bobAfter = try await balance(ledger, bob)
        XCTAssertEqual(aliceAfter, Money(minorUnits: 9_000))
        XCTAssertEqual(bobAfter, Money(minorUnits: 1_000))
        let late = try await ledger.transfers(["send:late"])
        XCTAssertEqual(late, [:])
        let audit = try await ledger.auditAccounts()
        XCTAssertEqual(audit, [])
    }

    /// Refused transfers (no funds, same account, unknown account, bad amounts) throw the ledger's error and
    /// move nothing.
    static func refusalsMoveNothing(_ ledger: any ContractLedger) async throws {
        let alice = try await ledger.openAccount(name: "alice", deposit: Money(minorUnits: 100))
        let bob = try await ledger.openAccount(name: "bob", deposit: nil)
        await assertThrows({
            try await ledger.transfer(TransferRequest(id: "r-1", from: alice.id, to: bob.id,
                                                      amount: Money(minorUnits: 101), memo: ""))
        }, LedgerError.insufficientFunds(account: "alice", balance: Money(minorUnits: 100), needed: Money(minorUnits: 101)))
        await assertThrows({
            try await ledger.transfer(TransferRequest(id: "r-2", from: alice.id, to: alice.id,
                                                      amount: Money(minorUnits: 1), memo: ""))
        }, LedgerError.sameAccount(alice.id))
        await assertThrows({
            try await ledger.transfer(TransferRequest(id: "r-3", from: alice.id, to: AccountID(999_999),
                                                      amount: Money(minorUnits: 1), memo: ""))
        }, LedgerError.unknownAccountID(AccountID(999_999)))
        await assertThrows({
            try await ledger.transfer(TransferRequest(id: "r-4", from: alice.id, to: bob.id, amount: .zero, memo: ""))
        }, LedgerError.invalidAmount(.zero))
        let tooMuch = Limits.default.money.maxSingleAmount + Money(minorUnits: 1)
        await assertThrows({
            try await ledger.transfer(TransferRequest(id: "r-5", from: alice.id, to: bob.id, amount: tooMuch, memo: ""))
        }, LedgerError.invalidAmount(tooMuch))
        let aliceAfter = try await balance(ledger, alice)
        let bobAfter = try await balance(ledger, bob)
        XCTAssertEqual(aliceAfter, Money(minorUnits: 100))
        XCTAssertEqual(bobAfter, .zero)
        let refused = try await ledger.transfers(["r-1", "r-2", "r-3", "r-4", "r-5"])
        XCTAssertEqual(refused, [:])
        let audit = try await ledger.auditAccounts()
        XCTAssertEqual(audit, [])
    }

    /// Many concurrent transfers, a third of them repeats of another's id: each id moves money once, money
    /// is conserved, the bills replay.
    static func concurrentTransfersConserveMoney(_ ledger: any ContractLedger) async throws {
        var accounts: [Account] = []
        for index in 0..<5 {
            accounts.append(try await ledger.openAccount(name: "user\(index)", deposit: Money(minorUnits: 1_000_000)))
        }
        let requests = (0..<300).map { index -> TransferRequest in
            let id = index % 3 == 2 ? index - 1 : index
            return TransferRequest(id: TransferID("c-\(id)"), from: accounts[id % 5].id, to: accounts[(id + 1) % 5].id,
                                   amount: Money(minorUnits: Int64(100 + id)), memo: "c")
        }
        let outcomes = try await withThrowingTaskGroup(of: TransferOutcome.self) { group in
            for request in requests { group.addTask { try await ledger.transfer(request) } }
            return try await group.reduce(into: [TransferOutcome]()) { $0.append($1) }
        }
        XCTAssertEqual(outcomes.filter { !$0.wasReplay }.count, 200)
        XCTAssertEqual(outcomes.filter(\.wasReplay).count, 100)
        var total = Money.zero
        for account in accounts { total = total + (try await balance(ledger, account)) }
        XCTAssertEqual(total, Money(minorUnits: 5_000_000))
        let stored = try await ledger.transfers(withPrefix: "c-")
        XCTAssertEqual(stored.count, 200)
        XCTAssertEqual(Set(stored.map(\.id)).count, 200)
        let audit = try await ledger.auditAccounts()
        XCTAssertEqual(audit, [])
    }

    /// The settlement account exists, is not a user's, and the prefix lookup finds exactly the prefixed ids.
    static func settlementAndPrefixes(_ ledger: any ContractLedger) async throws {
        let alice = try await ledger.openAccount(name: "alice", deposit: Money(minorUnits: 5_000))
        let settlement = try await ledger.userAccount(named: Account.settlementName)
        XCTAssertNil(settlement)
        let settled = try await ledger.balance(of: ledger.settlementAccountID)
        XCTAssertEqual(settled, .zero)
        _ = try await ledger.transfer(TransferRequest(id: "send:p1", from: alice.id, to: ledger.settlementAccountID,
                                                      amount: Money(minorUnits: 300), memo: "send"))
        _ = try await ledger.transfer(TransferRequest(id: "claim:p1.1", from: ledger.settlementAccountID, to: alice.id,
                                                      amount: Money(minorUnits: 100), memo: "claim"))
        _ = try await ledger.transfer(TransferRequest(id: "claim:p1.2", from: ledger.settlementAccountID, to: alice.id,
                                                      amount: Money(minorUnits: 50), memo: "claim"))
        _ = try await ledger.transfer(TransferRequest(id: "refund:p1", from: ledger.settlementAccountID, to: alice.id,
                                                      amount: Money(minorUnits: 150), memo: "refund"))
        let claims = try await ledger.transfers(withPrefix: "claim:")
        XCTAssertEqual(claims.map(\.id), ["claim:p1.1", "claim:p1.2"])
        let sends = try await ledger.transfers(withPrefix: "send:")
        XCTAssertEqual(sends.map(\.amount), [Money(minorUnits: 300)])
        let settledAfter = try await ledger.balance(of: ledger.settlementAccountID)
        XCTAssertEqual(settledAfter, .zero)
        let found = try await ledger.userAccount(named: "alice")
        XCTAssertEqual(found?.balance, Money(minorUnits: 5_000))
        let missing = try await ledger.userAccount(named: "nobody")
        XCTAssertNil(missing)
        // Looked up together: in the order asked, nil for a name with no user account (the settlement account's).
        let bob = try await ledger.openAccount(name: "bob", deposit: nil)
        let ids = try await ledger.userAccountIDs(named: ["bob", "nobody", Account.settlementName, "alice", "bob"])
        XCTAssertEqual(ids, [bob.id, nil, nil, alice.id, bob.id])
        let none = try await ledger.userAccountIDs(named: [])
        XCTAssertEqual(none, [])
    }

    /// A taken name, a look-alike of one, and an invalid name are refused; nothing is created.
    static func namesAreGuarded(_ ledger: any ContractLedger) async throws {
        _ = try await ledger.openAccount(name: "alice", deposit: nil)
        await assertThrows({ try await ledger.openAccount(name: "alice", deposit: nil) },
                           LedgerError.duplicateAccountName("alice"))
        do {
            _ = try await ledger.openAccount(name: "ALICE", deposit: nil)
            XCTFail("a look-alike name was accepted")
        } catch let LedgerError.invalidAccountName(name, _) {
            XCTAssertEqual(name, "ALICE")
        }
        do {
            _ = try await ledger.openAccount(name: "", deposit: nil)
            XCTFail("an empty name was accepted")
        } catch LedgerError.invalidAccountName {}
        let lookalike = try await ledger.userAccount(named: "ALICE")
        XCTAssertNil(lookalike)
    }
}
