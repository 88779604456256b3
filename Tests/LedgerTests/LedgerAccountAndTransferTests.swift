@testable import Ledger
import Primitives
import TestKit
import XCTest

final class LedgerAccountTests: LedgerTestCase {
    func testOpeningAnAccountWithACJKNameAndADeposit() async throws {
        let ledger = try makeLedger()
        let account = try await ledger.openAccount(name: "张三", deposit: Money(minorUnits: 1_234))
        XCTAssertEqual(account.name, "张三")
        XCTAssertEqual(account.kind, .user)
        XCTAssertEqual(account.balance, Money(minorUnits: 1_234))
        XCTAssertEqual(try ledger.account(named: "张三"), account)
        XCTAssertEqual(try ledger.account(id: account.id), account)
        XCTAssertEqual(try balance("mint", in: ledger), Money(minorUnits: -1_234))
        let totals = try ledger.totals()
        XCTAssertEqual(totals.sumOfBalances, .zero)
        XCTAssertEqual(totals.moneyIssued, Money(minorUnits: 1_234))
        XCTAssertEqual(totals.transferCount, 1)
        XCTAssertEqual(try ledger.userAccountCount(), 1)
    }

    func testAccountsFilterAndPageOverTheWholeLedger() async throws {
        let ledger = try makeLedger()
        for index in 1...30 { _ = try await ledger.openAccount(name: "u\(1_000 + index)", deposit: Money(yuan: Int64(index))) }
        _ = try await ledger.openAccount(name: "张三", deposit: Money(yuan: 100))
        let richest = try ledger.accounts(matching: nil, order: .balanceDescending, limit: 3, offset: 0).map(\.name)
        XCTAssertEqual(richest, ["张三", "u1030", "u1029"])
        XCTAssertEqual(try ledger.accounts(matching: nil, order: .balanceDescending, limit: 2, offset: 30).map(\.name), ["u1001"])
        XCTAssertEqual(try ledger.accounts(matching: "U102", order: .balanceDescending, limit: 50, offset: 0).map(\.name),
                       (1_020...1_029).reversed().map { "u\($0)" }, "case-insensitive, past the first page")
        XCTAssertEqual(try ledger.accounts(matching: "张", order: .balanceDescending, limit: 5, offset: 0).map(\.name), ["张三"])
        XCTAssertEqual(try ledger.accounts(matching: "u102", order: .balanceDescending, limit: 3, offset: 9).map(\.name), ["u1020"])
        XCTAssertEqual(try ledger.userAccountCount(matching: "u102"), 10)
        XCTAssertEqual(try ledger.userAccountCount(matching: nil), 31)
        XCTAssertEqual(try ledger.userAccountCount(matching: "mint"), 0, "only people")
    }

    func testOpeningWithoutDepositStartsAtZero() async throws {
        let ledger = try makeLedger()
        let account = try await ledger.openAccount(name: "lisi")
        XCTAssertEqual(account.balance, .zero)
        XCTAssertEqual(try ledger.totals().transferCount, 0)
    }

    func testInvalidNamesAreRejectedAndNothingIsWritten() async throws {
        let ledger = try makeLedger()
        let tooLong = String(repeating: "字", count: Limits.default.packets.maxNameLength + 1)
        for name in ["", "mint", "escrow:abc", "a:b", "a b", " ", "tab\there", "new\nline", "nul\u{0}", "\u{3000}全角空格", tooLong] {
            do {
                _ = try await ledger.openAccount(name: name, deposit: Money(yuan: 1))
                XCTFail("opened an account named \(name.debugDescription)")
            } catch let LedgerError.invalidAccountName(rejected, reason: _) {
                XCTAssertEqual(rejected, name)
            } catch {
                XCTFail("\(name.debugDescription): unexpected \(error)")
            }
        }
        XCTAssertEqual(try ledger.userAccountCount(), 0)
        let totals = try ledger.totals()
        XCTAssertEqual(totals.moneyIssued, .zero)
        XCTAssertEqual(totals.transferCount, 0)
        XCTAssertEqual(totals.accountCount, 2, "only the mint and the red-packet system's settlement account")
    }

    func testTheLongestAllowedNameIsAccepted() async throws {
        let ledger = try makeLedger()
        let longest = String(repeating: "字", count: Limits.default.packets.maxNameLength)
        let account = try await ledger.openAccount(name: longest)
        XCTAssertEqual(account.name, longest)
    }

