import Ledger
import PostgresNIO
import Primitives

/// What the engine reads and writes beyond the `AccountStore` protocol: the dashboard's richest accounts, its
/// quick conservation check, and the demo accounts it seeds.
extension PostgresLedger {
    /// The richest user accounts, richest first.
    public func topAccounts(limit: Int) async throws -> [Account] {
        try await pool.retrying {
            try await pool.rows("""
                SELECT \(unescaped: PostgresLedger.accountColumns) FROM account WHERE kind = 'user'
                ORDER BY balance DESC, id LIMIT \(Int64(max(0, limit)))
                """).map(PostgresLedger.account(from:))
        }
    }

    /// The conservation check the dashboard repeats every couple of seconds: balances sum to zero and no
    /// account but the mint is negative. Two aggregates over the account table; the bills' history is
    /// `auditLedger`'s.
    public func auditLedgerQuick() async throws -> [AuditViolation] {
        let rows = try await pool.retrying {
            try await pool.rows("""
                SELECT COALESCE(SUM(balance), 0)::BIGINT, COUNT(*) FILTER (WHERE kind <> 'mint' AND balance < 0)
                FROM account
                """)
        }
        let (sum, negative) = try rows[0].decode((Int64, Int64).self)
        var violations: [AuditViolation] = []
        if sum != 0 {
            violations.append(AuditViolation(code: "ledger.sum",
                                             detail: "balances sum to \(Money(minorUnits: sum).formatted), not ¥0.00"))
        }
        if negative > 0 {
            violations.append(AuditViolation(code: "ledger.negative", detail: "\(negative) accounts are negative"))
        }
        return violations
    }

    /// Opens the named user accounts that do not exist yet, each funded from the mint by its deposit
    /// (transfer `open:<id>`), in one transaction. Idempotent: a name already taken is left alone. Returns how
    /// many were opened, at `now`. For the demo's seeding: the names are validated, lookalikes are not checked.
    public func openFundedAccounts(_ funded: [(name: String, deposit: Money)], at now: Timestamp) async throws -> Int {
        guard !funded.isEmpty else { return 0 }
        for entry in funded { try AccountName.validate(entry.name, limits: limits) }
        let names = funded.map(\.name)
        let keys = funded.map { TextRules.lookalikeKey($0.name) }
        let deposits = Dictionary(funded.map { ($0.name, $0.deposit) }, uniquingKeysWith: { first, _ in first })
        let maxAmount = limits.money.maxSingleAmount
        let logger = pool.logger
        return try await pool.retrying {
            // Thousands of accounts and their deposits in one transaction: long by nature on a loaded cluster.
            try await pool.transaction(limit: PostgresPool.longAnswerTimeout) { connection in
                try await connection.query("LOCK TABLE account IN SHARE ROW EXCLUSIVE MODE", logger: logger)
                var mint: Int64 = 0
                for try await id in try await connection.query(
                    "SELECT id FROM account WHERE name = \(Account.mintName)", logger: logger).decode(Int64.self) {
                    mint = id
                }
                var opened: [(id: Int64, name: String)] = []
                for try await row in try await connection.query("""
                    INSERT INTO account (name, name_key, kind, balance, created_at)
                    SELECT n.name, n.key, 'user', 0, \(now.millisecondsSinceEpoch)
                    FROM unnest(\(names)::TEXT[], \(keys)::TEXT[]) AS n(name, key)
                    ON CONFLICT DO NOTHING RETURNING id, name
                    """, logger: logger).decode((Int64, String).self) {
                    opened.append(row)
                }
                let requests = opened.compactMap { account -> TransferRequest? in
                    guard let deposit = deposits[account.name], deposit > .zero else { return nil }
                    return TransferRequest(id: TransferID("open:\(account.id)"), from: AccountID(mint),
                                           to: AccountID(account.id), amount: deposit, memo: "deposit")
                }
                if !requests.isEmpty {
                    for result in try await TransferBatcher.execute(requests, now: now, maxAmount: maxAmount,
                                                                    on: connection, logger: logger) {
                        _ = try result.get()
                    }
                }
                return opened.count
            }
        }
    }
}

/// The dashboard's accounts list: display reads on the caller's thread, like the packet store's.
extension PostgresLedger {
    /// User accounts whose name contains `text` (all when nil), richest first, a page at a time.
    public func accountsNow(matching text: String?, limit: Int, offset: Int) throws -> [Account] {
        try pool.rowsNow("""
            SELECT \(unescaped: PostgresLedger.accountColumns) FROM account
            WHERE kind = 'user' AND (\(text)::TEXT IS NULL OR strpos(name, \(text)::TEXT) > 0)
            ORDER BY balance DESC, id LIMIT \(Int64(max(0, limit))) OFFSET \(Int64(max(0, offset)))
            """).map(PostgresLedger.account(from:))
    }

    /// How many user accounts `accountsNow(matching:limit:offset:)` pages through.
    public func userAccountCountNow(matching text: String?) throws -> Int {
        let rows = try pool.rowsNow("""
            SELECT COUNT(*) FROM account
            WHERE kind = 'user' AND (\(text)::TEXT IS NULL OR strpos(name, \(text)::TEXT) > 0)
            """)
        return Int(try rows.first?.decode(Int64.self) ?? 0)
    }
}
