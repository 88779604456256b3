import Dispatch
@testable import Ledger
import Primitives
import Synchronization
import TestKit
import XCTest

/// Holds the writer inside a transaction until `expected` callers have arrived, so that they pile up behind
/// it and form the next batch. No sleeps, no timing thresholds: only the batch boundaries can vary, and the
/// assertions hold for any boundaries short of one commit per write.
final class WriterGate: Sendable {
    private let arrived = Atomic<Int>(0)
    private let everyoneArrived = DispatchSemaphore(value: 0)
    private let expected: Int
    let entered = AsyncFlag()

    init(expecting expected: Int) { self.expected = expected }

    /// Called by each caller just before its `ledger.write`.
    func arrive() {
        if arrived.add(1, ordering: .sequentiallyConsistent).newValue == expected { everyoneArrived.signal() }
    }

    /// Blocks the ledger's writer (call from inside a write) until everyone has arrived.
    func hold() {
        entered.fire()
        everyoneArrived.wait()
    }
}

final class LedgerGroupCommitTests: LedgerTestCase {
    func testFiveHundredConcurrentWritesAllSucceedInFarFewerCommits() async throws {
        let ledger = try makeLedger(durability: .full)
        let writes = 500
        var ids: [AccountID] = []
        for index in 0..<10 { ids.append(try await ledger.openAccount(name: "u\(index)", deposit: Money(yuan: 1_000)).id) }
        let users = ids
        let transfersBefore = try ledger.totals().transferCount
        let commitsBefore = ledger.commitCount

        let gate = WriterGate(expecting: writes)
        let holder = Task { try await ledger.write { _ in gate.hold() } }
        await gate.entered.wait()
        let failures = await withTaskGroup(of: String?.self) { group in
            for index in 0..<writes {
                group.addTask {
                    gate.arrive()
                    do {
                        let outcome = try await ledger.transfer(TransferRequest(
                            id: TransferID("gc-\(index)"), from: users[index % 10], to: users[(index + 1) % 10],
                            amount: Money(minorUnits: Int64(index + 1)), memo: "gc"))
                        return outcome.wasReplay ? "gc-\(index) replayed" : nil
                    } catch {
                        return "gc-\(index): \(error)"
                    }
                }
            }
            return await group.compactMap { $0 }.reduce(into: [String]()) { $0.append($1) }
        }
        try await holder.value

        XCTAssertEqual(failures, [])
        let commits = ledger.commitCount - commitsBefore
        XCTAssertLessThan(commits, writes, "group commit folded nothing: \(commits) commits for \(writes) writes")
        XCTAssertEqual(try ledger.totals().transferCount - transfersBefore, Int64(writes))
        // user k sends (index+1) fen for every index ≡ k (mod 10) and receives for every index ≡ k−1 (mod 10).
        for k in 0..<10 {
            let sent = stride(from: k, to: writes, by: 10).reduce(Int64(0)) { $0 + Int64($1 + 1) }
            let received = stride(from: (k + 9) % 10, to: writes, by: 10).reduce(Int64(0)) { $0 + Int64($1 + 1) }
            XCTAssertEqual(try balance("u\(k)", in: ledger), Money(minorUnits: 100_000 - sent + received), "u\(k)")
        }
        XCTAssertEqual(try ledger.auditLedger(), [])
    }

