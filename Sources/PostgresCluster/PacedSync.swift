import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Makes a data directory durable as `pg_rewind` does after its copy (every file, then every directory,
/// fsynced), but a file at a time with the disk left idle in between: after an fsync that took `t`, it waits
/// `idleFactor × t` before the next.
///
/// `pg_rewind` copies the new primary's WAL whole (about 700 MB with `wal_keep_size` at 512 MB) into the page
/// cache and then fsyncs it all at once: about 1.7 s of this disk's writes, in front of which the new primary's
/// and the other standby's WAL flushes waited, so `bench pgfaults` saw the opens/s fall to 86 % for the second of
/// that sync, 11 s after the failover key, when the service had been back for 9 s. Each fsync here writes one
/// file's dirty pages (a WAL segment is 16 MB, some 40 ms of writes), and the pauses between them let the
/// servers' own flushes through.
enum PacedSync {
    /// Disk idle time after each fsync, as a multiple of that fsync's time.
    static let idleFactor = 2.0

    /// Fsyncs every regular file under `path`, then every directory, deepest first (so that the entries of new
    /// and renamed files are durable too). Runs on a thread of its own (fsync blocks). Throws the first file
    /// that could not be opened or fsynced, after trying the rest.
    static func sync(_ path: String) async throws(ClusterError) {
        if let failure = await onThreadOfItsOwn({ syncBlocking(path) }) {
            throw .commandFailed(command: "fsync", status: 1, detail: failure)
        }
    }

    /// What `sync` fsyncs, in order: every regular file under `root`, then every directory, deepest first and
    /// `root` last. Symbolic links are left out (`pg_wal` may be one): what they point at is synced where it lives.
    static func order(_ root: String) -> [(path: String, isDirectory: Bool)] {
        var files: [String] = []
        var directories: [String] = [root]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let path = root + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0 else { continue } // gone meanwhile
            switch info.st_mode & S_IFMT {
            case S_IFREG: files.append(path)
            case S_IFDIR: directories.append(path)
            default: continue
            }
        }
        // The enumeration lists a directory before what it holds: reversed, the deepest come first.
        return files.map { ($0, false) } + directories.reversed().map { ($0, true) }
    }

    private static func syncBlocking(_ root: String) -> String? {
        var firstFailure: String?
        func fail(_ path: String) {
            if firstFailure == nil { firstFailure = "\(path): \(String(cString: strerror(errno)))" }
        }
        for (path, isDirectory) in order(root) {
            let started = DispatchTime.now().uptimeNanoseconds
            let descriptor = open(path, O_RDONLY | (isDirectory ? O_DIRECTORY : 0))
            if descriptor < 0 {
                // A file gone since the listing is no failure (a server may still be writing); the root gone is.
                if errno != ENOENT || path == root { fail(path) }
                continue
            }
            if fsync(descriptor) != 0 { fail(path) }
            close(descriptor)
            let took = DispatchTime.now().uptimeNanoseconds - started
            // Files with nothing to write take microseconds: no pause for them.
            if took > 1_000_000 { usleep(UInt32(min(Double(took) * idleFactor / 1_000, 1_000_000))) }
        }
        return firstFailure
    }
}
