/// Why a deterministic simulation could not run to its checks (a failed check is not an error: it is in
/// the summary's `violations`).
public enum DeterministicSimulationError: Error, Equatable, Sendable {
    /// The engine was not running when a step needed it (a restart failed half-way).
    case engineNotRunning
    /// A step failed in a way the production code never should (a storage error, an unknown account).
    case unexpected(step: Int, detail: String)
}
