import Engine
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
        return try await engine.sqlite().queue.counters(of: name).total + engine.sqlite().queue.counters(of: name + "-dlq").total
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
        violations += try await replicaChecks(engine)
        violations += try await claimChecks(engine)
        let totals = try engine.sqlite().ledger.totals()
        if totals.sumOfBalances != .zero { violations.append("balances sum to \(totals.sumOfBalances), not zero") }
        violations += try await balanceChecks(engine)
        let claimed = model.claims.values.reduce(Int64(0)) { $0 + $1.amount.minorUnits }
        return DeterministicSummary(
            seed: options.seed, operations: options.operations, counts: counts, claims: model.claims.count,
            claimedMinorUnits: claimed, convergenceRounds: convergenceRounds ?? -1,
            convergenceVirtualSeconds: convergenceVirtualSeconds,
            virtualSeconds: (clock.now() - startedAt).wholeMilliseconds / 1_000,
            queueSequence: try await engine.sqlite().queue.currentState().lastSequence, transfers: totals.transferCount,
            moneyIssuedMinorUnits: totals.moneyIssued.minorUnits, balancesDigest: try balancesDigest(engine.sqlite().ledger),
            violations: violations)
    }

    /// Every replica is up and has applied every acknowledged operation (their contents are compared by
    /// the audit's `queue.replicas` check).
    func replicaChecks(_ engine: Engine) async throws -> [String] {
        let queue = try engine.sqlite().queue
        let last = await queue.currentState().lastSequence
        return await queue.replicaStatuses().compactMap { status in
            guard status.health.isLive else { return "replica \(status.id) is \(status.health.label) after convergence" }
            guard status.appliedSequence == last else {
                return "replica \(status.id) applied \(status.appliedSequence) of \(last) operations"
            }
            return nil
        }
    }

    /// Each claim the model opened exists with its amount, is credited, and has exactly one credit transfer
    /// (`claim:<id>`) of that amount; no credit transfer exists for any other claim. Read through the two
    /// systems' APIs: the packet store's claims, the ledger's credit transfers.
    func claimChecks(_ engine: Engine) async throws -> [String] {
        let credited = try await engine.packetStore.creditedClaimAmounts()
        let uncredited = try await engine.packetStore.uncreditedClaims(in: nil, limit: Int.max)
        let transfers = try engine.sqlite().ledger.transfersNow(withPrefix: "claim:")
        let creditByID = Dictionary(transfers.map { ($0.id, $0.amount) }, uniquingKeysWith: { first, _ in first })
        var problems: [String] = []
        let claims = credited.count + uncredited.count
        if claims != model.claims.count {
            problems.append("the packet store holds \(claims) claims, the model opened \(model.claims.count)")
        }
        if transfers.count != model.claims.count {
            problems.append("\(transfers.count) credit transfers for \(model.claims.count) claims")
        }
        for claim in uncredited.prefix(5) {
            problems.append("claim \(claim.id) is \(claim.state.rawValue) for \(claim.amount)")
        }
        for (id, amount) in credited.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            if model.claims[id]?.amount != amount {
                problems.append("claim \(id) holds \(amount), the model drew \(model.claims[id].map { "\($0.amount)" } ?? "nothing")")
            }
            let transferred = creditByID[id.creditTransferID]
            if transferred != amount {
                problems.append("claim \(id) is credited for \(amount) with credit transfer \(transferred.map { "\($0)" } ?? "none")")
            }
            if problems.count > 20 { break }
        }
        return problems
    }

    /// Each user's balance is what the model says: initial deposit − packets sent + refunds + claims received.
    /// Refunds are the ledger's `refund:` transfers, checked against the packet store by the audit.
    func balanceChecks(_ engine: Engine) async throws -> [String] {
        var refunds: [AccountID: Money] = [:]
        for refund in try engine.sqlite().ledger.transfersNow(withPrefix: "refund:") {
            refunds[refund.to, default: .zero] += refund.amount
        }
        var received: [String: Money] = [:]
        for claim in model.claims.values { received[claim.user, default: .zero] += claim.amount }
        var problems: [String] = []
        for user in users {
            guard let account = try engine.sqlite().ledger.account(named: user) else {
                problems.append("\(user) has no account")
                continue
            }
            let paid: Money = (initialBalances[user] ?? .zero) - (model.sent[user] ?? .zero)
            let expected: Money = paid + (refunds[account.id] ?? .zero) + (received[user] ?? .zero)
            if account.balance != expected { problems.append("\(user) holds \(account.balance), the model expects \(expected)") }
            if problems.count > 20 { break }
        }
        return problems
    }

    /// FNV-1a over every account's name and balance, in name order.
    func balancesDigest(_ ledger: Ledger) throws -> String {
        let lines = try ledger.allAccounts().map { "\($0.name)=\($0.balance.minorUnits)" }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in lines.joined(separator: "\n").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16)
    }
}
