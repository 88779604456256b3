import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A server's processes as the operating system sees them: the postmaster's pid from `postmaster.pid`, whether
/// it runs, is stopped (SIGSTOP) or is gone, and its children (the walreceiver, the startup process, backends).
struct ServerProcess: Sendable, Equatable {
    enum State: String, Sendable {
        /// The postmaster runs.
        case running
        /// The postmaster is stopped by a signal (the *slow* fault).
        case stopped
        /// No postmaster (never started, shut down, or killed).
        case gone
    }

    let pid: pid_t?
    let state: State

    /// Reads `DIRECTORY/postmaster.pid` and looks the pid up in `/proc`. A pid that is now another program's
    /// (the file outlived a SIGKILL) counts as gone.
    static func inspect(directory: String) -> ServerProcess {
        guard let text = try? String(contentsOfFile: directory + "/postmaster.pid", encoding: .utf8),
              let first = text.split(whereSeparator: \.isNewline).first,
              let pid = pid_t(first.trimmingCharacters(in: .whitespaces)), pid > 0
        else { return ServerProcess(pid: nil, state: .gone) }
        guard let status = procState(pid), status != "Z", status != "X", isPostgres(pid) else {
            return ServerProcess(pid: nil, state: .gone)
        }
        return ServerProcess(pid: pid, state: status == "T" ? .stopped : .running)
    }

    /// The state letter from `/proc/PID/stat` (R, S, D, T, Z, ...), nil when there is no such process.
    static func procState(_ pid: pid_t) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    }

    private static func isPostgres(_ pid: pid_t) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let first = data.split(separator: 0).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        // The postmaster runs as `…/bin/postgres`; its children rename themselves (`postgres: walreceiver …`).
        return first.hasSuffix("/postgres") || first == "postgres" || first.hasSuffix("postmaster") || first.hasPrefix("postgres: ")
    }

    /// `directory` with its symbolic links resolved, as a process's `/proc/PID/cwd` names it; nil if it is gone.
    static func resolved(_ directory: String) -> String? {
        guard let real = realpath(directory, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }

    /// Every process of the server whose data directory is `directory`, the postmaster's children included even
    /// after the postmaster died: PostgreSQL's processes all run with the data directory as their working directory.
    static func all(directory: String) -> [pid_t] {
        guard let target = resolved(directory) else { return [] }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(pid_t.init).filter { pid in
            guard let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd") else { return false }
            return cwd == target && isPostgres(pid)
        }
    }

    /// Sends `signal` to every process of the server in `directory`. SIGSTOP stops the children before the
    /// postmaster (stopping only the postmaster would leave the walreceiver streaming); SIGCONT continues the
    /// postmaster first.
    static func signal(_ signal: Int32, directory: String) {
        let postmaster = inspect(directory: directory).pid
        let others = all(directory: directory).filter { $0 != postmaster }
        switch signal {
        case SIGCONT:
            if let postmaster { kill(postmaster, SIGCONT) }
            for pid in others { kill(pid, SIGCONT) }
        default:
            for pid in others { kill(pid, signal) }
            if let postmaster { kill(postmaster, signal) }
        }
    }

    /// Kills every process of the server without letting any of them tell its client anything: the postmaster is
    /// stopped first (SIGSTOP), then its children are killed, then it is. A postmaster that sees a child die sends
    /// every other child SIGQUIT, and a backend quitting so sends its client what it had buffered, among it the
    /// CommandComplete of a statement whose commit still waits for a standby at the Sync: postgres-nio takes that
    /// for success. With the children killed before the postmaster, as before, a failover under 30 such commits
    /// had 28 or 29 of them "acknowledged" in two runs of three.
    static func fence(directory: String) {
        let postmaster = inspect(directory: directory).pid
        if let postmaster { kill(postmaster, SIGSTOP) }
        for pid in all(directory: directory) where pid != postmaster { kill(pid, SIGKILL) }
        if let postmaster { kill(postmaster, SIGKILL) }
    }

    /// Waits until every process of the server shows as stopped (a signal is delivered asynchronously), up to
    /// `timeout`; true if they all do.
    static func waitUntilStopped(directory: String, timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if all(directory: directory).allSatisfy({ procState($0) == "T" }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// The POSIX shared memory segments (`/dev/shm/PostgreSQL.<handle>`: dynamic shared memory) that the server's
    /// processes have mapped, from `/proc/PID/maps`.
    static func sharedMemorySegments(directory: String) -> Set<String> {
        var segments: Set<String> = []
        for pid in all(directory: directory) {
            guard let maps = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8) else { continue }
            for line in maps.split(separator: "\n") {
                guard let start = line.range(of: "/dev/shm/PostgreSQL.") else { continue }
                let path = line[start.lowerBound...].split(separator: " ").first.map(String.init) ?? ""
                if path.dropFirst("/dev/shm/PostgreSQL.".count).allSatisfy(\.isNumber) { segments.insert(path) }
            }
        }
        return segments
    }

    /// Kills the postmaster alone with SIGKILL, as a crash of the server would: its children notice and exit.
    static func killPostmaster(directory: String) -> Bool {
        let process = inspect(directory: directory)
        guard let pid = process.pid else { return false }
        kill(pid, SIGKILL)
        // Children stopped by the slow fault would never notice: let them run to see the postmaster gone.
        if process.state == .stopped {
            for child in all(directory: directory) where child != pid { kill(child, SIGCONT) }
        }
        return true
    }

    /// The pid `postmaster.pid` names, alive or not.
    static func recordedPID(directory: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: directory + "/postmaster.pid", encoding: .utf8),
              let first = text.split(whereSeparator: \.isNewline).first else { return nil }
        return pid_t(first.trimmingCharacters(in: .whitespaces))
    }

    /// Waits until no process of the server runs (up to `timeout`); true if none does.
    /// - Parameter reaped: also wait until the postmaster's pid is gone from /proc (see below).
    static func waitUntilGone(directory: String, timeout: Duration, reaped: Bool = true) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        // A killed postmaster stays a zombie until it is reaped, and PostgreSQL (pg_rewind's single-user recovery
        // among others) takes a pid that still exists for a running server: wait for it to be gone from /proc too.
        let postmaster = reaped ? recordedPID(directory: directory) : nil
        let gone = { all(directory: directory).isEmpty && postmaster.map { procState($0) == nil } ?? true }
        while clock.now < deadline {
            if gone() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return gone()
    }
}
