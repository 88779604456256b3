import Engine
import GRDB
import Ledger
import MessageQueue
import Primitives
import RedPackets

/// The convergence phase and the final checks.
extension DeterministicSimulation {
    /// Faults off; every replica back; workers and time move until nothing is owed or queued. Returns the
    /// rounds it took (nil: it did not converge within `maxConvergenceRounds`) and the virtual seconds.
    func converge() async throws -> (rounds: Int?, virtualSeconds: Int64) {
        let engine = try engine()
        outageUntil = nil
        engine.setOutage(false)
        engine.setCreditFailure(percent: 0)
        for replica in ReplicaID.allCases { try await engine.restoreReplica(replica) }
        let began = clock.now()
        for round in 1...max(1, options.maxConvergenceRounds) {
            let unqueued = await engine.requeueUnqueuedCredits()
            if unqueued == 0, try await owedOrQueued(engine) == 0 {
                return (round, (clock.now() - began).wholeMilliseconds / 1_000)
            }
            if await engine.deadLetteredCount() > 0 { _ = try await engine.redriveDeadLetters() }
            var received = 0
            for worker in held.indices {
                if held[worker].isEmpty { held[worker] = (try? await engine.workers.receive(wait: .zero)) ?? [] }
                received += held[worker].count
                while !held[worker].isEmpty { await engine.workers.process(held[worker].removeFirst()) }
            }
            if received == 0 { clock.advance(by: .seconds(1)) }
        }
        return (nil, (clock.now() - began).wholeMilliseconds / 1_000)
    }

    /// Claims not credited plus messages in the credit queue and its dead-letter queue.
    func owedOrQueued(_ engine: Engine) async throws -> Int {
        let uncredited = try engine.packets.uncreditedClaims(limit: 1).count
        return try await queued(engine) + uncredited
    }

    func queued(_ engine: Engine) async throws -> Int {
        let name = limits.credit.queueName
        return try await engine.queue.counters(of: name).total + engine.queue.counters(of: name + "-dlq").total
    }

    /// Every check of the run; the failures become the summary's `violations`.
    func check(convergenceRounds: Int?, convergenceVirtualSeconds: Int64) async throws -> DeterministicSummary {
        let engine = try engine()
        var violations: [String] = []
        if convergenceRounds == nil {
            violations.append("did not converge within \(options.maxConvergenceRounds) rounds")
        }
        violations += try await engine.audit().map { "audit \($0)" }
        let uncredited = try engine.packets.uncreditedClaims(limit: Int.max)
        if !uncredited.isEmpty {
            let examples = uncredited.prefix(5).map { "\($0.id) (\($0.state.rawValue))" }.joined(separator: ", ")
            violations.append("\(uncredited.count) claims not credited, e.g. \(examples)")
        }
        let stillQueued = try await queued(engine)
        if stillQueued > 0 { violations.append("\(stillQueued) credit messages still queued") }
        violations += await replicaChecks(engine)
        violations += try claimChecks(engine.ledger)
        let totals = try engine.ledger.totals()
        if totals.sumOfBalances != .zero { violations.append("balances sum to \(totals.sumOfBalances), not zero") }
        violations += try balanceChecks(engine.ledger)
        let claimed = model.claims.values.reduce(Int64(0)) { $0 + $1.amount.minorUnits }
        return DeterministicSummary(
            seed: options.seed, operations: options.operations, counts: counts, claims: model.claims.count,
            claimedMinorUnits: claimed, convergenceRounds: convergenceRounds ?? -1,
            convergenceVirtualSeconds: convergenceVirtualSeconds,
            virtualSeconds: (clock.now() - startedAt).wholeMilliseconds / 1_000,
            queueSequence: await engine.queue.currentState().lastSequence, transfers: totals.transferCount,
            moneyIssuedMinorUnits: totals.moneyIssued.minorUnits, balancesDigest: try balancesDigest(engine.ledger),
            violations: violations)
    }

    /// Every replica is up and has applied every acknowledged operation (their contents are compared by
    /// the audit's `queue.replicas` check).
    func replicaChecks(_ engine: Engine) async -> [String] {
        let last = await engine.queue.currentState().lastSequence
        return await engine.queue.replicaStatuses().compactMap { status in
            guard status.health.isLive else { return "replica \(status.id) is \(status.health.label) after convergence" }
            guard status.appliedSequence == last else {
                return "replica \(status.id) applied \(status.appliedSequence) of \(last) operations"
            }
            return nil
        }
    }

    /// Each claim the model opened exists with its amount, is credited, and has exactly one credit transfer
    /// (`claim:<id>`) of that amount; no credit transfer exists for any other claim.
    func claimChecks(_ ledger: Ledger) throws -> [String] {
        let rows = try ledger.read { database in
            try Row.fetchAll(database, sql: """
                SELECT c.id, c.amount, c.state, t.amount FROM claim c LEFT JOIN transfer t ON t.id = 'claim:' || c.id
                ORDER BY c.id
                """)
        }
        let creditTransfers = try ledger.read { database in
            try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM transfer WHERE id LIKE 'claim:%'") ?? 0
        }
        var problems: [String] = []
        if rows.count != model.claims.count {
            problems.append("the ledger holds \(rows.count) claims, the model opened \(model.claims.count)")
        }
        if creditTransfers != model.claims.count {
            problems.append("\(creditTransfers) credit transfers for \(model.claims.count) claims")
        }
        for row in rows {
            let id = ClaimID(row[0] as String)
            let amount = Money(minorUnits: row[1])
            let state: String = row[2]
            let transferred = (row[3] as Int64?).map { Money(minorUnits: $0) }
            if model.claims[id]?.amount != amount {
                problems.append("claim \(id) holds \(amount), the model drew \(model.claims[id].map { "\($0.amount)" } ?? "nothing")")
            }
            if state != ClaimState.credited.rawValue || transferred != amount {
                problems.append("claim \(id) is \(state) for \(amount) with credit transfer \(transferred.map { "\($0)" } ?? "none")")
            }
            if problems.count > 20 { break }
        }
        return problems
    }

    /// Each user's balance is what the model says: initial deposit − packets sent + refunds + claims received.
    func balanceChecks(_ ledger: Ledger) throws -> [String] {
        let refunds = try ledger.read { database in
            try Row.fetchAll(database, sql: """
                SELECT a.name, SUM(p.refunded) FROM packet p JOIN account a ON a.id = p.sender_id GROUP BY a.name
                """).reduce(into: [String: Money]()) { $0[$1[0]] = Money(minorUnits: $1[1]) }
        }
        var received: [String: Money] = [:]
        for claim in model.claims.values { received[claim.user, default: .zero] += claim.amount }
        var problems: [String] = []
        for user in users {
            let expected = (initialBalances[user] ?? .zero) - (model.sent[user] ?? .zero) + (refunds[user] ?? .zero)
                + (received[user] ?? .zero)
            let actual = try ledger.account(named: user)?.balance ?? .zero
            if actual != expected { problems.append("\(user) holds \(actual), the model expects \(expected)") }
            if problems.count > 20 { break }
        }
        return problems
    }

    /// FNV-1a over every account's name and balance, in name order.
    func balancesDigest(_ ledger: Ledger) throws -> String {
        let lines = try ledger.read { database in
            try String.fetchAll(database, sql: "SELECT name || '=' || balance FROM account ORDER BY name")
        }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in lines.joined(separator: "\n").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16)
    }
}
