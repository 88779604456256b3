import Engine
import Foundation
import GRDB
import Ledger
import MessageQueue
import Primitives
import RedPackets
import TestKit
import XCTest

/// The audit tells the truth without changing it: reading the books writes nothing, what the next start
/// would recover is reported, repairs are recorded, and the dashboard's headline check sees damaged books.
final class EngineAuditTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-engine-audit")
    }

    override func tearDown() {
        directory.remove()
    }

    private func configuration() -> EngineConfiguration {
        var configuration = EngineConfiguration(dataPath: directory.path, workers: 1)
        configuration.durability = .normal
        configuration.random = SeededRandomSource(seed: 3)
        return configuration
    }

    /// An engine run that leaves a packet with two opened shares and the queue with a few operations.
    private func populate() async throws -> Packet {
        let engine = try await Engine.start(configuration())
        _ = try await engine.sqlite().ledger.openAccount(name: "alice", deposit: Money(yuan: 1_000))
        for name in ["bob", "carol"] { _ = try await engine.sqlite().ledger.openAccount(name: name) }
        let packet = try await engine.send(.group(from: "alice", total: Money(yuan: 100), shares: 3))
        for name in ["bob", "carol"] {
            try await engine.grab(packet.id, user: name)
            _ = try await engine.open(packet.id, user: name)
        }
        await engine.close()
        // The engine's ledger and packet store close when it is released, which a task still finishing may
        // delay; their last connection's close checkpoints the write-ahead log into the database. Closed here,
        // so that no file changes after this returns (a test that compares the files would see that close).
        let books = try engine.sqlite()
        try books.ledger.close()
        try books.packetStore.close()
        return packet
    }

    private func damageReplica(_ id: ReplicaID) throws {
        let path = directory.appending("queue/\(id.directoryName)/queue.sqlite")
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: Int(size) - 100))
        try handle.close()
    }

    /// The bytes of every file in the data directory but SQLite's shared-memory index and the lock file.
    private func contents() throws -> [String: Data] {
        var digests: [String: Data] = [:]
        let root = URL(fileURLWithPath: directory.path)
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = files?.nextObject() as? URL {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            let name = url.lastPathComponent
            if name.hasSuffix("-shm") || name == "LOCK" { continue }
            let data = try Data(contentsOf: url)
            // A write-ahead log the reader had to create is empty; one that held frames must be untouched.
            if name.hasSuffix("-wal") && data.isEmpty { continue }
            digests[url.path] = data
        }
        return digests
    }

    /// Audits read-only and lets go of the directory before returning.
    private func audit() async throws -> AuditReport {
        let reader = try BooksReader(directory: try DataDirectory(path: directory.path, create: false))
        let report = try await reader.audit()
        try reader.close()
        return report
    }

    func testReadingADamagedDirectoryReportsTheRepairItAwaitsAndWritesNothing() async throws {
        let packet = try await populate()
        try damageReplica(.b)
        let before = try contents()
        let report: AuditReport
        do {
            let reader = try BooksReader(directory: try DataDirectory(path: directory.path, create: false))
            report = try await reader.audit()
            _ = try reader.packets.detail(packet.id)
            _ = reader.creditProgress(of: [ClaimID(packet: packet.id, slot: 1)])
            try reader.close()
        }
        XCTAssertEqual(report.violations, [])
        XCTAssertEqual(report.awaitingRecovery.count, 1, "\(report.awaitingRecovery)")
        XCTAssertTrue(report.awaitingRecovery.first?.contains("replica-b is damaged") == true, "\(report.awaitingRecovery)")
        XCTAssertFalse(report.isClean)
        XCTAssertEqual(try contents(), before, "reading the books changed a file")
    }

    func testAReadOnlyOpenOfAFreshDirectoryCreatesNothing() throws {
        let path = directory.appending("never-used")
        XCTAssertThrowsError(try DataDirectory(path: path, create: false)) { error in
            XCTAssertEqual(error as? DataDirectoryError, .missing(path: path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        let empty = try DataDirectory(path: directory.path, create: false)
        XCTAssertThrowsError(try BooksReader(directory: empty)) { error in
            XCTAssertEqual(error as? LedgerError, .missingDatabase(path: empty.ledgerPath))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty.ledgerPath))
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty.queuePath))
    }

    func testARepairAtOpenIsRecordedDurablyAndShownAsAnEvent() async throws {
        _ = try await populate()
        try damageReplica(.c)
        let repairs: [ReplicaRepair], history: [ReplicaRepair], events: [String], violations: [AuditViolation]
        do {
            let engine = try await Engine.start(configuration())
            repairs = try engine.sqlite().queue.repairsAtOpen
            history = try engine.sqlite().queue.repairHistory()
            events = engine.recentEvents().map(\.text)
            violations = try await engine.audit()
            await engine.close()
        }
        XCTAssertEqual(violations, [])
        XCTAssertEqual(repairs.count, 1, "\(repairs)")
        let repair = try XCTUnwrap(repairs.first)
        XCTAssertEqual(repair.replica, .c)
        XCTAssertTrue(repair.found.hasPrefix("damaged ("), repair.found)
        XCTAssertEqual(repair.action, "rebuilt by a full copy")
        XCTAssertNotNil(repair.source)
        XCTAssertGreaterThan(repair.operations, 0)
        XCTAssertEqual(history, [repair], "recorded in the queue's repair log")
        XCTAssertTrue(events.contains { $0.contains("repaired at open: replica-c: damaged") }, "\(events)")
        // Durable: a reader of the closed directory sees the same record.
        let reader = try BooksReader(directory: try DataDirectory(path: directory.path, create: false))
        XCTAssertEqual(reader.queue?.repairs, [repair])
        XCTAssertEqual(reader.queue?.pendingRepairs, [])
    }

    /// The opener does not wait for the record of an in-line credit: a run stopped between the ledger's credit
    /// and that record is reported as awaiting recovery (to be recorded, not re-queued), never as a loss.
    func testACreditInTheLedgerNotYetRecordedAwaitsRecordingAndIsNoViolation() async throws {
        let drawn: Claim
        do {
            let engine = try await Engine.start(configuration())
            _ = try await engine.sqlite().ledger.openAccount(name: "alice", deposit: Money(yuan: 1_000))
            _ = try await engine.sqlite().ledger.openAccount(name: "bob")
            let packet = try await engine.send(.group(from: "alice", total: Money(yuan: 10), shares: 2))
            try await engine.grab(packet.id, user: "bob")
            drawn = try await engine.packets.draw(packet.id, user: "bob").claim
            try await engine.sqlite().ledger.transfer(TransferRequest(
                id: drawn.id.creditTransferID, from: engine.sqlite().ledger.settlementAccountID, to: drawn.userID,
                amount: drawn.amount, memo: "red packet"))
            await engine.close()
        }
        let report = try await audit()
        XCTAssertEqual(report.violations, [])
        XCTAssertEqual(report.awaitingRecovery, ["""
            awaiting recovery: 1 claim, \(drawn.amount.formatted) (credited in the ledger, not yet recorded by the \
            red-packet store; the next start records them)
            """])
        do {
            let engine = try await Engine.start(configuration())
            XCTAssertEqual(try engine.packets.claim(drawn.id)?.state, .credited)
            await engine.close()
        }
        let after = try await audit()
        XCTAssertEqual(after.awaitingRecovery, [])
        XCTAssertEqual(after.violations, [])
    }

    func testClaimsLeftCreditingWithNoMessageAwaitRecoveryWithTheirAmount() async throws {
        let drawn: Claim
        do {
            let engine = try await Engine.start(configuration())
            _ = try await engine.sqlite().ledger.openAccount(name: "alice", deposit: Money(yuan: 1_000))
            _ = try await engine.sqlite().ledger.openAccount(name: "bob")
            let packet = try await engine.send(.group(from: "alice", total: Money(yuan: 10), shares: 2))
            try await engine.grab(packet.id, user: "bob")
            // A run stopped between the draw and the credit: the claim is `crediting` and no message exists.
            drawn = try await engine.packets.draw(packet.id, user: "bob").claim
            await engine.close()
        }
        let report = try await audit()
        XCTAssertEqual(report.violations, [])
        XCTAssertEqual(report.awaitingRecovery.count, 1, "\(report.awaitingRecovery)")
        XCTAssertTrue(report.awaitingRecovery[0].hasPrefix("awaiting recovery: 1 claim, \(drawn.amount.formatted) "),
                      report.awaitingRecovery[0])
        XCTAssertFalse(report.isClean, "money owed from the settlement account is not OK")
        // The next start re-queues it; afterwards nothing awaits.
        do {
            let engine = try await Engine.start(configuration())
            await engine.close()
        }
        let after = try await audit()
        XCTAssertEqual(after.awaitingRecovery, [])
    }

    func testTheDashboardsHeadlineCheckSeesDamagedBooks() async throws {
        _ = try await populate()
        let tampered = try DatabaseQueue(path: directory.appending("ledger.sqlite"))
        try await tampered.write { try $0.execute(sql: "UPDATE account SET balance = balance + 1 WHERE name = 'bob'") }
        try tampered.close()
        let engine = try await Engine.start(configuration())
        let running = Task { await engine.run() }
        var violations: [AuditViolation] = []
        await waitUntil("the slow snapshot's audit", timeout: .seconds(20), interval: .milliseconds(20)) {
            guard let slow = await engine.snapshot().slow else { return false }
            violations = slow.violations
            return true
        }
        running.cancel()
        _ = await running.value
        await engine.close()
        XCTAssertEqual(violations.map(\.code), ["ledger.sum"], "the headline's quick check: \(violations)")
    }
}