    func testDuplicateNameIsRejectedAndTheFirstAccountIsUntouched() async throws {
        let ledger = try makeLedger()
        let first = try await ledger.openAccount(name: "张三", deposit: Money(yuan: 5))
        await assertThrows({ try await ledger.openAccount(name: "张三", deposit: Money(yuan: 7)) },
                           LedgerError.duplicateAccountName("张三"))
        XCTAssertEqual(try ledger.account(named: "张三"), first)
        XCTAssertEqual(try ledger.userAccountCount(), 1)
        XCTAssertEqual(try ledger.totals().moneyIssued, Money(yuan: 5))
    }

    func testConcurrentOpensOfTheSameNameCreateOneAccount() async throws {
        let ledger = try makeLedger()
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask { (try? await ledger.openAccount(name: "dup", deposit: Money(yuan: 1))) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        XCTAssertEqual(outcomes.filter { $0 }.count, 1)
        XCTAssertEqual(try balance("dup", in: ledger), Money(yuan: 1))
        XCTAssertEqual(try ledger.totals().moneyIssued, Money(yuan: 1))
    }

    func testAFailedDepositRollsBackTheNewAccount() async throws {
        let ledger = try makeLedger()
        await assertThrows({ try await ledger.openAccount(name: "zero", deposit: .zero) }, LedgerError.invalidAmount(.zero))
        XCTAssertNil(try ledger.account(named: "zero"))
        XCTAssertEqual(try ledger.userAccountCount(), 0)
    }

    func testAccountListingsAreOrdered() async throws {
        let ledger = try makeLedger()
        _ = try await ledger.openAccount(name: "b", deposit: Money(yuan: 1))
        _ = try await ledger.openAccount(name: "a", deposit: Money(yuan: 3))
        _ = try await ledger.openAccount(name: "c", deposit: Money(yuan: 2))
        XCTAssertEqual(try ledger.accounts(order: .name).map(\.name), ["a", "b", "c"])
        XCTAssertEqual(try ledger.accounts(order: .balanceDescending).map(\.name), ["a", "c", "b"])
        XCTAssertEqual(try ledger.accounts(order: .name, limit: 1, offset: 1).map(\.name), ["b"])
        _ = try await ledger.openAccount(name: "d", deposit: Money(yuan: 2))
        XCTAssertEqual(try ledger.accounts(order: .balanceDescending).map(\.name), ["a", "c", "d", "b"],
                       "equal balances in account order")
    }

    /// Balances are not indexed (every balance change would move an index entry); a ledger made before
    /// `ledger.v2` loses its balance index when it is opened.
    func testBalancesAreNotIndexedAndAnOldLedgersIndexIsDropped() async throws {
        func balanceIndexes(_ ledger: Ledger) throws -> [String] {
            try ledger.read { database in
                try String.fetchAll(database, sql: """
                    SELECT DISTINCT il.name FROM pragma_index_list('account') il, pragma_index_info(il.name) ii
                    WHERE ii.name = 'balance'
                    """)
            }
        }
        var ledger: Ledger? = try makeLedger()
        XCTAssertEqual(try balanceIndexes(ledger!), [])
        try await ledger!.write { transaction in
            try transaction.database.execute(sql: "CREATE INDEX account_by_balance ON account (balance) WHERE kind = 'user'")
            try transaction.database.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'ledger.v2'")
        }
        XCTAssertEqual(try balanceIndexes(ledger!), ["account_by_balance"])
        // Closed before the reopen: a release left to deinit may still hold the file when the next one opens.
        try ledger!.close()
        ledger = nil
        ledger = try makeLedger()
        XCTAssertEqual(try balanceIndexes(ledger!), [])
    }
}

final class LedgerTransferTests: LedgerTestCase {
    private func twoAccounts(_ ledger: Ledger, aDeposit: Money = Money(yuan: 100)) async throws -> (Account, Account) {
        let a = try await ledger.openAccount(name: "a", deposit: aDeposit)
        let b = try await ledger.openAccount(name: "b")
        return (a, b)
    }

    func testDepositsComeFromTheMint() async throws {
        let ledger = try makeLedger()
        let (a, _) = try await twoAccounts(ledger, aDeposit: Money(minorUnits: 1))
        let outcome = try await ledger.write { try $0.deposit(Money(minorUnits: 99_999), to: a.id, id: "d1") }
        XCTAssertFalse(outcome.wasReplay)
        XCTAssertEqual(outcome.record.toBalanceAfter, Money(minorUnits: 100_000))
        XCTAssertEqual(outcome.record.fromBalanceAfter, Money(minorUnits: -100_000))
        XCTAssertEqual(outcome.record.memo, "deposit")
        XCTAssertEqual(try balance("a", in: ledger), Money(minorUnits: 100_000))
        XCTAssertEqual(try balance("mint", in: ledger), Money(minorUnits: -100_000))
        XCTAssertEqual(try ledger.totals().moneyIssued, Money(minorUnits: 100_000))
    }

