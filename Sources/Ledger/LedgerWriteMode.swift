/// How `Ledger.write` commits.
public enum LedgerWriteMode: String, Sendable, Equatable, CaseIterable, Codable {
    /// Concurrent writes share one commit on the group-commit writer's thread. The real system.
    case groupCommit
    /// Each write is its own transaction, run at once on the caller's thread (`writeNow`). For
    /// single-task deterministic simulations: no writer thread, the same order of effects on every run.
    case immediate
}
