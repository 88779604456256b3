import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Makes a directory and the missing ones above it, one `mkdir` at a time, and says in plain words why it could
/// not: which path stood in the way and the system's reason (`/etc/passwd is a file, not a directory`), where
/// Foundation's `createDirectory` says "The operation could not be completed. (NSCocoaErrorDomain error 512.)".
public enum DirectoryMaker {
    /// Creates `path` with `mode` (and its missing parents with the same mode). An existing directory is left
    /// as it is. Throws the reason, in words, when a component cannot be made.
    public static func make(_ path: String, mode: mode_t = 0o700) throws(DirectoryError) {
        guard !path.isEmpty else { throw DirectoryError(path: path, cause: .system("the path is empty")) }
        var made = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            made += "/" + component
            if mkdir(made, mode) == 0 { continue }
            let code = errno
            var status = stat()
            guard stat(made, &status) == 0 else {
                throw DirectoryError(path: made, cause: .system(String(cString: strerror(code))))
            }
            guard status.st_mode & S_IFMT == S_IFDIR else {
                throw DirectoryError(path: made, cause: .notADirectory)
            }
        }
    }
}

/// A directory that could not be made: the path that stood in the way (the one asked for, or one above it) and why.
public struct DirectoryError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Cause: Equatable, Sendable {
        /// Something other than a directory is there.
        case notADirectory
        /// `mkdir` failed for another reason: the system's words for it.
        case system(String)
    }

    public var path: String
    public var cause: Cause

    public init(path: String, cause: Cause) {
        self.path = path
        self.cause = cause
    }

    /// "/etc/passwd is a file, not a directory"; "/proc/x: No such file or directory".
    public var description: String {
        switch cause {
        case .notADirectory: return "\(path) is a file, not a directory"
        case let .system(reason): return "\(path): \(reason)"
        }
    }
}
