import Ledger
import PostgresNIO
import Primitives

/// The account system's ledger on PostgreSQL: the `AccountStore` that `Ledger` is on SQLite, with the same
/// tables, the same idempotent transfers (same id and fields: a replay; same id, other fields: a conflict)
/// and the same audit. Transfers go through a group commit (`TransferBatcher`); money is BIGINT minor units.
public final class PostgresLedger: AccountStore {
    public let pool: PostgresPool
    public let limits: Limits
    public let settlementAccountID: AccountID
    private let clock: any WallClock
    private let batcher: TransferBatcher

    /// Opens the ledger on `pool`'s database, creating its tables the first time (unless `create` is false:
    /// then a database without them is `PostgresStoreError.missing`).
    public init(pool: PostgresPool, limits: Limits = .default, clock: any WallClock = SystemClock(),
                create: Bool = true) async throws {
        self.pool = pool
        self.limits = limits
        self.clock = clock
        try await PostgresSchema.ensure("ledger", tables: PostgresSchema.ledgerTables,
                                        steps: [PostgresSchema.ledger, PostgresSchema.ledgerSetBatch,
                                                PostgresSchema.ledgerTokens, PostgresSchema.ledgerVoids,
                                                PostgresSchema.ledgerNoForeignKeys, PostgresSchema.ledgerPlansByKey],
                                        on: pool, create: create)
        let rows = try await pool.retrying {
            try await pool.rows("SELECT id FROM account WHERE name = \(Account.settlementName)")
        }
        guard let id = try rows.first?.decode(Int64.self) else {
            throw PostgresStoreError.foreignSchema("the ledger has no settlement account")
        }
        settlementAccountID = AccountID(id)
        batcher = TransferBatcher(pool: pool, maxBatch: limits.ledger.maxTransactionsPerCommit,
                                  maxAmount: limits.money.maxSingleAmount, clock: clock)
    }

    /// How many group commits the transfer writer has made.
    public var commitCount: Int { batcher.commitCount }

    // MARK: Writes

    @discardableResult
    public func transfer(_ request: TransferRequest) async throws -> TransferOutcome {
        try await batcher.submit(request)
    }

    /// Opens a user account, optionally funded from the mint (transfer `open:<id>`), in one transaction.
    public func openAccount(name: String, deposit: Money? = nil) async throws -> Account {
        try AccountName.validate(name, limits: limits)
        let key = TextRules.lookalikeKey(name)
        let now = clock.now()
        let maxAmount = limits.money.maxSingleAmount
        let logger = pool.logger
        return try await pool.transaction { connection in
            try await connection.query("LOCK TABLE account IN SHARE ROW EXCLUSIVE MODE", logger: logger)
            for try await _ in try await connection.query("SELECT 1 FROM account WHERE name = \(name)", logger: logger) {
                throw LedgerError.duplicateAccountName(name)
            }
            for try await existing in try await connection.query(
                "SELECT name FROM account WHERE name_key = \(key)", logger: logger).decode(String.self) {
                throw LedgerError.invalidAccountName(name, reason: "it looks like the existing account '\(existing)'")
            }
            var id: Int64 = 0
            for try await value in try await connection.query("""
                INSERT INTO account (name, name_key, kind, balance, created_at)
                VALUES (\(name), \(key), 'user', 0, \(now.millisecondsSinceEpoch)) RETURNING id
                """, logger: logger).decode(Int64.self) {
                id = value
            }
            let account = Account(id: AccountID(id), name: name, kind: .user, balance: .zero, createdAt: now)
            guard let deposit else { return account }
            let mint = try await PostgresLedger.accountID(named: Account.mintName, on: connection, logger: logger)
            let results = try await TransferBatcher.execute(
                [TransferRequest(id: TransferID("open:\(id)"), from: mint, to: account.id, amount: deposit,
                                 memo: "deposit")],
                now: now, maxAmount: maxAmount, on: connection, logger: logger)
            let record = try results[0].get().record
            return Account(id: account.id, name: name, kind: .user, balance: record.toBalanceAfter, createdAt: now)
        }
    }

    /// Moves `amount` from the mint to `account` (a deposit), idempotently by `id`.
    @discardableResult
    public func deposit(_ amount: Money, to account: AccountID, id: TransferID) async throws -> TransferOutcome {
        guard let mint = try await self.account(named: Account.mintName) else {
            throw LedgerError.unknownAccount(Account.mintName)
        }
        return try await transfer(TransferRequest(id: id, from: mint.id, to: account, amount: amount, memo: "deposit"))
    }

