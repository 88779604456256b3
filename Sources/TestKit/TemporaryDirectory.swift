import Foundation
import Primitives

/// A fresh directory under `ScratchRoot` (memory-backed `/dev/shm` where the machine has it, else the system's
/// temporary directory), removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "hongbao-test") throws {
        let base = ScratchRoot.path()
        let path = "\(base)/\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    public func appending(_ component: String) -> String { "\(path)/\(component)" }

    /// Removes the directory, trying again for up to half a second while it is still there: a removal that meets
    /// a file appearing or vanishing under it (a SQLite connection that closes and deletes its `-wal` meanwhile)
    /// stops where it is, and CI runs left one such directory in `/dev/shm` now and then (an engine's
    /// `ledger.sqlite` and `redpackets.sqlite`, a ledger test's file) before this.
    public func remove() {
        for _ in 0..<10 {
            if (try? FileManager.default.removeItem(atPath: path)) != nil { return }
            guard FileManager.default.fileExists(atPath: path) else { return }
            usleep(50_000)
        }
    }
}
