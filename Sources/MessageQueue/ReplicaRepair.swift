import Foundation
import Primitives

/// One detection of damage to a replica, or one repair of it, as recorded durably in the queue's root.
public struct ReplicaRepair: Sendable, Equatable, Codable {
    /// When it happened (milliseconds since the epoch).
    public let atMilliseconds: Int64
    public let replica: ReplicaID
    /// What was found: "damaged (…)", "3 operations behind", "damage written on purpose was not detected".
    public let found: String
    /// What was done: "rebuilt by a full copy", "caught up", "marked corrupted until restored".
    public let action: String
    /// The replica it was rebuilt or caught up from, if any.
    public let source: ReplicaID?
    /// How many operations were copied or replayed (0 for a detection alone).
    public let operations: Int64

    public init(
        at: Timestamp, replica: ReplicaID, found: String, action: String, source: ReplicaID? = nil, operations: Int64 = 0
    ) {
        atMilliseconds = at.millisecondsSinceEpoch
        self.replica = replica
        self.found = found
        self.action = action
        self.source = source
        self.operations = operations
    }

    /// One line for people: "replica-b: damaged (…); rebuilt by a full copy from replica-a (812 operations)".
    public var summary: String {
        var text = "\(replica.directoryName): \(found); \(action)"
        if let source { text += " from \(source.directoryName)" }
        if operations > 0 { text += " (\(operations) operation\(operations == 1 ? "" : "s"))" }
        return text
    }
}

/// The durable record of replica detections and repairs: one JSON object per line in `ROOT/repairs.log`,
/// appended and fsynced before the repair is reported. Reading it never writes.
struct ReplicaRepairLog: Sendable {
    let path: String

    init(root: String) {
        path = root + "/repairs.log"
    }

    /// Appends `repairs` and makes them durable. Failing to record never fails the repair itself: the
    /// queue is sound either way; the error is returned for the caller to report.
    @discardableResult
    func append(_ repairs: [ReplicaRepair]) -> (any Error)? {
        guard !repairs.isEmpty else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = Data()
        for repair in repairs {
            guard let line = try? encoder.encode(repair) else { continue }
            data.append(line)
            data.append(0x0A)
        }
        let existed = FileManager.default.fileExists(atPath: path)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return MessageQueueError.storage("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(descriptor) == 0 else {
            return MessageQueueError.storage("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        if !existed {
            let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
            if directory >= 0 {
                fsync(directory)
                close(directory)
            }
        }
        return nil
    }

    /// Every recorded entry, oldest first (lines that do not decode, such as one torn by a crash, are skipped).
    func entries() -> [ReplicaRepair] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder()
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(ReplicaRepair.self, from: Data($0)) }
    }
}
