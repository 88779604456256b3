/// What a retry worker is doing, as the operator sees it.
public enum WorkerState: String, Sendable, Equatable, Codable {
    case running
    case paused
    /// Stopped abruptly: whatever it held is dropped unacknowledged and comes back after its visibility timeout.
    case crashed
}
