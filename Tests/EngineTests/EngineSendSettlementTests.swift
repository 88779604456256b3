@testable import Engine
import Ledger
import Primitives
import RedPackets
import TestKit
import XCTest

/// Sends a failure left half done (the packet created `paying`, the payment made or not, the packet never
/// opened) are settled by the engine: while it runs, once they are older than `settleSendsAfter`, and when it
/// closes. A clean stop leaves nothing awaiting recovery; a crash (a close that settles nothing) leaves them to
/// the next start's recovery, as before.
final class EngineSendSettlementTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-engine-settle")
    }

    override func tearDown() {
        directory.remove()
    }

    private func configuration(settleSendsAfter: Duration? = nil) -> EngineConfiguration {
        var configuration = EngineConfiguration(dataPath: directory.path, workers: 1)
        configuration.durability = .normal
        configuration.random = SeededRandomSource(seed: 8)
        if let settleSendsAfter { configuration.limits.packets.settleSendsAfter = settleSendsAfter }
        return configuration
    }

    /// Two sends as a failure leaves them: one whose payment never happened, one whose payment landed.
    private func halfDoneSends(_ engine: Engine) async throws -> (unpaid: Packet, paid: Packet) {
        let ledger = try engine.sqlite().ledger
        let alice = try await ledger.openAccount(name: "alice", deposit: Money(yuan: 1_000))
        let draft = PacketDraft(kind: .lucky, senderID: alice.id, senderName: alice.name, recipientID: nil,
                                total: Money(yuan: 100), shares: 2, greeting: "", timeToLive: .seconds(600))
        let random = SeededRandomSource(seed: 9)
        let unpaid = try await engine.packetStore.createPacket(draft, random: random)
        let paid = try await engine.packetStore.createPacket(draft, random: random)
        try await ledger.transfer(TransferRequest(id: paid.id.fundingTransferID, from: alice.id,
                                                  to: ledger.settlementAccountID, amount: draft.total,
                                                  memo: "red packet \(paid.id.rawValue)"))
        return (unpaid, paid)
    }

    /// Closes the engine and its files (the data directory is let go when the engine is released).
    private func close(_ engine: Engine, settle: Bool = true) async throws {
        await engine.close(settle: settle)
        let books = try engine.sqlite()
        try books.ledger.close()
        try books.packetStore.close()
    }

    /// Audits read-only and lets go of the directory before returning. The closed engine lets the directory go
    /// when its last reference is released, which a task of its that is still ending may hold a moment longer:
    /// the lock this process still holds is waited for (CI once failed here with "in use" by its own pid).
    private func audit() async throws -> AuditReport {
        let deadline = ContinuousClock.now + .seconds(10)
        var opened: DataDirectory?
        while opened == nil {
            do {
                opened = try DataDirectory(path: directory.path, create: false)
            } catch {
                guard error == .inUse(path: directory.path, pid: getpid()),
                      ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let reader = try BooksReader(directory: try XCTUnwrap(opened))
        defer { try? reader.close() }
        return try await reader.audit()
    }

    func testACleanStopSettlesTheHalfDoneSendsAndLeavesNothingAwaitingRecovery() async throws {
        let (unpaid, paid): (Packet, Packet)
        do {
            let engine = try await Engine.start(configuration())
            (unpaid, paid) = try await halfDoneSends(engine)
            try await close(engine)
        }
        let report = try await audit()
        XCTAssertEqual(report.violations, [])
        XCTAssertEqual(report.awaitingRecovery, [])
        XCTAssertTrue(report.isClean)

        let reader = try BooksReader(directory: try DataDirectory(path: directory.path, create: false))
        defer { try? reader.close() }
        XCTAssertEqual(try reader.packets.store.packet(unpaid.id)?.state, .cancelled)
        XCTAssertEqual(try reader.packets.store.packet(paid.id)?.state, .open)
        let alice = try await reader.account(named: "alice")
        XCTAssertEqual(alice?.balance, Money(yuan: 900), "paid once, for the packet that opened")
    }

    func testARunningEngineSettlesAHalfDoneSendOnceItIsOlderThanTheBound() async throws {
        do {
            let engine = try await Engine.start(configuration(settleSendsAfter: .milliseconds(200)))
            let (unpaid, paid) = try await halfDoneSends(engine)
            let run = Task { await engine.run() }
            try await waitUntil("both sends settled", timeout: .seconds(20), interval: .milliseconds(50)) {
                let states = try [unpaid.id, paid.id].map { try engine.packetStore.packet($0)?.state }
                return states == [.cancelled, .open]
            }
            let events = await engine.snapshot().events
            XCTAssertTrue(events.contains { $0.text.contains("settled what was left half done: 1 send paid, 1 cancelled") },
                          "the event log says what was settled: \(events.map(\.text))")
            run.cancel()
            await run.value
            try await close(engine)
        }
        let report = try await audit()
        XCTAssertTrue(report.isClean, "\(report.violations) \(report.awaitingRecovery)")
    }

    /// A crash settles nothing: the audit reports both sends awaiting recovery, and the next start settles them.
    func testACrashLeavesTheHalfDoneSendsToTheNextStart() async throws {
        let (unpaid, paid): (Packet, Packet)
        do {
            let engine = try await Engine.start(configuration())
            (unpaid, paid) = try await halfDoneSends(engine)
            try await close(engine, settle: false)
        }
        let crashed = try await audit()
        XCTAssertEqual(crashed.violations, [])
        XCTAssertEqual(crashed.awaitingRecovery.count, 2, "\(crashed.awaitingRecovery)")

        do {
            let restarted = try await Engine.start(configuration())
            XCTAssertEqual(try restarted.packetStore.packet(unpaid.id)?.state, .cancelled)
            XCTAssertEqual(try restarted.packetStore.packet(paid.id)?.state, .open)
            try await close(restarted)
        }
        let report = try await audit()
        XCTAssertTrue(report.isClean, "\(report.violations) \(report.awaitingRecovery)")
    }

    // MARK: Expiry timer

    /// A packet paid for and open, made in the store (not through `Engine.send`, so the timer is not told).
    private func openPacket(_ engine: Engine, timeToLive: Duration) async throws -> Packet {
        let ledger = try engine.sqlite().ledger
        let alice = try await ledger.openAccount(name: "alice", deposit: Money(yuan: 1_000))
        let draft = PacketDraft(kind: .lucky, senderID: alice.id, senderName: alice.name, recipientID: nil,
                                total: Money(yuan: 100), shares: 2, greeting: "", timeToLive: timeToLive)
        let packet = try await engine.packetStore.createPacket(draft, random: SeededRandomSource(seed: 9))
        try await ledger.transfer(TransferRequest(id: packet.id.fundingTransferID, from: alice.id,
                                                  to: ledger.settlementAccountID, amount: draft.total,
                                                  memo: "red packet \(packet.id.rawValue)"))
        return try await engine.packetStore.markPaid(packet.id)
    }

    /// The timer sleeps until the next packet expires: sends that expire later do not wake it (each pass reads the
    /// packets being settled; woken by every send, it ran 17 times a second under load on PostgreSQL), and one
    /// that expires sooner does, and is refunded on time.
    func testTheExpiryTimerIsWokenOnlyByAPacketThatExpiresSooner() async throws {
        do {
            let engine = try await Engine.start(configuration())
            _ = try await engine.sqlite().ledger.openAccount(name: "alice", deposit: Money(yuan: 10_000))
            let run = Task { await engine.run() }
            await waitUntil("the timer's first pass", timeout: .seconds(20), interval: .milliseconds(10)) {
                engine.expiryPasses.load(ordering: .relaxed) >= 1
            }
            _ = try await engine.send(.group(from: "alice", total: Money(yuan: 10), shares: 2, timeToLive: .seconds(600)))
            await waitUntil("woken by the first packet", timeout: .seconds(20), interval: .milliseconds(10)) {
                engine.expiryPasses.load(ordering: .relaxed) >= 2
            }
            // Once the timer waits for that packet: a send while a pass looks for the next expiry wakes the next
            // wait whatever it expires (it may have come after the read), so under load one pass could follow
            // another for as long as the sends kept landing in that window.
            await waitUntil("the timer waits for the first packet", timeout: .seconds(20), interval: .milliseconds(10)) {
                engine.expiryWakeup.isParked
            }
            let before = engine.expiryPasses.load(ordering: .relaxed)
            for _ in 0..<20 {
                _ = try await engine.send(.group(from: "alice", total: Money(yuan: 10), shares: 2, timeToLive: .seconds(900)))
            }
            try await Task.sleep(for: .milliseconds(200))
            XCTAssertEqual(engine.expiryPasses.load(ordering: .relaxed), before,
                           "sends expiring after the one the timer waits for woke it")
            let soon = try await engine.send(.group(from: "alice", total: Money(yuan: 10), shares: 2, timeToLive: .seconds(1)))
            try await waitUntil("the sooner packet expired and refunded by the timer", timeout: .seconds(20),
                                interval: .milliseconds(20)) {
                let now = try engine.packets.packet(soon.id)
                return now.state == .expired && !now.refundPending
            }
            run.cancel()
            await run.value
            try await close(engine)
        }
        let report = try await audit()
        XCTAssertTrue(report.isClean, "\(report.violations) \(report.awaitingRecovery)")
    }

    /// A refund an expiry left pending (its transfer failed, or the process stopped between the two) is made by
    /// the engine within the settlement bound while it runs, though the timer sleeps until a later expiry.
    func testARunningEngineMakesARefundLeftPendingOnceItIsOlderThanTheBound() async throws {
        do {
            let engine = try await Engine.start(configuration(settleSendsAfter: .milliseconds(200)))
            let run = Task { await engine.run() }
            await waitUntil("the timer's first pass", timeout: .seconds(20), interval: .milliseconds(10)) {
                engine.expiryPasses.load(ordering: .relaxed) >= 1
            }
            try await Task.sleep(for: .milliseconds(200)) // the pass has read the next expiry (none) and sleeps
            let packet = try await openPacket(engine, timeToLive: .milliseconds(300))
            try await Task.sleep(for: .milliseconds(400))
            // The expiry's first step alone, as a failure between its two steps leaves it.
            let expired = try await engine.packetStore.expireDue(limit: 10)
            XCTAssertEqual(expired.map(\.id), [packet.id])
            XCTAssertEqual(try engine.packetStore.packet(packet.id)?.refundPending, true)
            try await waitUntil("the pending refund made", timeout: .seconds(20), interval: .milliseconds(50)) {
                try engine.packetStore.packet(packet.id)?.refundPending == false
            }
            let events = await engine.snapshot().events
            XCTAssertTrue(events.contains { $0.text.contains("settled what was left half done: 1 refund made") },
                          "the event log says what was settled: \(events.map(\.text))")
            let alice = try engine.sqlite().ledger.account(named: "alice")
            XCTAssertEqual(alice?.balance, Money(yuan: 1_000), "refunded once")
            run.cancel()
            await run.value
            try await close(engine)
        }
        let report = try await audit()
        XCTAssertTrue(report.isClean, "\(report.violations) \(report.awaitingRecovery)")
    }
}