    private static func accountID(named name: String, on connection: PostgresConnection, logger: Logger) async throws
        -> AccountID {
        for try await id in try await connection.query("SELECT id FROM account WHERE name = \(name)", logger: logger)
            .decode(Int64.self) {
            return AccountID(id)
        }
        throw LedgerError.unknownAccount(name)
    }

    // MARK: Reads

    static let accountColumns = "id, name, kind, balance, created_at"
    static let transferColumns = """
        seq, id, debit_id, credit_id, amount, memo, debit_balance_after, credit_balance_after, created_at
        """

    static func account(from row: PostgresRow) throws -> Account {
        let (id, name, kind, balance, created) = try row.decode((Int64, String, String, Int64, Int64).self)
        return Account(id: AccountID(id), name: name, kind: AccountKind(rawValue: kind) ?? .user,
                       balance: Money(minorUnits: balance), createdAt: Timestamp(millisecondsSinceEpoch: created))
    }

    static func transfer(from row: PostgresRow) throws -> TransferRecord {
        let (seq, id, debit, credit, amount, memo, debitAfter, creditAfter, at) = try row.decode(
            (Int64, String, Int64, Int64, Int64, String, Int64, Int64, Int64).self)
        return TransferRecord(sequence: seq, id: TransferID(id), from: AccountID(debit), to: AccountID(credit),
                              amount: Money(minorUnits: amount), memo: memo,
                              fromBalanceAfter: Money(minorUnits: debitAfter),
                              toBalanceAfter: Money(minorUnits: creditAfter), at: Timestamp(millisecondsSinceEpoch: at))
    }

    private func read(_ query: PostgresQuery, preparedAs prepared: (any CallText.Type)? = nil) async throws
        -> [PostgresRow] {
        try await pool.retrying { try await pool.rows(query, preparedAs: prepared) }
    }

    public func account(named name: String) async throws -> Account? {
        try await read(Self.accountByName(name), preparedAs: AccountByNameCall.self)
            .first.map(PostgresLedger.account(from:))
    }

    /// The account named `name`. Run prepared (`AccountByNameCall`): every grab and open looks its user up by
    /// name, and sent as text its planning took longer than its execution (61 µs against 37 a call).
    static func accountByName(_ name: String) -> PostgresQuery {
        "SELECT \(unescaped: PostgresLedger.accountColumns) FROM account WHERE name = \(name)"
    }

    public func account(id: AccountID) async throws -> Account? {
        try await read("SELECT \(unescaped: PostgresLedger.accountColumns) FROM account WHERE id = \(id.rawValue)")
            .first.map(PostgresLedger.account(from:))
    }

    public func userAccount(named name: String) async throws -> Account? {
        guard let account = try await account(named: name), account.kind == .user else { return nil }
        return account
    }

    /// Ten thousand names a query.
    public func userAccountIDs(named names: [String]) async throws -> [AccountID?] {
        var found: [String: AccountID] = [:]
        var start = 0
        while start < names.count {
            let chunk = Array(names[start..<min(start + 10_000, names.count)])
            let rows = try await read("SELECT id, name FROM account WHERE kind = 'user' AND name = ANY(\(chunk))")
            for row in rows {
                let (id, name) = try row.decode((Int64, String).self)
                found[name] = AccountID(id)
            }
            start += chunk.count
        }
        return names.map { found[$0] }
    }

    public func transfer(id: TransferID) async throws -> TransferRecord? {
        try await transfers([id])[id]
    }

    public func transfers(_ ids: [TransferID]) async throws -> [TransferID: TransferRecord] {
        guard !ids.isEmpty else { return [:] }
        return try PostgresLedger.transfersByID(try await read(PostgresLedger.transfersQuery(ids)))
    }

    /// The transfers with these ids, as one statement.
    static func transfersQuery(_ ids: [TransferID]) -> PostgresQuery {
        "SELECT \(unescaped: transferColumns) FROM transfer WHERE id = ANY(\(ids.map(\.rawValue)))"
    }

    static func transfersByID(_ rows: [PostgresRow]) throws -> [TransferID: TransferRecord] {
        var found: [TransferID: TransferRecord] = [:]
        for row in rows {
            let record = try transfer(from: row)
            found[record.id] = record
        }
        return found
    }

