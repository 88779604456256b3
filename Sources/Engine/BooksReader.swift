import Foundation
import Ledger
import MessageQueue
import PostgresStores
import Primitives
import RedPackets

/// The books of a data directory opened for reading only: the ledger and red packets read-only, the queue's
/// replicas inspected as they are on disk. Nothing is written, caught up, rebuilt or recovered (SQLite may
/// add its shared-memory index beside a database). What `hongbao audit` and the reading commands use; the
/// engine's start (or `hongbao audit --repair`) is where repairs happen.
public final class BooksReader: Sendable {
    public let directory: DataDirectory
    public let ledger: Ledger
    public let packetStore: SQLitePacketStore
    public let packets: PacketService
    /// The queue as its replicas hold it; nil when the directory has no queue yet.
    public let queue: QueueInspection?
    public let limits: Limits

    /// Opens `directory`'s books read-only. Throws `LedgerError.missingDatabase` when there is no ledger.
    public init(directory: DataDirectory, limits: Limits = .default) throws {
        self.directory = directory
        self.limits = limits
        ledger = try Ledger(path: directory.ledgerPath, limits: limits, readOnly: true)
        packetStore = try SQLitePacketStore(path: directory.packetsPath, limits: limits, readOnly: true)
        packets = PacketService(store: packetStore, accounts: ledger, limits: limits)
        queue = try MessageQueueService.inspect(root: directory.queuePath, limits: limits.queue)
    }

    /// Closes both databases (see `Ledger.close`).
    public func close() throws {
        try ledger.close()
        try packetStore.close()
    }

    /// The queued credit of each given claim that has one, as the queue holds it on disk.
    public func creditProgress(of claims: [ClaimID]) -> [ClaimID: CreditProgress] {
        guard let state = queue?.state, !claims.isEmpty else { return [:] }
        return CreditProgress.of(claims, in: state, queueName: limits.credit.queueName)
    }

    /// Every invariant that does not hold, and everything the next start would repair or recover: both
    /// systems alone and against each other (`PacketService.auditAcrossSystems`), and the queue.
    public func audit() async throws -> AuditReport {
        let live = Set([limits.credit.queueName, limits.credit.queueName + "-dlq"].flatMap {
            queue?.state.messages(in: $0).map { ClaimID($0.id) } ?? []
        })
        var report = try await AuditReport.across(ledger: ledger, packets: packets, liveMessages: live)
        if let queue {
            report.violations += queue.violations.map { AuditViolation(code: "queue.replicas", detail: $0) }
            report.awaitingRecovery += queue.pendingRepairs.map { "awaiting repair: " + $0 }
        }
        return report
    }
}

/// What an audit found: broken invariants, and what the next start recovers or repairs.
public struct AuditReport: Sendable {
    public var violations: [AuditViolation]
    /// One line each: claims to re-queue, sends and refunds to settle, replicas to catch up or rebuild.
    public var awaitingRecovery: [String]
    public let totals: LedgerTotals

    /// True when every invariant holds and nothing awaits recovery.
    public var isClean: Bool { violations.isEmpty && awaitingRecovery.isEmpty }
}

extension AuditReport {
    /// The ledger's invariants, the packet store's, and the two against each other; each uncredited claim
    /// must have a live credit message (or a dead-lettered one), or is reported as awaiting recovery (a
    /// `crediting` claim the next start records, if its credit is in the ledger, or re-queues); sends and
    /// refunds a crash left half done await recovery.
    static func across(ledger: Ledger, packets: PacketService, liveMessages live: Set<ClaimID>) async throws -> AuditReport {
        try await across(ledgerViolations: try ledger.auditLedger(), totals: try ledger.totals(), packets: packets,
                         liveMessages: live)
    }

    /// The same on the PostgreSQL ledger (the engine's audit and the operator's `audit --store postgres`).
    static func across(ledger: PostgresLedger, packets: PacketService, liveMessages live: Set<ClaimID>) async throws -> AuditReport {
        try await across(ledgerViolations: try await ledger.auditLedger(), totals: try await ledger.totals(),
                         packets: packets, liveMessages: live)
    }

    /// The same, for any ledger: its own violations and totals are passed in (the PostgreSQL stores use it).
    public static func across(ledgerViolations: [AuditViolation], totals: LedgerTotals, packets: PacketService,
                              liveMessages live: Set<ClaimID>) async throws -> AuditReport {
        let across = try await packets.auditAcrossSystems()
        var report = AuditReport(violations: ledgerViolations + across.violations, awaitingRecovery: [],
                                 totals: totals)
        var stranded: [Claim] = [], unrecorded: [Claim] = []
        for (claim, creditedInLedger) in across.uncredited where !live.contains(claim.id) {
            if claim.state == .waiting && !creditedInLedger {
                if report.violations.filter({ $0.code == "claim.message" }).count < 20 {
                    report.violations.append(AuditViolation(
                        code: "claim.message", detail: "claim \(claim.id) is waiting but no credit message holds it"))
                }
            } else if creditedInLedger {
                unrecorded.append(claim)
            } else {
                stranded.append(claim)
            }
        }
        if !stranded.isEmpty {
            let owed = stranded.reduce(Money.zero) { $0 + $1.amount }
            report.awaitingRecovery.append("""
                awaiting recovery: \(stranded.count) claim\(stranded.count == 1 ? "" : "s"), \(owed.formatted) \
                (left crediting by the last run, with no credit message; the next start re-queues them)
                """)
        }
        if !unrecorded.isEmpty {
            let paid = unrecorded.reduce(Money.zero) { $0 + $1.amount }
            report.awaitingRecovery.append("""
                awaiting recovery: \(unrecorded.count) claim\(unrecorded.count == 1 ? "" : "s"), \(paid.formatted) \
                (credited in the ledger, not yet recorded by the red-packet store; the next start records them)
                """)
        }
        for packet in across.awaitingRecovery {
            report.awaitingRecovery.append(packet.state == .paying
                ? "awaiting recovery: packet \(packet.id) (\(packet.total.formatted)) is paying; the next start opens or cancels it"
                : "awaiting recovery: packet \(packet.id) has a refund of \(packet.refunded.formatted) pending; the next start makes it")
        }
        return report
    }
}
