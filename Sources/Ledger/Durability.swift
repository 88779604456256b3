/// How hard a commit tries to reach the disk.
public enum Durability: String, Sendable, CaseIterable, Codable {
    /// `synchronous=FULL`: a commit returns after the WAL is fsync'd. Survives power loss. The default.
    case full
    /// `synchronous=NORMAL`: survives a process crash (`kill -9`), may lose the last commits on power loss.
    case normal

    var pragma: String {
        switch self {
        case .full: return "FULL"
        case .normal: return "NORMAL"
        }
    }
}
