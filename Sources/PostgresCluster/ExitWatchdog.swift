import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A shell of its own that outlives the process that starts it: it waits for a process to end and then runs
/// its clean-up. It runs in a session of its own (not hung up with the terminal), holding none of the starting
/// process's files. For what a process leaves behind when it dies without tearing down (`kill -9`, Ctrl-C):
/// servers it started, scratch directories.
public enum ExitWatchdog {
    /// Starts the watchdog: once process `pid` has ended (looked at once a second), `/bin/sh` runs `script`.
    public static func afterExit(of pid: pid_t, run script: String) {
        let waiting = "while kill -0 \(pid) 2>/dev/null; do sleep 1; done; \(script)"
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, 0x80) // POSIX_SPAWN_SETSID
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in 0...2 {
            posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let open = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap(Int32.init)
        for descriptor in open where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", waiting].map { (text: String) in strdup(text) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        _ = posix_spawn(&child, "/bin/sh", &actions, &attributes, argv, environ)
    }

    /// `text` in single quotes for `/bin/sh`.
    public static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension LocalCluster {
    /// Has a watchdog remove this cluster when process `pid` ends: each server's processes killed with SIGKILL
    /// (its postmaster stopped first, as `ServerProcess.fence` does), then the servers' root (one `up` made) and
    /// the cluster's directory deleted, and `alsoRemove` with them. When `remove()` ran first it finds nothing to
    /// do. For a cluster that lives as long as one process (a test's, a bench's baseline server): a process
    /// killed before its tear-down leaves no server running. The processes are found as `ServerProcess.all`
    /// finds them, by their working directory: killing only the postmaster, as it did before, left the children
    /// of a server under the slow fault (SIGSTOP) stopped for ever, since they never saw the postmaster die.
    public func removeAfterExit(of pid: pid_t = getpid(), alsoRemove: [String] = []) throws(ClusterError) {
        let settings = try settings()
        let kills = settings.servers.map { server in
            let pidFile = ExitWatchdog.quoted(server.directory + "/postmaster.pid")
            let directory = ExitWatchdog.quoted(ServerProcess.resolved(server.directory) ?? server.directory)
            return "p=$(head -1 \(pidFile) 2>/dev/null); "
                + "[ -n \"$p\" ] && [ \"$(readlink /proc/$p/cwd 2>/dev/null)\" = \(directory) ] && kill -STOP $p; "
                + "for d in /proc/[0-9]*; do [ \"$(readlink $d/cwd 2>/dev/null)\" = \(directory) ] && kill -9 ${d#/proc/} 2>/dev/null; done"
        }.joined(separator: "; ")
        let removals = ((isServerRoot(settings) ? [settings.serverRoot] : []) + [directory] + alsoRemove)
            .map(ExitWatchdog.quoted).joined(separator: " ")
        ExitWatchdog.afterExit(of: pid, run: "\(kills); sleep 1; rm -rf \(removals)")
    }
}