    func testAUnitThatThrowsIsRolledBackAloneWhileItsBatchCommits() async throws {
        let ledger = try makeLedger()
        let a = try await ledger.openAccount(name: "a", deposit: Money(yuan: 1_000)).id
        let b = try await ledger.openAccount(name: "b").id
        let units = 60
        let gate = WriterGate(expecting: units)
        let holder = Task { try await ledger.write { _ in gate.hold() } }
        await gate.entered.wait()

        // Every third unit transfers and then throws; each unit notes the commit count it ran under, which
        // is the same for all the units of one batch.
        let outcomes = await withTaskGroup(of: (index: Int, batch: Int, error: (any Error)?).self) { group in
            for index in 0..<units {
                group.addTask {
                    gate.arrive()
                    let failing = index % 3 == 0
                    do {
                        let batch = try await ledger.write { transaction -> Int in
                            try transaction.transfer(TransferRequest(
                                id: TransferID("u-\(index)"), from: a, to: b, amount: Money(minorUnits: 100), memo: ""))
                            if failing { throw DeliberateFailure() }
                            return ledger.commitCount
                        }
                        return (index, batch, nil)
                    } catch {
                        return (index, -1, error)
                    }
                }
            }
            return await group.reduce(into: [(index: Int, batch: Int, error: (any Error)?)]()) { $0.append($1) }
        }
        try await holder.value

        for outcome in outcomes {
            if outcome.index % 3 == 0 {
                XCTAssertTrue(outcome.error is DeliberateFailure, "unit \(outcome.index): \(String(describing: outcome.error))")
                XCTAssertNil(try ledger.transfer(id: TransferID("u-\(outcome.index)")))
            } else {
                XCTAssertNil(outcome.error, "unit \(outcome.index)")
                XCTAssertNotNil(try ledger.transfer(id: TransferID("u-\(outcome.index)")))
            }
        }
        let succeeded = Int64(units - units / 3)
        XCTAssertEqual(try balance("b", in: ledger), Money(minorUnits: 100 * succeeded))
        XCTAssertEqual(try balance("a", in: ledger), Money(minorUnits: 100_000 - 100 * succeeded))
        XCTAssertEqual(try ledger.auditLedger(), [])
        // The successes shared batches: fewer distinct batches than successful units.
        let batches = Set(outcomes.filter { $0.error == nil }.map(\.batch))
        XCTAssertLessThan(batches.count, Int(succeeded))
    }

    func testNoCommitFoldsMoreThanTheLimit() async throws {
        var limits = Limits.default
        limits.ledger.maxTransactionsPerCommit = 4
        let ledger = try makeLedger(limits: limits)
        let a = try await ledger.openAccount(name: "a", deposit: Money(yuan: 1_000)).id
        let b = try await ledger.openAccount(name: "b").id
        let writes = 100
        let gate = WriterGate(expecting: writes)
        let holder = Task { try await ledger.write { _ in gate.hold() } }
        await gate.entered.wait()
        // Each unit notes the commit count it ran under: the units of one batch share it.
        let batches = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<writes {
                group.addTask {
                    gate.arrive()
                    return try await ledger.write { transaction in
                        try transaction.transfer(TransferRequest(
                            id: TransferID("cap-\(index)"), from: a, to: b, amount: Money(minorUnits: 1), memo: ""))
                        return ledger.commitCount
                    }
                }
            }
            return try await group.reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
        }
        try await holder.value
        XCTAssertEqual(batches.values.reduce(0, +), writes)
        XCTAssertLessThanOrEqual(batches.values.max() ?? 0, 4, "\(batches)")
        XCTAssertGreaterThanOrEqual(batches.count, writes / 4)
        XCTAssertEqual(try balance("b", in: ledger), Money(minorUnits: Int64(writes)))
    }

    func testAThrowingWriteReturnsItsOwnErrorAndWritesNothing() async throws {
        let ledger = try makeLedger()
        let a = try await ledger.openAccount(name: "a", deposit: Money(yuan: 10)).id
        do {
            _ = try await ledger.write { transaction -> Void in
                _ = try transaction.openAccount(name: "ghost")
                try transaction.deposit(Money(yuan: 5), to: a, id: "ghost-deposit")
                throw DeliberateFailure()
            }
            XCTFail("the write did not throw")
        } catch is DeliberateFailure {}
        XCTAssertNil(try ledger.account(named: "ghost"))
        XCTAssertNil(try ledger.transfer(id: "ghost-deposit"))
        XCTAssertEqual(try balance("a", in: ledger), Money(yuan: 10))
    }

    func testWriteNowBypassesTheGroupWriterButKeepsTheRules() throws {
        let ledger = try makeLedger()
        let id = try ledger.writeNow { transaction -> AccountID in
            let account = try transaction.openAccount(name: "bulk")
            try transaction.deposit(Money(minorUnits: 42), to: account.id, id: "bulk-1")
            return account.id
        }
        XCTAssertEqual(try ledger.account(id: id)?.balance, Money(minorUnits: 42))
        XCTAssertThrowsError(try ledger.writeNow { try $0.openAccount(name: "bulk") }) { error in
            XCTAssertEqual(error as? LedgerError, .duplicateAccountName("bulk"))
        }
    }
}
