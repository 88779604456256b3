/// Which rows of one long list the screen needs: the backend reads only these, over the whole ledger, so that a
/// list filters and scrolls over a million accounts while each snapshot reads a screenful.
public struct ListWindow: Sendable, Hashable {
    /// Rows whose text contains this (case-insensitive); `nil`: every row.
    public var filter: String?
    /// The first row wanted, counted in the filtered list.
    public var offset: Int
    /// How many rows from `offset`.
    public var limit: Int

    public init(filter: String? = nil, offset: Int = 0, limit: Int = ListWindow.defaultLimit) {
        self.filter = filter
        self.offset = max(0, offset)
        self.limit = max(0, limit)
    }

    /// Before the screen size is known.
    public static let defaultLimit = 40
}

/// The windows of the three lists that live in the ledger (events are kept in memory and filtered here).
public struct ListQuery: Sendable, Hashable {
    public var accounts: ListWindow
    public var packets: ListWindow
    public var retries: ListWindow

    public init(accounts: ListWindow = ListWindow(), packets: ListWindow = ListWindow(), retries: ListWindow = ListWindow()) {
        self.accounts = accounts
        self.packets = packets
        self.retries = retries
    }

    public subscript(pane: PaneID) -> ListWindow? {
        switch pane {
        case .accounts: return accounts
        case .packets: return packets
        case .retries: return retries
        case .queue, .faults, .events: return nil
        }
    }
}

/// Where the rows a snapshot carries sit in their list: rows `offset ..< offset + rows.count` of `matching` rows
/// that pass `filter`. A page whose filter differs from the one typed is an answer to an older question.
public struct ListPage: Sendable, Equatable {
    public var filter: String?
    public var offset: Int
    /// Rows that pass the filter in the whole list; `nil`: exactly the rows carried.
    public var matching: Int?

    public init(filter: String? = nil, offset: Int = 0, matching: Int? = nil) {
        self.filter = filter
        self.offset = offset
        self.matching = matching
    }
}

extension DashboardModel {
    /// The windows the screen needs now: around each list's selection, a screenful either side so that moving
    /// by a page never waits for the backend. Offsets move a page at a time, so scrolling within a page asks
    /// the same question again.
    public func listQuery() -> ListQuery {
        ListQuery(accounts: window(.accounts), packets: window(.packets), retries: window(.retries))
    }

    /// Rows a list pane can show at most (its height): the page size of PgUp/PgDn and of the windows asked for.
    public func listCapacity(_ pane: PaneID) -> Int {
        let layout = DashboardLayout(width: screenWidth, height: screenHeight)
        return max(1, (layout.panes[pane]?.height ?? ListWindow.defaultLimit) - 2)
    }

    private func window(_ pane: PaneID) -> ListWindow {
        let capacity = listCapacity(pane)
        let page = max(0, selected(pane) - capacity) / capacity * capacity
        return ListWindow(filter: filters[pane], offset: max(0, page - capacity), limit: 4 * capacity)
    }
}

extension ListPage {
    /// The number of rows in the whole (filtered) list.
    func count(carrying rows: Int) -> Int { matching ?? (offset + rows) }

    /// The row at absolute `index`, when this page carries it.
    func row<Row>(_ index: Int, in rows: [Row]) -> Row? {
        let local = index - offset
        return rows.indices.contains(local) ? rows[local] : nil
    }
}

extension Array {
    /// A window of an in-memory list, filtered: how a backend without a database answers a `ListWindow`.
    func answering(_ window: ListWindow, text: (Element) -> [String]) -> (rows: [Element], page: ListPage) {
        let needle = window.filter?.lowercased()
        let matching = needle.map { needle in filter { text($0).contains { $0.lowercased().contains(needle) } } } ?? self
        let start = Swift.min(window.offset, matching.count)
        let end = Swift.min(matching.count, start + window.limit)
        return (Array(matching[start..<end]), ListPage(filter: window.filter, offset: start, matching: matching.count))
    }
}
