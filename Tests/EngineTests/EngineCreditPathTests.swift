import AccountService
import Engine
import Foundation
import Ledger
import MessageQueue
import Primitives
import RedPackets
import TestKit
import XCTest

/// The credit path of DESIGN section 5 on a real engine (real ledger, real three-copy queue, real workers),
/// with short retry timings so that it runs in seconds. Conditions are awaited by polling with a deadline.
final class EngineCreditPathTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-engine")
    }

    override func tearDown() {
        directory.remove()
    }

    private func configuration() -> EngineConfiguration {
        var configuration = EngineConfiguration(dataPath: directory.path, workers: 2)
        configuration.durability = .normal
        configuration.limits.credit.retryBase = .milliseconds(5)
        configuration.limits.credit.retryCap = .milliseconds(50)
        configuration.limits.credit.workerPollWait = .milliseconds(100)
        configuration.limits.credit.workerVisibility = .seconds(1)
        configuration.random = SeededRandomSource(seed: 7)
        return configuration
    }

    /// Starts an engine and runs it until `body` returns; then stops it cleanly.
    private func withRunningEngine(
        _ configuration: EngineConfiguration? = nil, _ body: (Engine) async throws -> Void
    ) async throws {
        let engine = try await Engine.start(configuration ?? self.configuration())
        let running = Task { await engine.run() }
        do {
            try await body(engine)
        } catch {
            running.cancel()
            _ = await running.value
            await engine.close()
            throw error
        }
        running.cancel()
        _ = await running.value
        await engine.close()
    }

    private func seedAndSend(_ engine: Engine, shares: Int = 5) async throws -> Packet {
        _ = try await engine.sqlite().ledger.openAccount(name: "alice", deposit: Money(yuan: 1_000))
        for name in ["bob", "carol", "dave", "erin", "frank"] { _ = try await engine.sqlite().ledger.openAccount(name: name) }
        return try await engine.send(.group(from: "alice", total: Money(yuan: 100), shares: shares))
    }

    func testAFailedCreditWaitsInTheQueueAndIsCreditedExactlyOnceWhenTheAccountSystemRecovers() async throws {
        try await withRunningEngine { engine in
            let packet = try await seedAndSend(engine)
            engine.setCreditFailure(percent: 100)
            try await engine.grab(packet.id, user: "bob")
            let opened = try await engine.open(packet.id, user: "bob")
            XCTAssertNotNil(opened.creditFailure, "the in-line credit must have failed")
            XCTAssertTrue(opened.claim.amount.isPositive, "the opener sees the amount at once")
            XCTAssertEqual(opened.claim.state, .waiting, "the opener is told the claim is on its way")
            // The waiting mark joins the packet store's next commit after the opener is told.
            await waitUntil("the waiting mark", timeout: .seconds(20), interval: .milliseconds(5)) {
                (try? engine.packets.claim(opened.claim.id)?.state) == .waiting
            }
            XCTAssertEqual(try engine.sqlite().ledger.account(named: "bob")?.balance, .zero)
            let queued = try await engine.sqlite().queue.counters(of: "credits")
            XCTAssertEqual(queued.total, 1, "the failed credit is one message in the credit queue")

            // Workers keep failing while the failure rate is 100%: the claim stays waiting, money stays in escrow.
            await waitUntil("a retry attempt", timeout: .seconds(20), interval: .milliseconds(20)) {
                engine.workers.snapshot.failed >= 2
            }
            XCTAssertEqual(try engine.packets.claim(opened.claim.id)?.state, .waiting)
            // Where the credit stands, as the dashboard's waiting list and `packet show` say it: the workers'
            // attempts are the message's receive count in the queue, the next try its visibility.
            // (Read between two looks at the message that agree, so that no worker's receive falls in between.)
            engine.pauseWorkers()
            func message() async throws -> StoredMessage? {
                try await engine.sqlite().queue.peek("credits", count: 10).first { $0.id == opened.claim.id.rawValue }
            }
            var progress: [ClaimID: CreditProgress] = [:]
            var before: StoredMessage?, after: StoredMessage?
            for _ in 0..<100 {
                before = try await message()
                progress = try await engine.creditProgress(of: [opened.claim.id, ClaimID("no-such-claim")])
                after = try await message()
                if before == after { break }
            }
            let message = after
            XCTAssertEqual(before, after)
            engine.resumeWorkers()
            XCTAssertEqual(Array(progress.keys), [opened.claim.id], "a claim with no message has no progress")
            XCTAssertEqual(progress[opened.claim.id]?.attempts, message?.receiveCount)
            XCTAssertGreaterThanOrEqual(progress[opened.claim.id]?.attempts ?? 0, 2)
            XCTAssertEqual(progress[opened.claim.id]?.nextTryAt, message?.visibleAt)
            XCTAssertEqual(progress[opened.claim.id]?.deadLettered, false)

            engine.setCreditFailure(percent: 0)
            try await waitUntil("the claim credited", timeout: .seconds(20), interval: .milliseconds(20)) {
                try engine.packets.claim(opened.claim.id)?.state == .credited
            }
            try await waitUntil("the queue empty", timeout: .seconds(20), interval: .milliseconds(20)) {
                try await engine.sqlite().queue.counters(of: "credits").total == 0
            }
            XCTAssertEqual(try engine.sqlite().ledger.account(named: "bob")?.balance, opened.claim.amount)
            let transfers = try engine.sqlite().ledger.transfersNow(withPrefix: "claim:")
            XCTAssertEqual(transfers.map(\.id), [opened.claim.id.creditTransferID], "credited exactly once")
            // The worker counts its success after it has deleted the message: wait for the count, not the queue.
            await waitUntil("the worker's success counted", timeout: .seconds(20), interval: .milliseconds(20)) {
                engine.workers.snapshot.succeeded >= 1
            }
            let retries = engine.workers.snapshot
            XCTAssertEqual(retries.succeeded, 1)
            XCTAssertEqual(retries.completedByWorker.count, 2)
            XCTAssertEqual(retries.completedByWorker.reduce(0, +), 1, "the worker that landed it counts it")
            let violations = try await engine.audit()
            XCTAssertEqual(violations, [])
            let progressAfter = try await engine.creditProgress(of: [opened.claim.id])
            XCTAssertEqual(progressAfter, [:], "a credited claim's message is gone")
        }
    }

    func testCrashedWorkersLeaseExpiresAndTheCreditIsStillDelivered() async throws {
        try await withRunningEngine { engine in
            let packet = try await seedAndSend(engine)
            engine.crashWorkers()
            engine.setCreditFailure(percent: 100)
            for user in ["bob", "carol"] {
                try await engine.grab(packet.id, user: user)
                _ = try await engine.open(packet.id, user: user)
            }
            engine.setCreditFailure(percent: 0)
            try await Task.sleep(for: .milliseconds(300))
            XCTAssertEqual(try engine.packets.uncreditedClaims().count, 2, "crashed workers credit nothing")
            engine.restartWorkers()
            try await waitUntil("both credited", timeout: .seconds(20), interval: .milliseconds(20)) {
                try engine.packets.uncreditedClaims().isEmpty
            }
            let violations = try await engine.audit()
            XCTAssertEqual(violations, [])
        }
    }

    func testWithTwoReplicasDownCreditsWaitForQuorumAndAreQueuedWhenItReturns() async throws {
        try await withRunningEngine { engine in
            let packet = try await seedAndSend(engine)
            engine.setCreditFailure(percent: 100)
            try await engine.setReplica(.a, down: true)
            try await engine.setReplica(.b, down: true)
            try await engine.grab(packet.id, user: "bob")
            let opened = try await engine.open(packet.id, user: "bob")
            XCTAssertTrue(opened.claim.amount.isPositive)
            XCTAssertEqual(try engine.packets.claim(opened.claim.id)?.state, .crediting,
                           "no quorum: the message could not be queued, so the claim is not marked waiting")
            let snapshot = await engine.snapshot()
            XCTAssertEqual(snapshot.unqueuedCredits, 1)
            engine.setCreditFailure(percent: 0)
            try await engine.setReplica(.a, down: false)
            try await waitUntil("credited after the quorum returns", timeout: .seconds(20), interval: .milliseconds(20)) {
                try engine.packets.claim(opened.claim.id)?.state == .credited
            }
            // The claim is recorded credited before its message is deleted: audit once the queue is quiet.
            try await waitUntil("the queue empty", timeout: .seconds(20), interval: .milliseconds(20)) { try await engine.sqlite().queue.counters(of: "credits").total == 0 }
            let violations = try await engine.audit()
            XCTAssertEqual(violations, [])
        }
    }

    func testRestartRequeuesClaimsLeftCreditingByACrash() async throws {
        var claimID: ClaimID?
        var amount = Money.zero
        do {
            // A crash between draw and queueing: the claim is recorded `crediting` and no message exists.
            let engine = try await Engine.start(configuration())
            let packet = try await seedAndSend(engine)
            try await engine.grab(packet.id, user: "bob")
            let drawn = try await engine.packets.draw(packet.id, user: "bob")
            claimID = drawn.claim.id
            amount = drawn.claim.amount
            await engine.close()
        }
        let id = try XCTUnwrap(claimID)
        try await withRunningEngine { engine in
            try await waitUntil("recovered and credited", timeout: .seconds(20), interval: .milliseconds(20)) {
                try engine.packets.claim(id)?.state == .credited
            }
            XCTAssertEqual(try engine.sqlite().ledger.account(named: "bob")?.balance, amount)
            let violations = try await engine.audit()
            XCTAssertEqual(violations, [])
        }
    }

    /// The opener is told "credited" once the ledger has the credit, without waiting for the packet store's
    /// record of it. A kill -9 in between leaves the claim `crediting` with its credit in the ledger: the next
    /// start records it from the ledger at once, before any worker runs and without a message, moving nothing.
    func testACrashBeforeTheRecordOfAnInLineCreditIsRecordedAtStartFromTheLedger() async throws {
        var claimID: ClaimID?
        var amount = Money.zero
        do {
            let engine = try await Engine.start(configuration())
            let packet = try await seedAndSend(engine)
            try await engine.grab(packet.id, user: "bob")
            let claim = try await engine.packets.draw(packet.id, user: "bob").claim
            // The in-line credit, as the account service makes it; the process dies before the record lands.
            try await engine.sqlite().ledger.transfer(TransferRequest(
                id: claim.id.creditTransferID, from: engine.sqlite().ledger.settlementAccountID, to: claim.userID,
                amount: claim.amount, memo: "red packet"))
            claimID = claim.id
            amount = claim.amount
            await engine.close()
        }
        let id = try XCTUnwrap(claimID)
        let engine = try await Engine.start(configuration())
        XCTAssertEqual(try engine.packets.claim(id)?.state, .credited, "recorded by the start's recovery")
        let sent = try await engine.sqlite().queue.counters(of: engine.limits.credit.queueName).totals.sent
        XCTAssertEqual(sent, 0, "no message was needed")
        XCTAssertEqual(try engine.sqlite().ledger.account(named: "bob")?.balance, amount, "credited once")
        XCTAssertTrue(engine.recentEvents().contains { $0.text.contains("recorded 1 credit") })
        let violations = try await engine.audit()
        XCTAssertEqual(violations, [])
        await engine.close()
    }

    func testTransactionModeRollsBackTheWholeOpenAndTheUserSeesAnError() async throws {
        try await withRunningEngine { engine in
            let packet = try await seedAndSend(engine)
            engine.setCreditMode(.transaction)
            engine.setCreditFailure(percent: 100)
            try await engine.grab(packet.id, user: "bob")
            do {
                _ = try await engine.open(packet.id, user: "bob")
                XCTFail("a failed credit must fail the open in transaction mode")
            } catch {}
            XCTAssertEqual(try engine.packets.packet(packet.id).opened, 0, "rolled back: nothing drawn")
            XCTAssertEqual(try engine.packets.uncreditedClaims(), [])
            XCTAssertEqual(engine.metricsSnapshot().rollbacks, 1)
            engine.setCreditFailure(percent: 0)
            let retried = try await engine.open(packet.id, user: "bob")
            XCTAssertEqual(retried.claim.state, .credited)
            let violations = try await engine.audit()
            XCTAssertEqual(violations, [])
        }
    }

    /// A transaction-mode credit slower than the deadline: the opener sees the error at the deadline, but the
    /// write goes on and lands, so the open is not undone (before, it was: the share could be drawn again and the
    /// audit found the ledger's credit belonging to no claim, the money paid twice). Once the write has ended the
    /// claim is credited and the books balance.
    func testATransactionModeCreditThatLandsAfterItsDeadlineIsNotUndone() async throws {
        try await withRunningEngine { engine in
            let packet = try await seedAndSend(engine)
            engine.setCreditMode(.transaction)
            engine.setLedgerLatency(milliseconds: Int(Limits.default.credit.deadline / .milliseconds(1)) + 300)
            try await engine.grab(packet.id, user: "bob")
            do {
                _ = try await engine.open(packet.id, user: "bob")
                XCTFail("a credit past its deadline fails the open for the user")
            } catch {
                XCTAssertEqual(error as? CreditError, .deadlineExceeded)
            }
            await waitUntil("the late credit to land and its open to stand", timeout: .seconds(10)) {
                (try? engine.packets.detail(packet.id).claims.first?.state) == .credited
            }
            XCTAssertEqual(try engine.packets.packet(packet.id).opened, 1, "the share stays drawn")
            XCTAssertEqual(engine.metricsSnapshot().rollbacks, 0)
            engine.setLedgerLatency(milliseconds: 0)
            let violations = try await engine.audit()
            XCTAssertEqual(violations, [])
        }
    }

    func testDeadLetteredCreditsAreShownAndRedriveDeliversThem() async throws {
        var configuration = configuration()
        configuration.limits.credit.maxReceiveCount = 2
        try await withRunningEngine(configuration) { engine in
            let packet = try await seedAndSend(engine)
            engine.setCreditFailure(percent: 100)
            try await engine.grab(packet.id, user: "bob")
            let opened = try await engine.open(packet.id, user: "bob")
            await waitUntil("dead-lettered", timeout: .seconds(20), interval: .milliseconds(20)) {
                await engine.deadLetteredCount() == 1
            }
            var violations = try await engine.audit()
            XCTAssertEqual(violations, [], "a dead-lettered credit still has its message")
            engine.setCreditFailure(percent: 0)
            let redriven = try await engine.redriveDeadLetters()
            XCTAssertEqual(redriven, 1)
            try await waitUntil("credited after redrive", timeout: .seconds(20), interval: .milliseconds(20)) {
                try engine.packets.claim(opened.claim.id)?.state == .credited
            }
            violations = try await engine.audit()
            XCTAssertEqual(violations, [])
        }
    }

    func testExpiryRunsOnItsOwnAndRefundsTheRemainder() async throws {
        try await withRunningEngine { engine in
            _ = try await engine.sqlite().ledger.openAccount(name: "alice", deposit: Money(yuan: 100))
            let packet = try await engine.send(.group(from: "alice", total: Money(yuan: 10), shares: 2,
                                                      timeToLive: .seconds(1)))
            try await waitUntil("expired and refunded by the engine's timer", timeout: .seconds(20), interval: .milliseconds(20)) {
                let now = try engine.packets.packet(packet.id)
                return now.state == .expired && !now.refundPending
            }
            XCTAssertEqual(try engine.sqlite().ledger.account(named: "alice")?.balance, Money(yuan: 100))
        }
    }
}
