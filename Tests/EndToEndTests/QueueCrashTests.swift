import Foundation
import Primitives
import TestKit
import XCTest

/// Runs the real `hongbao` binary sending messages, kills it with SIGKILL at random moments, restarts it,
/// and checks that every message it acknowledged (printed) is still in the queue, once.
///
/// A kill comes a random 20–420 ms after the start in one round in four (start-up and recovery), and after
/// the first acknowledged line in the others (mid-load): on a busy machine start-up alone can outlast the
/// window, and rounds that never reach the load would test nothing.
final class QueueCrashTests: XCTestCase {
    func testEveryAcknowledgedMessageSurvivesKillNine() async throws {
        let data = ScratchRoot.path() + "/hongbao-crash-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: data) }
        try await everyAcknowledgedMessageSurvivesKillNine(["--data", data])
        // Reading commands (peek, replicas) repair nothing; a writing one opens the queue, which recovers first.
        let binary = try Self.binary()
        _ = try run(binary, ["queue", "create", "after-the-crashes", "--data", data])
        let replicas = try run(binary, ["queue", "replicas", "--json", "--data", data])
        let view = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(replicas.utf8)) as? [String: Any])
        let statuses = try XCTUnwrap(view["replicas"] as? [[String: Any]])
        let sequences = Set(statuses.compactMap { $0["lastSequence"] as? Int })
        XCTAssertEqual(statuses.count, 3)
        XCTAssertEqual(sequences.count, 1, "after recovery every replica holds the same operations: \(statuses)")
    }

    /// The same on PostgreSQL (`--store postgres`): the queue kept on a throwaway server.
    func testEveryAcknowledgedMessageSurvivesKillNineOnPostgreSQL() async throws {
        try await everyAcknowledgedMessageSurvivesKillNine(try await Self.postgres(self))
    }

    func testHalfMessagesSurviveKillNine() async throws {
        let data = ScratchRoot.path() + "/hongbao-crash-half-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: data) }
        try await halfMessagesSurviveKillNine(["--data", data])
    }

    func testHalfMessagesSurviveKillNineOnPostgreSQL() async throws {
        try await halfMessagesSurviveKillNine(try await Self.postgres(self))
    }

    /// `--store postgres --postgres URL` of a throwaway server, removed after the test.
    static func postgres(_ test: XCTestCase) async throws -> [String] {
        let login = try await TestPostgres.start(test).primary
        return ["--store", "postgres", "--postgres",
                "postgres://\(login.user):\(login.password)@\(login.host):\(login.port)/\(login.database)"]
    }

    /// Sends and consumes in rounds each ended by SIGKILL; `store` says where the queue is.
    private func everyAcknowledgedMessageSurvivesKillNine(_ store: [String]) async throws {
        let binary = try Self.binary()
        _ = try run(binary, ["queue", "create", "crash"] + store)

        var seed: UInt64 = 0x5EED_0004
        var acknowledged: [String] = []
        var deleted: [String] = []
        var received: [String] = []
        let rounds = 24
        for round in 0..<rounds {
            // Two rounds in three send; the third receives and deletes.
            let consuming = round % 3 == 2
            let arguments = consuming
                ? ["queue", "consume", "crash", "--count", "1000000"] + store
                : ["queue", "load", "crash", "--count", "1000000", "--prefix", "r\(round)"] + store
            let lines = try await killedRun(binary, arguments, round: round, seed: &seed)
            if consuming {
                for line in lines {
                    if line.hasPrefix("deleted ") { deleted.append(String(line.dropFirst(8))) }
                    if line.hasPrefix("received ") { received.append(String(line.dropFirst(9))) }
                }
            } else {
                acknowledged += lines
            }
        }
        print("crash test: \(acknowledged.count) sends and \(deleted.count) deletes acknowledged over \(rounds) kills")
        XCTAssertGreaterThan(acknowledged.count, rounds, "the load made progress between kills")

        let peek = try run(binary, ["queue", "peek", "crash", "-n", "100000", "--json"] + store)
        let messages = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(peek.utf8)) as? [[String: Any]])
        let ids = messages.compactMap { $0["id"] as? String }
        XCTAssertEqual(ids.count, Set(ids).count, "no message is stored twice")
        XCTAssertGreaterThan(deleted.count, 0, "the consumer made progress between kills")
        // A message the consumer received may have been deleted just before the kill, unreported.
        let missing = Set(acknowledged).subtracting(received).subtracting(ids)
        XCTAssertEqual(missing, [], "acknowledged messages lost")
        let unreported = Set(received).subtracting(deleted).subtracting(ids)
        XCTAssertLessThanOrEqual(unreported.count, rounds / 3, "at most one unreported delete per killed consumer")
        XCTAssertEqual(Set(deleted).intersection(ids), [], "acknowledged deletes undone")
    }

    /// Half messages under `kill -9`: every acknowledged half message is still held (or committed), every
    /// acknowledged commit is a message, every acknowledged rollback is gone, and none is both.
    private func halfMessagesSurviveKillNine(_ store: [String]) async throws {
        let binary = try Self.binary()
        _ = try run(binary, ["queue", "create", "tx"] + store)
        var seed: UInt64 = 0x5EED_0013
        var sent: [String] = [], committed: [String] = [], rolledBack: [String] = []
        let rounds = 8
        for round in 0..<rounds {
            let arguments = ["queue", "load-half", "tx", "--count", "1000000", "--prefix", "r\(round)"] + store
            for line in try await killedRun(binary, arguments, round: round, seed: &seed) {
                let parts = line.split(separator: " ").map(String.init)
                guard parts.count == 2 else { continue }
                switch parts[0] {
                case "half": sent.append(parts[1])
                case "committed": committed.append(parts[1])
                case "rolled-back": rolledBack.append(parts[1])
                default: XCTFail("unexpected line \(line)")
                }
            }
        }
        print("half crash test: \(sent.count) half messages, \(committed.count) commits, \(rolledBack.count) rollbacks")
        XCTAssertGreaterThanOrEqual(sent.count, rounds - rounds / 4, "the load made progress between kills")

        let messages = Set(try ids(binary, ["queue", "peek", "tx", "-n", "100000", "--json"] + store))
        let halves = try ids(binary, ["queue", "peek", "tx", "--half", "-n", "100000", "--json"] + store)
        XCTAssertEqual(messages.intersection(halves), [], "no id is both a half message and a message")
        XCTAssertEqual(Set(committed).subtracting(messages), [], "acknowledged commits lost")
        XCTAssertEqual(Set(rolledBack).intersection(messages.union(halves)), [], "acknowledged rollbacks undone")
        let even = sent.filter { ($0.split(separator: "-").last.flatMap { Int($0) } ?? 1) % 2 == 0 }
        XCTAssertEqual(Set(even).subtracting(messages).subtracting(halves), [], "acknowledged half messages lost")
        XCTAssertEqual(Set(sent).subtracting(even).intersection(messages), [], "a rolled-back id was delivered")
        XCTAssertLessThanOrEqual(halves.count, rounds, "at most the one in flight per kill is left undecided")
        let stats = try run(binary, ["queue", "stats", "tx", "--json"] + store)
        let counters = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [String: Any])
        XCTAssertEqual(counters["halfPending"] as? Int, halves.count)
    }

    private func ids(_ binary: String, _ arguments: [String]) throws -> [String] {
        let text = try run(binary, arguments)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        return rows.compactMap { $0["id"] as? String }
    }

    // MARK: Helpers

    /// Runs the binary, kills it with SIGKILL at a random moment (see the type's comment) and returns the
    /// complete lines it printed: what it acknowledged.
    private func killedRun(
        _ binary: String, _ arguments: [String], round: Int, seed: inout UInt64
    ) async throws -> [String] {
        let output = URL(fileURLWithPath: ScratchRoot.path()).appendingPathComponent("hongbao-crash-out-\(UUID().uuidString)")
        XCTAssertTrue(FileManager.default.createFile(atPath: output.path, contents: nil))
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        if round % 4 != 3 {
            await waitUntil("round \(round) to acknowledge something", timeout: .seconds(60), interval: .milliseconds(5)) {
                !process.isRunning || ((try? Data(contentsOf: output))?.contains(UInt8(ascii: "\n")) ?? false)
            }
        }
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        usleep(useconds_t(20_000 + (seed >> 33) % 400_000))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "round \(round) ended before the kill")
        let text = String(decoding: (try? Data(contentsOf: output)) ?? Data(), as: UTF8.self)
        // Only complete lines were acknowledged.
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// Runs the binary to completion and returns its standard output; fails on a non-zero exit.
    private func run(_ binary: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, "hongbao \(arguments.joined(separator: " ")): \(message)")
        return String(decoding: data, as: UTF8.self)
    }

    /// The built binary: next to the test bundle, else `.build/debug/hongbao` under the package root.
    static func binary() throws -> String {
        let beside = Bundle(for: QueueCrashTests.self).bundleURL.deletingLastPathComponent()
            .appendingPathComponent("hongbao").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let fallback = root.appendingPathComponent(".build/debug/hongbao").path
        guard FileManager.default.isExecutableFile(atPath: fallback) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: fallback])
        }
        return fallback
    }
}
