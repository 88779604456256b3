/// How hard each queue replica's commit tries to reach the disk.
public enum ReplicaDurability: String, Sendable, Equatable, CaseIterable, Codable {
    /// `synchronous=FULL`: a replica's commit returns after its write-ahead log is fsync'd, so an
    /// acknowledged message survives power loss on two disks. The default (DESIGN section 4).
    case full
    /// `synchronous=NORMAL`: survives a process crash (`kill -9`), may lose the last commits on power loss.
    /// For deterministic simulations, which commit hundreds of thousands of operations and model crashes
    /// of the process, not of the machine.
    case normal

    /// The value of SQLite's `synchronous` pragma.
    public var pragma: String {
        switch self {
        case .full: return "FULL"
        case .normal: return "NORMAL"
        }
    }
}
