import Primitives

/// What users saw in one credit mode.
public struct ModeFailures: Sendable, Equatable {
    /// Opens that ended with an error in front of the user.
    public var userVisibleFailures: Int
    /// Opens that showed "on its way" and were credited later.
    public var deferredCredits: Int
    /// Opens that completed at once.
    public var immediateCredits: Int

    public init(userVisibleFailures: Int = 0, deferredCredits: Int = 0, immediateCredits: Int = 0) {
        self.userVisibleFailures = userVisibleFailures
        self.deferredCredits = deferredCredits
        self.immediateCredits = immediateCredits
    }
}

/// Failures in front of users, per credit mode, for the side-by-side comparison.
public struct FailureComparison: Sendable, Equatable {
    public var queue: ModeFailures
    public var transaction: ModeFailures

    public init(queue: ModeFailures = ModeFailures(), transaction: ModeFailures = ModeFailures()) {
        self.queue = queue
        self.transaction = transaction
    }
}

/// Faults and load the operator has injected.
public struct FaultSettings: Sendable, Equatable {
    /// Percentage of credits the account service fails on purpose (0–100).
    public var creditFailurePercent: Int
    /// Latency added to every credit the account service makes ("account latency").
    public var ledgerLatencyMilliseconds: Int
    /// Credit attempts that missed their deadline (timed out) since start, a retried credit counted at each attempt:
    /// they went to the queue like failures, but no failure was injected, so they are shown as their own number.
    public var creditTimeouts: Int
    /// Credit attempts the account service turned away since start, counted as `creditTimeouts` are, because as
    /// many as it allows were already in flight (`maxConcurrentCredits`): to the queue like failures and timeouts,
    /// with no failure injected either.
    public var creditsRefusedBusy: Int
    /// Whether the Gala load generator runs.
    public var loadRunning: Bool
    /// Its target rate in opens per second.
    public var loadRatePerSecond: Int

    public init(creditFailurePercent: Int = 0, ledgerLatencyMilliseconds: Int = 0, loadRunning: Bool = false, loadRatePerSecond: Int = 0,
                creditTimeouts: Int = 0, creditsRefusedBusy: Int = 0) {
        self.creditTimeouts = creditTimeouts
        self.creditsRefusedBusy = creditsRefusedBusy
        self.creditFailurePercent = creditFailurePercent
        self.ledgerLatencyMilliseconds = ledgerLatencyMilliseconds
        self.loadRunning = loadRunning
        self.loadRatePerSecond = loadRatePerSecond
    }
}

/// What an event-log line is about (shown as a word, coloured by kind).
public enum EventKind: String, Sendable, Equatable, CaseIterable {
    case send
    case grab
    case open
    case credit
    case failure
    case retry
    case fault
    case system
}

/// One line of the event log.
public struct EventLine: Sendable, Equatable {
    public var at: Timestamp
    public var kind: EventKind
    public var text: String

    public init(at: Timestamp, kind: EventKind, text: String) {
        self.at = at
        self.kind = kind
        self.text = text
    }
}
