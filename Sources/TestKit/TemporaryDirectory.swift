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

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
