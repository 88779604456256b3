/// What a deterministic simulation did and found. Only counts and virtual-time figures: the same seed gives
/// the same summary, byte for byte (no wall-clock time, no latencies).
public struct DeterministicSummary: Sendable, Codable, Equatable {
    /// Operations of each kind in the fault phase, and what came of them.
    public struct Counts: Sendable, Codable, Equatable {
        public var sends = 0
        public var sendsRefused = 0
        public var grabs = 0
        public var grabsRefused = 0
        public var opens = 0
        public var opensRefused = 0
        public var creditedInline = 0
        public var creditsQueued = 0
        /// Opens whose credit failed while the queue had no quorum: the claim stays `crediting` and the
        /// engine re-sends it later.
        public var creditsUnqueued = 0
        public var workerReceives = 0
        public var workerReceiveFailures = 0
        public var workerCredits = 0
        public var workerFailures = 0
        public var workerCrashes = 0
        public var droppedMessages = 0
        public var clockAdvances = 0
        public var expiries = 0
        public var packetsExpired = 0
        public var replicasDown = 0
        public var replicasCorrupted = 0
        public var replicasRestored = 0
        public var restoreFailures = 0
        public var quorumLosses = 0
        public var restarts = 0
        /// Crashes after a share was drawn, before its credit was queued.
        public var crashesMidOpen = 0
        /// Crashes after the drawn share's credit message was sent, before the claim was marked.
        public var crashesAfterSend = 0
        /// Crashes after the ledger credited a drawn share, before the red-packet store recorded it.
        public var crashesAfterLedgerCredit = 0
        /// Crashes after a packet was created `paying`, before the sender's payment.
        public var crashesBeforePayment = 0
        /// Crashes after the sender's payment, before the packet was opened.
        public var crashesAfterPayment = 0
        /// Crashes after packets were marked expired, before their refunds.
        public var crashesBeforeRefund = 0
        /// Crashes after the refunds, before they were recorded.
        public var crashesAfterRefund = 0
        /// Restarts after the process was down longer than the credit queue's retention.
        public var longDowntimes = 0
        public var outages = 0
        public var redriven = 0

        public init() {}
    }

    public var seed: UInt64
    public var operations: Int
    public var counts: Counts
    /// Claims opened (each must end credited exactly once).
    public var claims: Int
    /// Σ of every claim's amount, in minor units.
    public var claimedMinorUnits: Int64
    /// Convergence: rounds of worker steps and virtual seconds until nothing was owed.
    public var convergenceRounds: Int
    public var convergenceVirtualSeconds: Int64
    public var virtualSeconds: Int64
    /// The queue's last acknowledged operation at the end.
    public var queueSequence: Int64
    public var transfers: Int64
    public var moneyIssuedMinorUnits: Int64
    /// FNV-1a of every account's name and balance, in name order: equal digests, equal books.
    public var balancesDigest: String
    /// Every check that failed (empty: the run is clean).
    public var violations: [String]

    public var passed: Bool { violations.isEmpty }
}

extension DeterministicSummary {
    /// The summary as `hongbao simulate --deterministic` prints it.
    public var text: String {
        let c = counts
        var lines = [
            "── deterministic simulation (seed \(seed), \(operations) operations) ──",
            "packets sent          \(c.sends) (refused \(c.sendsRefused)), expired \(c.packetsExpired)",
            "grabs                 \(c.grabs) (refused \(c.grabsRefused))",
            "opens                 \(c.opens) (refused \(c.opensRefused)): credited at once \(c.creditedInline), queued \(c.creditsQueued), not queued (no quorum) \(c.creditsUnqueued)",
            "workers               \(c.workerReceives) receives (\(c.workerReceiveFailures) failed), \(c.workerCredits) credits, \(c.workerFailures) failed attempts",
            "faults                \(c.replicasDown) replicas down, \(c.replicasCorrupted) corrupted, \(c.replicasRestored) restored (\(c.restoreFailures) failed), \(c.quorumLosses) quorum losses",
            "                      \(c.workerCrashes) worker crashes (\(c.droppedMessages) messages dropped), \(c.outages) account outages, \(c.redriven) redriven",
            "restarts              \(c.restarts) (\(c.longDowntimes) after a downtime past retention), crashes between the systems' steps:",
            "                      open: \(c.crashesMidOpen) after the draw, \(c.crashesAfterSend) after queueing, \(c.crashesAfterLedgerCredit) after the ledger's credit",
            "                      send: \(c.crashesBeforePayment) before the payment, \(c.crashesAfterPayment) after it; expiry: \(c.crashesBeforeRefund) before the refund, \(c.crashesAfterRefund) after it",
            "claims                \(claims) for \(claimedMinorUnits) minor units",
            "converged             in \(convergenceRounds) rounds, \(convergenceVirtualSeconds) virtual s (run: \(virtualSeconds) virtual s)",
            "queue                 \(queueSequence) operations",
            "ledger                \(transfers) transfers, \(moneyIssuedMinorUnits) minor units issued, balances \(balancesDigest)",
            violations.isEmpty ? "checks                ✓ every check holds" : "checks                ✗ \(violations.count) failed",
        ]
        lines += violations.map { "  ✗ \($0)" }
        return lines.joined(separator: "\n")
    }
}
