/// What a key binding does; `DashboardUpdate` turns it into model changes and effects.
public enum KeyAction: Sendable, Equatable {
    case quit
    case help
    case commandLine
    case filter
    case nextPane
    case previousPane
    case focus(PaneID)
    case moveUp
    case moveDown
    case pageUp
    case pageDown
    case toggleFreeze
    case refreshFaster
    case refreshSlower
    case cycleTheme
    case redraw
    case sendForm
    case grabAndOpen
    case galaToggle
    case galaFaster
    case galaSlower
    case cycleCreditFailures
    case cycleLedgerLatency
    /// Acts on the replica selected in the queue pane.
    case replicaDownToggle
    case replicaSlowToggle
    case replicaCorrupt
    case replicaRestore
    /// Kills the PostgreSQL primary and promotes a standby (asks first).
    case failover
    case workersPauseToggle
    case workersCrash
    case workersRestart
    case toggleCreditMode
    case redrive
    case scenarioPause
    case scenarioNext
    case scenarioPrevious
    /// Shows or leaves the presenter view.
    case togglePresenter
    /// Shows or leaves the side-by-side comparison of the two credit modes.
    case toggleCompare
}
