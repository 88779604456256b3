@testable import Ledger
import Primitives
import Synchronization
import TestKit
import XCTest

/// A fresh ledger file in a fresh temporary directory per test, on a manual clock.
class LedgerTestCase: XCTestCase {
    var directory: TemporaryDirectory!
    var clock: ManualClock!
    var path: String { directory.appending("ledger.sqlite") }

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-ledger-test")
        clock = ManualClock()
    }

    override func tearDown() {
        directory?.remove()
    }

    func makeLedger(durability: Durability = .normal, limits: Limits = .default) throws -> Ledger {
        try Ledger(path: path, durability: durability, limits: limits, clock: clock)
    }

    func balance(_ name: String, in ledger: Ledger, file: StaticString = #filePath, line: UInt = #line) throws -> Money {
        let account = try XCTUnwrap(try ledger.account(named: name), "no account \(name)", file: file, line: line)
        return account.balance
    }
}

