import Engine
import Foundation
import Primitives
import TestKit
import XCTest

/// An engine with contradictory limits is refused at start, before its data directory is touched.
final class EngineLimitsTests: XCTestCase {
    func testInconsistentLimitsAreRefusedBeforeTheDataDirectoryIsCreated() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-limits")
        defer { directory.remove() }
        let path = directory.appending("data")
        var configuration = EngineConfiguration(dataPath: path, workers: 1)
        configuration.limits.credit.workerBatchSize = configuration.limits.queue.maxBatchCount + 1
        do {
            let engine = try await Engine.start(configuration)
            await engine.close()
            XCTFail("an engine started with a worker batch larger than the queue's batch limit")
        } catch let error as LimitsError {
            XCTAssertEqual(error.reason, "credit.workerBatchSize 17 must be within 1…queue.maxBatchCount (16)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing was created")
    }
}
