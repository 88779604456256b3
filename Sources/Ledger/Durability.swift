/// How hard a commit tries to reach the disk.
public enum Durability: String, Sendable, CaseIterable, Codable {
    /// A write returns only after an fsync of the WAL that covers its commit (the ledger's `WALSyncer`, off
    /// the writer thread). Survives power loss. The default.
    case full
    /// A write returns once committed, without an fsync: survives a process crash (`kill -9`), may lose the
    /// last commits on power loss.
    case normal
}
