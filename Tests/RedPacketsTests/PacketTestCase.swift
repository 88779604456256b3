import AccountService
import Crediting
import GRDB
import Ledger
import Primitives
@testable import RedPackets
import Synchronization
import TestKit
import XCTest

/// A fresh ledger and red-packet store (two databases), a manual clock and seeded randomness per test. Opens
/// run their credit flow through `accountService` (the ledger itself unless a test swaps it) and an in-memory
/// credit queue.
class PacketTestCase: XCTestCase {
    var directory: TemporaryDirectory!
    var clock: ManualClock!
    var ledger: Ledger!
    var packetStore: SQLitePacketStore!
    var service: PacketService!
    var accountService: (any AccountService)!
    var creditQueue: InMemoryCreditQueue!

    override func setUp() async throws {
        directory = try TemporaryDirectory(prefix: "hongbao-packets-test")
        clock = ManualClock()
        ledger = try Ledger(path: directory.appending("ledger.sqlite"), durability: .normal, limits: .default,
                            clock: clock)
        packetStore = try SQLitePacketStore(path: directory.appending("redpackets.sqlite"), durability: .normal,
                                            clock: clock)
        service = PacketService(store: packetStore, accounts: ledger, limits: .default,
                                random: SeededRandomSource(seed: 20_260_125), clock: clock)
        accountService = LedgerAccountService(accounts: ledger)
        creditQueue = InMemoryCreditQueue()
    }

    override func tearDown() async throws {
        service = nil
        packetStore = nil
        ledger = nil
        directory?.remove()
    }

    /// The credit flow's driver over this test's account service and queue.
    var driver: CreditFlowDriver<InMemoryCreditQueue> {
        CreditFlowDriver(accountService: accountService, queue: creditQueue, recorder: packetStore,
                         limits: CreditLimits(), random: SeededRandomSource(seed: 1), remember: { _ in })
    }

    /// Opens a grabbed share the way the engine does (draw, then the credit flow), then waits for the record
    /// of its in-line credit, which the opener does not wait for: the tests look at a quiet system.
    func open(_ packet: PacketID, user: String) async throws -> OpenResult {
        let driver = self.driver
        let result = try await service.open(packet, user: user, via: driver)
        await driver.recordsSettled()
        return result
    }

    @discardableResult
    func user(_ name: String, _ deposit: Money? = nil) async throws -> Account {
        try await ledger.openAccount(name: name, deposit: deposit)
    }

    func balance(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Money {
        try XCTUnwrap(try ledger.account(named: name), "no account \(name)", file: file, line: line).balance
    }

    /// What the packet still holds in the settlement account, by the packet store's books.
    func held(_ packet: Packet) throws -> Money {
        try XCTUnwrap(try packetStore.packet(packet.id)).held
    }

    func settlementBalance() throws -> Money {
        try XCTUnwrap(try ledger.account(id: ledger.settlementAccountID)).balance
    }

    func count(_ table: String) throws -> Int {
        try packetStore.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    /// Everything a failed operation must leave untouched.
    struct Snapshot: Equatable {
        let balances: [String: Money]
        let packets: Int
        let grabs: Int
        let claims: Int
        let transfers: Int64
        let accounts: Int64
    }

    func snapshot() throws -> Snapshot {
        let balances = try ledger.allAccounts().reduce(into: [String: Money]()) { $0[$1.name] = $1.balance }
        let totals = try ledger.totals()
        return Snapshot(balances: balances, packets: try count("packet"), grabs: try count("grab"),
                        claims: try count("claim"), transfers: totals.transferCount, accounts: totals.accountCount)
    }

    func assertAuditsClean(file: StaticString = #filePath, line: UInt = #line) async throws {
        XCTAssertEqual(try ledger.totals().sumOfBalances, .zero, file: file, line: line)
        XCTAssertEqual(try ledger.auditLedger(), [], file: file, line: line)
        let across = try await service.auditAcrossSystems()
        XCTAssertEqual(across.violations, [], file: file, line: line)
        XCTAssertEqual(across.settlementBalance, across.packetsHold, file: file, line: line)
    }
}

func yuan(_ text: String) -> Money {
    guard case let .success(money) = Money.parse(text) else { preconditionFailure("bad amount \(text)") }
    return money
}

/// An account system that is down.
final class FailingAccountService: AccountService {
    struct Outage: Error {}
    let attempts = Atomic<Int>(0)

    init() {}

    func credit(_ order: CreditOrder) async throws -> CreditOutcome {
        attempts.add(1, ordering: .relaxed)
        throw Outage()
    }
}

/// A credit queue in memory: what was enqueued, in order.
final class InMemoryCreditQueue: CreditQueue {
    typealias Receipt = Int
    let sent = Mutex<[CreditOrder]>([])

    func enqueue(_ order: CreditOrder) async throws { sent.withLock { $0.append(order) } }
    func receive(max: Int, wait: Duration, visibility: Duration) async throws -> [CreditMessage<Int>] { [] }
    func acknowledge(_ message: CreditMessage<Int>) async throws {}
    func retry(_ message: CreditMessage<Int>, after delay: Duration) async throws {}
}

/// A worker's delivery without a queue: credit through the ledger (idempotent), then record it.
struct DirectCredit {
    let ledger: Ledger
    let store: SQLitePacketStore

    func credit(_ id: ClaimID) async throws -> (claim: Claim, appliedNow: Bool) {
        guard let claim = try store.claim(id) else { throw PacketError.unknownPacket(id.rawValue) }
        let outcome = try await LedgerAccountService(accounts: ledger).credit(claim.creditOrder)
        try await store.markCredited(id, at: outcome.creditedAt)
        return (try XCTUnwrap(try store.claim(id)), outcome.appliedNow)
    }
}
