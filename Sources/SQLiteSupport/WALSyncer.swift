import Foundation
import Synchronization

/// Makes committed WAL frames durable: `fdatasync` of a store's `-wal` file, on its own descriptor.
///
/// At FULL durability the writer connection commits with `synchronous=NORMAL` (frames written, not synced)
/// and the group-commit writer acknowledges a batch only after a `sync()` that started after its commit.
/// One fsync then covers every batch committed before it, and the writer runs the next batch meanwhile
/// instead of waiting on the disk. SQLite's NORMAL mode still syncs the WAL before and the database after
/// each checkpoint, so a crash never tears the file; the extra fsync is what makes each commit durable.
///
/// The writer connection keeps the WAL file open for the store's lifetime, so its inode does not change;
/// the descriptor is re-opened if it ever does (checked on every sync).
public final class WALSyncer: Sendable {
    public let path: String
    private let state = Mutex<(descriptor: Int32, inode: UInt64)>((-1, 0))
    private let syncs = Atomic<Int>(0)
    /// Runs before each fsync; tests hold syncs back with it to see that nobody is told before one.
    private let beforeSync: (@Sendable () -> Void)?

    public init(walPath: String, beforeSync: (@Sendable () -> Void)? = nil) {
        path = walPath
        self.beforeSync = beforeSync
    }

    deinit {
        state.withLock { state in
            if state.descriptor >= 0 { close(state.descriptor) }
        }
    }

    /// How many fsyncs have completed (one may cover many commits).
    public var syncCount: Int { syncs.load(ordering: .relaxed) }

    /// Flushes everything written to the WAL so far to stable storage.
    public func sync() throws(SQLiteStoreError) {
        beforeSync?()
        try state.withLock { state throws(SQLiteStoreError) in
            var status = stat()
            guard stat(path, &status) == 0 else {
                // No WAL file yet (nothing committed through it) or gone: nothing unsynced can be in it.
                if errno == ENOENT { return }
                throw WALSyncer.failure("cannot stat \(path)")
            }
            if state.descriptor < 0 || state.inode != UInt64(status.st_ino) {
                if state.descriptor >= 0 { close(state.descriptor) }
                let descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else {
                    throw WALSyncer.failure("cannot open \(path)")
                }
                state = (descriptor, UInt64(status.st_ino))
                try syncDirectory()
            }
            // fdatasync, as SQLite syncs its own files: the frames and the file's size, not its times. An fsync
            // also journals the modification time every write changed, so each one waited for a journal
            // commit of the whole file system, behind every other file's.
            guard fdatasync(state.descriptor) == 0 else {
                throw WALSyncer.failure("fdatasync of \(path) failed")
            }
        }
        syncs.add(1, ordering: .relaxed)
    }

    /// The WAL's directory entry must be durable too, once, for a WAL file created since the last sync.
    private func syncDirectory() throws(SQLiteStoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw WALSyncer.failure("cannot open \(directory)") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw WALSyncer.failure("fsync of \(directory) failed")
        }
    }

    /// A storage error naming what failed and the system's reason (`errno`, read at once).
    private static func failure(_ what: String) -> SQLiteStoreError {
        SQLiteStoreError.storage("\(what): \(String(cString: strerror(errno)))")
    }
}
