extension DashboardSnapshot {
    /// The panes that `/` can filter.
    public static let filterablePanes: Set<PaneID> = [.accounts, .packets, .retries, .events]

    /// This snapshot with each list reduced to the rows containing its pane's filter text (case-insensitive).
    public func filtered(by filters: [PaneID: String]) -> DashboardSnapshot {
        var copy = self
        func keep(_ pane: PaneID, _ fields: [String]) -> Bool {
            guard let filter = filters[pane], !filter.isEmpty else { return true }
            return fields.contains { $0.lowercased().contains(filter.lowercased()) }
        }
        copy.accounts.top = accounts.top.filter { keep(.accounts, [$0.name]) }
        copy.packets.recent = packets.recent.filter { keep(.packets, [$0.id.rawValue, $0.sender, $0.kind.rawValue, $0.state.rawValue]) }
        copy.retries.next = retries.next.filter { keep(.retries, [$0.recipient, $0.claim.rawValue]) }
        copy.events = events.filter { keep(.events, [$0.kind.rawValue, $0.text]) }
        return copy
    }
}
