import Dashboard
import Primitives
import XCTest

/// Keys that step or toggle a setting step from what the previous press asked for, not from a snapshot that
/// has not caught up yet, however fast they are pressed.
final class RequestedSettingsTests: XCTestCase {
    private let update = DashboardUpdate()

    private var quiet: DashboardSnapshot {
        var snapshot = Fixture.snapshot
        snapshot.faults = FaultSettings()
        snapshot.header.creditMode = .queue
        snapshot.retries.workers = [WorkerStatus(name: "w1", state: .running)]
        return snapshot
    }

    /// Presses keys against one unchanging (stale) snapshot; returns the commands sent.
    private func commands(_ keys: [Key], snapshot: DashboardSnapshot, model start: DashboardModel? = nil) -> (DashboardModel, [DashboardCommand]) {
        var model = start ?? Fixture.model(width: 120, height: 40)
        var sent: [DashboardCommand] = []
        for key in keys {
            let (next, effects) = update.update(model, .key(key), snapshot: snapshot, now: Fixture.now)
            model = next
            for case .perform(let command) in effects { sent.append(command) }
        }
        return (model, sent)
    }

    func testLatencyKeyPressedQuicklyStepsThroughEveryPreset() {
        let (_, sent) = commands([.character("L"), .character("L"), .character("L"), .character("L")], snapshot: quiet)
        XCTAssertEqual(sent, [50, 200, 1_000, 0].map { .setLedgerLatency(milliseconds: $0) })
    }

    func testFailureKeyPressedQuicklyStepsThroughEveryPreset() {
        let (_, sent) = commands([.character("f"), .character("f"), .character("f"), .character("f")], snapshot: quiet)
        XCTAssertEqual(sent, [30, 100, 0, 30].map { .setCreditFailureRate(percent: $0) })
    }

    func testTogglesPressedTwiceQuicklyUndoThemselves() {
        let keys: [(Key, DashboardCommand, DashboardCommand)] = [
            (.character("G"), .gala(.start(ratePerSecond: nil)), .gala(.stop)),
            (.character("m"), .setCreditMode(.transaction), .setCreditMode(.queue)),
            (.character("P"), .workers(.pause), .workers(.resume)),
        ]
        for (key, first, second) in keys {
            XCTAssertEqual(commands([key, key], snapshot: quiet).1, [first, second], "key \(key.label)")
        }
        var model = Fixture.model(width: 120, height: 40, focus: .queue)
        model.selection[.queue] = 0
        let (_, replica) = commands([.character("d"), .character("d")], snapshot: quiet, model: model)
        XCTAssertEqual(replica, [.replica(name: "a", action: .down), .replica(name: "a", action: .restore)])
    }

    func testAFastPressAfterAnAnswerStillStepsFromTheRequestNotFromAnOlderSnapshot() {
        var (model, _) = commands([.character("f")], snapshot: quiet)
        // The answer arrives, but the snapshot in hand was taken before it.
        model = update.update(model, .commandFinished(.setCreditFailureRate(percent: 30), .success("ok")), snapshot: quiet,
                              now: Fixture.now).0
        var stale = quiet
        stale.takenAt = Timestamp(millisecondsSinceEpoch: Fixture.now.millisecondsSinceEpoch - 50)
        model.reconcile(with: stale)
        XCTAssertEqual(commands([.character("f")], snapshot: stale, model: model).1, [.setCreditFailureRate(percent: 100)])
    }

    func testOnceASnapshotAfterTheAnswerArrivesTheEngineIsTheTruthAgain() {
        var (model, _) = commands([.character("f")], snapshot: quiet)
        model = update.update(model, .commandFinished(.setCreditFailureRate(percent: 30), .success("ok")), snapshot: quiet,
                              now: Fixture.now).0
        // A scenario set 100 % meanwhile: the next press steps from what the engine shows.
        var fresh = quiet
        fresh.takenAt = Timestamp(millisecondsSinceEpoch: Fixture.now.millisecondsSinceEpoch + 100)
        fresh.faults.creditFailurePercent = 100
        model.reconcile(with: fresh)
        XCTAssertTrue(model.requested.isEmpty)
        XCTAssertEqual(commands([.character("f")], snapshot: fresh, model: model).1, [.setCreditFailureRate(percent: 0)])
    }

    func testARefusedCommandIsForgotten() {
        var (model, _) = commands([.character("L")], snapshot: quiet)
        model = update.update(model, .commandFinished(.setLedgerLatency(milliseconds: 50), .failure(.rejected("no"))),
                              snapshot: quiet, now: Fixture.now).0
        XCTAssertEqual(commands([.character("L")], snapshot: quiet, model: model).1, [.setLedgerLatency(milliseconds: 50)])
    }

    func testDOnACorruptedReplicaBringsItBack() {
        var snapshot = quiet
        snapshot.queue.replicas[1].state = .corrupted
        var model = Fixture.model(width: 120, height: 40, focus: .queue)
        model.selection[.queue] = 1
        XCTAssertEqual(commands([.character("d")], snapshot: snapshot, model: model).1, [.replica(name: "b", action: .restore)])
    }
}
