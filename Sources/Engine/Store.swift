import AccountService
import Ledger
import Primitives
import RedPackets

/// The ledger and the red-packet store over a locked data directory: what the operator CLI works on.
public final class Store: Sendable {
    public let directory: DataDirectory
    public let ledger: Ledger
    public let packetStore: SQLitePacketStore
    public let packets: PacketService

    public init(
        directory: DataDirectory,
        durability: Durability = .full,
        limits: Limits = .default,
        clock: any WallClock = SystemClock(),
        random: any RandomSource = SystemRandomSource()
    ) throws {
        self.directory = directory
        ledger = try Ledger(path: directory.ledgerPath, durability: durability, limits: limits, clock: clock)
        packetStore = try SQLitePacketStore(path: directory.packetsPath, durability: durability, limits: limits,
                                            clock: clock)
        packets = PacketService(store: packetStore, accounts: ledger, limits: limits, random: random)
    }

    /// Opens a grabbed share from the CLI: draws, then credits straight through the ledger and records it. There
    /// is no queue here: if the credit fails the claim stays `crediting` and the engine's next start queues it.
    public func open(_ packet: PacketID, user: String) async throws -> OpenResult {
        let drawn = try await packets.draw(packet, user: user)
        if drawn.wasReplay || drawn.claim.state != .crediting {
            return OpenResult(claim: drawn.claim, wasReplay: drawn.wasReplay, creditFailure: nil)
        }
        do {
            let outcome = try await LedgerAccountService(accounts: ledger).credit(drawn.claim.creditOrder)
            try await packetStore.markCredited(drawn.claim.id, at: outcome.creditedAt)
            return OpenResult(claim: try packetStore.claim(drawn.claim.id) ?? drawn.claim, wasReplay: false,
                              creditFailure: nil)
        } catch {
            return OpenResult(claim: drawn.claim, wasReplay: false, creditFailure: "\(error)")
        }
    }

    /// Every ledger and packet invariant that does not hold, and every disagreement between the two systems
    /// (empty when the books are right).
    public func audit() async throws -> [AuditViolation] {
        try ledger.auditLedger() + (try await packets.auditAcrossSystems()).violations
    }
}
