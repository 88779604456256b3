import Primitives

/// One line of the dashboard's event log.
public struct EngineEvent: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case send, open, credit, retry, failure, fault, recovery, info
    }

    public let at: Timestamp
    public let kind: Kind
    public let text: String

    public init(at: Timestamp, kind: Kind, text: String) {
        self.at = at
        self.kind = kind
        self.text = text
    }
}
