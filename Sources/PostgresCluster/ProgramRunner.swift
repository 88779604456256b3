import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The OS user the servers run as: the current user, or (when run as root) `postgres` through `setpriv`, since
/// PostgreSQL refuses to run as root.
struct ServerUser: Sendable, Equatable {
    let name: String
    let uid: uid_t
    let gid: gid_t
    let home: String
    /// Whether programs are started as another user (through `setpriv`).
    let switches: Bool

    /// The user to run servers as in this process.
    static func current(serverUserName: String = "postgres") throws(ClusterError) -> ServerUser {
        if geteuid() == 0 {
            guard let entry = getpwnam(serverUserName) else { throw .noServerUser(name: serverUserName) }
            return ServerUser(name: serverUserName, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid,
                              home: String(cString: entry.pointee.pw_dir), switches: true)
        }
        let uid = geteuid()
        let entry = getpwuid(uid)
        let name = entry.map { String(cString: $0.pointee.pw_name) } ?? "\(uid)"
        let home = entry.map { String(cString: $0.pointee.pw_dir) } ?? NSHomeDirectory()
        return ServerUser(name: name, uid: uid, gid: getegid(), home: home, switches: false)
    }

    /// Makes `path` belong to this user (when the servers run as another user) with `mode`.
    func own(_ path: String, mode: mode_t) {
        if switches { _ = chown(path, uid, gid) }
        _ = chmod(path, mode)
    }
}

/// What a finished program did.
struct ProgramResult: Sendable {
    let status: Int32
    let output: String

    /// The last lines of the output, for an error message.
    var tail: String {
        output.split(whereSeparator: \.isNewline).suffix(3).joined(separator: " / ")
    }
}

/// Runs PostgreSQL's programs to completion with `posix_spawn`, their output through a file (not a pipe: `pg_ctl
/// start` leaves a server running that would hold a pipe open), as the server user, in a directory that user can
/// enter (`initdb` and `pg_ctl` look at the current directory).
enum ProgramRunner {
    static let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]

    static func run(
        _ executable: String, _ arguments: [String], as user: ServerUser, directory: String,
        environment extra: [String: String] = [:]
    ) async throws(ClusterError) -> ProgramResult {
        // The shell enters `directory` as the server user, then becomes the program.
        var argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory, executable] + arguments
        if user.switches {
            guard let setpriv = setpriv.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw .commandFailed(command: "setpriv", status: 127, detail: "setpriv (util-linux) is not installed")
            }
            argv = [setpriv, "--reuid=\(user.uid)", "--regid=\(user.gid)", "--init-groups", "--"] + argv
        }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["HOME"] = user.home
        environment["LC_ALL"] = "C"
        for (key, value) in extra { environment[key] = value }
        let command = (executable as NSString).lastPathComponent
        let finalArgv = argv
        let finalEnvironment = environment.map { "\($0.key)=\($0.value)" }
        // waitpid blocks: on a thread of its own, not on the cooperative pool.
        let result = await onThreadOfItsOwn { spawnAndWait(finalArgv, environment: finalEnvironment) }
        guard let result else { throw .commandFailed(command: command, status: 127, detail: "cannot start \(executable)") }
        return result
    }

    /// Runs and throws `commandFailed` unless the program exits 0.
    @discardableResult
    static func check(
        _ executable: String, _ arguments: [String], as user: ServerUser, directory: String,
        environment: [String: String] = [:]
    ) async throws(ClusterError) -> ProgramResult {
        let result = try await run(executable, arguments, as: user, directory: directory, environment: environment)
        guard result.status == 0 else {
            throw .commandFailed(command: (executable as NSString).lastPathComponent, status: result.status, detail: result.tail)
        }
        return result
    }

    private static func spawnAndWait(_ argv: [String], environment: [String]) -> ProgramResult? {
        let outputPath = NSTemporaryDirectory() + "hongbao-pg-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Only the three standard descriptors: a server started through pg_ctl would keep any other open for ever
        // (a caller's pipe would never see its end). Closing one that closed meanwhile is not an error.
        let open = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap(Int32.init)
        for descriptor in open where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        let cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnvironment: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &actions, nil, cArguments, cEnvironment) == 0 else { return nil }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        return ProgramResult(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: output)
    }
}

/// Runs `work`, which blocks (waitpid, fsync), on a thread of its own rather than on the cooperative pool, and
/// returns what it returned.
func onThreadOfItsOwn<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
