import Engine
import Ledger
import Primitives
import RedPackets
import Simulation
import TestKit
import XCTest

/// Recovery on start (DESIGN section 5, step 5) on a real engine, on a manual clock.
final class CreditRecoveryTests: XCTestCase {
    /// One engine worker, the simulation's limits, the manual clock, immediate ledger writes.
    static func configuration(_ directory: TemporaryDirectory, clock: ManualClock, random: any RandomSource)
        -> EngineConfiguration {
        var configuration = EngineConfiguration(dataPath: directory.appending("data"), workers: 1)
        configuration.durability = .normal
        configuration.limits = DeterministicSimulation.limits()
        configuration.clock = clock
        configuration.random = random
        configuration.ledgerWrites = .immediate
        return configuration
    }

    /// Regression: recovery used to look for `crediting` claims among the 1,000 oldest uncredited ones, so a
    /// backlog of `waiting` claims (an account-system outage) hid a claim stranded by a crash behind it.
    func testAClaimStrandedBehindMoreThanAThousandWaitingClaimsIsRequeuedOnStart() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-recovery")
        defer { directory.remove() }
        let clock = ManualClock()
        let random = SeededRandomSource(seed: 11)
        let configuration = Self.configuration(directory, clock: clock, random: random)

        let stranded = try await strandAClaimBehindAWaitingBacklog(configuration, clock: clock, random: random)

        let restarted = try await Engine.start(configuration)
        let claim = try XCTUnwrap(try restarted.packets.claim(stranded))
        XCTAssertEqual(claim.state, .waiting, "recovery queued the stranded claim")
        let queued = try await restarted.sqlite().queue.currentState().messages(in: "credits").map(\.id)
        XCTAssertTrue(queued.contains(stranded.rawValue), "its credit message is in the queue")
        let violations = try await restarted.audit()
        XCTAssertEqual(violations, [])
        await restarted.close()
    }

    /// 1,100 `waiting` claims (the account system is down), then one more share drawn and "crashed" before
    /// its credit is queued. Closes the engine (a restart follows) and returns the stranded claim.
    private func strandAClaimBehindAWaitingBacklog(
        _ configuration: EngineConfiguration, clock: ManualClock, random: SeededRandomSource
    ) async throws -> ClaimID {
        let engine = try await Engine.start(configuration)
        let users = (0..<101).map { "u\($0)" }
        for user in users { _ = try await engine.sqlite().ledger.openAccount(name: user, deposit: Money(yuan: 2_000)) }
        engine.setOutage(true) // every in-line credit fails: each claim is queued and `waiting`
        for _ in 0..<11 {
            let packet = try await engine.send(.group(from: users[0], total: Money(yuan: 100), shares: 100), quiet: true)
            for user in users.dropFirst() {
                try await engine.grab(packet.id, user: user)
                let result = try await engine.open(packet.id, user: user, quiet: true)
                XCTAssertEqual(result.claim.state, .waiting)
            }
        }
        XCTAssertEqual(try engine.packets.uncreditedClaims(in: .waiting, limit: Int.max).count, 1_100)

        clock.advance(by: .seconds(1))
        let packet = try await engine.send(.group(from: users[1], total: Money(yuan: 1), shares: 1), quiet: true)
        try await engine.grab(packet.id, user: users[2])
        let drawn = try await engine.packets.draw(packet.id, user: users[2])
        XCTAssertEqual(drawn.claim.state, .crediting)
        await engine.close()
        return drawn.claim.id
    }

    /// A credit message the queue purged (its retention passed during a long outage, or while it sat in the
    /// dead-letter queue) must not strand its claim: the audit reports it, and the next start re-queues it.
    func testAWaitingClaimWhoseMessageWasPurgedIsRequeuedOnStart() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-recovery")
        defer { directory.remove() }
        let clock = ManualClock()
        let configuration = Self.configuration(directory, clock: clock, random: SeededRandomSource(seed: 12))

        let claim = try await purgeACreditMessage(configuration, clock: clock)
        let engine = try await Engine.start(configuration)
        XCTAssertEqual(try engine.packets.claim(claim)?.state, .waiting)
        let messages = try await engine.workers.receive(wait: .zero)
        XCTAssertEqual(messages.map(\.order.claim), [claim], "the restart re-queued the credit")
        for message in messages { await engine.workers.process(message) }
        XCTAssertEqual(try engine.packets.claim(claim)?.state, .credited)
        let violations = try await engine.audit()
        XCTAssertEqual(violations, [])
        await engine.close()
    }

    /// The process was down for longer than the credit queue's retention: the start purges what expired and
    /// re-queues those credits at once, instead of letting the first receive purge them afterwards.
    func testADowntimeLongerThanRetentionLosesNoCredit() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-recovery")
        defer { directory.remove() }
        let clock = ManualClock()
        let configuration = Self.configuration(directory, clock: clock, random: SeededRandomSource(seed: 13))

        let claim = try await queueACredit(configuration)
        clock.advance(by: configuration.limits.queue.maxRetention + .seconds(1))
        let engine = try await Engine.start(configuration)
        let messages = try await engine.workers.receive(wait: .zero)
        XCTAssertEqual(messages.map(\.order.claim), [claim], "the credit is still deliverable after the downtime")
        for message in messages { await engine.workers.process(message) }
        XCTAssertEqual(try engine.packets.claim(claim)?.state, .credited)
        let violations = try await engine.audit()
        XCTAssertEqual(violations, [])
        await engine.close()
    }

    /// Opens a share while the account system is down: the claim is `waiting`, its message queued.
    private func queueACredit(_ configuration: EngineConfiguration) async throws -> ClaimID {
        let engine = try await Engine.start(configuration)
        for user in ["s", "r"] { _ = try await engine.sqlite().ledger.openAccount(name: user, deposit: Money(yuan: 100)) }
        engine.setOutage(true)
        let packet = try await engine.send(.group(from: "s", total: Money(yuan: 10), shares: 1), quiet: true)
        try await engine.grab(packet.id, user: "r")
        let claim = try await engine.open(packet.id, user: "r", quiet: true).claim
        XCTAssertEqual(claim.state, .waiting)
        await engine.close()
        return claim.id
    }

    /// Opens a share while the account system is down (the claim is `waiting`), lets the credit message
    /// outlive the credit queue's retention, and has a worker receive: the queue purges the message.
    private func purgeACreditMessage(_ configuration: EngineConfiguration, clock: ManualClock) async throws -> ClaimID {
        let engine = try await Engine.start(configuration)
        for user in ["s", "r"] { _ = try await engine.sqlite().ledger.openAccount(name: user, deposit: Money(yuan: 100)) }
        engine.setOutage(true)
        let packet = try await engine.send(.group(from: "s", total: Money(yuan: 10), shares: 1), quiet: true)
        try await engine.grab(packet.id, user: "r")
        let claim = try await engine.open(packet.id, user: "r", quiet: true).claim
        XCTAssertEqual(claim.state, .waiting)
        let retention = try await engine.sqlite().queue.attributes(of: "credits").retention
        clock.advance(by: retention + .seconds(1))
        let received = try await engine.workers.receive(wait: .zero)
        XCTAssertEqual(received, [], "the message outlived its retention and was purged")
        let violations = try await engine.audit().map(\.code)
        XCTAssertEqual(violations, ["claim.message"], "the audit sees the claim without its message")
        await engine.close()
        return claim.id
    }
}
