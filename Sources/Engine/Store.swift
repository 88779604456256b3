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

    /// Opens a grabbed share from the CLI (see `BooksWriting.open`).
    public func open(_ packet: PacketID, user: String) async throws -> OpenResult {
        try await packets.openCreditingInLine(packet, user: user)
    }

    /// Closes both databases (see `Ledger.close`).
    public func close() throws {
        try ledger.close()
        try packetStore.close()
    }

    /// Every ledger and packet invariant that does not hold, and every disagreement between the two systems
    /// (empty when the books are right).
    public func audit() async throws -> [AuditViolation] {
        try ledger.auditLedger() + (try await packets.auditAcrossSystems()).violations
    }
}