    func testTransferMovesTheExactAmountAndBalancesSumToZero() async throws {
        let ledger = try makeLedger()
        let (a, b) = try await twoAccounts(ledger)
        let outcome = try await ledger.transfer(TransferRequest(id: "t1", from: a.id, to: b.id, amount: Money(minorUnits: 1_234), memo: "lunch"))
        guard case let .applied(record) = outcome else { return XCTFail("not applied: \(outcome)") }
        XCTAssertEqual(record.id, "t1")
        XCTAssertEqual(record.from, a.id)
        XCTAssertEqual(record.to, b.id)
        XCTAssertEqual(record.amount, Money(minorUnits: 1_234))
        XCTAssertEqual(record.fromBalanceAfter, Money(minorUnits: 8_766))
        XCTAssertEqual(record.toBalanceAfter, Money(minorUnits: 1_234))
        XCTAssertEqual(record.memo, "lunch")
        XCTAssertEqual(record.at, clock.now())
        XCTAssertEqual(try ledger.transfer(id: "t1"), record)
        XCTAssertEqual(try balance("a", in: ledger), Money(minorUnits: 8_766))
        XCTAssertEqual(try balance("b", in: ledger), Money(minorUnits: 1_234))
        XCTAssertEqual(try ledger.totals().sumOfBalances, .zero)
        XCTAssertEqual(try ledger.auditLedger(), [])
    }

    func testTransferOfTheWholeBalanceLeavesZero() async throws {
        let ledger = try makeLedger()
        let (a, b) = try await twoAccounts(ledger, aDeposit: Money(minorUnits: 1))
        try await ledger.transfer(TransferRequest(id: "all", from: a.id, to: b.id, amount: Money(minorUnits: 1), memo: ""))
        XCTAssertEqual(try balance("a", in: ledger), .zero)
        XCTAssertEqual(try balance("b", in: ledger), Money(minorUnits: 1))
    }

    func testInsufficientFundsIsRejectedAndNothingIsWritten() async throws {
        let ledger = try makeLedger()
        let (a, b) = try await twoAccounts(ledger, aDeposit: Money(minorUnits: 1_000))
        let before = try ledger.totals()
        await assertThrows(
            { try await ledger.transfer(TransferRequest(id: "big", from: a.id, to: b.id, amount: Money(minorUnits: 1_001), memo: "")) },
            LedgerError.insufficientFunds(account: "a", balance: Money(minorUnits: 1_000), needed: Money(minorUnits: 1_001)))
        XCTAssertNil(try ledger.transfer(id: "big"))
        XCTAssertEqual(try balance("a", in: ledger), Money(minorUnits: 1_000))
        XCTAssertEqual(try balance("b", in: ledger), .zero)
        XCTAssertEqual(try ledger.totals(), before)
        XCTAssertEqual(try ledger.bills(of: b.id), [])
    }

    func testAFailedTransferIdCanBeUsedOnceFundsArrive() async throws {
        let ledger = try makeLedger()
        let (a, b) = try await twoAccounts(ledger, aDeposit: Money(minorUnits: 5))
        let request = TransferRequest(id: "later", from: a.id, to: b.id, amount: Money(minorUnits: 10), memo: "")
        do {
            try await ledger.transfer(request)
            XCTFail("overdraft allowed")
        } catch LedgerError.insufficientFunds {}
        _ = try await ledger.write { try $0.deposit(Money(minorUnits: 5), to: a.id, id: "top-up") }
        let outcome = try await ledger.transfer(request)
        XCTAssertFalse(outcome.wasReplay)
        XCTAssertEqual(try balance("b", in: ledger), Money(minorUnits: 10))
    }