    /// Decided under the ids' locks: `hb_transfer_batch` takes a transaction-scoped advisory lock on each id it
    /// writes (on its hash) before it looks at them, and holds it until its commit ends, also while the commit
    /// waits for a standby. Taking the same locks first (in the same order: no deadlock) waits for every such
    /// write; the select after them, a statement of its own, sees what they committed, and the missing ids are
    /// voided in the same transaction, before a later batch can take their locks and look for voids. Run again
    /// after an unclear commit it answers the same: the voids are idempotent.
    public func settleTransfers(_ ids: [TransferID]) async throws -> [TransferID: TransferRecord] {
        guard !ids.isEmpty else { return [:] }
        let raw = ids.map(\.rawValue)
        let now = clock.now().millisecondsSinceEpoch
        let logger = pool.logger
        return try await pool.retrying {
            try await pool.transaction(profiledAs: "settle-transfers") { connection in
                for try await _ in try await connection.query("""
                    SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtext(x) AS h FROM unnest(\(raw)::TEXT[]) AS x
                                                          ORDER BY 1) l
                    """, logger: logger) {}
                let found = try PostgresLedger.transfersByID(
                    try await connection.query(PostgresLedger.transfersQuery(ids), logger: logger).collect())
                let missing = raw.filter { found[TransferID($0)] == nil }
                if !missing.isEmpty {
                    try await connection.query("""
                        INSERT INTO voided_transfer (id, created_at) SELECT x, \(now) FROM unnest(\(missing)::TEXT[]) AS x
                        ON CONFLICT DO NOTHING
                        """, logger: logger)
                }
                return found
            }
        }
    }

    public func transfers(withPrefix prefix: String) async throws -> [TransferRecord] {
        let upper = prefix + "\u{10FFFF}"
        return try await read("""
            SELECT \(unescaped: PostgresLedger.transferColumns) FROM transfer
            WHERE id >= \(prefix) AND id < \(upper) ORDER BY id
            """).map(PostgresLedger.transfer(from:))
    }

    public func balance(of account: AccountID) async throws -> Money? {
        try await self.account(id: account)?.balance
    }

    /// Every account (mint and settlement included) by name.
    public func allAccounts() async throws -> [Account] {
        try await read("SELECT \(unescaped: PostgresLedger.accountColumns) FROM account ORDER BY name")
            .map(PostgresLedger.account(from:))
    }

    /// The ids of every user account.
    public func userAccountIDs() async throws -> [AccountID] {
        try await read("SELECT id FROM account WHERE kind = 'user' ORDER BY id").map { AccountID(try $0.decode(Int64.self)) }
    }

    /// Money issued, the sum of balances, and how many transfers and accounts.
    public func totals() async throws -> LedgerTotals {
        let rows = try await read("""
            SELECT COALESCE(SUM(balance), 0)::BIGINT,
                   COALESCE(-SUM(CASE WHEN kind = 'mint' THEN balance END), 0)::BIGINT,
                   (SELECT COALESCE(MAX(seq), 0) FROM transfer),
                   COUNT(*),
                   COUNT(*) FILTER (WHERE kind = 'user')
            FROM account
            """)
        let (sum, issued, transfers, accounts, users) = try rows[0].decode((Int64, Int64, Int64, Int64, Int64).self)
        return LedgerTotals(sumOfBalances: Money(minorUnits: sum), moneyIssued: Money(minorUnits: issued),
                            transferCount: transfers, accountCount: accounts, userAccountCount: users)
    }

    // MARK: Audit

    public func auditAccounts() async throws -> [AuditViolation] {
        try await auditLedger()
    }

