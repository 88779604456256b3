import Engine
import Primitives
import RedPackets
import Simulation
import TestKit
import XCTest

/// `SimulationRunner.isDrained` reads the claims being credited itself (the snapshot no longer lists them).
final class DrainCheckTests: XCTestCase {
    func testAClaimBeingCreditedWithNoMessageQueuedIsNotDrained() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-drain")
        defer { directory.remove() }
        let clock = ManualClock()
        let random = SeededRandomSource(seed: 5)
        let engine = try await Engine.start(CreditRecoveryTests.configuration(directory, clock: clock, random: random))
        for user in ["ann", "bo"] { _ = try await engine.sqlite().ledger.openAccount(name: user, deposit: Money(yuan: 100)) }
        let empty = await engine.snapshot()
        XCTAssertTrue(SimulationRunner.isDrained(empty, engine: engine), "nothing sent yet")

        let packet = try await engine.send(.group(from: "ann", total: Money(yuan: 1), shares: 1), quiet: true)
        try await engine.grab(packet.id, user: "bo")
        let drawn = try await engine.packets.draw(packet.id, user: "bo") // the share is drawn; its credit not yet queued
        XCTAssertEqual(drawn.claim.state, .crediting)
        let snapshot = await engine.snapshot()
        XCTAssertEqual(snapshot.queue.queues.first { $0.name == "credits" }.map { $0.visible + $0.inFlight + $0.delayed } ?? 0, 0)
        XCTAssertFalse(SimulationRunner.isDrained(snapshot, engine: engine), "a claim is being credited")
        await engine.close()
    }

    /// A snapshot taken before an open whose credit was queued says nothing is queued (on PostgreSQL the queue
    /// is counted in the background, so this happens): the waiting claim itself must keep the run from drained.
    func testAWaitingClaimIsNotDrainedWhateverAnOlderSnapshotSays() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-drain")
        defer { directory.remove() }
        let clock = ManualClock()
        let engine = try await Engine.start(CreditRecoveryTests.configuration(directory, clock: clock, random: SeededRandomSource(seed: 6)))
        for user in ["ann", "bo"] { _ = try await engine.sqlite().ledger.openAccount(name: user, deposit: Money(yuan: 100)) }
        let before = await engine.snapshot()
        engine.setCreditFailure(percent: 100)
        let packet = try await engine.send(.group(from: "ann", total: Money(yuan: 1), shares: 1), quiet: true)
        try await engine.grab(packet.id, user: "bo")
        let opened = try await engine.open(packet.id, user: "bo", quiet: true)
        XCTAssertNotNil(opened.creditFailure, "the credit failed and was queued")
        try await waitUntil("the claim waiting", interval: .milliseconds(10)) { try engine.packets.uncreditedClaims(in: .waiting, limit: 1).count == 1 }
        XCTAssertFalse(SimulationRunner.isDrained(before, engine: engine), "a claim waits for its retry")
        await engine.close()
    }
}
