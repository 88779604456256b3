import GRDB
import Ledger
import Primitives

extension PacketService {
    /// Checks the red-packet invariants of DESIGN section 6 on one consistent snapshot:
    /// escrow = total − credited claims − refund; Σ claims = opened amount ≤ total; a claim is `credited`
    /// exactly when its credit transfer exists, and that transfer moved the claim's amount.
    public func auditPackets(maxViolationsPerCheck: Int = 20) throws -> [AuditViolation] {
        try ledger.read { database in
            var violations: [AuditViolation] = []
            for row in try Row.fetchAll(database, sql: """
                SELECT p.id, p.total, e.balance,
                       COALESCE((SELECT SUM(amount) FROM claim WHERE packet_id = p.id AND state = 'credited'), 0),
                       p.refunded
                FROM packet p JOIN account e ON e.id = p.escrow_id
                WHERE e.balance <> p.total
                      - COALESCE((SELECT SUM(amount) FROM claim WHERE packet_id = p.id AND state = 'credited'), 0)
                      - p.refunded
                LIMIT ?
                """, arguments: [maxViolationsPerCheck]) {
                violations.append(AuditViolation(code: "packet.escrow", detail: """
                    packet \(row[0] as String): escrow holds \(Money(minorUnits: row[2])) but total \(Money(minorUnits: row[1])) \
                    − credited \(Money(minorUnits: row[3])) − refunded \(Money(minorUnits: row[4])) differs
                    """))
            }
            for row in try Row.fetchAll(database, sql: """
                SELECT p.id, p.total, p.opened_amount, COALESCE(SUM(c.amount), 0), p.opened, COUNT(c.id)
                FROM packet p LEFT JOIN claim c ON c.packet_id = p.id
                GROUP BY p.id
                HAVING COALESCE(SUM(c.amount), 0) <> p.opened_amount OR p.opened_amount > p.total OR COUNT(c.id) <> p.opened
                LIMIT ?
                """, arguments: [maxViolationsPerCheck]) {
                violations.append(AuditViolation(code: "packet.claims", detail: """
                    packet \(row[0] as String): \(row[5] as Int) claims sum to \(Money(minorUnits: row[3])), \
                    recorded \(row[4] as Int) opened for \(Money(minorUnits: row[2])) of \(Money(minorUnits: row[1]))
                    """))
            }
            for row in try Row.fetchAll(database, sql: """
                SELECT c.id, c.state, t.amount, c.amount FROM claim c
                LEFT JOIN transfer t ON t.id = 'claim:' || c.id
                WHERE (c.state = 'credited') <> (t.id IS NOT NULL) OR (t.id IS NOT NULL AND t.amount <> c.amount)
                LIMIT ?
                """, arguments: [maxViolationsPerCheck]) {
                let transferText = (row[2] as Int64?).map { "a credit transfer of \(Money(minorUnits: $0))" } ?? "no credit transfer"
                violations.append(AuditViolation(code: "claim.credit", detail: """
                    claim \(row[0] as String) is \(row[1] as String) for \(Money(minorUnits: row[3])) with \(transferText)
                    """))
            }
            let expiredWithGrabs = try Int.fetchOne(database, sql: """
                SELECT COUNT(*) FROM packet WHERE state = 'expired' AND refunded <> total - opened_amount
                """) ?? 0
            if expiredWithGrabs > 0 {
                violations.append(AuditViolation(code: "packet.refund",
                    detail: "\(expiredWithGrabs) expired packets refunded other than their undrawn remainder"))
            }
            return violations
        }
    }
}

extension PacketService {
    /// The aggregate form of the escrow invariant, cheap enough to run every few seconds:
    /// Σ escrow balances = Σ totals − Σ credited claims − Σ refunds.
    public func auditPacketsQuick() throws -> [AuditViolation] {
        try ledger.read { database in
            let row = try Row.fetchOne(database, sql: """
                SELECT (SELECT COALESCE(SUM(balance), 0) FROM account WHERE kind = 'escrow'),
                       (SELECT COALESCE(SUM(total - refunded), 0) FROM packet),
                       (SELECT COALESCE(SUM(amount), 0) FROM claim WHERE state = 'credited')
                """)
            let escrow = Money(minorUnits: row?[0] ?? 0)
            let owed = Money(minorUnits: (row?[1] ?? 0) - (row?[2] ?? 0))
            guard escrow != owed else { return [] }
            return [AuditViolation(code: "packet.escrow",
                                   detail: "escrow accounts hold \(escrow.formatted) but packets owe \(owed.formatted)")]
        }
    }
}
