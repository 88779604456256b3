extension DashboardSnapshot {
    /// The panes that `/` can filter.
    public static let filterablePanes: Set<PaneID> = [.accounts, .packets, .retries, .events]

    /// This snapshot with the events reduced to the lines containing the events filter (case-insensitive). The
    /// other lists are filtered by the backend over the whole ledger (`ListQuery`), not here.
    public func filtered(by filters: [PaneID: String]) -> DashboardSnapshot {
        guard let filter = filters[.events], !filter.isEmpty else { return self }
        var copy = self
        let needle = filter.lowercased()
        copy.events = events.filter { event in
            [event.kind.rawValue, event.text].contains { $0.lowercased().contains(needle) }
        }
        return copy
    }

    /// This snapshot's lists cut to the windows asked for, filtered: how a backend that holds its lists in memory
    /// (the synthetic preview, tests) answers a `ListQuery`.
    public func answering(_ query: ListQuery) -> DashboardSnapshot {
        var copy = self
        (copy.accounts.top, copy.accounts.page) = accounts.top.answering(query.accounts) { [$0.name] }
        (copy.packets.recent, copy.packets.page) = packets.recent.answering(query.packets) {
            [$0.id.rawValue, $0.sender, $0.kind.rawValue, $0.state.rawValue]
        }
        (copy.retries.next, copy.retries.page) = retries.next.answering(query.retries) { [$0.recipient, $0.claim.rawValue] }
        return copy
    }
}
