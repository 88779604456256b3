import AccountService
import Ledger
import PostgresStores
import Primitives
import RedPackets

/// What the operator's reading commands (`account list|show`, `packet show|sent|received`, `audit`) ask of the
/// books, on either store: `BooksReader` over the SQLite files, `PostgresOperatorBooks` on a server.
public protocol BooksReading: Sendable {
    var packets: PacketService { get }
    /// The first `limit` user accounts, by name or richest first.
    func accounts(order: AccountOrder, limit: Int) async throws -> [Account]
    func userAccountCount() async throws -> Int
    /// The account with that name, of any kind.
    func account(named name: String) async throws -> Account?
    func accountName(_ id: AccountID) async throws -> String?
    /// An account's statement, newest first.
    func bills(of account: AccountID, limit: Int) async throws -> [Bill]
    /// The queued credit of each given claim that has one.
    func creditProgress(of claims: [ClaimID]) async throws -> [ClaimID: CreditProgress]
    /// Every invariant that does not hold, and what the next start recovers.
    func audit() async throws -> AuditReport
    func close() async throws
}

/// What the operator's writing commands (`account open`, `send`, `grab`, `open`, `seed-demo`) ask of the
/// books, on either store: `Store` over the SQLite files, `PostgresOperatorBooks` on a server.
public protocol BooksWriting: Sendable {
    var packets: PacketService { get }
    func openAccount(name: String, deposit: Money?) async throws -> Account
    func userAccountCount() async throws -> Int
    /// Opens a grabbed share: draws, then credits straight through the account system and records it. There
    /// is no queue here: if the credit fails the claim stays `crediting` and the engine's next start queues it.
    func open(_ packet: PacketID, user: String) async throws -> OpenResult
    /// The demo accounts (`DemoSeeder`); `progress` hears how many names are done. Returns how many were created.
    func seedDemoAccounts(count: Int, random: any RandomSource, progress: @escaping @Sendable (Int) -> Void) async throws -> Int
    func close() async throws
}

extension PacketService {
    /// `BooksWriting.open` for any pair of stores.
    func openCreditingInLine(_ packet: PacketID, user: String) async throws -> OpenResult {
        let drawn = try await draw(packet, user: user)
        if drawn.wasReplay || drawn.claim.state != .crediting {
            return OpenResult(claim: drawn.claim, wasReplay: drawn.wasReplay, creditFailure: nil)
        }
        do {
            let outcome = try await LedgerAccountService(accounts: accounts).credit(drawn.claim.creditOrder)
            try await store.markCredited(drawn.claim.id, at: outcome.creditedAt)
            return OpenResult(claim: try await store.currentClaim(drawn.claim.id) ?? drawn.claim, wasReplay: false,
                              creditFailure: nil)
        } catch {
            return OpenResult(claim: drawn.claim, wasReplay: false, creditFailure: "\(error)")
        }
    }
}

extension Store: BooksWriting {
    public func openAccount(name: String, deposit: Money?) async throws -> Account {
        try await ledger.openAccount(name: name, deposit: deposit)
    }

    public func userAccountCount() async throws -> Int {
        try ledger.userAccountCount()
    }

    public func seedDemoAccounts(count: Int, random: any RandomSource,
                                 progress: @escaping @Sendable (Int) -> Void) async throws -> Int {
        try DemoSeeder(ledger: ledger, random: random).seed(count: count, progress: progress)
    }
}

extension BooksReader: BooksReading {
    public func accounts(order: AccountOrder, limit: Int) async throws -> [Account] {
        try ledger.accounts(order: order, limit: limit)
    }

    public func userAccountCount() async throws -> Int {
        try ledger.userAccountCount()
    }

    public func account(named name: String) async throws -> Account? {
        try ledger.account(named: name)
    }

    public func accountName(_ id: AccountID) async throws -> String? {
        try ledger.account(id: id)?.name
    }

    public func bills(of account: AccountID, limit: Int) async throws -> [Bill] {
        try ledger.bills(of: account, limit: limit)
    }

}

/// The books on a PostgreSQL server for the operator's commands: the ledger, the red packets and the credit
/// queue, without an engine (no workers, no recovery). Every command runs against the server as it is;
/// many may run at once, as many clients of a database do.
public final class PostgresOperatorBooks: BooksReading, BooksWriting {
    public let databases: PostgresDatabases
    private let pools: PostgresDatabases.Pools
    public let ledger: PostgresLedger
    public let packetStore: PostgresPacketStore
    public let queue: PostgresCreditQueue
    public let packets: PacketService
    private let clock: any WallClock

    /// Connects to the server. `create`: the tables are made when missing (a writing command on a fresh
    /// server, as SQLite makes its files); otherwise a server without the books is an error.
    public init(settings: PostgresSettings, create: Bool, limits: Limits = .default, clock: any WallClock = SystemClock(),
                random: any RandomSource = SystemRandomSource()) async throws {
        // The primary, for readers too: the books' opening writes (its schema's record, the queue's row).
        let server = try await PostgresPool.writableServer(of: settings)
        databases = try await PostgresDatabases.locate(server, create: create)
        pools = databases.pools(maxConnections: 6, retryWindow: .seconds(2))
        do {
            ledger = try await PostgresLedger(pool: pools.ledger, limits: limits, clock: clock, create: create)
            packetStore = try await PostgresPacketStore(pool: pools.packets, limits: limits, clock: clock, create: create)
            queue = try await PostgresCreditQueue(pool: pools.queue, name: limits.credit.queueName,
                                                  maxReceiveCount: limits.credit.maxReceiveCount, clock: clock,
                                                  create: create)
        } catch {
            await pools.close()
            throw error
        }
        self.clock = clock
        packets = PacketService(store: packetStore, accounts: ledger, limits: limits, random: random)
    }

    public func close() async {
        await pools.close()
    }

    // MARK: BooksWriting

    public func openAccount(name: String, deposit: Money?) async throws -> Account {
        try await ledger.openAccount(name: name, deposit: deposit)
    }

    public func open(_ packet: PacketID, user: String) async throws -> OpenResult {
        try await packets.openCreditingInLine(packet, user: user)
    }

    public func seedDemoAccounts(count: Int, random: any RandomSource,
                                 progress: @escaping @Sendable (Int) -> Void) async throws -> Int {
        try await DemoSeeder.seed(ledger, count: count, random: random, at: clock.now(), progress: progress)
    }

    // MARK: BooksReading

    public func accounts(order: AccountOrder, limit: Int) async throws -> [Account] {
        try await ledger.accounts(order: order, limit: limit)
    }

    public func userAccountCount() async throws -> Int {
        try await ledger.userAccountCount()
    }

    public func account(named name: String) async throws -> Account? {
        try await ledger.account(named: name)
    }

    public func accountName(_ id: AccountID) async throws -> String? {
        try await ledger.account(id: id)?.name
    }

    public func bills(of account: AccountID, limit: Int) async throws -> [Bill] {
        try await ledger.bills(of: account, limit: limit)
    }

    public func creditProgress(of claims: [ClaimID]) async throws -> [ClaimID: CreditProgress] {
        CreditProgress.of(try await queue.progress(of: claims.map(\.rawValue)))
    }

    /// The ledger, the red packets and the two against each other, each uncredited claim against the credit
    /// queue's live and dead-lettered messages.
    public func audit() async throws -> AuditReport {
        try await AuditReport.across(ledger: ledger, packets: packets,
                                     liveMessages: Set(try await queue.liveIDs().map(ClaimID.init)))
    }
}
