/// The focusable panes, in Tab order; `1`–`6` jump to them.
public enum PaneID: Int, Sendable, Equatable, CaseIterable {
    case accounts = 1
    case packets
    case queue
    case retries
    case faults
    case events

    /// The pane's title.
    public var title: String {
        switch self {
        case .accounts: return "Accounts"
        case .packets: return "Red packets"
        case .queue: return "Credit queue"
        case .retries: return "Retries"
        case .faults: return "Faults & modes"
        case .events: return "Events"
        }
    }

    /// The next pane in Tab order (wraps).
    public var next: PaneID { PaneID(rawValue: rawValue % PaneID.allCases.count + 1) ?? .accounts }
    /// The previous pane in Tab order (wraps).
    public var previous: PaneID {
        PaneID(rawValue: (rawValue + PaneID.allCases.count - 2) % PaneID.allCases.count + 1) ?? .accounts
    }
}
