import Foundation

/// Where throwaway data directories go: memory-backed `/dev/shm` when the machine has one (Linux), else the
/// system's temporary directory.
///
/// For data that has to survive a crash of the process and never a crash of the machine: the deterministic
/// simulation's engine (it crashes and restarts the engine hundreds of times) and the tests' data directories.
/// On a disk every checkpoint and every `synchronous=FULL` commit waits for an fsync; in memory the same code
/// runs, and what it wrote is read back the same way after a `kill -9`, without the wait.
public enum ScratchRoot {
    /// The memory-backed directory tried first.
    public static let memory = "/dev/shm"

    /// `preferred` when it is a directory this process can create entries in, else the system's temporary
    /// directory (`TMPDIR`, else `/tmp`). No trailing slash.
    public static func path(preferring preferred: String = ScratchRoot.memory) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: preferred, isDirectory: &isDirectory), isDirectory.boolValue,
           access(preferred, W_OK | X_OK) == 0 {
            return preferred
        }
        let temporary = FileManager.default.temporaryDirectory.path
        return temporary.count > 1 && temporary.hasSuffix("/") ? String(temporary.dropLast()) : temporary
    }
}
