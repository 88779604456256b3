import Crediting
import Ledger
@testable import PostgresStores
import Primitives
import RedPackets
import Synchronization
import XCTest

/// Calls gathered into shared statements (`GroupedCalls`), and the packet writer's rule that two batches under
/// way never grab the same packet.
final class GroupedCallsTests: XCTestCase {
    /// A batch the server refuses is split in halves down to the item it refuses, which fails alone while the
    /// others commit; a server out of reach fails the whole batch at once, with no halves tried.
    func testARefusedBatchIsHalvedUntilTheRefusedWriteFailsAlone() async {
        let attempts = Mutex<[[Int]]>([])
        let answers = await bisectingRefusals(Array(1...8)) { part -> [String] in
            attempts.withLock { $0.append(part) }
            if part.contains(5) { throw PostgresStoreError.server("refused") }
            return part.map { "ok \($0)" }
        } failure: { item, error in "\(item): \(error)" }
        XCTAssertEqual(answers, ["ok 1", "ok 2", "ok 3", "ok 4", "5: \(PostgresStoreError.server("refused"))",
                                 "ok 6", "ok 7", "ok 8"])
        XCTAssertEqual(attempts.withLock { $0 }, [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4], [5, 6, 7, 8], [5, 6], [5], [6],
                                                  [7, 8]])

        let tries = Atomic<Int>(0)
        let unavailable = await bisectingRefusals(Array(1...8)) { _ -> [String] in
            tries.add(1, ordering: .relaxed)
            throw PostgresStoreError.unavailable("no server")
        } failure: { item, _ in "failed \(item)" }
        XCTAssertEqual(unavailable, (1...8).map { "failed \($0)" })
        XCTAssertEqual(tries.load(ordering: .relaxed), 1, "no halves tried against a server out of reach")
    }

    /// A gate the first statement waits at, so that the calls after it arrive while it is under way.
    private final class Gate: Sendable {
        private let opened = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        func wait() async {
            await withCheckedContinuation { continuation in
                let now = opened.withLock { state -> Bool in
                    if !state.isOpen { state.waiters.append(continuation) }
                    return state.isOpen
                }
                if now { continuation.resume() }
            }
        }
        func open() {
            for waiter in opened.withLock({ state -> [CheckedContinuation<Void, Never>] in
                state.isOpen = true
                defer { state.waiters = [] }
                return state.waiters
            }) { waiter.resume() }
        }
    }

    func testCallsThatArriveWhileAStatementIsUnderWayGoTogetherInTheNext() async throws {
        let gate = Gate()
        let batches = Mutex<[[Int]]>([])
        let calls = GroupedCalls<Int, String>(maxBatch: 100, concurrentBatches: 1) { items in
            batches.withLock { $0.append(items) }
            await gate.wait()
            return items.map { "answer \($0)" }
        }
        let first = Task { try await calls.submit(0) }
        while batches.withLock({ $0.count }) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let later = (1...10).map { item in Task { try await calls.submit(item) } }
        // Every later call is queued behind the statement under way before the gate opens.
        while calls.queued < 10 { try await Task.sleep(for: .milliseconds(5)) }
        gate.open()
        let firstAnswer = try await first.value
        XCTAssertEqual(firstAnswer, "answer 0")
        for (index, task) in later.enumerated() {
            let answer = try await task.value
            XCTAssertEqual(answer, "answer \(index + 1)")
        }
        let seen = batches.withLock { $0 }
        XCTAssertEqual(seen.count, 2, "\(seen)")
        XCTAssertEqual(seen.last.map { Set($0) }, Set(1...10))
        XCTAssertEqual(calls.batchCount, 2)
    }

    func testAFailedStatementFailsEveryCallInIt() async {
        let calls = GroupedCalls<Int, Int>(maxBatch: 10, concurrentBatches: 2) { _ in
            throw PostgresStoreError.server("refused")
        }
        do {
            _ = try await calls.submit(1)
            XCTFail("a failed statement answered")
        } catch {
            XCTAssertEqual("\(error)", "\(PostgresStoreError.server("refused"))")
        }
    }

    /// The packet writer's next batch leaves in the queue the grabs of a packet another batch is grabbing
    /// (they would wait on its row until that batch's COMMIT reached a standby), takes every other write,
    /// and takes them once the other batch is done.
    func testABatchNeverGrabsAPacketThatABatchUnderWayIsGrabbing() {
        func grab(_ packet: String, _ user: Int64) -> PacketWriteBatcher.Pending {
            PacketWriteBatcher.Pending(write: .grab(.init(packet: PacketID(packet), user: Account(
                id: AccountID(user), name: "u\(user)", kind: .user, balance: .zero,
                createdAt: Timestamp(millisecondsSinceEpoch: 0)), token: user, random: 1)), finish: { _ in })
        }
        func mark(_ claim: String) -> PacketWriteBatcher.Pending {
            PacketWriteBatcher.Pending(write: .waiting(ClaimID(claim)), finish: { _ in })
        }
        func describe(_ batch: [PacketWriteBatcher.Pending]) -> [String] {
            batch.map { pending in
                switch pending.write {
                case let .grab(grab): "grab \(grab.packet.rawValue) \(grab.user.id.rawValue)"
                case let .waiting(claim): "waiting \(claim.rawValue)"
                default: "other"
                }
            }
        }
        var state = PacketWriteBatcher.State()
        state.queue = [grab("p1", 1), grab("p1", 2), mark("c1"), grab("p2", 3)]
        let first = state.take(10)
        XCTAssertEqual(describe(first), ["grab p1 1", "grab p1 2", "waiting c1", "grab p2 3"],
                       "one batch takes several grabs of the same packet")
        state.queue = [grab("p1", 4), mark("c2"), grab("p3", 5), grab("p2", 6), grab("p3", 7)]
        let second = state.take(10)
        XCTAssertEqual(describe(second), ["waiting c2", "grab p3 5", "grab p3 7"])
        XCTAssertEqual(describe(state.queue), ["grab p1 4", "grab p2 6"])
        XCTAssertEqual(describe(state.take(10)), [], "p1 and p2 are still being grabbed")
        state.release(first)
        XCTAssertEqual(describe(state.take(1)), ["grab p1 4"])
        XCTAssertEqual(describe(state.queue), ["grab p2 6"])
    }
}

