import Foundation
import PostgresCluster
#if canImport(Glibc)
import Glibc
import Primitives
#endif

/// Runs a program to completion with `posix_spawn` and `waitpid`, its output through a file.
///
/// Foundation's `Process` is not used on purpose: `waitUntilExit` was seen to hang on an exited tmux client,
/// and a pipe handed to a command that starts a tmux server stays open as long as the server lives.
public enum Spawn {
    public struct Failed: Error {}

    /// Runs `executable` with `arguments` (stdin and stderr from/to /dev/null); returns its stdout when
    /// `captureOutput`, else "".
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], captureOutput: Bool = true) throws -> String {
        let outputPath = ScratchRoot.path() + "/hongbao-spawn-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let quoted = ([executable] + arguments).map(Spawn.quoted).joined(separator: " ")
        let script = "exec \(quoted) </dev/null 2>/dev/null >" + (captureOutput ? "'\(outputPath)'" : "/dev/null")
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", script].map { (text: String) in strdup(text) } + [nil]
        defer { argv.forEach { free($0) } }
        // The child starts with no signal blocked and every signal at its default action. The calling thread
        // may be a concurrency or Dispatch worker with most signals blocked; a tmux server started from here
        // would inherit that mask, never see its children exit, and outlive `kill-server` with its panes.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        var allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        guard posix_spawn(&pid, "/bin/sh", nil, &attributes, argv, environ) == 0 else { throw Failed() }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return captureOutput ? ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "") : ""
    }

    /// `text` in single quotes for `/bin/sh`.
    public static func quoted(_ text: String) -> String {
        ExitWatchdog.quoted(text)
    }

    /// Waits, in a process of its own, for process `pid` to end and then runs `script` (`ExitWatchdog`): the
    /// clean-up of what outlives a test process that died without tearing down, or of what a whole test run
    /// shares.
    public static func afterExit(of pid: pid_t, run script: String) {
        ExitWatchdog.afterExit(of: pid, run: script)
    }
}
