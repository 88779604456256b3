import Foundation
import Ledger
import MessageQueue
import Primitives
import RedPackets

/// The books of a data directory opened for reading only: the ledger and red packets read-only, the queue's
/// replicas inspected as they are on disk. Nothing is written, caught up, rebuilt or recovered (SQLite may
/// add its shared-memory index beside a database). What `hongbao audit` and the reading commands use; the
/// engine's start (or `hongbao audit --repair`) is where repairs happen.
public final class BooksReader: Sendable {
    public let directory: DataDirectory
    public let ledger: Ledger
    public let packets: PacketService
    /// The queue as its replicas hold it; nil when the directory has no queue yet.
    public let queue: QueueInspection?
    public let limits: Limits

    /// Opens `directory`'s books read-only. Throws `LedgerError.missingDatabase` when there is no ledger.
    public init(directory: DataDirectory, limits: Limits = .default) throws {
        self.directory = directory
        self.limits = limits
        ledger = try Ledger(path: directory.ledgerPath, limits: limits, readOnly: true)
        packets = PacketService(ledger: ledger)
        queue = try MessageQueueService.inspect(root: directory.queuePath, limits: limits.queue)
    }

    /// The queued credit of each given claim that has one, as the queue holds it on disk.
    public func creditProgress(of claims: [ClaimID]) -> [ClaimID: CreditProgress] {
        guard let state = queue?.state, !claims.isEmpty else { return [:] }
        let wanted = Set(claims.map(\.rawValue))
        var progress: [ClaimID: CreditProgress] = [:]
        for (name, dead) in [(limits.credit.queueName, false), (limits.credit.queueName + "-dlq", true)] {
            for message in state.messages(in: name) where wanted.contains(message.id) {
                progress[ClaimID(message.id)] = CreditProgress(attempts: message.receiveCount,
                                                               nextTryAt: message.visibleAt, deadLettered: dead)
            }
        }
        return progress
    }

    /// Every invariant that does not hold, and everything the next start would repair or recover.
    public func audit() throws -> AuditReport {
        var violations = try ledger.auditLedger() + packets.auditPackets()
        var awaiting: [String] = []
        let live = Set([limits.credit.queueName, limits.credit.queueName + "-dlq"].flatMap {
            queue?.state.messages(in: $0).map(\.id) ?? []
        })
        let waiting = try packets.uncreditedClaims(in: .waiting, limit: Int.max).filter { !live.contains($0.id.rawValue) }
        violations += waiting.prefix(20).map {
            AuditViolation(code: "claim.message", detail: "claim \($0.id) is waiting but no credit message holds it")
        }
        // A claim left `crediting` with no message anywhere: a run stopped between the draw and the credit.
        // The money sits in escrow, owed; the next start re-queues it.
        let stranded = try packets.uncreditedClaims(in: .crediting, limit: Int.max).filter { !live.contains($0.id.rawValue) }
        if !stranded.isEmpty {
            let owed = stranded.reduce(Money.zero) { $0 + $1.amount }
            awaiting.append("""
                awaiting recovery: \(stranded.count) claim\(stranded.count == 1 ? "" : "s"), \(owed.formatted) \
                (left crediting by the last run, with no credit message; the next start re-queues them)
                """)
        }
        if let queue {
            violations += queue.violations.map { AuditViolation(code: "queue.replicas", detail: $0) }
            awaiting += queue.pendingRepairs.map { "awaiting repair: " + $0 }
        }
        return AuditReport(violations: violations, awaitingRecovery: awaiting, totals: try ledger.totals())
    }
}

/// What an audit found: broken invariants, and what the next start recovers or repairs.
public struct AuditReport: Sendable {
    public let violations: [AuditViolation]
    /// One line each: claims to re-queue, replicas to catch up or rebuild.
    public let awaitingRecovery: [String]
    public let totals: LedgerTotals

    /// True when every invariant holds and nothing awaits recovery.
    public var isClean: Bool { violations.isEmpty && awaitingRecovery.isEmpty }
}
