import Dispatch
import Ledger
import Primitives
@testable import RedPackets
import Synchronization
import TestKit
import XCTest

/// The ledger as the red-packet system sees it, with the sender's payments (`send:` transfers) going wrong the
/// way a loaded or unreachable account system makes them: the call fails and nothing moved; the payment lands
/// and the call fails all the same (its answer lost, its deadline passed); or the call gives up while the
/// payment still waits in the ledger's writer, where it lands later.
final class FaultyPayments: AccountStore {
    enum Fault: Sendable {
        case failsAndMovesNothing
        case landsAndFails
        case failsAndLandsLater
        /// The call is slow to reach the ledger (retried through a failover, say): it waits for `gate` after
        /// firing `waiting`, then makes the payment.
        case paysAfter(gate: AsyncFlag, waiting: AsyncFlag)
    }

    static let failure = LedgerError.storage("the account system did not answer in time")
    static let unreachable = LedgerError.storage("the account system cannot be reached")

    let ledger: Ledger
    let fault: Fault
    /// Whether `settleTransfers` fails too (the account system unreachable for the send's own settling).
    private let settlingFails: Mutex<Bool>
    private let payments = Mutex<[TransferRequest]>([])

    /// The payments (`send:` transfers) asked for so far.
    var paymentsAsked: [TransferRequest] { payments.withLock { $0 } }

    init(_ ledger: Ledger, _ fault: Fault, settlingFails: Bool = false) {
        self.ledger = ledger
        self.fault = fault
        self.settlingFails = Mutex(settlingFails)
    }

    /// The account system answers `settleTransfers` again.
    func reachable() {
        settlingFails.withLock { $0 = false }
    }

    var settlementAccountID: AccountID { ledger.settlementAccountID }

    func transfer(_ request: TransferRequest) async throws -> TransferOutcome {
        guard request.id.rawValue.hasPrefix("send:") else { return try await ledger.transfer(request) }
        payments.withLock { $0.append(request) }
        switch fault {
        case .failsAndMovesNothing:
            break
        case .landsAndFails:
            _ = try await ledger.transfer(request)
        case .failsAndLandsLater:
            // Submitted to the writer before the call returns (the writer is held by the test): it lands later.
            ledger.transfer(request) { _ in }
        case let .paysAfter(gate, waiting):
            waiting.fire()
            await gate.wait()
            return try await ledger.transfer(request)
        }
        throw FaultyPayments.failure
    }

    func userAccount(named name: String) async throws -> Account? { try await ledger.userAccount(named: name) }
    func transfers(_ ids: [TransferID]) async throws -> [TransferID: TransferRecord] { try await ledger.transfers(ids) }
    func settleTransfers(_ ids: [TransferID]) async throws -> [TransferID: TransferRecord] {
        if settlingFails.withLock({ $0 }) { throw FaultyPayments.unreachable }
        return try await ledger.settleTransfers(ids)
    }
    func transfers(withPrefix prefix: String) async throws -> [TransferRecord] {
        try await ledger.transfers(withPrefix: prefix)
    }
    func balance(of account: AccountID) async throws -> Money? { try await ledger.balance(of: account) }
    func auditAccounts() async throws -> [AuditViolation] { try await ledger.auditAccounts() }
}

/// Sends whose payment call failed leave their packet `paying`; settling them (while the engine runs, when it
/// closes, at start) opens the packet if the payment landed and cancels it if not, and a payment still on its
/// way when the settling begins is waited for: no money is created, lost or taken twice, and nothing is left
/// awaiting recovery.
final class SendSettlementTests: PacketTestCase {
    private func faulty(_ fault: FaultyPayments.Fault) -> PacketService {
        faultyWithItsPayments(fault).service
    }

    /// The service, and its payments so that a test can make the account system reachable again; with
    /// `settlingFails` the send's own settling fails too, and leaves its packet `paying`.
    private func faultyWithItsPayments(_ fault: FaultyPayments.Fault, settlingFails: Bool = false)
        -> (service: PacketService, payments: FaultyPayments) {
        let payments = FaultyPayments(ledger, fault, settlingFails: settlingFails)
        return (PacketService(store: packetStore, accounts: payments, limits: .default,
                              random: SeededRandomSource(seed: 3), clock: clock), payments)
    }

    /// A send whose payment call failed and whose own settling could not reach the account system: its packet
    /// is left `paying`, awaiting recovery. The account system is reachable again when this returns.
    private func failedSend(_ fault: FaultyPayments.Fault) async throws -> (PacketService, Packet) {
        let (service, payments) = faultyWithItsPayments(fault, settlingFails: true)
        await assertThrows({ try await service.send(.group(from: "s", total: yuan("10"), shares: 2)) },
                           FaultyPayments.failure)
        let audit = try await service.auditAcrossSystems()
        XCTAssertEqual(audit.violations, [])
        XCTAssertEqual(audit.awaitingRecovery.map(\.state), [.paying])
        payments.reachable()
        return (service, try XCTUnwrap(audit.awaitingRecovery.first))
    }

