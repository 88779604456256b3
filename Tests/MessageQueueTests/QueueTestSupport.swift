import GRDB
@testable import MessageQueue
import Primitives
import TestKit
import XCTest

/// A queue under a temporary directory, on a manual clock and a seeded random source.
struct QueueFixture {
    let directory: TemporaryDirectory
    let clock: ManualClock
    let limits: QueueLimits
    var root: String { directory.appending("queue") }

    init(limits: QueueLimits = QueueLimits()) throws {
        try self.init(directory: TemporaryDirectory(prefix: "hongbao-queue"), limits: limits)
    }

    /// The queue already in `directory`, opened with other limits.
    init(directory: TemporaryDirectory, limits: QueueLimits) {
        self.directory = directory
        clock = ManualClock()
        self.limits = limits
    }

    func open(checkBackTimer: Bool = true) throws -> MessageQueueService {
        try MessageQueueService.open(
            root: root, limits: limits, clock: clock, random: SeededRandomSource(seed: 7), checkBackTimer: checkBackTimer)
    }

    func databasePath(_ id: ReplicaID) -> String { root + "/" + id.directoryName + "/queue.sqlite" }

    /// What a replica holds, read straight from its file: last sequence, queues, messages.
    func contents(of id: ReplicaID) throws -> ReplicaContents {
        var configuration = Configuration()
        configuration.readonly = true
        let database = try DatabaseQueue(path: databasePath(id), configuration: configuration)
        defer { try? database.close() }
        return try database.read { db in
            ReplicaContents(
                lastSequence: try Int64.fetchOne(db, sql: ReplicaStore.lastSequenceSQL) ?? -1,
                queues: try String.fetchAll(db, sql: "SELECT name || '|' || attributes FROM queue ORDER BY name"),
                messages: try String.fetchAll(db, sql: """
                    SELECT queue || '|' || id || '|' || body || '|' || sent_ms || '|' || visible_ms || '|' ||
                    receive_count || '|' || ifnull(origin, '') || '|' || ord || '|' || receipt FROM message ORDER BY queue, id
                    """),
                halves: try String.fetchAll(db, sql: """
                    SELECT queue || '|' || id || '|' || body || '|' || prepared_ms || '|' || check_ms || '|' ||
                    check_count || '|' || ifnull(delay_ms, '') || '|' || ord FROM half_message ORDER BY queue, id
                    """),
                operations: try String.fetchAll(db, sql: """
                    SELECT seq || '|' || kind || '|' || queue || '|' || message || '|' || text || '|' || time_ms ||
                    '|' || visible_ms || '|' || count FROM oplog ORDER BY seq
                    """))
        }
    }

    func remove() { directory.remove() }
}

struct ReplicaContents: Equatable {
    var lastSequence: Int64
    var queues: [String]
    var messages: [String]
    var halves: [String]
    var operations: [String]

    /// The operations both replicas still log (logs are trimmed at different moments).
    func sharedOperations(with other: ReplicaContents) -> ([String], [String]) {
        let count = min(operations.count, other.operations.count)
        return (Array(operations.suffix(count)), Array(other.operations.suffix(count)))
    }
}

/// Asserts that `body` throws exactly `expected`.
func assertThrows<T>(
    _ expected: MessageQueueError, file: StaticString = #filePath, line: UInt = #line,
    _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        XCTFail("expected \(expected), got no error", file: file, line: line)
    } catch let error as MessageQueueError {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}

/// `XCTUnwrap` for a value that needs `await` (XCTUnwrap's autoclosure cannot await).
func unwrapped<T>(_ value: T?, file: StaticString = #filePath, line: UInt = #line) throws -> T {
    try XCTUnwrap(value, file: file, line: line)
}
