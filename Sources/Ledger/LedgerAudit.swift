import GRDB
import Primitives

/// One broken invariant, named so that a person can find it.
public struct AuditViolation: Sendable, Equatable, Codable, CustomStringConvertible {
    /// A stable short code (`ledger.sum`, `packet.escrow`, ...).
    public let code: String
    public let detail: String

    public init(code: String, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}

extension Ledger {
    /// Checks the ledger's invariants (DESIGN section 6) on a consistent snapshot:
    /// balances sum to zero; only the mint is negative; every amount is positive; every account's balance
    /// equals the sum of its transfers; every bill's running balance replays from its transfers; each account's
    /// chain links exactly its transfers; every transfer id appears once.
    public func auditLedger(maxViolationsPerCheck: Int = 20) throws -> [AuditViolation] {
        try read { database in
            var violations: [AuditViolation] = []
            let sum = try Int64.fetchOne(database, sql: "SELECT COALESCE(SUM(balance), 0) FROM account") ?? 0
            if sum != 0 {
                violations.append(AuditViolation(code: "ledger.sum",
                    detail: "balances sum to \(Money(minorUnits: sum).formatted), not ¥0.00"))
            }
            for row in try Row.fetchAll(database, sql: """
                SELECT name, balance FROM account WHERE kind <> 'mint' AND balance < 0 LIMIT ?
                """, arguments: [maxViolationsPerCheck]) {
                violations.append(AuditViolation(code: "ledger.negative",
                    detail: "account \(row[0] as String) is negative: \(Money(minorUnits: row[1]).formatted)"))
            }
            let badAmounts = try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM transfer WHERE amount <= 0") ?? 0
            if badAmounts > 0 {
                violations.append(AuditViolation(code: "ledger.amount", detail: "\(badAmounts) transfers have amount ≤ 0"))
            }
            for row in try Row.fetchAll(database, sql: """
                WITH moves(account_id, delta) AS (
                    SELECT debit_id, -amount FROM transfer
                    UNION ALL
                    SELECT credit_id, amount FROM transfer
                ), sums AS (
                    SELECT account_id, SUM(delta) AS total FROM moves GROUP BY account_id
                )
                SELECT a.name, a.balance, COALESCE(s.total, 0) FROM account a
                LEFT JOIN sums s ON s.account_id = a.id
                WHERE a.balance <> COALESCE(s.total, 0) LIMIT ?
                """, arguments: [maxViolationsPerCheck]) {
                violations.append(AuditViolation(code: "ledger.history",
                    detail: "account \(row[0] as String) holds \(Money(minorUnits: row[1]).formatted) but its transfers sum to \(Money(minorUnits: row[2]).formatted)"))
            }
            // Each transfer records the balance it left on both sides (the bills' running balance); replaying an
            // account's transfers in order from zero must reach each recorded balance.
            for row in try Row.fetchAll(database, sql: """
                WITH moves(account_id, seq, delta, after) AS (
                    SELECT debit_id, seq, -amount, debit_balance_after FROM transfer
                    UNION ALL
                    SELECT credit_id, seq, amount, credit_balance_after FROM transfer
                ), replayed AS (
                    SELECT account_id, seq, after,
                           SUM(delta) OVER (PARTITION BY account_id ORDER BY seq ROWS UNBOUNDED PRECEDING) AS running
                    FROM moves
                ), wrong AS (
                    SELECT account_id, MIN(seq) AS first_seq, COUNT(*) AS bills FROM replayed
                    WHERE after <> running GROUP BY account_id
                )
                SELECT a.name, w.first_seq, w.bills, r.after, r.running FROM wrong w
                JOIN account a ON a.id = w.account_id
                JOIN replayed r ON r.account_id = w.account_id AND r.seq = w.first_seq
                LIMIT ?
                """, arguments: [maxViolationsPerCheck]) {
                violations.append(AuditViolation(code: "ledger.bills", detail: """
                    account \(row[0] as String): \(row[2] as Int) bill(s) record a running balance their transfers do not \
                    replay to, first transfer #\(row[1] as Int64) (records \(Money(minorUnits: row[3]).formatted), \
                    replays to \(Money(minorUnits: row[4]).formatted))
                    """))
            }
            // Each account's chain (bills follow it, see `LedgerSchema`) links exactly its transfers, newest first:
            // each transfer points at the account's previous one, and the account row at its newest.
            if try LedgerSchema.hasAccountChains(database) {
                for row in try Row.fetchAll(database, sql: """
                    WITH moves(account_id, seq, prev) AS (
                        SELECT debit_id, seq, debit_prev_seq FROM transfer
                        UNION ALL
                        SELECT credit_id, seq, credit_prev_seq FROM transfer
                    ), links AS (
                        SELECT account_id, seq, prev, LAG(seq) OVER (PARTITION BY account_id ORDER BY seq) AS expected,
                               MAX(seq) OVER (PARTITION BY account_id) AS newest
                        FROM moves
                    ), accounts AS (
                        SELECT account_id, MIN(CASE WHEN prev IS NOT expected THEN seq END) AS broken_at, MAX(newest) AS newest
                        FROM links GROUP BY account_id
                    )
                    SELECT a.name, c.broken_at, a.last_seq, c.newest FROM account a
                    LEFT JOIN accounts c ON c.account_id = a.id
                    WHERE c.broken_at IS NOT NULL OR a.last_seq IS NOT c.newest
                    LIMIT ?
                    """, arguments: [maxViolationsPerCheck]) {
                    let name: String = row[0]
                    let detail: String
                    if let brokenAt = row[1] as Int64? {
                        detail = "account \(name): transfer #\(brokenAt) does not point at the account's previous transfer"
                    } else {
                        let newest = (row[3] as Int64?).map { "#\($0)" } ?? "none"
                        let points = (row[2] as Int64?).map { "#\($0)" } ?? "none"
                        detail = "account \(name): its newest transfer is \(newest) but the account points at \(points)"
                    }
                    violations.append(AuditViolation(code: "ledger.chain", detail: detail))
                }
            }
            let duplicateIDs = try Int.fetchOne(database, sql: """
                SELECT COUNT(*) FROM (SELECT id FROM transfer GROUP BY id HAVING COUNT(*) > 1)
                """) ?? 0
            if duplicateIDs > 0 {
                violations.append(AuditViolation(code: "ledger.duplicate", detail: "\(duplicateIDs) transfer ids appear more than once"))
            }
            // A ledger read as it is (no migration) may predate voids.
            let voids = try database.tableExists("voided_transfer")
                ? try String.fetchAll(database, sql: """
                    SELECT v.id FROM voided_transfer v JOIN transfer t ON t.id = v.id ORDER BY v.id LIMIT ?
                    """, arguments: [maxViolationsPerCheck])
                : []
            for id in voids {
                violations.append(AuditViolation(code: "ledger.voided", detail: "transfer \(id) was made though its id is voided"))
            }
            return violations
        }
    }
}

extension Ledger {
    /// The conservation check the dashboard runs every few seconds: balances sum to zero and no account but
    /// the mint is negative, in one scan of the accounts; the full history check is `auditLedger`.
    public func auditLedgerQuick() throws -> [AuditViolation] {
        try read { database in
            var violations: [AuditViolation] = []
            // One pass over the accounts for both sums: at a million accounts each pass is about 0.05 s of CPU,
            // and the engine runs this every couple of seconds.
            let row = try Row.fetchOne(database, sql: """
                SELECT COALESCE(SUM(balance), 0), COALESCE(SUM(kind <> 'mint' AND balance < 0), 0) FROM account
                """)
            let sum: Int64 = row?[0] ?? 0
            let negative: Int = row?[1] ?? 0
            if sum != 0 {
                violations.append(AuditViolation(code: "ledger.sum",
                    detail: "balances sum to \(Money(minorUnits: sum).formatted), not ¥0.00"))
            }
            if negative > 0 {
                violations.append(AuditViolation(code: "ledger.negative", detail: "\(negative) accounts are negative"))
            }
            return violations
        }
    }
}