    private func assertNothingAwaits(_ service: PacketService, file: StaticString = #filePath, line: UInt = #line)
        async throws {
        let audit = try await service.auditAcrossSystems()
        XCTAssertEqual(audit.violations, [], file: file, line: line)
        XCTAssertEqual(audit.awaitingRecovery, [], file: file, line: line)
        XCTAssertEqual(audit.settlementBalance, audit.packetsHold, file: file, line: line)
    }

    /// The send's own call settles a payment that failed: nothing moved, so the packet is cancelled, the call's
    /// error is returned, and nothing is left for a later settling.
    func testAFailedPaymentIsSettledByItsOwnCallAndMovesNothing() async throws {
        try await user("s", yuan("100"))
        let (service, payments) = faultyWithItsPayments(.failsAndMovesNothing)
        await assertThrows({ try await service.send(.group(from: "s", total: yuan("10"), shares: 2)) },
                           FaultyPayments.failure)
        let payment = try XCTUnwrap(payments.paymentsAsked.first)
        let packet = PacketID(String(payment.id.rawValue.dropFirst("send:".count)))
        XCTAssertEqual(try packetStore.packet(packet)?.state, .cancelled)
        XCTAssertEqual(try balance("s"), yuan("100"))
        XCTAssertEqual(try settlementBalance(), .zero)
        let later = try await service.settleSends(createdBefore: nil)
        XCTAssertEqual(later, RecoveryReport(), "nothing left to settle")
        do {
            _ = try await ledger.transfer(payment)
            XCTFail("the payment of a cancelled packet was taken")
        } catch LedgerError.voidedTransfer {
        }
        XCTAssertEqual(try balance("s"), yuan("100"), "a late payment is refused: its id was voided")
        try await assertNothingAwaits(service)
    }

    /// The payment landed though its call failed (its answer lost): the send's own settling finds it, and the
    /// send succeeds with the packet open, paid once.
    func testAPaymentThatLandedThoughItsCallFailedIsSentByItsOwnCall() async throws {
        try await user("s", yuan("100"))
        try await user("a")
        let service = faulty(.landsAndFails)
        let packet = try await service.send(.group(from: "s", total: yuan("10"), shares: 2))
        XCTAssertEqual(packet.state, .open)
        XCTAssertEqual(try balance("s"), yuan("90"), "paid once")
        try await service.grab(packet.id, user: "a")
        let opened = try await open(packet.id, user: "a")
        XCTAssertEqual(opened.claim.state, .credited)
        try await assertNothingAwaits(service)
    }

    /// The call gave up while its payment waited in the ledger's writer: the send's own settling waits for it
    /// behind the writer and, once it lands, the send succeeds with the packet open.
    func testAPaymentStillOnItsWayIsWaitedForByItsOwnCall() async throws {
        try await user("s", yuan("100"))
        let service = faulty(.failsAndLandsLater)
        let writer = try await holdTheLedgersWriter()
        let ledger = self.ledger!
        let send = Task { try await service.send(.group(from: "s", total: yuan("10"), shares: 2)) }
        await waitUntil("the payment and the settling wait in the writer") { ledger.queuedWrites == 2 }
        writer.release()
        let packet = try await send.value
        XCTAssertEqual(packet.state, .open)
        XCTAssertEqual(try balance("s"), yuan("90"), "paid once")
        XCTAssertEqual(try settlementBalance(), yuan("10"))
        try await assertNothingAwaits(service)
    }

    func testAFailedPaymentIsCancelledOnceItIsOlderThanTheBoundAndMovesNothing() async throws {
        try await user("s", yuan("100"))
        let (service, packet) = try await failedSend(.failsAndMovesNothing)
        let bound = Limits.default.packets.settleSendsAfter

        let early = try await service.settleSends(createdBefore: clock.now() - bound)
        XCTAssertEqual(early, RecoveryReport(), "a send younger than the bound is left alone")
        XCTAssertEqual(try packetStore.packet(packet.id)?.state, .paying)

        clock.advance(by: bound + .milliseconds(1))
        let settled = try await service.settleSends(createdBefore: clock.now() - bound)
        XCTAssertEqual(settled.sendsCancelled, 1)
        XCTAssertEqual(try packetStore.packet(packet.id)?.state, .cancelled)
        XCTAssertEqual(try balance("s"), yuan("100"))
        XCTAssertEqual(try settlementBalance(), .zero)
        let again = try await service.settleSends(createdBefore: clock.now())
        XCTAssertEqual(again, RecoveryReport(), "settled once")
        try await assertNothingAwaits(service)
    }

    func testAPaymentThatLandedThoughItsCallFailedOpensThePacketPaidOnce() async throws {
        try await user("s", yuan("100"))
        try await user("a")
        let (service, packet) = try await failedSend(.landsAndFails)
        clock.advance(by: .seconds(60))
        let settled = try await service.settleSends(createdBefore: clock.now() - Limits.default.packets.settleSendsAfter)
        XCTAssertEqual(settled.paymentsConfirmed, 1)
        XCTAssertEqual(try service.packet(packet.id).state, .open)
        XCTAssertEqual(try balance("s"), yuan("90"), "paid once")
        try await service.grab(packet.id, user: "a")
        let opened = try await open(packet.id, user: "a")
        XCTAssertEqual(opened.claim.state, .credited)
        try await assertNothingAwaits(service)
    }

    /// A send under way is never settled, however old its packet: its own call finishes it.
    func testASendUnderWayIsLeftToItsOwnCall() async throws {
        try await user("s", yuan("100"))
        let writer = try await holdTheLedgersWriter()
        let service = self.service!
        let ledger = self.ledger!
        let send = Task { try await service.send(.group(from: "s", total: yuan("10"), shares: 2)) }
        await waitUntil("the payment waits in the writer") { ledger.queuedWrites == 1 }
        clock.advance(by: .seconds(60))
        let settled = try await service.settleSends(createdBefore: clock.now())
        XCTAssertEqual(settled, RecoveryReport())
        writer.release()
        let packet = try await send.value
        XCTAssertEqual(packet.state, .open)
        XCTAssertEqual(try balance("s"), yuan("90"))
        try await assertNothingAwaits(service)
    }

    /// The payment's call gave up while the payment waited in the ledger's writer; the settling (here the
    /// recovery an engine runs when it closes) begins before the payment lands. It waits for it and opens the
    /// packet: the sender pays once and the settlement account holds what the packet holds. (A settling that
    /// only looked the payment up cancelled the packet, and the payment then landed in the settlement account
    /// for a packet that no longer existed.)
    func testAPaymentLandingAfterTheSettlingBeganIsWaitedForAndOpensThePacket() async throws {
        try await user("s", yuan("100"))
        let writer = try await holdTheLedgersWriter()
        let (service, packet) = try await failedSend(.failsAndLandsLater)
        XCTAssertEqual(ledger.queuedWrites, 1, "the payment waits in the writer")
        let settled = AsyncFlag()
        let settling = Task {
            defer { settled.fire() }
            return try await service.recover()
        }
        let ledger = self.ledger!
        await waitUntil("the settling has begun") { settled.hasFired || ledger.queuedWrites == 2 }
        writer.release()
        let report = try await settling.value
        XCTAssertEqual(report.paymentsConfirmed, 1)
        XCTAssertEqual(report.sendsCancelled, 0)
        XCTAssertEqual(try service.packet(packet.id).state, .open)
        XCTAssertEqual(try balance("s"), yuan("90"), "paid once, for a packet that holds it")
        XCTAssertEqual(try settlementBalance(), yuan("10"))
        try await assertNothingAwaits(service)
    }

    /// Another process (here another `PacketService` on the same two stores, which knows nothing of this one's
    /// sends under way) settles a send whose payment call is still on its way, older than the bound: the packet
    /// is cancelled and the payment's id voided, so the payment, when it comes, is refused and the send fails
    /// with `sendCancelled`: nothing is paid for a cancelled packet. (Before voids, the late payment moved the
    /// sender's money into the settlement account for a packet that no longer existed, and the audit broke.)
    func testAPaymentArrivingAfterAnotherProcessSettledItsSendIsRefused() async throws {
        try await user("s", yuan("100"))
        let gate = AsyncFlag()
        let waiting = AsyncFlag()
        let sender = faulty(.paysAfter(gate: gate, waiting: waiting))
        let send = Task { try await sender.send(.group(from: "s", total: yuan("10"), shares: 2)) }
        await waiting.wait()
        let elsewhere = PacketService(store: packetStore, accounts: ledger, limits: .default,
                                      random: SeededRandomSource(seed: 4), clock: clock)
        let bound = Limits.default.packets.settleSendsAfter
        clock.advance(by: bound + .seconds(1))
        let settled = try await elsewhere.settleSends(createdBefore: clock.now() - bound)
        XCTAssertEqual(settled.sendsCancelled, 1)
        gate.fire()
        let id: PacketID
        do {
            let packet = try await send.value
            return XCTFail("the late payment was not refused: packet \(packet.id) is \(packet.state)")
        } catch let PacketError.sendCancelled(cancelled) {
            id = cancelled
        }
        XCTAssertEqual(try packetStore.packet(id)?.state, .cancelled)
        XCTAssertEqual(try balance("s"), yuan("100"), "nothing paid")
        XCTAssertEqual(try settlementBalance(), .zero)
        try await assertNothingAwaits(sender)
    }

    /// The ledger's group-commit writer, held inside a write until `release()`: writes submitted meanwhile wait.
    private func holdTheLedgersWriter() async throws -> HeldWriter {
        let held = HeldWriter()
        let ledger = self.ledger!
        let semaphore = held.semaphore
        let entered = held.entered
        held.task = Task {
            try await ledger.write { _ in
                entered.fire()
                semaphore.wait()
            }
        }
        await waitUntil("the writer is held") { entered.hasFired }
        addTeardownBlock { held.release() }
        return held
    }
}

final class HeldWriter: @unchecked Sendable {
    let semaphore = DispatchSemaphore(value: 0)
    let entered = AsyncFlag()
    var task: Task<Void, any Error>?
    private let released = Atomic<Bool>(false)

    func release() {
        if !released.exchange(true, ordering: .acquiringAndReleasing) { semaphore.signal() }
    }
}
