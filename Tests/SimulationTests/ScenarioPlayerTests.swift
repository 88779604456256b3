import Foundation
import Primitives
@testable import Simulation
import Synchronization
import TestKit
import XCTest

/// The scenario timeline: started, paused and stepped by hand; the shipped scenarios parse; steps name views.
final class ScenarioPlayerTests: XCTestCase {
    /// Records the actions it is asked to perform.
    final class RecordingTarget: ScenarioTarget {
        let actions = Mutex<[Scenario.Action]>([])
        func perform(_ action: Scenario.Action) async { actions.withLock { $0.append(action) } }
        var performed: [Scenario.Action] { actions.withLock { $0 } }
    }

    static let scenario = Scenario(name: "Test", steps: [
        Scenario.Step(at: .zero, actions: [.rate(100)], caption: "one", view: "presenter"),
        Scenario.Step(at: .seconds(1), actions: [.creditFailure(percent: 30)], caption: "two"),
        Scenario.Step(at: .seconds(2), actions: [.workersCrash], caption: "three", view: "compare"),
    ], duration: .seconds(3))

    private let clock = ManualClock()

    struct StuckPlayer: Error {}

    /// Lets the player's loop run `ticks` times (50 ms of scenario time each at speed 1).
    private func tick(_ ticks: Int) async throws {
        let clock = self.clock
        for _ in 0..<ticks {
            try await waitUntil { clock.sleeperCount == 1 }
            clock.advance(by: .milliseconds(50))
        }
        try await waitUntil { clock.sleeperCount == 1 }
    }

    private func waitUntil(_ condition: @escaping @Sendable () -> Bool) async throws {
        guard await poll(timeout: .seconds(60), interval: .milliseconds(1), condition) else { throw StuckPlayer() }
    }

    /// `--scenario-load`: each step's rate at that percent, never down to 0; other actions as written.
    func testALoadPercentScalesEachStepsRateAndNothingElse() async throws {
        let scenario = Scenario(name: "Load", steps: [
            Scenario.Step(at: .zero, actions: [.rate(3_000), .creditFailure(percent: 30)], caption: "one"),
            Scenario.Step(at: .seconds(1), actions: [.rate(5)], caption: "two"),
            Scenario.Step(at: .seconds(2), actions: [.rate(0)], caption: "three"),
        ], duration: .seconds(3))
        let target = RecordingTarget()
        let player = ScenarioPlayer(scenario: scenario, target: target, clock: clock, loadPercent: 10)
        let task = Task { await player.run() }
        defer { task.cancel() }
        try await tick(1)
        XCTAssertTrue(player.next())
        XCTAssertTrue(player.next())
        try await tick(1)
        XCTAssertEqual(target.performed, [.rate(300), .creditFailure(percent: 30), .rate(1), .rate(0)])
        XCTAssertEqual(ScenarioPlayer(scenario: scenario, target: target).scaled(.rate(3_000)), .rate(3_000), "100 % by default")
    }

    func testWaitsForStartThenPlaysInTime() async throws {
        let target = RecordingTarget()
        let player = ScenarioPlayer(scenario: Self.scenario, target: target, clock: clock, waitForStart: true)
        let task = Task { await player.run() }
        defer { task.cancel() }
        try await tick(30)
        XCTAssertEqual(player.position.step, 0, "waiting for Space")
        XCTAssertTrue(target.performed.isEmpty)
        player.togglePause()
        try await tick(1)
        XCTAssertEqual(player.position.step, 1)
        XCTAssertEqual(player.caption, "one")
        XCTAssertEqual(player.requestedView, "presenter")
        try await tick(20)
        XCTAssertEqual(player.position.step, 2)
        XCTAssertEqual(player.requestedView, "presenter", "a step without a view keeps the last one asked")
        player.togglePause()
        try await tick(40)
        XCTAssertEqual(player.position.step, 2, "paused: the timeline stands")
        XCTAssertTrue(player.position.paused)
        player.togglePause()
        try await tick(21)
        XCTAssertEqual(player.position.step, 3)
        XCTAssertEqual(player.requestedView, "compare")
        XCTAssertEqual(target.performed, [.rate(100), .creditFailure(percent: 30), .workersCrash])
        try await tick(21)
        XCTAssertTrue(player.position.finished)
    }

