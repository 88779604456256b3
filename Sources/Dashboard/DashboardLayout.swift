/// Where everything goes for a given screen size. Two arrangements: a 2-column grid up to 149 columns and a
/// 3-column one from 150 (big screens).
public struct DashboardLayout: Sendable, Equatable {
    public var header: Rect
    /// The scenario caption's own rows under the header (empty without a caption).
    public var caption: Rect
    public var panes: [PaneID: Rect]
    public var footer: Rect

    /// Columns from which the three-column arrangement is used.
    public static let wideWidth = 150
    /// Rows of the header.
    public static let headerRows = 2

    public init(width: Int, height: Int, captionRows: Int = 0) {
        header = Rect(x: 0, y: 0, width: width, height: Self.headerRows)
        caption = Rect(x: 0, y: Self.headerRows, width: width, height: max(0, captionRows))
        footer = Rect(x: 0, y: max(0, height - 1), width: width, height: 1)
        let top = Self.headerRows + caption.height
        let body = Rect(x: 0, y: top, width: width, height: height - top - 1)
        panes = width >= Self.wideWidth ? Self.wide(body) : Self.grid(body)
    }

    private static func grid(_ body: Rect) -> [PaneID: Rect] {
        // The queue row needs 8 rows for its stats, graph, quorum line and three replicas.
        let queueRows = max(body.height / 3, min(8, body.height))
        let (rowA, rest) = body.splitRows((body.height - queueRows) / 2)
        let (rowB, rowC) = rest.splitRows(queueRows)
        let (accounts, packets) = rowA.splitColumns(body.width * 9 / 20)
        let (queue, retries) = rowB.splitColumns(body.width / 2)
        let (faults, events) = rowC.splitColumns(body.width * 2 / 5)
        return [.accounts: accounts, .packets: packets, .queue: queue, .retries: retries, .faults: faults, .events: events]
    }

    private static func wide(_ body: Rect) -> [PaneID: Rect] {
        let (top, bottom) = body.splitRows(body.height / 2)
        let (accounts, topRest) = top.splitColumns(body.width * 3 / 10)
        let (packets, queue) = topRest.splitColumns(body.width * 37 / 100)
        let (retries, bottomRest) = bottom.splitColumns(body.width * 3 / 10)
        let (faults, events) = bottomRest.splitColumns(body.width / 4)
        return [.accounts: accounts, .packets: packets, .queue: queue, .retries: retries, .faults: faults, .events: events]
    }
}
