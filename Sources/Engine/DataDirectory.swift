import Foundation
import Primitives
#if canImport(Glibc)
import Glibc
#endif

/// Why a data directory cannot be used.
public enum DataDirectoryError: Error, Equatable, Sendable {
    /// Another process holds the directory's lock.
    case inUse(path: String, pid: Int32?)
    /// The directory cannot be created or written.
    case unwritable(path: String, reason: String)
    /// The path exists but is not a directory.
    case notADirectory(path: String)
    /// Opened for reading, but the directory does not exist.
    case missing(path: String)
    /// The path given (by `source`: `--data`, `HONGBAO_DATA`) is empty: refused rather than taken as the current
    /// directory.
    case emptyPath(source: String)
}

/// The directory that holds all of Hongbao's state, owned by one process at a time.
///
/// Layout:
/// ```
/// DIR/LOCK                          flock'd by the owning process; holds its pid
/// DIR/ledger.sqlite                 the account system: accounts, transfers, the settlement account
/// DIR/redpackets.sqlite             the red-packet system: packets, grabs, claims, refunds
/// DIR/queue/replica-{a,b,c}/...     the message queue's three replicas
/// ```
///
/// The ledger holds everyone's balances: the directory is created 0700 and every file in it 0600 (the owning
/// process creates files with umask 077, so SQLite's WAL and shared-memory files and the replicas are private
/// too). An existing directory that others can read is used as it is; `readableByOthers` says so, and the
/// executable warns.
public final class DataDirectory: Sendable {
    public let path: String
    private let lockDescriptor: Int32

    /// Creates the directory if needed and takes its lock; fails with `inUse` if another process has it.
    /// - Parameter create: false for reading commands: a missing directory is `missing`, not created.
    public init(path: String, create: Bool = true) throws(DataDirectoryError) {
        guard !path.isEmpty else { throw .emptyPath(source: "the data directory path") }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        umask(0o077)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .notADirectory(path: absolute) }
        } else if !create {
            throw .missing(path: absolute)
        } else {
            do {
                try DirectoryMaker.make(absolute)
            } catch {
                throw .unwritable(path: absolute, reason: error.description)
            }
        }
        guard access(absolute, W_OK | X_OK) == 0 else {
            throw .unwritable(path: absolute, reason: String(cString: strerror(errno)))
        }
        let lockPath = absolute + "/LOCK"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .unwritable(path: absolute, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let pid = DataDirectory.readPID(descriptor)
            close(descriptor)
            throw .inUse(path: absolute, pid: pid)
        }
        let pidText = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pidText.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        self.path = absolute
        self.lockDescriptor = descriptor
    }

    deinit {
        flock(lockDescriptor, LOCK_UN)
        close(lockDescriptor)
    }

    /// The account system's database.
    public var ledgerPath: String { path + "/ledger.sqlite" }

    /// The red-packet system's database.
    public var packetsPath: String { path + "/redpackets.sqlite" }

    /// The directory that holds the queue's replicas.
    public var queuePath: String { path + "/queue" }

    /// The directory or ledger file modes when others (group or world) may read them, e.g. `["DIR 0755"]`; empty
    /// when the directory is private.
    public var readableByOthers: [String] {
        [path, ledgerPath].compactMap { file in
            var status = stat()
            guard stat(file, &status) == 0, status.st_mode & 0o044 != 0 else { return nil }
            return "\(file) " + String(status.st_mode & 0o777, radix: 8)
        }
    }

    /// The directory to use: `explicit` (`--data`), else the default. An empty `--data` or `HONGBAO_DATA` is refused.
    public static func resolvePath(
        explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(DataDirectoryError) -> String {
        if let explicit {
            guard !explicit.isEmpty else { throw .emptyPath(source: "--data") }
            return explicit
        }
        if environment["HONGBAO_DATA"] == "" { throw .emptyPath(source: "HONGBAO_DATA") }
        return defaultPath(environment: environment)
    }

    /// The default data directory: `$HONGBAO_DATA`, else `$XDG_DATA_HOME/hongbao`, else `~/.local/share/hongbao`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = environment["HONGBAO_DATA"], !explicit.isEmpty { return explicit }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/hongbao" }
        let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        return home + "/.local/share/hongbao"
    }

    private static func readPID(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(descriptor, &buffer, buffer.count - 1, 0)
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
