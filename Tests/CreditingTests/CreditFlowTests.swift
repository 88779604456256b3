import Crediting
import Primitives
import XCTest

/// The credit flow as a pure state machine: every path driven by hand, no I/O.
final class CreditFlowTests: XCTestCase {
    let order = CreditOrder(claim: ClaimID("p1.1"), packet: PacketID("p1"), recipient: AccountID(7),
                            amount: Money(minorUnits: 123), openedAt: Timestamp(millisecondsSinceEpoch: 1_000))
    let limits = CreditLimits()
    var creditedNow: CreditOutcome {
        CreditOutcome(order: order, appliedNow: true, creditedAt: Timestamp(millisecondsSinceEpoch: 2_000))
    }

    /// The opener is told once the ledger has the credit; the record follows without the opener waiting.
    func testAtOpenASuccessfulCreditFinishesWhileItsRecordIsStillUnderWay() {
        var flow = CreditFlow(order: order, origin: .open, limits: limits)
        XCTAssertEqual(flow.start(), .credit(order))
        XCTAssertEqual(flow.credited(creditedNow),
                       .markCreditedWithoutWaiting(order.claim, at: Timestamp(millisecondsSinceEpoch: 2_000)))
        var recording = flow
        XCTAssertEqual(flow.recordStarted(), .finish(.credited(creditedNow)))
        XCTAssertEqual(flow.outcome, .credited(creditedNow))
        XCTAssertEqual(recording.recorded(), .finish(.credited(creditedNow)), "the record landed: nothing more")
    }

    /// A worker's delivery still waits for the record: it acknowledges the message only after it.
    func testADeliveryWaitsForTheRecordBeforeItAcknowledges() {
        var flow = CreditFlow(order: order, origin: .retry(attempt: 1), limits: limits)
        _ = flow.start()
        XCTAssertEqual(flow.credited(creditedNow), .markCredited(order.claim, at: Timestamp(millisecondsSinceEpoch: 2_000)))
    }

    /// The opener is told once the message is durable; the waiting mark follows without the opener waiting,
    /// and nothing in the flow depends on it (the live message credits the claim whether the mark lands or not).
    func testAtOpenAFailedCreditIsQueuedThenMarkedWaitingWithoutWaiting() {
        var flow = CreditFlow(order: order, origin: .open, limits: limits)
        _ = flow.start()
        XCTAssertEqual(flow.creditFailed("down"), .enqueue(order))
        XCTAssertEqual(flow.enqueued(), .markWaitingWithoutWaiting(order.claim))
        XCTAssertEqual(flow.waitingMarkStarted(), .finish(.queued(reason: "down")))
        XCTAssertEqual(flow.outcome, .queued(reason: "down"))
    }

    func testAtOpenAQueueWithoutQuorumMakesTheFlowRememberTheOrder() {
        var flow = CreditFlow(order: order, origin: .open, limits: limits)
        _ = flow.start()
        _ = flow.creditFailed("down")
        XCTAssertEqual(flow.enqueueFailed("no quorum"), .remember(order))
        XCTAssertEqual(flow.remembered(), .finish(.unqueued(reason: "down")))
    }

    /// The money moved but the packet store could not record it: a message makes a worker replay the credit
    /// (moving nothing) and record it; the opener is told the money is there.
    func testAtOpenACreditThatCannotBeRecordedIsQueuedForAReplayAndReportedCredited() {
        var flow = CreditFlow(order: order, origin: .open, limits: limits)
        _ = flow.start()
        _ = flow.credited(creditedNow)
        var opener = flow
        XCTAssertEqual(opener.recordStarted(), .finish(.credited(creditedNow)))
        XCTAssertEqual(flow.recordFailed("disk full"), .enqueue(order))
        XCTAssertEqual(flow.enqueued(), .finish(.credited(creditedNow)), "no markWaiting: the claim is not waiting")
    }

    func testAtOpenACreditThatCanNeitherBeRecordedNorQueuedIsRemembered() {
        var flow = CreditFlow(order: order, origin: .open, limits: limits)
        _ = flow.start()
        _ = flow.credited(creditedNow)
        _ = flow.recordFailed("disk full")
        XCTAssertEqual(flow.enqueueFailed("no quorum"), .remember(order))
        XCTAssertEqual(flow.remembered(), .finish(.credited(creditedNow)))
    }

    func testADeliveryThatCreditsIsRecordedThenAcknowledged() {
        var flow = CreditFlow(order: order, origin: .retry(attempt: 3), limits: limits)
        XCTAssertEqual(flow.start(), .credit(order))
        _ = flow.credited(creditedNow)
        XCTAssertEqual(flow.recorded(), .acknowledge, "the message is deleted only after the claim is recorded")
        XCTAssertEqual(flow.acknowledged(), .finish(.credited(creditedNow)))
    }

    func testADeliveryThatFailsBacksOffExponentiallyAndNeverQueuesAgain() {
        for attempt in [1, 2, 5, 40] {
            var flow = CreditFlow(order: order, origin: .retry(attempt: attempt), limits: limits)
            _ = flow.start()
            XCTAssertEqual(flow.creditFailed("down"), .retryLater(ceiling: limits.backoffCeiling(attempt: attempt)))
            XCTAssertEqual(flow.rescheduled(after: .milliseconds(17)), .finish(.retrying(reason: "down", delay: .milliseconds(17))))
        }
        XCTAssertLessThan(limits.backoffCeiling(attempt: 1), limits.backoffCeiling(attempt: 2))
    }

    /// A delivery whose credit landed but could not be recorded keeps its message: it is not acknowledged.
    func testADeliveryWhoseRecordFailsIsNotAcknowledged() {
        var flow = CreditFlow(order: order, origin: .retry(attempt: 1), limits: limits)
        _ = flow.start()
        _ = flow.credited(creditedNow)
        XCTAssertEqual(flow.recordFailed("disk"), .retryLater(ceiling: limits.backoffCeiling(attempt: 1)))
        XCTAssertEqual(flow.rescheduled(after: .zero), .finish(.retrying(reason: "disk", delay: .zero)))
    }

    func testTheCreditOrderSurvivesItsMessageBodyAndNothingElseParses() {
        XCTAssertEqual(CreditOrder(messageBody: order.messageBody), order)
        for body in ["", "p1.1", "credit/1|p1.1|p1|7|123", "credit/2|p1.1|p1|7|123|1000", "credit/1|p1.1|p1|x|123|1000",
                     "credit/1|p1.1|p1|7|0|1000", "credit/1||p1|7|5|1000", "credit/1|p1.1|p1|7|5|1000|extra"] {
            XCTAssertNil(CreditOrder(messageBody: body), body)
        }
    }
}
