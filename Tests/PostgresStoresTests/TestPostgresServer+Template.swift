import Foundation
import Primitives
import TestKit
#if canImport(Glibc)
import Glibc
#endif

extension TestPostgresServer {
    /// One `initdb` per test run, copied into each server's directory. The parallel runner starts every test in a
    /// process of its own, so a class's server was one `initdb` per test (about half a second of CPU each, most of
    /// a contract test's cost); a copy costs a tenth of that. The template is made once per parent process (the
    /// runner), under an exclusive `flock` that the runner's other test processes wait on, and removed by a
    /// process that waits for the parent to exit. Its password is generated when it is made, like a server's was.
    struct Template {
        /// The initialized data directory to copy (`cp -a`, which keeps its owner and modes).
        let data: String
        let password: String

        /// The test run's template: made by the first caller, found by the others.
        static func shared(binaries: String, user: String, asPostgres: Bool) throws -> Template {
            let parent = getppid()
            let version = URL(fileURLWithPath: binaries).deletingLastPathComponent().lastPathComponent
            let base = ScratchRoot.path() + "/hongbao-pg-template-\(getuid())-\(version)-\(parent)"
            // An orphan's parent is init, which never exits: it gets a template of its own, removed with its
            // directory by the same kind of waiter, after this process.
            let owner = parent == 1 ? getpid() : parent
            let directory = parent == 1 ? base + "-\(getpid())" : base
            let lockPath = directory + ".lock"
            let descriptor = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw CommandFailed(description: "cannot open \(lockPath): errno \(errno)") }
            defer { close(descriptor) } // releases the lock
            while flock(descriptor, LOCK_EX) != 0 {
                guard errno == EINTR else { throw CommandFailed(description: "cannot lock \(lockPath): errno \(errno)") }
            }
            if !FileManager.default.fileExists(atPath: directory + "/ready") {
                try make(directory: directory, binaries: binaries, user: user, asPostgres: asPostgres)
                Spawn.afterExit(of: owner, run: "rm -rf \(Spawn.quoted(directory)) \(Spawn.quoted(lockPath))")
            }
            let password = try String(contentsOfFile: directory + "/pw", encoding: .utf8)
            return Template(data: directory + "/data", password: password)
        }

        /// `initdb` into `directory/data` with a new password in `directory/pw`; `directory/ready` last, so that a
        /// half-made template (a process killed during `initdb`) is made again.
        private static func make(directory: String, binaries: String, user: String, asPostgres: Bool) throws {
            try? FileManager.default.removeItem(atPath: directory)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let password = (0..<24).map { _ in String("abcdefghijkmnopqrstuvwxyz23456789".randomElement() ?? "a") }.joined()
            try password.write(toFile: directory + "/pw", atomically: true, encoding: .utf8)
            if asPostgres { try shell("chown -R postgres:postgres '\(directory)'") }
            try shell(command("\(binaries)/initdb -D '\(directory)/data' -U \(user) --auth=scram-sha-256 "
                + "--pwfile='\(directory)/pw' -E UTF8 --locale=C --no-sync", asPostgres: asPostgres))
            _ = FileManager.default.createFile(atPath: directory + "/ready", contents: nil)
        }
    }
}
