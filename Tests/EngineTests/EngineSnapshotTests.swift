import Engine
import Ledger
import Primitives
import RedPackets
import TestKit
import XCTest

/// What the engine's live snapshot counts, as the dashboard shows it.
final class EngineSnapshotTests: XCTestCase {
    /// "expiring" is every open packet that expires within the minute, counted in the store: it was counted in
    /// the snapshot's list of the 12 soonest to expire, so it never showed more than 12.
    func testPacketsExpiringSoonAreAllOfThemNotTheListsLength() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-engine-snapshot")
        defer { directory.remove() }
        var configuration = EngineConfiguration(dataPath: directory.path, workers: 0)
        configuration.durability = .normal
        let engine = try await Engine.start(configuration)
        _ = try await engine.sqlite().ledger.openAccount(name: "alice", deposit: Money(yuan: 1_000))
        for _ in 0..<15 {
            _ = try await engine.packets.send(.group(from: "alice", total: Money(yuan: 1), shares: 1,
                                                     timeToLive: .seconds(30)))
        }
        for _ in 0..<3 {
            _ = try await engine.packets.send(.group(from: "alice", total: Money(yuan: 1), shares: 1,
                                                     timeToLive: .seconds(3_600)))
        }
        let snapshot = await engine.snapshot()
        XCTAssertEqual(snapshot.openPackets.count, 12, "the list is a page")
        XCTAssertEqual(snapshot.packetsExpiringSoon, 15)
        await engine.close()
    }
}