    /// The same checks as the SQLite ledger's audit, on one repeatable-read snapshot.
    public func auditLedger(maxViolationsPerCheck: Int = 20) async throws -> [AuditViolation] {
        let limit = maxViolationsPerCheck
        let logger = pool.logger
        return try await pool.retrying {
            try await pool.transaction(limit: PostgresPool.longAnswerTimeout) { connection in
                try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
                    var rows: [PostgresRow] = []
                    for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
                    return rows
                }
                var violations: [AuditViolation] = []
                let sum = try await rows("SELECT COALESCE(SUM(balance), 0)::BIGINT FROM account")[0].decode(Int64.self)
                if sum != 0 {
                    violations.append(AuditViolation(code: "ledger.sum",
                        detail: "balances sum to \(Money(minorUnits: sum).formatted), not ¥0.00"))
                }
                for row in try await rows("""
                    SELECT name, balance FROM account WHERE kind <> 'mint' AND balance < 0 LIMIT \(limit)
                    """) {
                    let (name, balance) = try row.decode((String, Int64).self)
                    violations.append(AuditViolation(code: "ledger.negative",
                        detail: "account \(name) is negative: \(Money(minorUnits: balance).formatted)"))
                }
                let strays = try await rows("""
                    SELECT COUNT(*) FROM transfer t
                    WHERE NOT EXISTS (SELECT 1 FROM account a WHERE a.id = t.debit_id)
                       OR NOT EXISTS (SELECT 1 FROM account a WHERE a.id = t.credit_id)
                    """)[0].decode(Int64.self)
                if strays > 0 {
                    violations.append(AuditViolation(code: "ledger.accounts",
                        detail: "\(strays) transfers name an account that does not exist"))
                }
                let badAmounts = try await rows("SELECT COUNT(*) FROM transfer WHERE amount <= 0")[0].decode(Int64.self)
                if badAmounts > 0 {
                    violations.append(AuditViolation(code: "ledger.amount", detail: "\(badAmounts) transfers have amount ≤ 0"))
                }
                for row in try await rows("""
                    WITH moves(account_id, delta) AS (
                        SELECT debit_id, -amount FROM transfer
                        UNION ALL
                        SELECT credit_id, amount FROM transfer
                    ), sums AS (
                        SELECT account_id, SUM(delta)::BIGINT AS total FROM moves GROUP BY account_id
                    )
                    SELECT a.name, a.balance, COALESCE(s.total, 0)::BIGINT FROM account a
                    LEFT JOIN sums s ON s.account_id = a.id
                    WHERE a.balance <> COALESCE(s.total, 0) LIMIT \(limit)
                    """) {
                    let (name, balance, total) = try row.decode((String, Int64, Int64).self)
                    violations.append(AuditViolation(code: "ledger.history",
                        detail: "account \(name) holds \(Money(minorUnits: balance).formatted) but its transfers sum to \(Money(minorUnits: total).formatted)"))
                }
                for row in try await rows("""
                    WITH moves(account_id, seq, delta, after) AS (
                        SELECT debit_id, seq, -amount, debit_balance_after FROM transfer
                        UNION ALL
                        SELECT credit_id, seq, amount, credit_balance_after FROM transfer
                    ), replayed AS (
                        SELECT account_id, seq, after,
                               (SUM(delta) OVER (PARTITION BY account_id ORDER BY seq ROWS UNBOUNDED PRECEDING))::BIGINT
                                   AS running
                        FROM moves
                    ), wrong AS (
                        SELECT account_id, MIN(seq) AS first_seq, COUNT(*) AS bills FROM replayed
                        WHERE after <> running GROUP BY account_id
                    )
                    SELECT a.name, w.first_seq, w.bills, r.after, r.running FROM wrong w
                    JOIN account a ON a.id = w.account_id
                    JOIN replayed r ON r.account_id = w.account_id AND r.seq = w.first_seq
                    LIMIT \(limit)
                    """) {
                    let (name, first, bills, after, running) = try row.decode((String, Int64, Int64, Int64, Int64).self)
                    violations.append(AuditViolation(code: "ledger.bills", detail: """
                        account \(name): \(bills) bill(s) record a running balance their transfers do not \
                        replay to, first transfer #\(first) (records \(Money(minorUnits: after).formatted), \
                        replays to \(Money(minorUnits: running).formatted))
                        """))
                }
                let duplicates = try await rows("""
                    SELECT COUNT(*) FROM (SELECT id FROM transfer GROUP BY id HAVING COUNT(*) > 1) d
                    """)[0].decode(Int64.self)
                if duplicates > 0 {
                    violations.append(AuditViolation(code: "ledger.duplicate",
                                                     detail: "\(duplicates) transfer ids appear more than once"))
                }
                // A ledger audited as it is (no migration) may predate voids.
                let hasVoids = try await rows("SELECT to_regclass('voided_transfer') IS NOT NULL")[0].decode(Bool.self)
                for row in hasVoids ? try await rows("""
                    SELECT v.id FROM voided_transfer v JOIN transfer t ON t.id = v.id ORDER BY v.id LIMIT \(limit)
                    """) : [] {
                    violations.append(AuditViolation(code: "ledger.voided",
                                                     detail: "transfer \(try row.decode(String.self)) was made though its id is voided"))
                }
                return violations
            }
        }
    }
}

/// `PostgresLedger.accountByName`'s statement, prepared.
enum AccountByNameCall: CallText {
    static let name = "hb_account_by_name_call"
    static let sql = PostgresLedger.accountByName("").sql
}
