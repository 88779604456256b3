import Engine
@testable import hongbao
import Primitives
import RedPackets
import RetryWorker
import XCTest

/// The dashboard's waiting list says how many times the workers tried each credit and when the next try is due,
/// for every row: from the queue's record of the message, or a worker's failure seen since the list was read.
/// Before, only the 32 most recent failures had it; every other row showed the packet store's in-line count
/// ("#1") and no due time, however many times the workers had tried.
final class RetryRowsTests: XCTestCase {
    private let now = Timestamp(millisecondsSinceEpoch: 1_000_000)

    private func claim(_ id: String) -> Claim {
        Claim(id: ClaimID(id), packetID: PacketID("p"), userID: AccountID(7), userName: "bob", slot: 0,
              amount: Money(minorUnits: 100), state: .waiting, openedAt: now, creditedAt: nil, attempts: 1)
    }

    func testEveryRowTakesTheNewerOfTheQueuesRecordAndTheWorkersLastFailure() {
        let progress: [ClaimID: CreditProgress] = [
            ClaimID("queued"): CreditProgress(attempts: 6, nextTryAt: now + .milliseconds(1_500), deadLettered: false),
            ClaimID("both"): CreditProgress(attempts: 3, nextTryAt: now + .seconds(1), deadLettered: false),
            ClaimID("stale"): CreditProgress(attempts: 5, nextTryAt: now + .seconds(4), deadLettered: false),
            ClaimID("overdue"): CreditProgress(attempts: 2, nextTryAt: Timestamp(millisecondsSinceEpoch: 997_000), deadLettered: false),
        ]
        let recent = [
            RetryStats.PendingRetry(claim: ClaimID("both"), attempt: 4, nextTryAt: now + .seconds(2)),
            RetryStats.PendingRetry(claim: ClaimID("stale"), attempt: 4, nextTryAt: now + .seconds(9)),
        ]
        let rows = EngineDashboardBackend.retryRows(
            waiting: ["queued", "both", "stale", "overdue", "unknown"].map(claim), progress: progress,
            recent: recent, at: now)
        XCTAssertEqual(rows.map(\.attempt), [6, 4, 5, 2, 1])
        XCTAssertEqual(rows.map(\.dueIn), [.milliseconds(1_500), .seconds(2), .seconds(4), .zero, nil])
        XCTAssertEqual(rows.map(\.claim.rawValue), ["queued", "both", "stale", "overdue", "unknown"])
    }
}