    func testReplayingATransferReturnsTheOriginalRecordAndChangesNothing() async throws {
        let ledger = try makeLedger()
        let (a, b) = try await twoAccounts(ledger)
        let request = TransferRequest(id: "once", from: a.id, to: b.id, amount: Money(minorUnits: 2_500), memo: "rent")
        let first = try await ledger.transfer(request)
        XCTAssertFalse(first.wasReplay)
        clock.advance(by: .seconds(60))
        try await ledger.transfer(TransferRequest(id: "other", from: a.id, to: b.id, amount: Money(minorUnits: 100), memo: ""))
        let totalsBefore = try ledger.totals()

        let replay = try await ledger.transfer(request)
        XCTAssertEqual(replay, .alreadyApplied(first.record))
        XCTAssertTrue(replay.wasReplay)
        XCTAssertEqual(replay.record.fromBalanceAfter, Money(minorUnits: 7_500), "the original balances, not today's")
        XCTAssertEqual(try balance("a", in: ledger), Money(minorUnits: 7_400))
        XCTAssertEqual(try balance("b", in: ledger), Money(minorUnits: 2_600))
        XCTAssertEqual(try ledger.totals(), totalsBefore)
    }

    func testReplayingAfterTheSenderIsEmptyIsStillAReplayNotAnOverdraft() async throws {
        let ledger = try makeLedger()
        let (a, b) = try await twoAccounts(ledger, aDeposit: Money(yuan: 1))
        let request = TransferRequest(id: "all-in", from: a.id, to: b.id, amount: Money(yuan: 1), memo: "")
        let first = try await ledger.transfer(request)
        let replay = try await ledger.transfer(request)
        XCTAssertEqual(replay, .alreadyApplied(first.record))
    }

    func testConcurrentReplaysApplyOnce() async throws {
        let ledger = try makeLedger()
        let (a, b) = try await twoAccounts(ledger)
        let request = TransferRequest(id: "same", from: a.id, to: b.id, amount: Money(minorUnits: 777), memo: "")
        let outcomes = try await withThrowingTaskGroup(of: TransferOutcome.self) { group in
            for _ in 0..<50 { group.addTask { try await ledger.transfer(request) } }
            return try await group.reduce(into: [TransferOutcome]()) { $0.append($1) }
        }
        XCTAssertEqual(outcomes.filter { !$0.wasReplay }.count, 1)
        XCTAssertTrue(outcomes.allSatisfy { $0.record == outcomes[0].record })
        XCTAssertEqual(try balance("b", in: ledger), Money(minorUnits: 777))
        XCTAssertEqual(try balance("a", in: ledger), Money(minorUnits: 9_223))
    }

    func testSameIdWithOtherFieldsIsAConflict() async throws {
        let ledger = try makeLedger()
        let (a, b) = try await twoAccounts(ledger)
        let c = try await ledger.openAccount(name: "c")
        try await ledger.transfer(TransferRequest(id: "k", from: a.id, to: b.id, amount: Money(minorUnits: 100), memo: ""))
        let totalsBefore = try ledger.totals()
        for other in [
            TransferRequest(id: "k", from: a.id, to: b.id, amount: Money(minorUnits: 101), memo: ""),
            TransferRequest(id: "k", from: a.id, to: c.id, amount: Money(minorUnits: 100), memo: ""),
            TransferRequest(id: "k", from: b.id, to: a.id, amount: Money(minorUnits: 100), memo: ""),
        ] {
            await assertThrows({ try await ledger.transfer(other) }, LedgerError.idempotencyConflict("k"))
        }
        XCTAssertEqual(try ledger.totals(), totalsBefore)
        XCTAssertEqual(try balance("b", in: ledger), Money(minorUnits: 100))
        XCTAssertEqual(try balance("c", in: ledger), .zero)
    }

    func testInvalidTransfersAreRejected() async throws {
        let ledger = try makeLedger()
        let (a, b) = try await twoAccounts(ledger)
        let max = Limits.default.money.maxSingleAmount
        let cases: [(TransferRequest, LedgerError)] = [
            (TransferRequest(id: "z", from: a.id, to: b.id, amount: .zero, memo: ""), .invalidAmount(.zero)),
            (TransferRequest(id: "n", from: a.id, to: b.id, amount: Money(minorUnits: -1), memo: ""), .invalidAmount(Money(minorUnits: -1))),
            (TransferRequest(id: "x", from: a.id, to: b.id, amount: max + Money(minorUnits: 1), memo: ""),
             .invalidAmount(max + Money(minorUnits: 1))),
            (TransferRequest(id: "s", from: a.id, to: a.id, amount: Money(minorUnits: 1), memo: ""), .sameAccount(a.id)),
            (TransferRequest(id: "u", from: a.id, to: AccountID(999), amount: Money(minorUnits: 1), memo: ""), .unknownAccountID(AccountID(999))),
            (TransferRequest(id: "v", from: AccountID(998), to: a.id, amount: Money(minorUnits: 1), memo: ""), .unknownAccountID(AccountID(998))),
        ]
        let before = try ledger.totals()
        for (request, error) in cases {
            await assertThrows({ try await ledger.transfer(request) }, error)
            XCTAssertNil(try ledger.transfer(id: request.id))
        }
        XCTAssertEqual(try ledger.totals(), before)
    }

