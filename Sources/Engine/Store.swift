import Ledger
import Primitives
import RedPackets

/// The ledger and red packets over a locked data directory: what the operator CLI works on.
public final class Store: Sendable {
    public let directory: DataDirectory
    public let ledger: Ledger
    public let packets: PacketService

    public init(
        directory: DataDirectory,
        durability: Durability = .full,
        limits: Limits = .default,
        clock: any WallClock = SystemClock(),
        random: any RandomSource = SystemRandomSource(),
        accountService: (any AccountService)? = nil,
        onCreditFailure: @escaping @Sendable (Claim, any Error) async -> Void = { _, _ in }
    ) throws {
        self.directory = directory
        ledger = try Ledger(path: directory.ledgerPath, durability: durability, limits: limits, clock: clock,
                            migrations: PacketSchema.register)
        packets = PacketService(ledger: ledger, accountService: accountService, random: random,
                                onCreditFailure: onCreditFailure)
    }

    /// Every ledger and packet invariant that does not hold (empty when the books are right).
    public func audit() throws -> [AuditViolation] {
        try ledger.auditLedger() + packets.auditPackets()
    }
}
