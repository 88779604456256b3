import Primitives

/// The one-line answer in the status bar (command results, parse errors). Shown until `expiresAt`.
public struct StatusMessage: Sendable, Equatable {
    public enum Severity: Sendable, Equatable {
        case info, success, error
    }

    public var text: String
    public var severity: Severity
    public var expiresAt: Timestamp

    public init(text: String, severity: Severity, expiresAt: Timestamp) {
        self.text = text
        self.severity = severity
        self.expiresAt = expiresAt
    }

    /// How long a message stays on screen.
    public static let lifetime: Duration = .seconds(6)
}
