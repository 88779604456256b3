import Dashboard

/// What the dashboard needs from the engine: snapshots to show and a way to perform commands.
/// Implemented by the engine's adapter (and by the synthetic preview).
public protocol DashboardBackend: Sendable {
    /// The current state of everything shown, with the lists cut to the windows `query` asks for (filtered over
    /// the whole ledger; only those rows read). Called about once per refresh interval and at once when the query
    /// changes, off the input path.
    func snapshot(for query: ListQuery) async -> DashboardSnapshot
    /// Performs an operator command; the success text or the error goes to the status line.
    func perform(_ command: DashboardCommand) async -> Result<String, DashboardCommandError>
}
