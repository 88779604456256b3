import Engine
import Ledger
import Primitives
import Simulation
import TestKit
import XCTest

/// The load says how much it skipped at its in-flight limit and when: a bench step fails on one pause anywhere.
final class LoadGeneratorTests: XCTestCase {
    func testTheLoadCountsItsSkipsAndSaysWhenTheyHappened() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-load-test")
        defer { directory.remove() }
        let engine = try await Engine.start(EngineConfiguration(dataPath: directory.path))
        let users = try await SimulationRunner.prepareUsers(engine: engine, count: 20, seed: 1)
        var shape = LoadGenerator.Shape(users: users)
        shape.maxConcurrentOpens = 1
        let load = LoadGenerator(engine: engine, shape: shape, random: SeededRandomSource(seed: 7), rate: 5_000)
        let began = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await engine.run() }
            group.addTask { await load.run() }
            try? await Task.sleep(for: .milliseconds(300))
            load.setRate(0)
            group.cancelAll()
        }
        let elapsed = (ContinuousClock.now - began).secondsDouble
        let counters = load.counters
        XCTAssertGreaterThan(counters.skipped, 0, "one open at a time cannot keep up with 5,000/s")
        let window = try XCTUnwrap(counters.skipWindow)
        XCTAssertGreaterThanOrEqual(window.lowerBound, 0)
        XCTAssertLessThanOrEqual(window.upperBound, elapsed, "a skip dated after the load ended")
        // The stock ahead is bounded by what can be opened at once (one open here: four shares, so one packet's):
        // the load sends for what it opens, not 0.2 s of 5,000 opens a second that it can never start.
        XCTAssertLessThanOrEqual(counters.packetsSent, counters.completed / shape.shares + 3, "\(counters)")
        await engine.close()

        let idle = LoadGenerator(engine: engine, shape: shape, random: SeededRandomSource(seed: 7), rate: 0)
        XCTAssertNil(idle.counters.skipWindow)
    }

    /// The stock is sent before the first open is due: no open of the first tick sends its own packet (a payment
    /// and a packet before its grab), the burst that filled the in-flight limit 0.1 s into a fresh engine's load.
    /// At 5,000 opens/s it is 0.2 s of opens, past the 512 that can be in flight at once (the ceiling it had when
    /// the openers of a PostgreSQL load sent hundreds of their own packets in its first seconds).
    func testTheFirstOpensFindTheStockAlreadySent() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-load-stock")
        defer { directory.remove() }
        let engine = try await Engine.start(EngineConfiguration(dataPath: directory.path))
        let users = try await SimulationRunner.prepareUsers(engine: engine, count: 20, seed: 1)
        let load = LoadGenerator(engine: engine, shape: LoadGenerator.Shape(users: users),
                                 random: SeededRandomSource(seed: 7), rate: 5_000)
        XCTAssertNil(load.pacingBegan)
        let began = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await engine.run() }
            group.addTask { await load.run() }
            // The pacing (from which the benches' opens/s counts) begins once the stock is sent, not before.
            await waitUntil("the pacing", timeout: .seconds(30), interval: .milliseconds(1)) { load.pacingBegan != nil }
            XCTAssertGreaterThanOrEqual(load.counters.packetsSent, 100, "the stock went first")
            XCTAssertGreaterThan(load.pacingBegan ?? began, began)
            // The first tick owes 50 opens at 5,000/s; the stock ahead is 1,000 shares (0.2 s of opens).
            await waitUntil("the first opens", timeout: .seconds(30), interval: .milliseconds(1)) { load.counters.started > 0 }
            load.setRate(0)
            group.cancelAll()
        }
        let counters = load.counters
        await engine.close()
        XCTAssertGreaterThan(counters.started, 0)
        XCTAssertEqual(counters.packetsSentByOpeners, 0, "\(counters)")
        // 0.2 s of opens ahead, as long as a send takes on PostgreSQL at its worst (its three commits): with
        // 0.05 s the stock ran out whenever a send was slow, and the openers sent their own.
        XCTAssertGreaterThanOrEqual(counters.packetsSent, 100, "\(counters)")
    }

    /// A load identified up front opens as each user's account, looked up once for all (no lookup per open), and
    /// each claim is recorded under the account that has the name; a name with no user account is left out.
    func testAnIdentifiedLoadOpensAsTheUsersAccounts() async throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-load-identified")
        defer { directory.remove() }
        let engine = try await Engine.start(EngineConfiguration(dataPath: directory.path))
        let users = try await SimulationRunner.prepareUsers(engine: engine, count: 20, seed: 1)
        let shape = try await LoadGenerator.Shape.identified(users + ["nobody", "mint"], on: engine)
        XCTAssertEqual(shape.users, users, "names with no user account are left out, the rest keep their order")
        var expected: [String: AccountID] = [:]
        for name in users { expected[name] = try await engine.accounts.userAccount(named: name)?.id }
        XCTAssertEqual(shape.ids, try users.map { try XCTUnwrap(expected[$0], "\($0) has an account") })
        let load = LoadGenerator(engine: engine, shape: shape, random: SeededRandomSource(seed: 7), rate: 500)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await engine.run() }
            group.addTask { await load.run() }
            await waitUntil("opens completed", timeout: .seconds(30)) { load.counters.completed >= 50 }
            load.setRate(0)
            group.cancelAll()
        }
        XCTAssertEqual(load.counters.failed, 0, "\(load.counters)")
        var claims = 0
        for name in users {
            for claim in try await engine.packets.received(by: name) {
                XCTAssertEqual(claim.userID, expected[name], "\(name)'s claim \(claim.id)")
                XCTAssertEqual(claim.userName, name)
                claims += 1
            }
        }
        XCTAssertGreaterThanOrEqual(claims, 50)
        await engine.close()
    }
}
