/// Which screen the dashboard shows: the six panes, the presenter view for projectors, or the two credit modes
/// side by side on one load.
public enum DashboardView: String, Sendable, Equatable, CaseIterable {
    case panes
    case presenter
    case compare
}