    func testNextAndPreviousApplyTheStepAgain() async throws {
        let target = RecordingTarget()
        let player = ScenarioPlayer(scenario: Self.scenario, target: target, clock: clock)
        let task = Task { await player.run() }
        defer { task.cancel() }
        try await tick(1)
        XCTAssertEqual(player.position.step, 1)
        XCTAssertTrue(player.next())
        try await tick(1)
        XCTAssertEqual(player.position.step, 2)
        XCTAssertEqual(player.caption, "two")
        XCTAssertTrue(player.next())
        XCTAssertFalse(player.next(), "no step after the last")
        try await tick(1)
        XCTAssertEqual(player.caption, "three")
        XCTAssertTrue(player.previous())
        try await tick(1)
        XCTAssertEqual(player.caption, "two")
        XCTAssertEqual(player.position.elapsed >= .seconds(1) && player.position.elapsed < .seconds(2), true)
        XCTAssertTrue(player.previous())
        XCTAssertFalse(player.previous(), "no step before the first")
        try await tick(1)
        XCTAssertEqual(target.performed, [.rate(100), .creditFailure(percent: 30), .workersCrash, .creditFailure(percent: 30), .rate(100)])
        player.restart()
        try await tick(1)
        XCTAssertEqual(player.position.step, 1)
        XCTAssertEqual(target.performed.last, .rate(100))
    }

    func testSpeedRunsTheTimelineFaster() async throws {
        let player = ScenarioPlayer(scenario: Self.scenario, target: RecordingTarget(), clock: clock, speed: 10)
        let task = Task { await player.run() }
        defer { task.cancel() }
        try await tick(5)  // 250 ms of wall time is 2.5 s of scenario time
        XCTAssertEqual(player.position.step, 3)
    }

    func testShippedScenariosParseAndNameViews() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scenarios")
        let gala = try ScenarioFile.load(path: directory.appendingPathComponent("gala.toml").path)
        let lightning = try ScenarioFile.load(path: directory.appendingPathComponent("lightning.toml").path)
        let disaster = try ScenarioFile.load(path: directory.appendingPathComponent("disaster.toml").path)
        XCTAssertEqual(lightning.duration, .seconds(30))
        XCTAssertTrue(gala.steps.contains { $0.view == "compare" }, "the Gala's comparison step shows both ways side by side")
        XCTAssertTrue(lightning.steps.contains { $0.view == "compare" } && lightning.steps.contains { $0.view == "presenter" })
        // The disaster: both other replicas down, the workers crashed, the account system out, then all recovered.
        let actions = disaster.steps.flatMap(\.actions)
        for needed: Scenario.Action in [.outage(true), .workersCrash, .replicaDown(.b), .replicaDown(.c), .replicaRestore(.b),
                                        .replicaRestore(.c), .outage(false), .workersRestart, .rate(0)] {
            XCTAssertTrue(actions.contains(needed), "\(needed)")
        }
        for scenario in [gala, lightning, disaster] {
            XCTAssertTrue(scenario.steps.allSatisfy { !$0.caption.isEmpty }, scenario.name)
        }
    }

    func testAViewMustBeOneOfTheThree() {
        let text = """
        duration = 10
        [[step]]
        at = 0
        view = "sideways"
        """
        XCTAssertThrowsError(try ScenarioFile.parse(text, path: "x.toml")) { error in
            XCTAssertEqual("\(error)", "x.toml:4: step 1: 'view' must be \"panes\", \"presenter\" or \"compare\"")
        }
    }
}
