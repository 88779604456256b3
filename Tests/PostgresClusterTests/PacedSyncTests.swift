import Foundation
@testable import PostgresCluster
import TestKit
import XCTest

final class PacedSyncTests: XCTestCase {
    /// Every regular file, then every directory after all it holds, the root last; a symbolic link is not
    /// followed (what it points at is synced where it lives).
    func testEveryFileComesBeforeTheDirectoriesThatHoldItAndTheRootIsLast() throws {
        let root = try TemporaryDirectory(prefix: "hongbao-paced")
        defer { root.remove() }
        let manager = FileManager.default
        try manager.createDirectory(atPath: root.appending("base/1"), withIntermediateDirectories: true)
        try manager.createDirectory(atPath: root.appending("pg_wal/archive_status"), withIntermediateDirectories: true)
        for file in ["PG_VERSION", "base/1/1259", "base/1/1259_fsm", "pg_wal/000000010000000000000001"] {
            XCTAssertTrue(manager.createFile(atPath: root.appending(file), contents: Data(file.utf8)))
        }
        let elsewhere = try TemporaryDirectory(prefix: "hongbao-paced-elsewhere")
        defer { elsewhere.remove() }
        XCTAssertTrue(manager.createFile(atPath: elsewhere.appending("outside"), contents: Data()))
        try manager.createSymbolicLink(atPath: root.appending("linked"), withDestinationPath: elsewhere.path)

        let order = PacedSync.order(root.path)
        let files = order.filter { !$0.isDirectory }.map(\.path)
        let directories = order.filter(\.isDirectory).map(\.path)
        XCTAssertEqual(Set(files), Set(["PG_VERSION", "base/1/1259", "base/1/1259_fsm", "pg_wal/000000010000000000000001"]
            .map(root.appending)))
        XCTAssertEqual(Set(directories), Set(["base", "base/1", "pg_wal", "pg_wal/archive_status"].map(root.appending) + [root.path]))
        XCTAssertEqual(order.count, files.count + directories.count)
        XCTAssertTrue(order.prefix(files.count).allSatisfy { !$0.isDirectory }, "files first: \(order.map(\.path))")
        XCTAssertEqual(directories.last, root.path)
        for (index, directory) in directories.enumerated() {
            let later = directories[(index + 1)...]
            XCTAssertFalse(later.contains { $0.hasPrefix(directory + "/") }, "\(directory) before what it holds")
        }
        XCTAssertFalse(order.contains { $0.path.contains("linked") || $0.path.contains("outside") })
    }

    func testSyncingATreeSucceedsAndAMissingOneIsAnError() async throws {
        let root = try TemporaryDirectory(prefix: "hongbao-paced")
        defer { root.remove() }
        try FileManager.default.createDirectory(atPath: root.appending("a/b"), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: root.appending("a/b/file"), contents: Data(count: 1 << 20)))
        try await PacedSync.sync(root.path)
        await assertThrows({ try await PacedSync.sync(root.appending("missing")) },
                           ClusterError.commandFailed(command: "fsync", status: 1,
                                                      detail: "\(root.appending("missing")): No such file or directory"))
    }
}
