import Foundation
import PostgresStores
import Primitives
import TestKit
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL server for one test class: a copy of the test run's `initdb` (`Template`) in a scratch
/// directory (owned by the `postgres` user when the tests run as root), password authentication, loopback only,
/// stopped and removed in `stop()`. Each test takes a fresh database of its own (`freshDatabase`).
final class TestPostgresServer: @unchecked Sendable {
    let directory: String
    let port: Int
    let user = "hongbao"
    let password: String
    private let binaries: String
    private let asPostgres: Bool
    private var databases = 0
    private let lock = NSLock()

    /// The installed server's programs, or nil (then the tests are skipped with this reason).
    static func binaryDirectory() -> String? {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(base)/\(version)/bin/initdb") {
            return "\(base)/\(version)/bin"
        }
        return nil
    }

    static let skipReason = "no PostgreSQL server binaries under /usr/lib/postgresql (install the postgresql package)"

    /// Starts a server, or throws `XCTSkip` when PostgreSQL is not installed.
    static func start() throws -> TestPostgresServer {
        guard let binaries = binaryDirectory() else {
            print("PostgresStoresTests skipped: \(skipReason)")
            throw XCTSkip(skipReason)
        }
        return try TestPostgresServer(binaries: binaries)
    }

    private init(binaries: String) throws {
        self.binaries = binaries
        asPostgres = getuid() == 0
        directory = ScratchRoot.path() + "/hongbao-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if asPostgres { try TestPostgresServer.shell("chown postgres:postgres '\(directory)' && chmod 700 '\(directory)'") }
        let template = try Template.shared(binaries: binaries, user: user, asPostgres: asPostgres)
        password = template.password
        try TestPostgresServer.shell("cp -a '\(template.data)' '\(directory)/data'")
        var started: Int?
        for _ in 0..<8 {
            let candidate = Int.random(in: 20_000...60_000)
            let options = "-p \(candidate) -c listen_addresses=127.0.0.1 -c unix_socket_directories='\(directory)' -c fsync=off -c max_connections=60"
            if (try? TestPostgresServer.shell(TestPostgresServer.command("\(binaries)/pg_ctl -D '\(directory)/data' -l '\(directory)/log' -w -t 60 -o \"\(options)\" start", asPostgres: asPostgres))) != nil {
                started = candidate
                break
            }
        }
        guard let started else {
            try? FileManager.default.removeItem(atPath: directory)
            throw XCTSkip("could not start a PostgreSQL test server on a free port")
        }
        port = started
    }

    private func command(_ text: String) -> String {
        TestPostgresServer.command(text, asPostgres: asPostgres)
    }

    static func command(_ text: String, asPostgres: Bool) -> String {
        asPostgres ? "runuser -u postgres -- sh -c \"cd /tmp && \(text.replacingOccurrences(of: "\"", with: "\\\""))\"" : text
    }

    /// A new empty database's settings.
    func freshDatabase() throws -> PostgresSettings {
        let name = lock.withLock { () -> String in
            databases += 1
            return "test\(databases)"
        }
        try TestPostgresServer.shell("PGPASSWORD='\(password)' psql -h 127.0.0.1 -p \(port) -U \(user) -d postgres -qc 'CREATE DATABASE \(name)'")
        return settings(database: name)
    }

    func settings(database: String) -> PostgresSettings {
        PostgresSettings(host: "127.0.0.1", port: port, user: user, password: password, database: database)
    }

    /// Runs SQL as the superuser through psql (for the tests' faults), returning its unaligned output.
    @discardableResult
    func psql(_ sql: String, database: String = "postgres") throws -> String {
        try TestPostgresServer.shell("PGPASSWORD='\(password)' psql -h 127.0.0.1 -p \(port) -U \(user) -d \(database) -XAtqc \"\(sql.replacingOccurrences(of: "\"", with: "\\\""))\"")
    }

    /// Runs `write` so that its COMMIT is unclear, for real: the server is set to wait for a synchronous
    /// standby that does not exist, so the commit is written locally and then waits; the backend waiting is
    /// terminated (as when a primary loses its standbys and the connection drops), and the setting is reset
    /// so that the store's retry can go on. Returns what `write` returned after its retry, and whether a
    /// commit was caught waiting.
    func withUnclearCommit<T: Sendable>(database: String, _ write: @escaping @Sendable () async throws -> T)
        async throws -> (value: T, caughtWaiting: Bool) {
        try await waitForAStandbyThatNeverComes()
        let finished = AsyncFlag()
        let task = Task {
            defer { finished.fire() }
            return try await write()
        }
        var waiting = ""
        while waiting.isEmpty && !finished.hasFired {
            waiting = (try? psql("""
                SELECT pid FROM pg_stat_activity WHERE datname = '\(database)' AND wait_event = 'SyncRep' LIMIT 1
                """)) ?? ""
            if waiting.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        }
        if !waiting.isEmpty { try psql("SELECT pg_terminate_backend(\(waiting))") }
        try psql("ALTER SYSTEM RESET synchronous_standby_names")
        try psql("SELECT pg_reload_conf()")
        return (try await task.value, !waiting.isEmpty)
    }

    /// Sets `synchronous_standby_names` to a standby that does not exist and returns once a commit has been
    /// seen waiting for it. A reloaded setting reaches the commits only when the checkpointer has read it, on
    /// its own time: on a loaded machine a commit made right after `pg_reload_conf()` could still go through
    /// without waiting. So a probe (a psql session inserting a row; not into a temporary table, whose drop
    /// at exit would wait too, where the backend cannot be terminated) proves the wait first, and is terminated
    /// once seen.
    func waitForAStandbyThatNeverComes() async throws {
        try psql("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
        for _ in 0..<50 {
            try psql("SELECT pg_reload_conf()")
            let done = "\(directory)/probe-\(UUID().uuidString)"
            try TestPostgresServer.shell("""
                (PGAPPNAME=hongbao-probe PGPASSWORD='\(password)' psql -h 127.0.0.1 -p \(port) -U \(user) -d postgres \
                 -Xqc 'CREATE TABLE IF NOT EXISTS hongbao_probe (x int); INSERT INTO hongbao_probe VALUES (1)'; touch '\(done)') >/dev/null 2>&1 &
                """)
            while !FileManager.default.fileExists(atPath: done) {
                let terminated = try psql("""
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE application_name = 'hongbao-probe' AND wait_event = 'SyncRep'
                    """)
                if !terminated.isEmpty {
                    while !FileManager.default.fileExists(atPath: done) { try await Task.sleep(for: .milliseconds(10)) }
                    return
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        throw CommandFailed(description: "the server never waited for its missing synchronous standby")
    }

    /// A psql session running `sql` in the background (for a test that needs a transaction held open while
    /// the stores work): returns once the session is seen waiting on `until` (`pg_stat_activity.wait_event`,
    /// e.g. `PgSleep` after a `pg_sleep`, `advisory` on an advisory lock). End it with `end(_:)`.
    func session(_ sql: String, database: String, until waitEvent: String) async throws -> Session {
        let session = Session(name: "hongbao-session-\(UUID().uuidString.prefix(8))",
                              done: "\(directory)/session-\(UUID().uuidString)")
        try TestPostgresServer.shell("""
            (PGAPPNAME=\(session.name) PGPASSWORD='\(password)' psql -h 127.0.0.1 -p \(port) -U \(user) -d \(database) \
             -Xq -v ON_ERROR_STOP=1 -c \"\(sql.replacingOccurrences(of: "\"", with: "\\\""))\"; touch '\(session.done)') >/dev/null 2>&1 &
            """)
        while try psql("""
            SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '\(session.name)' AND wait_event = '\(waitEvent)'
            """) == "0" {
            if FileManager.default.fileExists(atPath: session.done) {
                throw CommandFailed(description: "the session ended before it waited on \(waitEvent): \(sql)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return session
    }

    struct Session: Sendable {
        let name: String
        let done: String
    }

    /// Ends a `session`: terminated (its transaction rolls back) unless it has finished; returns once its psql
    /// has exited.
    func end(_ session: Session) async throws {
        try psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '\(session.name)'")
        while !FileManager.default.fileExists(atPath: session.done) { try await Task.sleep(for: .milliseconds(10)) }
    }

    /// Waits until `session` has finished by itself (its psql exited).
    func finish(_ session: Session) async throws {
        while !FileManager.default.fileExists(atPath: session.done) { try await Task.sleep(for: .milliseconds(10)) }
    }

    /// How many backends on `database` wait on a lock (`wait_event_type = 'Lock'`), leaving out the sessions
    /// named.
    func lockWaits(database: String, except sessions: [Session] = []) throws -> Int {
        let names = sessions.map { "'\($0.name)'" }.joined(separator: ", ")
        return Int(try psql("""
            SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '\(database)' AND wait_event_type = 'Lock'
            \(names.isEmpty ? "" : "AND application_name NOT IN (\(names))")
            """)) ?? 0
    }

    func stop() {
        _ = try? TestPostgresServer.shell(command("\(binaries)/pg_ctl -D '\(directory)/data' -m immediate -w stop"))
        try? FileManager.default.removeItem(atPath: directory)
    }

    struct CommandFailed: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs a shell command; throws with its output when it exits non-zero.
    @discardableResult
    static func shell(_ script: String) throws -> String {
        let output = NSTemporaryDirectory() + "hongbao-pg-sh-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: output) }
        var pid: pid_t = 0
        let full = "(\(script)) </dev/null >'\(output)' 2>&1"
        let argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", full].map { (text: String) in strdup(text) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { throw CommandFailed(description: "spawn failed") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else { throw CommandFailed(description: "\(script): \(text)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
