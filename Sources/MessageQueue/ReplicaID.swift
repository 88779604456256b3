/// One of the three copies of the queue; its directory is `replica-<name>` under the queue root.
public enum ReplicaID: String, CaseIterable, Sendable, Codable, Comparable, CustomStringConvertible {
    case a, b, c

    public static func < (lhs: ReplicaID, rhs: ReplicaID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The directory name under the queue root.
    public var directoryName: String { "replica-\(rawValue)" }

    public var description: String { rawValue }

    /// Which third of the checkpoint period this replica checkpoints in (0, 1, 2).
    var checkpointPhase: Int { ReplicaID.allCases.firstIndex(of: self) ?? 0 }
}
