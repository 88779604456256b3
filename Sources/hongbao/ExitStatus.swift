/// The exit status of every command: one scheme, documented in the README ("Exit codes").
enum ExitStatus {
    /// The command did what was asked.
    static let ok: Int32 = 0
    /// A check failed: `audit` (or the audit at the end of `simulate`, or a bench's own check) found the books wrong.
    static let checkFailed: Int32 = 1
    /// The command line or a value in it is wrong: an unknown option, a malformed or out-of-range number or
    /// amount, a name or greeting that breaks the rules, a malformed receipt, an empty `--data`.
    static let usage: Int32 = 2
    /// What the command names does not exist: no such account, packet, queue or received message.
    static let notFound: Int32 = 3
    /// The request is well formed but the rules refuse it now: not enough money, already exists, expired, sold out,
    /// already grabbed, a stale receipt, a queue still in use.
    static let refused: Int32 = 4
    /// The data directory cannot be used: another process holds it, it is not a directory or not writable, or
    /// fewer than two queue replicas are up.
    static let unavailable: Int32 = 5
    /// Stored data is damaged or foreign, or storage failed; nothing was changed by this command.
    static let storage: Int32 = 6
    /// The dashboard stopped on signal N: 128 + N, as shells report it.
    static func signal(_ number: Int32) -> Int32 { 128 + number }
}
