import Ledger
import Primitives

/// The boundary where the account system may fail: credits an opened claim to its recipient
/// (escrow → recipient, transfer id = the claim's) and marks it `credited` in the same transaction.
///
/// Implementations must be idempotent: crediting an already-credited claim is a success that moves no money.
public protocol AccountService: Sendable {
    func credit(_ claim: ClaimID) async throws -> CreditOutcome
}

/// A claim after a successful credit call.
public struct CreditOutcome: Sendable, Equatable {
    public let claim: Claim
    /// False when the claim had already been credited (a replay): no money moved this time.
    public let appliedNow: Bool

    public init(claim: Claim, appliedNow: Bool) {
        self.claim = claim
        self.appliedNow = appliedNow
    }
}

/// Credits straight through the ledger's group-commit writer. Fails only if the ledger itself fails.
public struct DirectAccountService: AccountService {
    private let ledger: Ledger

    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    public func credit(_ claim: ClaimID) async throws -> CreditOutcome {
        try await ledger.write { try PacketOperations.credit(claim, in: $0) }
    }
}