/// The PostgreSQL credit queue's acknowledgements and delays made at once share statements, and each still
/// gets its own answer: a stale receipt is refused beside a current one of the same message.
final class PostgresQueueGroupedCallsTests: PostgresServerTestCase {
    func testAcknowledgementsMadeAtOnceEachGetTheirOwnAnswer() async throws {
        let clock = ManualClock()
        let queue = try await PostgresCreditQueue(pool: try freshPool(), name: "credits", maxReceiveCount: 5, clock: clock)
        let claims = (1...6).map { "g.\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for claim in claims {
                group.addTask {
                    try await queue.enqueue(CreditOrder(claim: ClaimID(claim), packet: PacketID("p"), recipient: AccountID(7),
                                                        amount: Money(minorUnits: 100),
                                                        openedAt: Timestamp(millisecondsSinceEpoch: 0)))
                }
            }
            try await group.waitForAll()
        }
        let stale = try await queue.receive(max: 10, wait: .zero, visibility: .seconds(1))
        XCTAssertEqual(Set(stale.map(\.order.claim.rawValue)), Set(claims))
        clock.advance(by: .seconds(2))
        let current = try await queue.receive(max: 10, wait: .zero, visibility: .seconds(30))
        XCTAssertEqual(current.count, 6)
        // Delays and acknowledgements at once, stale and current receipts of the same messages mixed.
        let delayed = await withTaskGroup(of: Bool.self) { group in
            for message in stale + current.prefix(3) {
                group.addTask { (try? await queue.retry(message, after: .seconds(60))) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        XCTAssertEqual(delayed, 3, "only the current receipts delay their messages")
        let acknowledged = await withTaskGroup(of: (String, Bool).self) { group in
            for message in stale + current {
                group.addTask {
                    (message.receipt.id, (try? await queue.acknowledge(message)) != nil)
                }
            }
            return await group.reduce(into: [String: Int]()) { counts, answer in
                if answer.1 { counts[answer.0, default: 0] += 1 }
            }
        }
        XCTAssertEqual(acknowledged, Dictionary(uniqueKeysWithValues: claims.map { ($0, 1) }),
                       "each message acknowledged once, by its current receipt")
        let depth = try await queue.depth()
        XCTAssertEqual(depth.live, 0)
    }
}

/// The step profile's figures: counts, mean, slowest, p50 and p99 to three significant digits, and the writes a
/// batch carried; switched off, it records nothing and never builds a step's name.
final class PostgresProfileTests: XCTestCase {
    func testStepsAreCountedTimedAndReportedByName() {
        let profile = PostgresProfile()
        for _ in 0..<99 { profile.record("ledger.batch", .microseconds(900), items: 10) }
        profile.record("ledger.batch", .milliseconds(30), items: 110)
        profile.record("pool.acquire", .microseconds(3))
        let batch = try? XCTUnwrap(profile.snapshot()["ledger.batch"])
        XCTAssertEqual(batch?.count, 100)
        XCTAssertEqual(batch?.meanItems, 11)
        XCTAssertEqual(batch?.maxMilliseconds, 30)
        XCTAssertEqual(batch?.meanMilliseconds ?? 0, (99 * 0.9 + 30) / 100, accuracy: 1e-9)
        XCTAssertEqual(batch?.quantileMilliseconds(0.5) ?? 0, 0.9, accuracy: 0.001)
        XCTAssertEqual(batch?.quantileMilliseconds(0.99) ?? 0, 0.9, accuracy: 0.001, "99 of 100 took 900 µs")
        XCTAssertEqual(batch?.quantileMilliseconds(1) ?? 0, 30, accuracy: 0.03)
        let report = profile.report()
        XCTAssertEqual(report.count, 3)
        XCTAssertTrue(report[1].hasPrefix("ledger.batch "), report[1])
        XCTAssertTrue(report[1].hasSuffix("11.00"), report[1])
        XCTAssertTrue(report[2].hasPrefix("pool.acquire "), report[2])
        profile.reset()
        XCTAssertEqual(profile.report().count, 1)
    }

    func testASwitchedOffProfileRecordsNothingAndBuildsNoName() {
        let profile = PostgresProfile(enabled: false)
        let named = Mutex(0)
        func name() -> String { named.withLock { $0 += 1 }; return "ledger.batch" }
        profile.record(name(), .milliseconds(3))
        profile.record(name(), since: .now, items: 4)
        XCTAssertEqual(named.withLock { $0 }, 0)
        XCTAssertTrue(profile.snapshot().isEmpty)
        XCTAssertTrue(profile.report().last?.contains("HONGBAO_PG_PROFILE") ?? false, "\(profile.report())")
        XCTAssertFalse(PostgresProfile.fromEnvironment([:]).isEnabled)
        XCTAssertTrue(PostgresProfile.fromEnvironment(["HONGBAO_PG_PROFILE": "1"]).isEnabled)
    }
}
