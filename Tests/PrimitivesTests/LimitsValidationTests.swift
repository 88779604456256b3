import Primitives
import XCTest

/// Limits that contradict each other are refused with one line naming them; the defaults are consistent.
final class LimitsValidationTests: XCTestCase {
    func testTheDefaultLimitsAreConsistent() throws {
        try Limits.default.validate()
    }

    func testEveryContradictionIsRefusedNamingTheLimits() {
        let cases: [(String, (inout Limits) -> Void)] = [
            ("credit.workerBatchSize 17 must be within 1…queue.maxBatchCount (16)", { $0.credit.workerBatchSize = 17 }),
            ("credit.workerBatchSize 0", { $0.credit.workerBatchSize = 0 }),
            ("credit.workerBatchSize 16 must be within 1…queue.maxBatchCount (8)", { $0.queue.maxBatchCount = 8 }),
            ("queue.quorum 4 must be between 1 and the 3 replica(s)", { $0.queue.quorum = 4 }),
            ("queue.quorum 0", { $0.queue.quorum = 0 }),
            ("credit.workerVisibility", { $0.credit.workerVisibility = .milliseconds(500) }),
            ("credit.workerPollWait", { $0.credit.workerPollWait = .seconds(31) }),
            ("credit.maxReceiveCount", { $0.credit.maxReceiveCount = 1001 }),
            ("credit.retryBase", { $0.credit.retryBase = .seconds(10) }),
            ("credit.retryCap", { $0.credit.retryCap = .seconds(13 * 60 * 60) }),
            ("credit.queueName", { $0.credit.queueName = String(repeating: "q", count: 61) }),
            ("queue.defaultVisibilityTimeout", { $0.queue.defaultVisibilityTimeout = .zero }),
            ("queue.defaultDelay", { $0.queue.defaultDelay = .seconds(3601) }),
            ("queue.defaultRetention", { $0.queue.defaultRetention = .seconds(1) }),
            ("queue.defaultMaxReceiveCount", { $0.queue.minMaxReceiveCount = 10; $0.queue.maxMaxReceiveCount = 5 }),
            ("queue.defaultCheckBackDelay", { $0.queue.defaultCheckBackDelay = .zero }),
            ("queue.defaultMaxCheckBacks", { $0.queue.defaultMaxCheckBacks = 0 }),
            ("queue.checkBackConcurrency, maxCheckBackInterval", { $0.queue.maxCheckBackInterval = .zero }),
            ("queue.catchUpChunkOperations", { $0.queue.catchUpChunkOperations = 60_000 }),
            ("queue.minMessageSizeLimitBytes", { $0.queue.minMessageSizeLimitBytes = 100_000 }),
            ("packets.minShares", { $0.packets.minShares = 101 }),
            ("packets.defaultTimeToLive", { $0.packets.defaultTimeToLive = .seconds(8 * 24 * 60 * 60) }),
            ("money.maxSingleAmount", { $0.money.maxSingleAmount = Money(yuan: 100) }),
            ("ledger.maxTransactionsPerCommit", { $0.ledger.maxTransactionsPerCommit = 0 }),
        ]
        for (expected, change) in cases {
            var limits = Limits.default
            change(&limits)
            XCTAssertThrowsError(try limits.validate(), expected) { error in
                let text = (error as? LimitsError)?.description ?? "\(error)"
                XCTAssertTrue(text.hasPrefix("inconsistent limits: "), text)
                XCTAssertTrue(text.contains(expected), "'\(text)' should mention '\(expected)'")
                XCTAssertFalse(text.contains("\n"), "one line: \(text)")
            }
        }
    }

    func testTheQuorumIsCheckedAgainstTheReplicasActuallyOpened() throws {
        var limits = QueueLimits()
        XCTAssertThrowsError(try limits.validate(replicas: 1))
        limits.quorum = 1
        try limits.validate(replicas: 1)
    }
}
