import Ledger
import Primitives

/// The outcome of opening a share, as the opener sees it.
public struct OpenResult: Sendable, Equatable {
    public let claim: Claim
    /// True when this user had already opened the share: the same claim is returned, nothing changes.
    public let wasReplay: Bool
    /// The error of the in-line credit attempt, when it failed and the claim is `crediting`/`waiting`.
    public let creditFailure: String?
}

/// Sends, grabs, opens and expires red packets over the ledger.
public final class PacketService: Sendable {
    public let ledger: Ledger
    private let accountService: any AccountService
    private let random: any RandomSource
    private let onCreditFailure: @Sendable (Claim, any Error) async -> Void

    /// - Parameter onCreditFailure: called when the in-line credit fails; the credit path queues the claim
    ///   there. The default just leaves the claim `crediting` for recovery.
    public init(
        ledger: Ledger,
        accountService: (any AccountService)? = nil,
        random: any RandomSource = SystemRandomSource(),
        onCreditFailure: @escaping @Sendable (Claim, any Error) async -> Void = { _, _ in }
    ) {
        self.ledger = ledger
        self.accountService = accountService ?? DirectAccountService(ledger: ledger)
        self.random = random
        self.onCreditFailure = onCreditFailure
    }

    /// Debits the sender into escrow and creates the packet, in one transaction. Returns the new packet.
    public func send(_ request: SendRequest) async throws -> Packet {
        if let error = request.validate(limits: ledger.limits) { throw error }
        let random = self.random
        return try await ledger.write { transaction in
            try PacketOperations.send(request, id: PacketOperations.unusedID(random: random, in: transaction),
                                      in: transaction)
        }
    }

    /// Reserves a share of the packet for `user`; returns the slot number.
    @discardableResult
    public func grab(_ packet: PacketID, user: String) async throws -> Int {
        try await ledger.write { try PacketOperations.grab(packet, user: user, in: $0) }
    }

    /// Opens the grabbed share: draws the amount, then credits it. Opening twice returns the same claim.
    ///
    /// If the credit fails, the claim keeps its drawn amount and `onCreditFailure` takes over (the credit
    /// path queues it); the opener sees the amount with `creditFailure` set, never an error.
    public func open(_ packet: PacketID, user: String) async throws -> OpenResult {
        let random = self.random
        let drawn = try await ledger.write { try PacketOperations.draw(packet, user: user, random: random, in: $0) }
        if drawn.wasReplay || drawn.claim.state != .crediting {
            return OpenResult(claim: drawn.claim, wasReplay: drawn.wasReplay, creditFailure: nil)
        }
        do {
            let credited = try await accountService.credit(drawn.claim.id)
            return OpenResult(claim: credited.claim, wasReplay: false, creditFailure: nil)
        } catch {
            await onCreditFailure(drawn.claim, error)
            let current = try ledger.read { try PacketQueries.claim(drawn.claim.id, in: $0) } ?? drawn.claim
            return OpenResult(claim: current, wasReplay: false, creditFailure: "\(error)")
        }
    }

    /// The old way, for comparison: draw and credit as one all-or-nothing transaction, run through
    /// `accountCall` (the account system's faults, deadline and concurrency limit). If the account system
    /// fails, the whole open is rolled back and the opener gets the error and must try again.
    public func openAtomically(
        _ packet: PacketID, user: String,
        accountCall: @Sendable (@escaping @Sendable () async throws -> OpenResult) async throws -> OpenResult
    ) async throws -> OpenResult {
        let random = self.random
        let ledger = self.ledger
        return try await accountCall {
            try await ledger.write { transaction in
                let drawn = try PacketOperations.draw(packet, user: user, random: random, in: transaction)
                if drawn.wasReplay { return OpenResult(claim: drawn.claim, wasReplay: true, creditFailure: nil) }
                let credited = try PacketOperations.credit(drawn.claim.id, in: transaction)
                return OpenResult(claim: credited.claim, wasReplay: false, creditFailure: nil)
            }
        }
    }

    /// Expires every packet past its time to live, refunding the undrawn remainders. Returns them.
    @discardableResult
    public func expireDue() async throws -> [Packet] {
        var all: [Packet] = []
        while true {
            let batch = try await ledger.write { try PacketOperations.expireDue(limit: 256, in: $0) }
            all += batch
            if batch.count < 256 { return all }
        }
    }
}
