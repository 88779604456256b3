import Engine
import MessageQueue
import Primitives
import TestKit
import XCTest

/// What the engine writes in its event log says what the operator did, in the dashboard's words.
final class EngineWordsTests: XCTestCase {
    func testResumingWorkersIsLoggedAsResumedAndTheLatencyKnobHasOneName() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-engine-words")
        defer { directory.remove() }
        var configuration = EngineConfiguration(dataPath: directory.path, workers: 1)
        configuration.durability = .normal
        let engine = try await Engine.start(configuration)
        engine.pauseWorkers()
        engine.resumeWorkers()
        engine.setLedgerLatency(milliseconds: 50)
        try await engine.setReplica(.b, down: true)
        let restored = try await engine.restoreReplica(.b)
        let texts = await engine.snapshot().events.map(\.text)
        await engine.close()
        // Bringing b back may catch it up; that repair is recorded as an event of its own after "back up".
        let operatorWords = texts.filter { !$0.hasPrefix("repaired ") }
        XCTAssertEqual(Array(operatorWords.suffix(5)), [
            "retry workers paused", "retry workers resumed", "account latency +50 ms", "replica b DOWN", "replica b back up",
        ])
        XCTAssertEqual(restored, "back up")
    }
}
