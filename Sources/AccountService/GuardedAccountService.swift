import Crediting
import Ledger
import Primitives
import Synchronization

/// Credits straight through the account store: settlement → recipient under the claim's transfer id. Fails
/// only if the store itself fails.
public struct LedgerAccountService: AccountService {
    private let accounts: any AccountStore

    public init(accounts: any AccountStore) {
        self.accounts = accounts
    }

    public func credit(_ order: CreditOrder) async throws -> CreditOutcome {
        let outcome = try await accounts.transfer(TransferRequest(
            id: order.transferID, from: accounts.settlementAccountID, to: order.recipient, amount: order.amount,
            memo: "red packet \(order.packet.rawValue)"))
        return CreditOutcome(order: order, appliedNow: !outcome.wasReplay, creditedAt: outcome.record.at)
    }

    /// `credit` without a waiting task: `completion` gets the outcome or the error.
    public func credit(_ order: CreditOrder, completion: @escaping @Sendable (Result<CreditOutcome, any Error>) -> Void) {
        accounts.transfer(TransferRequest(
            id: order.transferID, from: accounts.settlementAccountID, to: order.recipient, amount: order.amount,
            memo: "red packet \(order.packet.rawValue)")) { result in
            completion(result.map { CreditOutcome(order: order, appliedNow: !$0.wasReplay, creditedAt: $0.record.at) })
        }
    }
}

/// A credit of `creditAtomically` that missed its deadline while its write was under way: the opener is told
/// `deadline`, and `write` ends with the credit's fate (landed, refused, or unknown).
public struct LateCredit: Error, CustomStringConvertible {
    public let deadline: CreditError
    public let order: CreditOrder
    public let write: Task<CreditOutcome, any Error>
    public var description: String { "\(deadline)" }
}

/// The account system as the red-packet service sees it during the Gala: a credit either commits within
/// a deadline, or fails (overload, injected failure, outage, deadline) and the caller queues it.
///
/// Overload is real: when the ledger writer is saturated, credits miss the deadline or find every
/// concurrency permit taken. Faults can be injected on top (`CreditFaults`).
public final class GuardedAccountService: AccountService {
    /// Counters for the dashboard.
    public struct Counters: Sendable, Equatable, Codable {
        public var succeeded = 0
        public var failedInjected = 0
        public var failedOutage = 0
        public var failedOverload = 0
        public var failedDeadline = 0
        public var inFlight = 0

        public var failed: Int { failedInjected + failedOutage + failedOverload + failedDeadline }
    }

    private let direct: LedgerAccountService
    private let limits: CreditLimits
    private let clock: any WallClock
    private let random: any RandomSource
    public let faults: CreditFaults
    private let counters = Mutex(Counters())

    public init(accounts: any AccountStore, limits: CreditLimits, clock: any WallClock, random: any RandomSource,
                faults: CreditFaults) {
        self.direct = LedgerAccountService(accounts: accounts)
        self.limits = limits
        self.clock = clock
        self.random = random
        self.faults = faults
    }

    public var snapshot: Counters { counters.withLock { $0 } }

    /// The credit under `guarded`'s faults, limit and deadline. Without added latency the transfer is started
    /// with a completion and raced against a clock timer: no task per credit (`Deadline.race(_:clock:start:)`).
    public func credit(_ order: CreditOrder) async throws -> CreditOutcome {
        let settings = try admit()
        defer { counters.withLock { $0.inFlight -= 1 } }
        let value: CreditOutcome?
        if settings.addedLatencyMilliseconds > 0 {
            let latency = Duration.milliseconds(settings.addedLatencyMilliseconds)
            value = try await Deadline.race(limits.deadline, clock: clock) { [clock, direct] in
                try await clock.sleep(for: latency)
                return try await direct.credit(order)
            }
        } else {
            value = try await Deadline.race(limits.deadline, clock: clock) { [direct] completion in
                direct.credit(order, completion: completion)
            }
        }
        guard let value else { throw record(.deadlineExceeded) }
        counters.withLock { $0.succeeded += 1 }
        return value
    }

    /// The credit of an all-or-nothing open (the transaction credit mode): the same faults, limit and deadline,
    /// but a write past its deadline is not left to land unseen. An open can be undone only if its credit did not
    /// land, and a credit past its deadline may still land (it waits in the ledger's group commit): so a missed
    /// deadline throws `LateCredit`, which holds the write, for the caller to undo the open once the write has
    /// ended unlanded (or keep it when it landed). The write counts against the concurrency limit until it ends.
    public func creditAtomically(_ order: CreditOrder) async throws -> CreditOutcome {
        let settings = try admit()
        let latency = Duration.milliseconds(settings.addedLatencyMilliseconds)
        let write = Task { [self] in
            defer { counters.withLock { $0.inFlight -= 1 } }
            if latency > .zero { try await clock.sleep(for: latency) }
            return try await direct.credit(order)
        }
        guard let value = try await Deadline.race(limits.deadline, clock: clock, { try await write.value }) else {
            throw LateCredit(deadline: record(.deadlineExceeded), order: order, write: write)
        }
        counters.withLock { $0.succeeded += 1 }
        return value
    }

    /// Whether `error`, thrown by `credit` or `creditAtomically`, proves the credit did not land: refused before
    /// the write (faults, the concurrency limit) or refused by the ledger. A `LateCredit` does not: its write
    /// is still under way.
    public static func isNotCredited(_ error: any Error) -> Bool {
        error is CreditError || error is LedgerError
    }

    /// Runs `work` (a call into the account system) under the faults, the concurrency limit and the deadline.
    /// Used for credits, and by the transaction credit mode to decide whether its all-or-nothing open may go on.
    public func guarded<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let settings = try admit()
        defer { counters.withLock { $0.inFlight -= 1 } }
        let latency = Duration.milliseconds(settings.addedLatencyMilliseconds)
        let value = try await Deadline.race(limits.deadline, clock: clock) { [clock] in
            if latency > .zero { try await clock.sleep(for: latency) }
            return try await work()
        }
        guard let value else { throw record(.deadlineExceeded) }
        counters.withLock { $0.succeeded += 1 }
        return value
    }

    /// Applies the injected faults and the concurrency limit; on admission counts one more in flight (the
    /// caller takes it off when done) and returns the fault settings it was admitted under.
    private func admit() throws -> CreditFaults.Settings {
        let settings = faults.settings
        if settings.outage { throw record(.outage) }
        if settings.failurePercent > 0 && random.uniform(in: 1...100) <= Int64(settings.failurePercent) {
            throw record(.injectedFailure)
        }
        let admitted = counters.withLock { counters -> Int? in
            guard counters.inFlight < limits.maxConcurrentCredits else { return counters.inFlight }
            counters.inFlight += 1
            return nil
        }
        if let inFlight = admitted { throw record(.overloaded(inFlight: inFlight)) }
        return settings
    }

    private func record(_ error: CreditError) -> CreditError {
        counters.withLock { counters in
            switch error {
            case .injectedFailure: counters.failedInjected += 1
            case .outage: counters.failedOutage += 1
            case .overloaded: counters.failedOverload += 1
            case .deadlineExceeded: counters.failedDeadline += 1
            }
        }
        return error
    }
}
