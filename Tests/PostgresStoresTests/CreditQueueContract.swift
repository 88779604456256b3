import Crediting
import Primitives
import XCTest

/// The credit queue's contract: one test body each, run against the three-copy SQLite queue
/// (`MessageQueueCreditQueue`) and `PostgresCreditQueue`. `deadLettered` lists the dead-letter queue's ids.
enum CreditQueueContract {
    static func order(_ claim: String, amount: Int64 = 100) -> CreditOrder {
        CreditOrder(claim: ClaimID(claim), packet: PacketID("p"), recipient: AccountID(7), amount: Money(minorUnits: amount),
                    openedAt: Timestamp(millisecondsSinceEpoch: 1_780_000_000_000))
    }

    /// Sent once however often it is sent while live; received with its order intact; gone once acknowledged.
    static func sendReceiveAcknowledge<Queue: CreditQueue>(_ queue: Queue) async throws {
        for claim in ["p.1", "p.2", "p.3"] { try await queue.enqueue(order(claim)) }
        try await queue.enqueue(order("p.2"))
        let received = try await queue.receive(max: 10, wait: .zero, visibility: .seconds(30))
        XCTAssertEqual(received.map(\.order.claim.rawValue).sorted(), ["p.1", "p.2", "p.3"])
        XCTAssertEqual(received.map(\.receiveCount), [1, 1, 1])
        XCTAssertEqual(received.first(where: { $0.order.claim.rawValue == "p.1" })?.order, order("p.1"))
        let hidden = try await queue.receive(max: 10, wait: .zero, visibility: .seconds(30))
        XCTAssertEqual(hidden.count, 0)
        for message in received { try await queue.acknowledge(message) }
        try await queue.enqueue(order("p.4"))
        let next = try await queue.receive(max: 10, wait: .zero, visibility: .seconds(30))
        XCTAssertEqual(next.map(\.order.claim.rawValue), ["p.4"])
    }

    /// A message not acknowledged within its visibility timeout comes back with a higher receive count, and
    /// the first delivery's receipt can then neither acknowledge nor delay it.
    static func visibilityTimeoutAndStaleReceipts<Queue: CreditQueue>(_ queue: Queue, clock: ManualClock) async throws {
        try await queue.enqueue(order("v.1"))
        let first = try await queue.receive(max: 1, wait: .zero, visibility: .seconds(5))
        XCTAssertEqual(first.count, 1)
        clock.advance(by: .seconds(4))
        let early = try await queue.receive(max: 1, wait: .zero, visibility: .seconds(5))
        XCTAssertEqual(early.count, 0)
        clock.advance(by: .seconds(2))
        let second = try await queue.receive(max: 1, wait: .zero, visibility: .seconds(5))
        XCTAssertEqual(second.map(\.receiveCount), [2])
        do {
            try await queue.acknowledge(try XCTUnwrap(first.first))
            XCTFail("a stale receipt acknowledged the message")
        } catch {}
        do {
            try await queue.retry(try XCTUnwrap(first.first), after: .zero)
            XCTFail("a stale receipt delayed the message")
        } catch {}
        try await queue.retry(try XCTUnwrap(second.first), after: .seconds(10))
        clock.advance(by: .seconds(6))
        let delayed = try await queue.receive(max: 1, wait: .zero, visibility: .seconds(5))
        XCTAssertEqual(delayed.count, 0, "retry(after:) did not keep the message hidden for its delay")
        clock.advance(by: .seconds(5))
        let back = try await queue.receive(max: 1, wait: .zero, visibility: .seconds(5))
        XCTAssertEqual(back.map(\.receiveCount), [3])
        try await queue.acknowledge(try XCTUnwrap(back.first))
    }

    /// After `maxReceiveCount` receives without an acknowledgement, the next receive moves the message to
    /// the dead-letter queue instead of delivering it; a redrive brings it back, visible at once and with its
    /// receive count from 0.
    static func deadLetterAfterMaxReceivesAndRedrive<Queue: CreditQueue>(
        _ queue: Queue, maxReceiveCount: Int, clock: ManualClock, deadLettered: () async throws -> [String],
        redrive: () async throws -> Int
    ) async throws {
        try await queue.enqueue(order("d.1"))
        for attempt in 1...maxReceiveCount {
            let received = try await queue.receive(max: 1, wait: .zero, visibility: .seconds(1))
            XCTAssertEqual(received.map(\.receiveCount), [attempt])
            clock.advance(by: .seconds(2))
        }
        let buried = try await queue.receive(max: 1, wait: .zero, visibility: .seconds(1))
        XCTAssertEqual(buried.count, 0)
        let dead = try await deadLettered()
        XCTAssertEqual(dead, ["d.1"])

        let moved = try await redrive()
        XCTAssertEqual(moved, 1)
        let left = try await deadLettered()
        XCTAssertEqual(left, [])
        let back = try await queue.receive(max: 1, wait: .zero, visibility: .seconds(1))
        XCTAssertEqual(back.map(\.order.claim.rawValue), ["d.1"])
        XCTAssertEqual(back.map(\.receiveCount), [1])
        try await queue.acknowledge(try XCTUnwrap(back.first))
        let again = try await redrive()
        XCTAssertEqual(again, 0)
    }

    /// Eight workers receive concurrently: every message is delivered to exactly one of them.
    static func concurrentReceiversShareWithoutDuplicates<Queue: CreditQueue>(_ queue: Queue) async throws {
        for index in 0..<200 { try await queue.enqueue(order("c.\(index)")) }
        let claims = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var mine: [String] = []
                    while true {
                        let batch = try await queue.receive(max: 16, wait: .zero, visibility: .seconds(60))
                        if batch.isEmpty { return mine }
                        for message in batch {
                            mine.append(message.order.claim.rawValue)
                            try await queue.acknowledge(message)
                        }
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        XCTAssertEqual(claims.count, 200)
        XCTAssertEqual(Set(claims).count, 200)
    }
}
