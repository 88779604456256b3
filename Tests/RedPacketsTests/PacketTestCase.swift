import GRDB
import Ledger
import Primitives
import RedPackets
import Synchronization
import TestKit
import XCTest

/// A fresh ledger with the red-packet tables, a manual clock and seeded randomness per test.
class PacketTestCase: XCTestCase {
    var directory: TemporaryDirectory!
    var clock: ManualClock!
    var ledger: Ledger!
    var service: PacketService!

    override func setUp() async throws {
        directory = try TemporaryDirectory(prefix: "hongbao-packets-test")
        clock = ManualClock()
        ledger = try Ledger(path: directory.appending("ledger.sqlite"), durability: .normal, limits: .default,
                            clock: clock, migrations: PacketSchema.register)
        service = PacketService(ledger: ledger, random: SeededRandomSource(seed: 20_260_125))
    }

    override func tearDown() async throws {
        service = nil
        ledger = nil
        directory?.remove()
    }

    @discardableResult
    func user(_ name: String, _ deposit: Money? = nil) async throws -> Account {
        try await ledger.openAccount(name: name, deposit: deposit)
    }

    func balance(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Money {
        try XCTUnwrap(try ledger.account(named: name), "no account \(name)", file: file, line: line).balance
    }

    func escrowBalance(_ packet: Packet) throws -> Money {
        try XCTUnwrap(try ledger.account(id: packet.escrowID)).balance
    }

    func count(_ table: String) throws -> Int {
        try ledger.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
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
        let balances = try ledger.read { database in
            try Row.fetchAll(database, sql: "SELECT name, balance FROM account").reduce(into: [String: Money]()) {
                $0[$1[0]] = Money(minorUnits: $1[1])
            }
        }
        let totals = try ledger.totals()
        return Snapshot(balances: balances, packets: try count("packet"), grabs: try count("grab"),
                        claims: try count("claim"), transfers: totals.transferCount, accounts: totals.accountCount)
    }

    func assertAuditsClean(file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try ledger.totals().sumOfBalances, .zero, file: file, line: line)
        XCTAssertEqual(try ledger.auditLedger(), [], file: file, line: line)
        XCTAssertEqual(try service.auditPackets(), [], file: file, line: line)
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

    func credit(_ claim: ClaimID) async throws -> CreditOutcome {
        attempts.add(1, ordering: .relaxed)
        throw Outage()
    }
}

