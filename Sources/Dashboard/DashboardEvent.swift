/// What can happen to the dashboard: a key, a resize, or the answer to a command it sent.
public enum DashboardEvent: Sendable, Equatable {
    case key(Key)
    case resize(width: Int, height: Int)
    case commandFinished(DashboardCommand, Result<String, DashboardCommandError>)
}

/// What the update asks the terminal layer to do.
public enum DashboardEffect: Sendable, Equatable {
    /// Send this command to the backend; its answer comes back as `.commandFinished`.
    case perform(DashboardCommand)
    /// Restore the terminal and exit.
    case quit
    /// Repaint everything (Ctrl-L).
    case redraw
    /// Use a new refresh interval (frame cap and snapshot rate).
    case setRefresh(milliseconds: Int)
    /// Switch to the theme at this index of `model.themeNames`.
    case applyTheme(index: Int)
}
