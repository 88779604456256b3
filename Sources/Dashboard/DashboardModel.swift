/// The dashboard's own state (never business state): focus, selections, overlay, freeze, refresh rate, theme,
/// status line. Changed only by `DashboardUpdate`.
public struct DashboardModel: Sendable, Equatable {
    public var focus: PaneID
    /// The panes, the presenter view or the side-by-side comparison.
    public var view: DashboardView
    /// Selected row per pane (for Events: lines scrolled back from the newest).
    public var selection: [PaneID: Int]
    public var overlay: Overlay?
    /// When frozen the terminal layer keeps showing the last snapshot; the engine keeps running.
    public var frozen: Bool
    public var refreshMilliseconds: Int
    public var themeNames: [String]
    public var themeIndex: Int
    public var status: StatusMessage?
    /// Text filters per list pane (`/`); rows that do not contain the text are hidden.
    public var filters: [PaneID: String]
    /// `:` lines entered, oldest first.
    public var commandHistory: [String]
    /// Commands sent and not answered yet.
    public var pendingCommands: Int
    /// Frames actually drawn in the last second, measured by the terminal layer (`nil` in tests).
    public var measuredFramesPerSecond: Int?
    /// Settings asked for and not yet shown by a snapshot: keys step from these.
    public var requested: RequestedSettings
    /// The terminal size in cells, from the last resize event.
    public var screenWidth: Int
    public var screenHeight: Int

    public init(themeNames: [String] = ["default"], themeIndex: Int = 0, refreshMilliseconds: Int = RefreshRate.defaultMilliseconds, screenWidth: Int = 80, screenHeight: Int = 24) {
        self.focus = .accounts
        self.view = .panes
        self.selection = [:]
        self.overlay = nil
        self.frozen = false
        self.refreshMilliseconds = refreshMilliseconds
        self.themeNames = themeNames.isEmpty ? ["default"] : themeNames
        self.themeIndex = themeIndex
        self.status = nil
        self.filters = [:]
        self.commandHistory = []
        self.pendingCommands = 0
        self.measuredFramesPerSecond = nil
        self.requested = RequestedSettings()
        self.screenWidth = screenWidth
        self.screenHeight = screenHeight
    }

    /// Call when a new snapshot arrives: settings it already shows stop overriding it.
    public mutating func reconcile(with snapshot: DashboardSnapshot) {
        requested.reconcile(with: snapshot)
    }

    /// The selected row of a pane.
    public func selected(_ pane: PaneID) -> Int { selection[pane] ?? 0 }

    /// The current theme's name.
    public var themeName: String { themeNames[min(max(themeIndex, 0), themeNames.count - 1)] }

    /// The smallest screen the panes are drawn on.
    public static let minimumWidth = 80
    public static let minimumHeight = 24

    /// Below the minimum only quitting works and the too-small message is shown.
    public var isTooSmall: Bool { screenWidth < Self.minimumWidth || screenHeight < Self.minimumHeight }
}
