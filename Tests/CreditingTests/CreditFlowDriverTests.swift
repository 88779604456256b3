import Crediting
import Primitives
import Synchronization
import XCTest

/// The driver's asynchronous paths: at open, the opener gets its outcome while the record of the in-line
/// credit (or the waiting mark of a queued one) is still on its way, and a credit's record that fails makes the
/// flow queue a replay.
final class CreditFlowDriverTests: XCTestCase {
    static let order = CreditOrder(claim: ClaimID("p1.1"), packet: PacketID("p1"), recipient: AccountID(7),
                                   amount: Money(minorUnits: 123), openedAt: Timestamp(millisecondsSinceEpoch: 1_000))

    /// Refuses every order.
    private struct DownAccounts: AccountService {
        func credit(_ order: CreditOrder) async throws -> CreditOutcome { throw StoreFailure() }
    }

    /// Credits every order at once.
    private struct InstantAccounts: AccountService {
        func credit(_ order: CreditOrder) async throws -> CreditOutcome {
            CreditOutcome(order: order, appliedNow: true, creditedAt: Timestamp(millisecondsSinceEpoch: 2_000))
        }
    }

    /// Holds every record made without waiting until the test completes it.
    private final class HeldRecorder: ClaimRecorder {
        let held = Mutex<[(claim: ClaimID, complete: @Sendable ((any Error)?) -> Void)]>([])
        let waitedFor = Mutex<[ClaimID]>([])

        func markCredited(_ claim: ClaimID, at time: Timestamp) async throws {
            waitedFor.withLock { $0.append(claim) }
        }

        func markCreditedWithoutWaiting(_ claim: ClaimID, at time: Timestamp,
                                        completion: @escaping @Sendable ((any Error)?) -> Void) {
            held.withLock { $0.append((claim, completion)) }
        }

        func markWaiting(_ claim: ClaimID) async throws {
            waitedFor.withLock { $0.append(claim) }
        }

        func markWaitingWithoutWaiting(_ claim: ClaimID, completion: @escaping @Sendable ((any Error)?) -> Void) {
            held.withLock { $0.append((claim, completion)) }
        }
    }

    /// Records what was queued and lets the test wait for it.
    private final class RecordingQueue: CreditQueue {
        typealias Receipt = Int
        let enqueued = Mutex<[CreditOrder]>([])
        let (stream, continuation) = AsyncStream<CreditOrder>.makeStream()

        func enqueue(_ order: CreditOrder) async throws {
            enqueued.withLock { $0.append(order) }
            continuation.yield(order)
        }
        func receive(max: Int, wait: Duration, visibility: Duration) async throws -> [CreditMessage<Int>] { [] }
        func acknowledge(_ message: CreditMessage<Int>) async throws {}
        func retry(_ message: CreditMessage<Int>, after delay: Duration) async throws {}
    }

    private struct StoreFailure: Error {}

    private func driver(_ recorder: HeldRecorder, _ queue: RecordingQueue,
                        accounts: any AccountService = InstantAccounts()) -> CreditFlowDriver<RecordingQueue> {
        CreditFlowDriver(accountService: accounts, queue: queue, recorder: recorder, limits: CreditLimits(),
                         random: SeededRandomSource(seed: 1), remember: { _ in XCTFail("nothing to remember") })
    }

    func testTheOpenerIsToldCreditedBeforeTheRecordLandsAndNothingIsQueuedWhenItDoes() async throws {
        let recorder = HeldRecorder()
        let queue = RecordingQueue()
        let outcome = await driver(recorder, queue).creditAtOpen(Self.order)
        guard case let .credited(credit) = outcome else { return XCTFail("outcome \(outcome)") }
        XCTAssertEqual(credit.creditedAt, Timestamp(millisecondsSinceEpoch: 2_000))
        let held = recorder.held.withLock { $0 }
        XCTAssertEqual(held.map(\.claim), [Self.order.claim], "the record was started, not awaited")
        XCTAssertEqual(recorder.waitedFor.withLock { $0 }, [], "the opener did not wait for a record")
        held[0].complete(nil)
        XCTAssertEqual(queue.enqueued.withLock { $0 }, [], "a record that landed needs no message")
    }

    func testARecordThatFailsAfterTheOpenerWasToldQueuesAReplayOfTheCredit() async throws {
        let recorder = HeldRecorder()
        let queue = RecordingQueue()
        let outcome = await driver(recorder, queue).creditAtOpen(Self.order)
        guard case .credited = outcome else { return XCTFail("outcome \(outcome)") }
        XCTAssertEqual(queue.enqueued.withLock { $0 }, [])
        recorder.held.withLock { $0 }[0].complete(StoreFailure())
        var queued: CreditOrder?
        for await order in queue.stream {
            queued = order
            break
        }
        XCTAssertEqual(queued, Self.order, "a worker's replay of the credit will record it")
    }

    /// A failed in-line credit: the opener is told `queued` once the message is in the queue, while the waiting
    /// mark is still on its way; `recordsSettled` waits for the mark; a mark that fails changes nothing more
    /// (the message credits the claim either way).
    func testTheOpenerOfAQueuedCreditIsToldBeforeTheWaitingMarkLandsAndRecordsSettledWaitsForIt() async throws {
        let recorder = HeldRecorder()
        let queue = RecordingQueue()
        let driver = driver(recorder, queue, accounts: DownAccounts())
        let outcome = await driver.creditAtOpen(Self.order)
        guard case .queued = outcome else { return XCTFail("outcome \(outcome)") }
        XCTAssertEqual(queue.enqueued.withLock { $0 }, [Self.order], "the message was sent before the opener was told")
        let held = recorder.held.withLock { $0 }
        XCTAssertEqual(held.map(\.claim), [Self.order.claim], "the waiting mark was started, not awaited")
        XCTAssertEqual(recorder.waitedFor.withLock { $0 }, [], "the opener did not wait for a mark")
        XCTAssertEqual(driver.unsettledRecords, 1)
        let settled = Atomic<Bool>(false)
        let waiter = Task {
            await driver.recordsSettled()
            settled.store(true, ordering: .relaxed)
        }
        try await Task.sleep(for: .milliseconds(50))
        XCTAssertFalse(settled.load(ordering: .relaxed), "records are not settled while the mark is on its way")
        held[0].complete(StoreFailure())
        await waiter.value
        XCTAssertEqual(driver.unsettledRecords, 0)
        XCTAssertEqual(queue.enqueued.withLock { $0 }, [Self.order], "a failed mark sends nothing more")
    }
}