    func testABalanceThatWouldOverflowIsRefusedAndNothingIsWritten() async throws {
        var limits = Limits.default
        limits.money.maxSingleAmount = Money(minorUnits: .max)
        let ledger = try makeLedger(limits: limits)
        let a = try await ledger.openAccount(name: "a", deposit: Money(minorUnits: .max))
        let b = try await ledger.openAccount(name: "b", deposit: Money(minorUnits: 1))
        // Only reachable with limits far beyond any real use; `totals()` cannot negate Int64.min, so check by hand.
        XCTAssertEqual(try balance("mint", in: ledger), Money(minorUnits: .min))
        await assertThrows({ try await ledger.write { try $0.deposit(Money(minorUnits: 1), to: b.id, id: "one-too-many") } },
                           LedgerError.arithmeticOverflow)
        await assertThrows({ try await ledger.transfer(TransferRequest(id: "into-a", from: b.id, to: a.id, amount: Money(minorUnits: 1), memo: "")) },
                           LedgerError.arithmeticOverflow)
        XCTAssertNil(try ledger.transfer(id: "one-too-many"))
        XCTAssertNil(try ledger.transfer(id: "into-a"))
        XCTAssertEqual(try balance("mint", in: ledger), Money(minorUnits: .min))
        XCTAssertEqual(try balance("a", in: ledger), Money(minorUnits: .max))
        XCTAssertEqual(try balance("b", in: ledger), Money(minorUnits: 1))
    }

    func testBillsShowTheRunningBalanceNewestFirst() async throws {
        let ledger = try makeLedger()
        let (a, b) = try await twoAccounts(ledger)          // a: +100.00 (deposit)
        clock.advance(by: .seconds(1))
        try await ledger.transfer(TransferRequest(id: "t1", from: a.id, to: b.id, amount: Money(minorUnits: 3_000), memo: "out"))
        clock.advance(by: .seconds(1))
        try await ledger.transfer(TransferRequest(id: "t2", from: b.id, to: a.id, amount: Money(minorUnits: 505), memo: "back"))
        let bills = try ledger.bills(of: a.id)
        XCTAssertEqual(bills.map(\.transferID), ["t2", "t1", TransferID("open:\(a.id.rawValue)")])
        XCTAssertEqual(bills.map(\.amount), [Money(minorUnits: 505), Money(minorUnits: -3_000), Money(yuan: 100)])
        XCTAssertEqual(bills.map(\.balanceAfter), [Money(minorUnits: 7_505), Money(minorUnits: 7_000), Money(yuan: 100)])
        XCTAssertEqual(bills.map(\.counterparty), ["b", "b", "mint"])
        XCTAssertEqual(bills.map(\.memo), ["back", "out", "deposit"])
        XCTAssertEqual(bills[0].at.millisecondsSinceEpoch - bills[2].at.millisecondsSinceEpoch, 2_000)
        XCTAssertEqual(bills.first?.balanceAfter, try balance("a", in: ledger))
        XCTAssertEqual(try ledger.bills(of: b.id).map(\.balanceAfter), [Money(minorUnits: 2_495), Money(minorUnits: 3_000)])
        XCTAssertEqual(try ledger.bills(of: a.id, limit: 1).map(\.transferID), ["t2"])
    }
}

final class LedgerAccountNameEquivalenceTests: LedgerTestCase {
    /// "é" typed as one scalar (NFC) and as e + combining accent (NFD) look the same to a person: they must not
    /// be two accounts.
    func testCanonicallyEquivalentNamesAreNotTwoAccounts() async throws {
        let ledger = try makeLedger()
        let composed = "Andr\u{E9}"
        let decomposed = "Andre\u{301}"
        XCTAssertEqual(composed, decomposed, "Swift compares by canonical equivalence")
        _ = try await ledger.openAccount(name: composed, deposit: Money(yuan: 1))
        do {
            _ = try await ledger.openAccount(name: decomposed, deposit: Money(yuan: 1))
            XCTFail("a second account with a canonically equivalent name was opened")
        } catch LedgerError.duplicateAccountName, LedgerError.invalidAccountName {}
        XCTAssertEqual(try ledger.userAccountCount(), 1)
    }
}
