import Ledger
import PostgresStores
import Primitives

/// Creates demo accounts with balances: a few named people (including CJK names) and `count` numbered users.
/// Idempotent: accounts that exist are left alone, so seeding twice adds nothing.
public struct DemoSeeder: Sendable {
    /// The people the story is told with.
    public static let namedPeople = ["alice", "bob", "carol", "dave", "erin", "张三", "李四", "王五"]
    /// Accounts created per transaction: large enough that fsyncs do not dominate, small enough that a
    /// transaction's memory stays bounded.
    public static let accountsPerTransaction = 20_000

    public let ledger: Ledger
    public let random: any RandomSource

    public init(ledger: Ledger, random: any RandomSource) {
        self.ledger = ledger
        self.random = random
    }

    /// `u0000001` … `u<count>`: the numbered demo users.
    public static func numberedNames(count: Int) -> [String] {
        guard count > 0 else { return [] }
        return (1...count).map { number in
            let digits = String(number)
            return "u" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
        }
    }

    /// Seeds `count` numbered accounts (`u0000001`, …) plus the named people. Returns how many were created.
    public func seed(count: Int, progress: (Int) -> Void = { _ in }) throws -> Int {
        let names = DemoSeeder.namedPeople + DemoSeeder.numberedNames(count: count)
        var created = 0
        var start = 0
        while start < names.count {
            let chunk = names[start..<min(start + DemoSeeder.accountsPerTransaction, names.count)]
            let funded = DemoSeeder.funded(chunk, random: random)
            created += try ledger.writeNow { try $0.openFundedAccounts(funded) }
            start += chunk.count
            progress(start)
        }
        return created
    }

    /// Each name with its deposit: ¥100 – ¥10,000, drawn from `random`.
    static func funded(_ names: ArraySlice<String>, random: any RandomSource) -> [(name: String, deposit: Money)] {
        names.map { (name: $0, deposit: Money(minorUnits: random.uniform(in: 10_000...1_000_000))) }
    }

    /// The same accounts on a PostgreSQL ledger, the same deposits for the same seed.
    public static func seed(_ ledger: PostgresLedger, count: Int, random: any RandomSource, at now: Timestamp,
                            progress: (Int) -> Void = { _ in }) async throws -> Int {
        let names = DemoSeeder.namedPeople + DemoSeeder.numberedNames(count: count)
        var created = 0
        var start = 0
        while start < names.count {
            let chunk = names[start..<min(start + DemoSeeder.accountsPerTransaction, names.count)]
            created += try await ledger.openFundedAccounts(DemoSeeder.funded(chunk, random: random), at: now)
            start += chunk.count
            progress(start)
        }
        return created
    }
}

extension Engine {
    /// Seeds the demo accounts (`DemoSeeder`) on whichever store the engine runs on; returns how many were
    /// created.
    @discardableResult
    public func seedDemoAccounts(count: Int, random: any RandomSource) async throws -> Int {
        switch books {
        case let .sqlite(books): try DemoSeeder(ledger: books.ledger, random: random).seed(count: count)
        case let .postgres(books): try await DemoSeeder.seed(books.ledger, count: count, random: random, at: clock.now())
        }
    }
}
