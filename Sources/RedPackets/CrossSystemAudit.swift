import Ledger
import Primitives

/// The two systems checked against each other: the red-packet store's books and the account system's
/// ledger, joined by the transfer ids each flow uses.
public struct CrossSystemAudit: Sendable {
    /// Broken invariants of the packet store, and disagreements between the two systems.
    public var violations: [AuditViolation] = []
    /// Claims not yet credited by the packet store's books. `creditedInLedger`: the money already moved and
    /// only the record is missing (a crash between the two steps); the credit path replays it.
    public var uncredited: [(claim: Claim, creditedInLedger: Bool)] = []
    /// Packets a crash left between two steps of send or expiry; `recover` settles them at the next start.
    public var awaitingRecovery: [Packet] = []
    /// The settlement account's balance, and what the packet store says it holds (adjusted for the steps
    /// in flight above).
    public var settlementBalance: Money = .zero
    public var packetsHold: Money = .zero
}

extension PacketService {
    /// Checks, on a quiet system:
    /// - the packet store's own invariants;
    /// - the settlement account's balance equals what the packet store says the packets hold, once the steps
    ///   in flight are counted (a payment landed for a `paying` packet, a credit landed for a claim not yet
    ///   recorded credited, a refund decided and not yet made);
    /// - each credited claim has exactly one credit in the ledger (`claim:<id>`, unique by id) of its amount,
    ///   to its recipient; no credit exists for a claim the store does not know;
    /// - each paid packet's payment and each made refund is in the ledger with its amount.
    /// Uncredited claims are returned for the caller to match against the queue.
    public func auditAcrossSystems(maxViolationsPerCheck: Int = 20) async throws -> CrossSystemAudit {
        var audit = CrossSystemAudit()
        audit.violations = try await store.auditStore(maxViolationsPerCheck: maxViolationsPerCheck)
        let credits = Dictionary(try await accounts.transfers(withPrefix: "claim:").map { ($0.id, $0) },
                                 uniquingKeysWith: { first, _ in first })
        let payments = Dictionary(try await accounts.transfers(withPrefix: "send:").map { ($0.id, $0) },
                                  uniquingKeysWith: { first, _ in first })
        let refunds = Dictionary(try await accounts.transfers(withPrefix: "refund:").map { ($0.id, $0) },
                                 uniquingKeysWith: { first, _ in first })
        let settlement = accounts.settlementAccountID
        var problems: [String: Int] = [:]
        func report(_ code: String, _ detail: String) {
            problems[code, default: 0] += 1
            if problems[code, default: 0] <= maxViolationsPerCheck {
                audit.violations.append(AuditViolation(code: code, detail: detail))
            }
        }

        // Claims, credited and not.
        let credited = try await store.creditedClaimAmounts()
        let uncredited = try await store.uncreditedClaims(in: nil, limit: Int.max)
        var inFlight = Money.zero
        var known = Set(credited.keys)
        for claim in uncredited {
            known.insert(claim.id)
            let credit = credits[claim.id.creditTransferID]
            audit.uncredited.append((claim, credit != nil))
            if let credit {
                inFlight += credit.amount
                if credit.amount != claim.amount || credit.from != settlement || credit.to != claim.userID {
                    report("claim.credit", "claim \(claim.id) (\(claim.amount.formatted)) has a credit of \(credit.amount.formatted) from #\(credit.from.rawValue) to #\(credit.to.rawValue)")
                }
            }
        }
        for (id, amount) in credited {
            guard let credit = credits[id.creditTransferID] else {
                report("claim.credit", "claim \(id) is credited for \(amount.formatted) but the ledger holds no credit for it")
                continue
            }
            if credit.amount != amount || credit.from != settlement {
                report("claim.credit", "claim \(id) is credited for \(amount.formatted) but its ledger credit moved \(credit.amount.formatted) from #\(credit.from.rawValue)")
            }
        }
        for credit in credits.values where !known.contains(ClaimID(String(credit.id.rawValue.dropFirst("claim:".count)))) {
            report("claim.orphan", "the ledger credit \(credit.id) (\(credit.amount.formatted)) belongs to no claim")
        }

        // Packets: payments and refunds.
        var paidNotRecorded = Money.zero, refundsNotMade = Money.zero
        for packet in try await store.unsettledPackets() {
            audit.awaitingRecovery.append(packet)
            if packet.state == .paying, let payment = payments[packet.id.fundingTransferID] {
                paidNotRecorded += payment.amount
            }
            if packet.refundPending, refunds[packet.id.refundTransferID] == nil {
                refundsNotMade += packet.refunded
            }
        }
        let packets = try await store.allPackets()
        let byID = Dictionary(packets.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for packet in packets where packet.isPaid {
            let payment = payments[packet.id.fundingTransferID]
            if payment?.amount != packet.total || payment?.to != settlement {
                report("packet.payment", "packet \(packet.id) of \(packet.total.formatted) is \(packet.state.rawValue) but its payment in the ledger is \(payment.map { "\($0.amount.formatted) to #\($0.to.rawValue)" } ?? "missing")")
            }
            if packet.state == .expired, !packet.refundPending, packet.refunded.isPositive,
               refunds[packet.id.refundTransferID]?.amount != packet.refunded {
                report("packet.refund", "packet \(packet.id) refunded \(packet.refunded.formatted) by the packet store, \(refunds[packet.id.refundTransferID].map(\.amount.formatted) ?? "nothing") by the ledger")
            }
        }
        for payment in payments.values {
            let id = PacketID(String(payment.id.rawValue.dropFirst("send:".count)))
            if byID[id] == nil || byID[id]?.state == .cancelled {
                report("packet.payment", "the ledger payment \(payment.id) (\(payment.amount.formatted)) belongs to no packet")
            }
        }

        audit.settlementBalance = try await accounts.balance(of: settlement) ?? .zero
        audit.packetsHold = try await store.totalHeld() + paidNotRecorded - inFlight + refundsNotMade
        if audit.settlementBalance != audit.packetsHold {
            audit.violations.append(AuditViolation(code: "settlement.balance", detail: """
                the settlement account holds \(audit.settlementBalance.formatted) but the packet store says the \
                packets hold \(audit.packetsHold.formatted)
                """))
        }
        return audit
    }
}
